"""`python -m faces.match`: find the person of the reference photos in every indexed photo.

1. Index what is new (faces.index), so the face index covers every downloaded photo.
2. Read the reference photos (faces.references or --references DIR; one face each)
   and the optional negatives (faces.negatives).
3. Take every face from the index (no detection again) and expand the reference set
   (faces.expand, strategy faces.strategy or --strategy).
4. Write matches.csv, photos/, thumbnails and report.html (faces.report) into
   faces.output or --output, and print a short summary.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from faces import expand as expansion
from faces.cli import counted, parser, run
from faces.config import FacesConfig, UserError, load_config
from faces.references import ReferenceFace, embeddings, read_faces, reference_files
from faces.store import FaceTable, Store

log = logging.getLogger("faces.match")


def load_faces(cfg: FacesConfig) -> FaceTable:
    """Every indexed face under cfg's (detector, model, align)."""
    if not cfg.store_path.exists():
        raise UserError(f"{cfg.store_path}: no face index yet (run python -m faces.index)")
    with Store(cfg.store_path) as store:
        return store.face_table(cfg.detector_backend, cfg.model_name, cfg.align)


def photo_dates(table: FaceTable) -> np.ndarray:
    """(N,) album date of each face's photo as days (date.toordinal()), NaN when unknown."""
    days = np.array([p.album_date.toordinal() if p.album_date else np.nan for p in table.photos], float)
    return days[table.photo_index] if len(table) else np.zeros(0)


def search(table: FaceTable, seeds: np.ndarray, negatives: np.ndarray | None,
           params: expansion.Params) -> expansion.Expansion:
    """faces.expand over an index's faces (photo ids = the table's photos)."""
    if len(table) and table.embeddings.shape[1] != seeds.shape[1]:
        raise UserError(f"the index holds {table.embeddings.shape[1]}-d embeddings, the references "
                        f"{seeds.shape[1]}-d: index again with the current faces.model_name")
    return expansion.expand(table.embeddings, table.photo_index, photo_dates(table), seeds,
                            negatives if negatives is not None and len(negatives) else None, params)


@dataclass
class Outcome:
    found: list            # faces.report.FaceHit, one per photo file: the rows of matches.csv
    near_misses: list      # faces.report.FaceHit, one per photo file
    by_round: Counter      # photo files found per round

    @property
    def copies(self) -> int:
        """Found files whose bytes equal those of another found file (as report.html counts them)."""
        from faces.report import copies_among

        return copies_among(self.found)


def hits(table: FaceTable, result: expansion.Expansion) -> Outcome:
    """The report's FaceHits for what `search` decided: each found photo file once, with its best face.

    ("seed" may accept several faces of one photo; matches.csv has one row per photo.)
    """
    from faces.report import FaceHit, one_hit_per_photo

    def hit(i: int) -> FaceHit:
        photo = table.photos[table.photo_index[i]]
        return FaceHit(photo.path, photo.url, photo.album_date, tuple(table.boxes[i]), float(result.score[i]),
                       int(result.round[i]))

    found = one_hit_per_photo(hit(i) for i in result.order)
    checksum = {p.path: p.checksum for p in table.photos}
    files_of: dict[str, list[Path]] = {}
    for h in found:
        files_of.setdefault(checksum[h.path], []).append(h.path)
    found = [replace(h, same_as=tuple(p for p in files_of[checksum[h.path]] if p != h.path)) for h in found]
    return Outcome(found, [hit(i) for i in result.near_misses], Counter(h.iteration for h in found))


def reference_hits(faces: Sequence[ReferenceFace]) -> list:
    from faces.report import FaceHit

    return [FaceHit(f.path, "", None, f.box, 1.0, 0) for f in faces]


def round_summary(by_round: Counter) -> str:
    """'12 in round 0 (like a reference photo), 30 in round 1, 9 in rounds 2-5'.

    "round 0" as in report.html, matches.csv's `iteration` and the README.
    """
    if not by_round:
        return ""
    parts = []
    if by_round.get(0):
        parts.append(f"{by_round[0]} in round 0 (like a reference photo)")
    if by_round.get(1):
        parts.append(f"{by_round[1]} in round 1")
    later = sorted(r for r in by_round if r >= 2)
    if later:
        span = f"round {later[0]}" if len(later) == 1 else f"rounds {later[0]}-{later[-1]}"
        parts.append(f"{sum(by_round[r] for r in later)} in {span}")
    return ", ".join(parts)


