"""The results of one `faces.match` run, written to the output folder (`faces.output`).

    matches.csv   one row per photo that shows the person (columns below)
    photos/       those photos, hard-linked (copied when the output folder is on another
                  file system) under their original file names; when two photos share a
                  name the later one becomes `name (2).jpg`
    thumbs/       the face thumbnails the report shows: 160 x 160 px JPEG crops
    report.html   the page to open: summary, reference faces, found faces by album
                  date, near misses. Plain HTML + CSS, no scripts, works offline.

matches.csv (UTF-8, comma-separated), sorted by album date (undated last), then path:

    path        the original photo as an absolute path: open it directly. Its copy in
                photos/ has the same file name (except after a name clash).
    url         the photo's source URL from the manifest; '' when not from a crawl
    album_date  YYYY-MM-DD; '' when the album shows no date
    score       0..1, higher = surer, 4 decimals
    face_box    "x,y,w,h": the face in pixels of the upright photo (EXIF orientation applied)
    iteration   0 = found directly by a reference face (round 0), n = joined in round n

Every run replaces photos/, thumbs/, matches.csv and report.html together: the new
set is built in a hidden staging folder and renamed into place, so nothing from an
earlier run survives and an interrupted run leaves the previous results whole. The
hidden file `.faces-results` marks a folder as ours; a folder that already holds a
photos/ (or another of these names) without it is refused rather than overwritten.
"""
from __future__ import annotations

import csv
import html
import io
import logging
import math
import os
import re
import shutil
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Mapping, Sequence
from urllib.parse import quote, urlsplit

from PIL import Image, ImageOps

from faces.cli import counted
from faces.config import UserError
from faces.images import IMAGE_SUFFIXES, open_image, to_rgb

log = logging.getLogger(__name__)

CSV_COLUMNS = ("path", "url", "album_date", "score", "face_box", "iteration")
THUMB_SIZE = 160        # pixels, square
FACE_PADDING = 0.45     # of the face box's larger side, added on every side: hair and chin show
MARKER = ".faces-results"
RESULT_NAMES = ("photos", "thumbs", "matches.csv", "report.html")
MONTHS = ("January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December")


@dataclass(frozen=True)
class FaceHit:
    """One face in one photo, as the report shows it.

    path: the photo file (absolute). url: its source URL, '' when not from a crawl.
    album_date: the album's date, None when unknown. box: (x, y, w, h) in pixels of
    the upright photo (EXIF orientation applied). score: 0..1, higher = surer.
    iteration: 0 = found directly by a reference face (round 0), n = joined in round n.
    album: the album's title when known ('' groups by the photo's folder instead).
    same_as: other found photo files with the very same bytes (a photo reposted in
    another album): the report says so on the card.
    """
    path: Path
    url: str
    album_date: date | None
    box: tuple[int, int, int, int]
    score: float
    iteration: int
    album: str = ""
    same_as: tuple[Path, ...] = ()

    def __post_init__(self):
        # Callers pass numpy scalars and lists; store plain values so CSV and HTML are clean.
        if not -1e-6 <= float(self.score) <= 1 + 1e-6:
            raise ValueError(f"score must be in [0, 1], got {self.score!r} for {self.path}")
        object.__setattr__(self, "path", Path(self.path))
        object.__setattr__(self, "url", self.url or "")
        object.__setattr__(self, "box", tuple(int(v) for v in self.box))
        object.__setattr__(self, "score", min(1.0, max(0.0, float(self.score))))
        object.__setattr__(self, "iteration", int(self.iteration))
        object.__setattr__(self, "same_as", tuple(Path(p) for p in self.same_as))
        if len(self.box) != 4:
            raise ValueError(f"box must be (x, y, w, h), got {self.box!r}")


