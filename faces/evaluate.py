"""How good was the last match? `python -m faces.evaluate --truth FILE --subject ID`.

(`--bench DIR` instead runs every query of a benchmark built by ../shared/bench/build_site.py
against the photos already crawled and indexed: faces/bench.py.)

The truth file is a CSV with the column `subjects` (the ids of the people in each
photo, `;`-separated, empty for nobody) and a column naming the photo:

    url    the photo's source URL: a full URL (`http://site/media/1.jpg`) matches the
           crawled photo with that URL; just its path (`/media/1.jpg`) matches the
           photo whose source URL has that path, whatever the host.
    path   a photo file, absolute or relative to the truth file's folder (then to the
           working directory, then to the data folder).

A row may fill either column. Scores are over photos: a found photo (a row of the
last match's `<output>/matches.csv`) is a true positive when the truth lists the
subject in it, a false positive when the truth lists the photo without the subject,
and a truth photo with the subject that was not found is a false negative. Found
photos the truth file does not mention are not scored, only counted, so a truth
file may label just part of the photos. Truth photos that name none of the downloaded
photos (those the face index lists in `<data>/faces.sqlite`) are left out of the scores
with a warning, since counting them as missed would lower the recall: either the crawl tried
them and failed (the manifest `<data>/albums.jsonl` says why, e.g. HTTP 404) or, when the
manifest does not list them, they are usually typos.
"""
from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Iterable, Mapping, Sequence
from urllib.parse import unquote, urlsplit


from faces import cli
from faces.cli import counted
from faces.config import UserError, load_config
from faces.photos import manifest_photos

Key = tuple[str, str]   # ("url", normalised full URL) | ("urlpath", URL path) | ("path", absolute file path)