def summary_lines(outcome: Outcome, table: FaceTable, references: int, strategy: str, seconds: float) -> list[str]:
    """What faces.match prints: every count names what it counts; found photos = rows of matches.csv.

    `seconds`: the search alone (references, expansion, report), not the indexing before it.
    """
    found = len(outcome.found)
    rounds = round_summary(outcome.by_round)
    lines = [f"Found {counted(found, 'photo')} of the person, one row each in matches.csv"
             + (f": {rounds}." if rounds else ".")]
    if outcome.copies:
        lines.append(f"{outcome.copies} of these {'is a byte-identical copy' if outcome.copies == 1 else 'are byte-identical copies'} "
                     f"of another found photo (the same picture in two albums, or saved twice): "
                     f"the report marks them with \"also in\".")
    distinct = len({p.checksum for p in table.photos})
    extra = len(table.photos) - distinct
    copies = (f" ({distinct} distinct: {counted(extra, 'file')} {'is a copy' if extra == 1 else 'are copies'} "
              f"of another)" if extra else "")
    lines.append(f"Searched {counted(len(table), 'face')} in {counted(len(table.photos), 'indexed photo file')}{copies} "
                 f"with {counted(references, 'reference photo')}, strategy {strategy}, in {seconds:.0f} s.")
    if outcome.near_misses:
        best = max(h.score for h in outcome.near_misses)
        lines.append(f"Near misses: {counted(len(outcome.near_misses), 'photo')} that did not pass (best score "
                     f"{best:.2f}; the bar is 0.50), shown in the report, best first: if one is the person, "
                     f"add that photo to the references and run again.")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = parser("Find the person of the reference photos in every downloaded photo; write matches.csv, "
               "photos/ and report.html.")
    p.add_argument("--references", metavar="DIR", help="photos of the person, one face each (default: faces.references)")
    p.add_argument("--output", metavar="DIR", help="where the results go (default: faces.output)")
    p.add_argument("--strategy", choices=expansion.STRATEGIES,
                   help="default: the drift-resistant expansion; seed: any face within 0.54 of any "
                        "reference, repeated until nothing new (default: faces.strategy)")
    args = p.parse_args(argv)
    cfg = load_config(args.config, references=args.references, output=args.output, strategy=args.strategy)
    if cfg.references is None:
        raise UserError("no reference photos: set faces.references in settings.yaml or give --references DIR")
    reference_files(cfg.references, "reference")          # a wrong folder stops us before any indexing
    if cfg.negatives is not None:
        reference_files(cfg.negatives, "negative")
    from faces.index import update_index                    # imports the index machinery only when run

    # Another run indexing this data folder: wait for it rather than stop, since this
    # run's own work (the search) still has to be done once the index is complete.
    indexed = update_index(cfg, wait=True)
    if indexed.pending or indexed.failed:
        print(indexed.summary())
    try:
        return _search_and_report(cfg)
    except KeyboardInterrupt:
        raise KeyboardInterrupt("interrupted while searching; the face index is complete and saved, "
                                "run again to search (nothing is indexed twice)") from None


def _search_and_report(cfg: FacesConfig) -> int:
    start = time.monotonic()

    from faces.embed import FaceEncoder

    encoder = FaceEncoder(cfg)
    references = read_faces(cfg.references, encoder, "reference")
    negatives = read_faces(cfg.negatives, encoder, "negative") if cfg.negatives is not None else []
    table = load_faces(cfg)
    params = expansion.Params(strategy=cfg.strategy)
    result = search(table, embeddings(references), embeddings(negatives) if negatives else None, params)
    outcome = hits(table, result)

    from faces.report import write_results

    settings = {
        "strategy": expansion.describe(params),
        "references": f"{cfg.references} ({counted(len(references), 'photo')})",
        "negatives": f"{cfg.negatives} ({counted(len(negatives), 'photo')})" if cfg.negatives is not None else "none",
        "faces": f"{counted(len(table), 'face')} in {counted(len(table.photos), 'indexed photo file')} "
                 f"({cfg.detector_backend} detector, "
                 f"{cfg.model_name} model, {cfg.alignment} alignment)",
    }
    report = write_results(cfg.output, outcome.found, reference_hits(references), outcome.near_misses,
                           settings=settings)
    print("\n".join(summary_lines(outcome, table, len(references), cfg.strategy, time.monotonic() - start)))
    print(f"Results: {cfg.output / 'matches.csv'}")
    print(f"Report:  {report}")
    return 0


if __name__ == "__main__":
    run(main)