def write_results(output_dir: str | os.PathLike, found: Sequence[FaceHit],
                  references: Sequence[FaceHit], near_misses: Sequence[FaceHit], *,
                  settings: Mapping[str, object] | None = None,
                  ran_at: datetime | None = None) -> Path:
    """Write matches.csv, photos/, thumbs/ and report.html into `output_dir`; return the report's path.

    found: the photos that show the person (one hit per photo; if a photo comes twice,
    its best-scoring hit is kept). references: the reference faces to show.
    near_misses: the best candidates that did not pass, best first or in any order.
    settings: what the run used (shown in the report's summary), e.g. {"strategy": ...}.
    Raises UserError when the output folder would overwrite photos that are not ours.
    """
    out = Path(output_dir).resolve()
    ran_at = ran_at or datetime.now()
    found = sort_hits(one_hit_per_photo(found))
    references, near_misses = list(references), sorted(near_misses, key=lambda h: -h.score)
    _check_output_folder(out, [h.path for h in [*found, *references, *near_misses]])

    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("Written by python -m faces.match. photos/, thumbs/, matches.csv and "
                              "report.html are replaced on every run.\n", encoding="utf-8")
    _remove_leftovers(out)
    staging = out / f".staging-{os.getpid()}"
    staging.mkdir()
    try:
        copies = _link_photos(found, staging / "photos")
        thumbs = _write_thumbnails(staging / "thumbs", [("r", references), ("f", found), ("n", near_misses)])
        (staging / "matches.csv").write_text(matches_csv(found), encoding="utf-8", newline="")
        page = render_report(found, references, near_misses, out, copies=copies, thumbs=thumbs,
                             settings=settings, ran_at=ran_at)
        (staging / "report.html").write_text(page, encoding="utf-8")
        _swap_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_leftovers(out)
    log.debug("results: %d photos in %s (report: %s)", len(found), out, out / "report.html")
    return out / "report.html"


# --- choosing and ordering ---------------------------------------------------------------

def one_hit_per_photo(hits: Iterable[FaceHit]) -> list[FaceHit]:
    """The best-scoring hit of each photo (the earliest round on a tie)."""
    best: dict[Path, FaceHit] = {}
    for hit in hits:
        kept = best.get(hit.path)
        if kept is None or (hit.score, -hit.iteration) > (kept.score, -kept.iteration):
            best[hit.path] = hit
    return list(best.values())


def sort_hits(hits: Iterable[FaceHit]) -> list[FaceHit]:
    """By album date (undated last), then path: the order of matches.csv and the report."""
    return sorted(hits, key=lambda h: (h.album_date is None, h.album_date or date.min, str(h.path)))


# --- matches.csv -----------------------------------------------------------------------

def matches_csv(found: Sequence[FaceHit]) -> str:
    """The text of matches.csv for `found`, in the given order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for h in found:
        writer.writerow([str(h.path), h.url, h.album_date.isoformat() if h.album_date else "",
                         f"{h.score:.4f}", ",".join(str(v) for v in h.box), h.iteration])
    return buf.getvalue()


# --- the output folder -------------------------------------------------------------------

def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def _check_output_folder(out: Path, photo_paths: Iterable[Path]) -> None:
    """Refuse an output folder whose photos/ or thumbs/ we would replace but do not own."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: the output path is a file, not a folder (faces.output / --output)")
    for p in photo_paths:
        for name in ("photos", "thumbs"):
            if _is_within(p, out / name):
                raise UserError(f"{out}: the output folder's {name}/ holds photos this run reads "
                                f"({p.name}); choose another faces.output / --output")
    if out.is_dir() and not (out / MARKER).exists():
        ours = [n for n in RESULT_NAMES if (out / n).exists()]
        if ours:
            raise UserError(f"{out}: already holds {ours[0]} not written by faces.match; "
                            f"choose an empty folder for faces.output / --output")