@dataclass(frozen=True)
class Scores:
    """Counts over photos and the ratios they give (0.0 where a ratio has no denominator)."""
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    def ratios(self, width: int = 0) -> list[str]:
        """Precision, recall and F1 to 3 decimals; "n/a" for a ratio with nothing to divide by
        (precision when nothing was found, recall when nothing was there to find)."""
        def text(value: float, defined: bool) -> str:
            return f"{value:>{width}.3f}" if defined else f"{'n/a':>{width}}"

        return [text(self.precision, self.tp + self.fp > 0), text(self.recall, self.tp + self.fn > 0),
                text(self.f1, self.tp + self.fp + self.fn > 0)]

    def __add__(self, other: Scores) -> Scores:
        """Summing counts over queries gives the micro average."""
        return Scores(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def score(found: Iterable[Hashable], truth: Iterable[Hashable]) -> Scores:
    """Scores of the photos `found` against the photos that truly show the person.

    Both are photo ids of one kind (e.g. URL paths); duplicates count once.
    """
    found, truth = set(found), set(truth)
    return Scores(tp=len(found & truth), fp=len(found - truth), fn=len(truth - found))


# --- photo keys ----------------------------------------------------------------------------

def url_key(url: str) -> Key:
    """The key a truth `url` value matches on: the full URL, or only the path when no host is given."""
    parts = urlsplit(url.strip())
    if parts.scheme and parts.netloc:
        full = f"{parts.scheme.lower()}://{parts.netloc.lower()}{unquote(parts.path) or '/'}"
        return ("url", full + (f"?{parts.query}" if parts.query else ""))
    return ("urlpath", unquote(parts.path))


def photo_keys(url: str, path: str | Path) -> set[Key]:
    """Every key that names a found photo: its full URL, its URL's path, its file."""
    keys: set[Key] = {("path", str(Path(path).resolve()))} if str(path) else set()
    if url.strip():
        full = url_key(url)
        keys |= {full, ("urlpath", unquote(urlsplit(url.strip()).path))}
    return keys


# --- reading the files ------------------------------------------------------------------

@dataclass(frozen=True)
class TruthPhoto:
    key: Key
    label: str              # as written in the file, for messages
    subjects: frozenset[str]


Row = tuple[int, dict[str, str]]      # (line number in the file, {column: value})


def read_csv(path: Path, what: str) -> tuple[list[str], list[Row]]:
    """The column names (stripped, lower case) and the rows of a comma-separated file.

    Anything a spreadsheet or an editor may have made of it is one line naming
    the problem: not UTF-8, `;` or tabs between the columns, a quote never closed,
    more values in a row than the header has columns.
    """
    if not path.is_file():
        raise UserError(f"{path}: {what} not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")      # -sig: spreadsheets often save CSV with a byte-order mark
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise UserError(f"{path} line {line}: not UTF-8 text "
                        f"(save the file as \"CSV UTF-8\")") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            records.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        problem = "a quoted value is never closed" if "end of data" in str(exc) else str(exc)
        raise UserError(f"{path} line {start}: not valid CSV ({problem})") from None
    records = [(line, r) for line, r in records if any(v.strip() for v in r)]
    if not records:
        return [], []
    header_line, header = records[0]
    columns = [c.strip().lower() for c in header]
    if len(columns) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs")):
            if sep in header[0]:
                raise UserError(f"{path}: the columns are separated by {name}, not commas: save it as "
                                f"comma-separated CSV (header {header[0].strip()!r})")
    rows = []
    for line, record in records[1:]:
        extra = [v for v in record[len(columns):] if v.strip()]
        if extra:
            raise UserError(f"{path} line {line}: not valid CSV ({len(record)} values, the header has "
                            f"{len(columns)} columns: put a value holding a comma in double quotes)")
        rows.append((line, {c: (record[i] if i < len(record) else "").strip() for i, c in enumerate(columns)}))
    return columns, rows


def read_truth(path: Path, data_dir: Path | None = None) -> list[TruthPhoto]:
    """The labelled photos of a truth CSV; one entry per photo (repeated rows merge their subjects)."""
    columns, rows = read_csv(path, "truth file")
    if "subjects" not in columns:
        raise UserError(f"{path}: no 'subjects' column (found: {', '.join(columns) or 'none'})")
    if "url" not in columns and "path" not in columns:
        raise UserError(f"{path}: needs a 'url' or 'path' column naming each photo "
                        f"(found: {', '.join(columns)})")
    bases = [path.parent, Path.cwd()] + ([data_dir] if data_dir else [])
    merged: dict[Key, TruthPhoto] = {}
    for line, row in rows:
        url, file = row.get("url", ""), row.get("path", "")
        if url:
            key, label = url_key(url), url
        elif file:
            key, label = ("path", str(_locate(file, bases))), file
        else:
            raise UserError(f"{path} line {line}: neither url nor path names the photo")
        subjects = frozenset(s.strip() for s in row["subjects"].split(";") if s.strip())
        if key in merged:
            subjects |= merged[key].subjects
        merged[key] = TruthPhoto(key, label, subjects)
    if not merged:
        raise UserError(f"{path}: no photos listed")
    return list(merged.values())


def _locate(name: str, bases: Sequence[Path]) -> Path:
    """A truth `path` value as an absolute file: the first base folder where it exists."""
    p = Path(name).expanduser()
    if p.is_absolute():
        return p.resolve()
    for base in bases:
        if (base / p).exists():
            return (base / p).resolve()
    return (bases[0] / p).resolve()


@dataclass(frozen=True)
class FoundPhoto:
    keys: frozenset[Key]
    label: str              # url, else path


def read_matches(path: Path) -> list[FoundPhoto]:
    """The photos listed in a matches.csv (relative paths are taken from its folder)."""
    if not path.is_file():
        raise UserError(f"{path}: no results yet (run python -m faces.match, or name the output "
                        f"folder with --output)")
    columns, rows = read_csv(path, "results file")
    if "path" not in columns or "url" not in columns:
        raise UserError(f"{path}: not a matches.csv (needs path and url columns; found: {', '.join(columns)})")
    found = []
    for _, row in rows:
        file, url = row.get("path", ""), row.get("url", "")
        full = (path.parent / file) if file else ""
        found.append(FoundPhoto(frozenset(photo_keys(url, full)), url or file))
    return found


# --- scoring one subject -------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    scores: Scores
    truth_with_subject: int     # truth photos that show the subject
    found: int                  # photos in matches.csv
    unlabelled: list[str]       # found photos the truth file does not mention (not scored)
    false_positives: list[str]
    false_negatives: list[str]


def evaluate(found: Sequence[FoundPhoto], truth: Sequence[TruthPhoto], subject: str) -> Evaluation:
    """Score `found` against the truth for `subject` (see the module docstring for the rules)."""
    by_key = {t.key: i for i, t in enumerate(truth)}
    matched: list[int | None] = []
    for f in found:
        hits = [by_key[k] for k in f.keys if k in by_key]
        matched.append(min(hits) if hits else None)
    positives = {i for i, t in enumerate(truth) if subject in t.subjects}
    found_ids = {i for i in matched if i is not None}
    return Evaluation(
        scores=score(found_ids, positives),
        truth_with_subject=len(positives),
        found=len(found),
        unlabelled=[f.label for f, i in zip(found, matched) if i is None],
        false_positives=sorted(truth[i].label for i in found_ids - positives),
        false_negatives=sorted(truth[i].label for i in positives - found_ids),
    )


def pick_subject(truth: Sequence[TruthPhoto], subject: str | None, path: Path) -> str:
    """The subject to score: as given (it must occur in the truth), or the only one there is."""
    known = sorted({s for t in truth for s in t.subjects})
    listing = ", ".join(known[:12]) + (f", ... ({len(known)} in all)" if len(known) > 12 else "")
    if subject is None:
        if len(known) == 1:
            return known[0]
        raise UserError(f"name whose photos the last match looked for with --subject ID "
                        f"({path.name} has: {listing or 'no subjects'})")
    if subject not in known:
        raise UserError(f"subject {subject!r} is not in {path} (it has: {listing or 'no subjects'})")
    return subject


def downloaded_keys(cfg) -> frozenset[Key] | None:
    """The keys of every photo file the face index lists (what was downloaded or dropped in); None
    when there is no index yet, so nothing can be said."""
    if not cfg.store_path.is_file():
        return None
    from faces.store import Store

    with Store(cfg.store_path) as store:
        files = store.known_files()
    return frozenset().union(*(photo_keys(f.url, cfg.data_dir / f.path) for f in files.values()))


def failed_downloads(manifest: Path) -> dict[Key, str]:
    """{key: why} for every photo the crawl tried and could not save (manifest status `failed`).

    Lines that are not JSON albums are skipped here: `python -m faces.index` already reports them.
    """
    failed: dict[Key, str] = {}
    for _, photo in manifest_photos(manifest):
        if photo.get("status") == "failed" and photo.get("url"):
            for key in photo_keys(str(photo["url"]), ""):
                failed.setdefault(key, str(photo.get("reason") or "download failed"))
    return failed


@dataclass(frozen=True)
class LeftOut:
    """A truth photo that names none of the downloaded photos, and why when the manifest knows."""
    photo: TruthPhoto
    reason: str = ""        # the crawl's reason it failed (HTTP 404, ...); '' when the manifest does not list it

    @property
    def failed(self) -> bool:
        return bool(self.reason)


def not_downloaded(truth: Sequence[TruthPhoto], downloaded: frozenset[Key] | None,
                   failed: Mapping[Key, str] | None = None) -> list[LeftOut]:
    """The truth photos that name none of the `downloaded` photos (none when that is unknown), each
    with the crawl's reason from `failed` (see failed_downloads) when it tried that photo."""
    if downloaded is None:
        return []
    failed = failed or {}
    return [LeftOut(t, failed.get(t.key, "")) for t in truth if t.key not in downloaded]


def report_lines(ev: Evaluation, subject: str, truth_path: Path, matches_path: Path,
                 show: bool = False, left_out: Sequence[LeftOut] = ()) -> list[str]:
    """What `--truth` prints; `left_out`: truth photos not among the downloaded ones (not scored)."""
    s = ev.scores
    precision, recall, f1 = s.ratios()
    lines = [f"truth:   {truth_path}: {counted(ev.truth_with_subject, 'photo')} "
             f"{'shows' if ev.truth_with_subject == 1 else 'show'} subject {subject}"]
    failed = [x for x in left_out if x.failed]
    unknown = [x for x in left_out if not x.failed]
    hint = "" if show else "; --list names them"
    if failed:
        lines.append(f"warning: {_left_out_count(failed, subject)} failed to download "
                     f"(e.g. {failed[0].photo.label}: {failed[0].reason}): left out of the scores"
                     f"{f' ({hint[2:]})' if hint else ''}")
    if unknown:
        lines.append(f"warning: {_left_out_count(unknown, subject)} {'is' if len(unknown) == 1 else 'are'} "
                     f"not among the downloaded photos, e.g. {unknown[0].photo.label}: left out of the scores "
                     f"(usually a typo in url/path{hint})")
    lines += [
        f"found:   {matches_path} ({_written(matches_path)}): {counted(ev.found, 'photo')}",
        f"precision {precision}   recall {recall}   F1 {f1}",
        f"TP {s.tp}   FP {s.fp}   FN {s.fn}",
    ]
    if not ev.found:
        lines.append("nothing was found: matches.csv lists no photo, so precision is not defined (n/a)")
    elif s.tp + s.fp == 0:
        lines.append("none of the found photos is in the truth file, so precision is not defined (n/a)")
    if ev.unlabelled:
        lines.append(f"not scored: {counted(len(ev.unlabelled), 'found photo')} "
                     f"{'is' if len(ev.unlabelled) == 1 else 'are'} not in the truth file "
                     f"(e.g. {ev.unlabelled[0]})")
    if show:
        lines += [f"false positive: {x}" for x in ev.false_positives]
        lines += [f"missed: {x}" for x in ev.false_negatives]
        lines += [f"failed to download: {x.photo.label} ({x.reason})" for x in failed]
        lines += [f"not downloaded: {x.photo.label}" for x in unknown]
    return lines


def _left_out_count(left_out: Sequence[LeftOut], subject: str) -> str:
    with_subject = sum(subject in x.photo.subjects for x in left_out)
    return f"{counted(len(left_out), 'labelled photo')} ({with_subject} with subject {subject})"


def build_parser():
    p = cli.parser("Score the last python -m faces.match against labelled photos.")
    p.add_argument("--truth", metavar="FILE", type=Path,
                   help="CSV with url or path, and subjects (;-separated ids)")
    p.add_argument("--subject", metavar="ID",
                   help="whose photos the last match looked for (optional when the truth has one subject)")
    p.add_argument("--output", metavar="DIR", help="the results folder to score (default: faces.output)")
    p.add_argument("--list", action="store_true", help="also list the false positives and the missed photos")
    p.add_argument("--bench", metavar="DIR", type=Path,
                   help="instead: run every query of DIR/truth/queries.csv (seed photos in DIR/truth/seeds/) "
                        "against the photos already crawled and indexed, with both strategies")
    return p


def _written(path: Path) -> str:
    """When a results file was written: evaluate scores whatever the last faces.match left there."""
    import datetime as dt

    return "written " + dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = load_config(args.config, output=args.output)
    if args.bench is not None:
        if args.truth is not None:
            raise UserError("give either --bench DIR or --truth FILE, not both")
        from faces.bench import bench_lines, run_bench   # it imports this module

        print("\n".join(bench_lines(*run_bench(args.bench.expanduser().resolve(), cfg))))
        return 0
    if args.truth is None:
        raise UserError("give --truth FILE (a CSV with url or path, and subjects) and --subject ID")
    truth_path = args.truth.expanduser().resolve()
    truth = read_truth(truth_path, cfg.data_dir)
    subject = pick_subject(truth, args.subject, truth_path)
    matches_path = cfg.output / "matches.csv"
    found = read_matches(matches_path)
    left_out = not_downloaded(truth, downloaded_keys(cfg), failed_downloads(cfg.manifest))
    gone = {x.photo.key for x in left_out}
    ev = evaluate(found, [t for t in truth if t.key not in gone], subject)
    print("\n".join(report_lines(ev, subject, truth_path, matches_path, show=args.list, left_out=left_out)))
    if ev.found and len(ev.unlabelled) == ev.found:
        print("warning: none of the found photos is in the truth file: do its url/path values name the "
              "same photos as matches.csv?", file=sys.stderr)
    return 0


if __name__ == "__main__":
    cli.run(main)