def _remove_leftovers(out: Path) -> None:
    """Staging and replaced folders of this or an interrupted earlier run."""
    for p in out.glob(".staging-*"):
        if p.name != f".staging-{os.getpid()}":
            shutil.rmtree(p, ignore_errors=True)
    for p in out.glob(".replaced-*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def _swap_into_place(staging: Path, out: Path) -> None:
    """Move the new results in; the previous ones go aside first and are deleted afterwards."""
    for name in RESULT_NAMES:
        new, old = staging / name, out / name
        if old.is_dir() and not old.is_symlink():
            old.rename(out / f".replaced-{os.getpid()}-{name}")
        os.replace(new, old)


def copy_names(paths: Sequence[Path]) -> list[str]:
    """File names for the copies in photos/: the original name, `stem (2).ext` on a clash.

    Clashes are case-insensitive, so the folder also works on Windows and macOS disks.
    """
    used: set[str] = set()
    names = []
    for p in paths:
        name, n = p.name, 2
        while name.casefold() in used:
            name, n = f"{p.stem} ({n}){p.suffix}", n + 1
        used.add(name.casefold())
        names.append(name)
    return names


def _link_photos(found: Sequence[FaceHit], folder: Path) -> dict[Path, str]:
    """Hard-link (else copy) each found photo into `folder`; {original path: copy name}."""
    folder.mkdir()
    copies = {}
    for hit, name in zip(found, copy_names([h.path for h in found])):
        try:
            try:
                os.link(hit.path, folder / name)
            except OSError:  # another file system, or links not allowed there
                shutil.copy2(hit.path, folder / name)
        except OSError as exc:
            log.warning("results: could not copy %s into photos/ (%s); it stays listed in matches.csv",
                        hit.path, exc.strerror or exc)
            continue
        copies[hit.path] = name
    return copies


# --- thumbnails ----------------------------------------------------------------------------

def thumb_region(box: Sequence[int], width: int, height: int,
                 padding: float = FACE_PADDING) -> tuple[int, int, int, int]:
    """The square (left, top, right, bottom) around a face box, padded, kept inside the image.

    The square shrinks only when the image itself is smaller; it is shifted, not cut,
    at the image's edges so the face stays whole.
    """
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * padding)
    side = max(1, min(round(side), width, height))
    cx, cy = x + w / 2, y + h / 2
    left = min(max(round(cx - side / 2), 0), width - side)
    top = min(max(round(cy - side / 2), 0), height - side)
    return left, top, left + side, top + side


def face_thumbnail(path: Path, box: Sequence[int], size: int = THUMB_SIZE) -> Image.Image:
    """A size x size RGB crop around `box` (pixels of the upright photo) of the photo at `path`.

    The photo is turned upright and converted to RGB exactly as `faces.images.load_rgb`
    does for the index (so boxes from the index fit), but JPEGs are decoded at a reduced
    scale when the crop allows it (Pillow's draft mode): 3.6x faster on 12-megapixel photos.
    """
    with open_image(path) as im:
        raw_w, raw_h = im.size
        turned = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # EXIF orientation swaps the sides
        width, height = (raw_h, raw_w) if turned else (raw_w, raw_h)
        left, top, right, bottom = thumb_region(box, width, height)
        scale = size / (right - left)
        if scale < 1:
            im.draft("RGB", (math.ceil(raw_w * scale), math.ceil(raw_h * scale)))
        upright = ImageOps.exif_transpose(im)
    sx, sy = upright.width / width, upright.height / height
    crop = upright.crop((round(left * sx), round(top * sy), round(right * sx), round(bottom * sy)))
    return to_rgb(crop).resize((size, size), Image.Resampling.LANCZOS)


def _write_thumbnails(folder: Path, groups: Sequence[tuple[str, Sequence[FaceHit]]]) -> dict[tuple[str, int], str]:
    """Write one JPEG per hit; {(group prefix, index in group): file name}. Unreadable photos get none."""
    folder.mkdir()
    jobs = [(prefix, i, hit, f"{prefix}{i:05d}.jpg") for prefix, hits in groups for i, hit in enumerate(hits)]

    def make(job):
        prefix, i, hit, name = job
        try:
            face_thumbnail(hit.path, hit.box).save(folder / name, "JPEG", quality=85)
        except (OSError, SyntaxError, ValueError) as exc:  # Pillow raises all three (UnreadableImage: ValueError)
            log.warning("report: no thumbnail for %s (%s)", hit.path, exc)
            return None
        return (prefix, i), name

    # Pillow releases the GIL while decoding, so threads use every core.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return dict(r for r in pool.map(make, jobs) if r)


# --- report.html -------------------------------------------------------------------------

def _h(value: object) -> str:
    return html.escape(str(value), quote=True)


def file_href(path: Path, base: Path) -> str:
    """A link from a page in `base` to `path`: relative and percent-encoded when possible."""
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive (Windows)
        return path.as_uri()
    return "/".join(quote(part) for part in Path(rel).parts)


def _web_link(url: str) -> str | None:
    return url if urlsplit(url).scheme in ("http", "https") else None


def _long_date(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _round_label(iteration: int) -> str:
    return f"round {iteration}"    # round 0 too: the name faces.match's output, matches.csv and the README use


_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2}|undated)[ _-]*", re.IGNORECASE)


def _folder_title(folder: str) -> str:
    """An album folder's name without the date the crawler puts first ("2014-02-21 Поход" -> "Поход")."""
    return _DATE_PREFIX.sub("", folder) or folder


_NAME_BREAKS = " _-."
# The crawl's names (photoscrape/naming.py): `<date> <title>/<date>_<album id>_<NNN>[~hash].jpg`.
_CRAWLED_FOLDER = re.compile(r"^(\d{4}-\d{2}-\d{2}|undated) ")


def _is_crawled(path: Path) -> bool:
    """Whether `path` is named as the crawl names photos: in its album's folder, after the same date."""
    folder = _CRAWLED_FOLDER.match(path.parent.name)
    return bool(folder) and re.fullmatch(rf"{re.escape(folder.group(1))}_[^_\s]+_\d{{3,}}(~[0-9a-f]{{6}})?\.\w+",
                                         path.name, re.IGNORECASE) is not None


def caption_names(paths: Iterable[Path]) -> dict[Path, str]:
    """{path: the caption naming its photo}: the whole file name, shortened only for the crawl's own
    names (the full path goes in a tooltip).

    A crawled photo sits in its album's folder, named `<date>_<album id>_<NNN>.jpg`:
    what its folder's crawled photos share (`2012-12-30_1208_`, up to a `_`, space,
    `-` or `.`) is dropped, leaving `001.jpg`; alone in its folder it only loses the
    date, which the album heading shows anyway. Photos put in by hand keep their
    whole name: `IMG_0001.jpg` and `IMG_0002.jpg` are what the user knows them by.
    """
    by_folder: dict[Path, set[Path]] = defaultdict(set)
    for p in paths:
        by_folder[p.parent].add(p)
    names = {p: p.name for members in by_folder.values() for p in members}
    for folder, members in by_folder.items():
        crawled = {p for p in members if _is_crawled(p)}
        if not crawled:
            continue
        try:
            stems = {Path(n).stem for n in os.listdir(folder)
                     if Path(n).suffix.lower() in IMAGE_SUFFIXES and _is_crawled(folder / n)}
        except OSError:
            stems = set()
        stems |= {p.stem for p in crawled}
        cut = 0
        if len(stems) > 1:
            shared = os.path.commonprefix(sorted(stems))
            cut = max(shared.rfind(c) for c in _NAME_BREAKS) + 1
        for p in crawled:
            tail = p.name[cut:] if cut else _DATE_PREFIX.sub("", p.name)
            names[p] = tail if tail and not tail.startswith(".") else p.name
    return names


def album_groups(found: Sequence[FaceHit]) -> list[tuple[int | None, list[tuple[str, list[FaceHit]]]]]:
    """[(year or None, [(album heading, hits)])] in date order, undated last.

    An album is its date plus its title (FaceHit.album) or, without one, the photo's
    folder; the folder is named in the heading only when the photos span several.
    """
    several_folders = len({h.path.parent for h in found}) > 1
    albums: dict[tuple, list[FaceHit]] = defaultdict(list)
    for h in found:
        albums[(h.album_date, h.album or (_folder_title(h.path.parent.name) if several_folders else ""))].append(h)
    years: dict[int | None, list] = defaultdict(list)
    for (day, title), hits in sorted(albums.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or date.min, kv[0][1])):
        heading = " · ".join(x for x in (_long_date(day) if day else "", title) if x) or "Undated"
        years[day.year if day else None].append((heading, sorted(hits, key=lambda h: str(h.path))))
    return list(years.items())


def copies_among(found: Sequence[FaceHit]) -> int:
    """How many found files repeat the bytes of another found file: each group of same_as counts all but one."""
    groups = {frozenset((h.path, *h.same_as)) for h in found if h.same_as}
    return sum(len(group) - 1 for group in groups)


def album_count(found: Iterable[FaceHit]) -> int:
    """How many albums the photos come from: an album is a folder (with its title, when the crawl
    gave one). A folder of photos put in by hand is one album even when their EXIF dates differ,
    though the report shows them under each date."""
    return len({(h.path.parent, h.album) for h in found})


CSS = """
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --muted:#667085; --line:#e3e6eb;
        --accent:#2f6fdf; --good:#1f9d55; --warn:#c77700; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#15181e; --card:#1f232b; --ink:#e8eaef; --muted:#9aa3b2; --line:#323844; --accent:#7aa7ff; }
}
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header, main, footer { max-width:1440px; margin:0 auto; padding:0 20px; }
header { padding-top:28px; }
h1 { font-size:28px; margin:0 0 6px; }
h2 { font-size:21px; margin:34px 0 10px; padding-bottom:6px; border-bottom:1px solid var(--line); }
h3 { font-size:15px; margin:20px 0 8px; color:var(--muted); font-weight:600; }
h3 .n { font-weight:400; }
a { color:var(--accent); text-decoration:none; }
a:hover { text-decoration:underline; }
.lead { font-size:18px; margin:0 0 4px; }
.lead b { font-size:22px; }
.muted, .hint { color:var(--muted); }
.hint { margin:0 0 12px; max-width:70ch; }
.stats { display:flex; flex-wrap:wrap; gap:10px; margin:16px 0; padding:0; list-style:none; }
.stats li { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:8px 14px; }
.stats b { display:block; font-size:20px; }
dl.settings { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; margin:8px 0 0;
              font-size:13px; color:var(--muted); }
dl.settings dt { font-weight:600; } dl.settings dd { margin:0; overflow-wrap:anywhere; }
nav.years { position:sticky; top:0; z-index:1; background:var(--bg); padding:10px 0;
            border-bottom:1px solid var(--line); display:flex; flex-wrap:wrap; gap:6px 14px; }
nav.years a { white-space:nowrap; }
/* Albums flow side by side, so a year of small albums stays compact. */
.year { display:flex; flex-wrap:wrap; gap:4px 34px; }
.album { flex:0 1 auto; min-width:0; max-width:100%; }
.album h3 { max-width:max(100%, 340px); }
.grid { display:flex; flex-wrap:wrap; gap:12px; }
figure { margin:0; width:162px; background:var(--card); border:1px solid var(--line); border-radius:10px;
         overflow:hidden; display:flex; flex-direction:column; }
figure img, figure .nothumb { display:block; width:100%; height:auto; aspect-ratio:1; object-fit:cover;
                               background:var(--line); }
figure .nothumb { display:flex; align-items:center; justify-content:center; color:var(--muted); font-size:13px; }
.bar { height:4px; background:var(--line); }
.bar i { display:block; height:100%; background:var(--good); }
.miss .bar i { background:var(--warn); }
figcaption { padding:6px 9px 8px; font-size:13px; }
figcaption .row { display:flex; justify-content:space-between; align-items:baseline; gap:6px; }
figcaption .score { font-weight:700; font-variant-numeric:tabular-nums; }
figcaption .name { display:block; color:var(--muted); overflow-wrap:anywhere; font-size:12px; }
figcaption .meta { display:block; font-size:12px; color:var(--muted); }
.badge { font-size:11px; padding:1px 7px; border-radius:10px; background:var(--line); color:var(--ink); }
.badge.round0 { background:#d9f2e3; color:#14532d; }
.badge.round { background:#dde7fb; color:#1e3a8a; }
.empty { padding:18px; background:var(--card); border:1px dashed var(--line); border-radius:10px; }
footer { padding:30px 20px 40px; color:var(--muted); font-size:13px; }
"""


def _figure(hit: FaceHit, thumb: str | None, full_href: str | None, kind: str, caption: str) -> str:
    """One face card. kind: 'ref' (reference), 'hit' (found) or 'miss' (near miss).

    caption: what tells the photo apart in its group (see caption_names); the full path is its tooltip.
    """
    img = (f'<img src="thumbs/{quote(thumb)}" alt="" width="{THUMB_SIZE}" height="{THUMB_SIZE}" '
           f'loading="lazy">' if thumb else '<div class="nothumb">no preview</div>')
    if full_href:
        img = f'<a href="{_h(full_href)}" title="{_h(hit.path)}">{img}</a>'
    name = f'<span class="name" title="{_h(hit.path)}">{_h(caption)}</span>'
    if kind == "ref":
        return f'<figure>{img}<figcaption>{name}</figcaption></figure>'
    badge = ("" if kind == "miss" else
             f'<span class="badge {"round0" if hit.iteration == 0 else "round"}">{_h(_round_label(hit.iteration))}</span>')
    meta = []
    if kind == "miss":      # near misses are not grouped by album: say which
        meta.append(_h(" ".join(x for x in (hit.album_date.isoformat() if hit.album_date else "",
                                            hit.album or _folder_title(hit.path.parent.name)) if x)))
    if hit.same_as:
        where = ", ".join(dict.fromkeys(p.parent.name for p in hit.same_as))
        meta.append(f'<span title="the same file, byte for byte: {_h(", ".join(map(str, hit.same_as)))}">'
                    f'also in {_h(where)}</span>')
    source = _web_link(hit.url)
    if source:
        meta.append(f'<a href="{_h(source)}" rel="noreferrer">on the site</a>')
    meta_html = " · ".join(m for m in meta if m)
    return (f'<figure class="{kind}">{img}<div class="bar"><i style="width:{hit.score * 100:.0f}%"></i></div>'
            f'<figcaption><div class="row"><span class="score" title="score: higher = surer">{hit.score:.2f}</span>'
            f'{badge}</div>{name}'
            + (f'<span class="meta">{meta_html}</span>' if meta_html else "")
            + '</figcaption></figure>')


def render_report(found: Sequence[FaceHit], references: Sequence[FaceHit], near_misses: Sequence[FaceHit],
                  out: Path, *, copies: Mapping[Path, str], thumbs: Mapping[tuple[str, int], str],
                  settings: Mapping[str, object] | None, ran_at: datetime) -> str:
    """The report page. `found` in report order; thumbs maps (group, index) to thumbs/ file names."""
    groups = album_groups(found)
    n_albums = album_count(found)
    years = [y for y, _ in groups if y is not None]
    span = (f", {years[0]}–{years[-1]}" if len(years) > 1 else f", {years[0]}") if years else ""
    rounds = Counter(h.iteration for h in found)
    captions = caption_names(h.path for h in [*found, *references, *near_misses])
    same_photo = copies_among(found)

    parts = [f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_h(f"{counted(len(found), 'photo')} found")} – faces report</title>
<style>{CSS}</style></head><body>
<header>
<h1>Photos of the person</h1>
<p class="lead"><b>{len(found)}</b> {"photo" if len(found) == 1 else "photos"} found in
<b>{n_albums}</b> {"album" if n_albums == 1 else "albums"}{_h(span)}</p>
{f'<p class="muted">{same_photo} of them {"is a byte-identical copy" if same_photo == 1 else "are byte-identical copies"} of another found photo (the same picture in two albums): marked “also in”.</p>' if same_photo else ""}
<p class="muted">Run on {_h(ran_at.strftime("%Y-%m-%d %H:%M"))} ·
{counted(len(references), "reference face")} · {counted(len(near_misses), "near miss", "near misses")} shown ·
the photos are in <a href="photos/">photos/</a>, the list in <a href="matches.csv">matches.csv</a></p>
<ul class="stats">"""]
    for it in sorted(rounds):
        what = "in round 0 (like a reference face)" if it == 0 else f"joined in round {it}"
        parts.append(f"<li><b>{rounds[it]}</b> {_h(what)}</li>")
    parts.append("</ul>")
    if settings:
        parts.append('<dl class="settings">' + "".join(
            f"<dt>{_h(k)}</dt><dd>{_h(v)}</dd>" for k, v in settings.items()) + "</dl>")
    parts.append("</header>")

    nav = [f'<a href="#references">References</a>']
    for year, albums in groups:
        count = sum(len(hits) for _, hits in albums)
        nav.append(f'<a href="#{"y" + str(year) if year else "undated"}">{year or "Undated"} '
                   f'<span class="muted">({count})</span></a>')
    nav.append(f'<a href="#near-misses">Near misses <span class="muted">({len(near_misses)})</span></a>')
    parts.append(f'<main><nav class="years">{"".join(nav)}</nav>')

    parts.append('<h2 id="references">Reference faces</h2>')
    parts.append('<p class="hint">The faces the search started from.</p>' if references else
                 '<p class="empty">No reference faces.</p>')
    if references:
        parts.append('<div class="grid">' + "".join(
            _figure(h, thumbs.get(("r", i)), file_href(h.path, out), "ref", captions[h.path])
            for i, h in enumerate(references))
            + "</div>")

    index = {id(h): i for i, h in enumerate(found)}
    if not found:
        parts.append('<h2>Found photos</h2><p class="empty">No photo matched the references. '
                     'Look at the near misses below: if one is the person, add it to the references and run again.</p>')
    for year, albums in groups:
        count = sum(len(hits) for _, hits in albums)
        parts.append(f'<h2 id="{"y" + str(year) if year else "undated"}">{year or "Undated"} '
                     f'<span class="muted">· {counted(count, "photo")}</span></h2><div class="year">')
        for heading, hits in albums:
            parts.append(f'<section class="album"><h3>{_h(heading)} <span class="n">· {counted(len(hits), "photo")}'
                         f'</span></h3><div class="grid">')
            for h in hits:
                copy = copies.get(h.path)
                href = f"photos/{quote(copy)}" if copy else file_href(h.path, out)
                parts.append(_figure(h, thumbs.get(("f", index[id(h)])), href, "hit", captions[h.path]))
            parts.append("</div></section>")
        parts.append("</div>")

    parts.append('<h2 id="near-misses">Near misses</h2>')
    if near_misses:
        parts.append('<p class="hint">The best candidates that did not pass, surest first. If one of them is '
                     'the person, add that photo to the references and run again.</p><div class="grid">'
                     + "".join(_figure(h, thumbs.get(("n", i)), file_href(h.path, out), "miss", captions[h.path])
                               for i, h in enumerate(near_misses)) + "</div>")
    else:
        parts.append('<p class="empty">No candidates below the bar.</p>')
    parts.append(f'</main><footer>Written by <code>python -m faces.match</code>. Score: 0–1, higher = surer. '
                 f'"round 0" = found directly by a reference face; "round n" = joined in round n of the expansion.'
                 f'</footer></body></html>\n')
    return "\n".join(parts)
