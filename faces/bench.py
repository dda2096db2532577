"""A whole benchmark: every query of DIR/truth/queries.csv, each strategy, scored as faces.evaluate scores.

`python -m faces.evaluate --bench DIR` runs it on a site built by
../shared/bench/build_site.py, against the photos already crawled and indexed
with the current settings; benchmarks/expand_accuracy.py runs its variants
through the same `run_bench`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from faces.config import UserError
from faces.evaluate import FoundPhoto, Scores, evaluate, photo_keys, read_csv, read_truth, url_key

Variant = Callable[..., np.ndarray]     # (FaceTable, seed embeddings (M, D)) -> accepted faces, (N,) bool


@dataclass(frozen=True)
class QueryScores:
    subject: str
    to_find: int                        # truth photos that show the subject
    by_strategy: dict[str, Scores]


@dataclass(frozen=True)
class BenchRun:
    bench: Path
    queries: list[QueryScores]
    photos: int                         # indexed photos searched
    faces: int
    problems: list[str]                 # seed photos left out, and why
    bench_photos: int = 0               # the bench's photos a crawl can save (truth rows minus lost faults)
    bench_photos_indexed: int = 0       # ...of them in the index


# The bench's faults (truth/photos.csv `fault`) that leave no photo for the crawl to save.
LOST_FAULTS = ("missing_404", "html_instead_of_image", "truncated_jpeg")


def run_bench(bench: Path, cfg, variants: Mapping[str, Variant] | None = None) -> tuple[BenchRun, Sequence[str]]:
    """Run every query of `bench` with each strategy against the current index; score each over photos.

    A query's seeds are the photos in DIR/truth/seeds/<subject>/ (a seed photo with no
    face is left out and reported; a query left with none finds nothing). Scores are
    summed over queries: the micro average. `variants` (name -> function of the index's
    FaceTable and the seed embeddings, giving the accepted faces as an (N,) bool array)
    replaces the two strategies, e.g. for benchmarks/expand_accuracy.py.
    """
    from faces import expand, match
    from faces.embed import FaceEncoder
    from faces.references import embeddings, read_faces

    if variants is None:
        variants = {s: _strategy(s) for s in expand.STRATEGIES}

    queries_csv = bench / "truth" / "queries.csv"
    _, rows = read_csv(queries_csv, "benchmark queries file (DIR/truth/queries.csv)")
    truth = read_truth(bench / "truth" / "photos.csv")
    table = match.load_faces(cfg)
    if not table.photos:
        raise UserError(f"{cfg.store_path}: no photos indexed with {cfg.detector_backend} + {cfg.model_name} "
                        f"(crawl the bench site and run python -m faces.index first)")
    photos = [FoundPhoto(frozenset(photo_keys(p.url, p.path)), p.url or str(p.path)) for p in table.photos]
    _, truth_rows = read_csv(bench / "truth" / "photos.csv", "benchmark truth")
    lost = {url_key(row["url"]) for _, row in truth_rows if row.get("fault") in LOST_FAULTS and row.get("url")}
    indexed = frozenset().union(*(p.keys for p in photos))
    can_be_saved = [t for t in truth if t.key not in lost]
    encoder = FaceEncoder(cfg)
    problems: list[str] = []
    results = []
    for _, row in rows:
        subject = row.get("subject", "")
        seeds = read_faces(bench / "truth" / "seeds" / subject, encoder, "seed", skipped=problems)
        by_strategy = {}
        for name, accept in variants.items():
            found: list[FoundPhoto] = []
            if seeds:
                found = [photos[i] for i in np.unique(table.photo_index[accept(table, embeddings(seeds))])]
            by_strategy[name] = evaluate(found, truth, subject).scores
        results.append(QueryScores(subject, sum(subject in t.subjects for t in truth), by_strategy))
    return BenchRun(bench, results, len(table.photos), len(table), problems, len(can_be_saved),
                    sum(t.key in indexed for t in can_be_saved)), list(variants)


def _strategy(name: str) -> Variant:
    from faces import expand, match

    return lambda table, seeds: match.search(table, seeds, None, expand.Params(strategy=name)).accepted


def bench_lines(run: BenchRun, strategies: Sequence[str], worst: int = 5) -> list[str]:
    """The side-by-side table, micro-averaged over queries, and the worst queries of the last strategy."""
    totals = {s: sum((q.by_strategy[s] for q in run.queries), Scores(0, 0, 0)) for s in strategies}
    width = max(10, *(len(s) for s in strategies))
    lines = [f"bench:  {run.bench}: {len(run.queries)} queries",
             f"index:  {run.faces} faces in {run.photos} photos",
             *([f"warning: {run.bench_photos_indexed} of {run.bench_photos} bench photos are in the index: "
                f"crawl and index the bench first"
                + (" (the others count as not found)" if run.bench_photos_indexed else "")]
               if run.bench_photos_indexed < run.bench_photos else []),
             *[f"note:   {p}" for p in run.problems],
             "",
             f"{'strategy':<{width}} {'precision':>9} {'recall':>7} {'F1':>6} {'TP':>6} {'FP':>6} {'FN':>6}"]
    for s, t in totals.items():
        precision, recall, f1 = (t.ratios(9)[0], t.ratios(7)[1], t.ratios(6)[2])
        lines.append(f"{s:<{width}} {precision} {recall} {f1} {t.tp:>6} {t.fp:>6} {t.fn:>6}")
    lines.append("(micro-averaged over the queries: counts summed, photos are the unit)")
    if not worst:
        return lines
    main_strategy, other = strategies[0], [s for s in strategies if s != strategies[0]]
    ranked = sorted(run.queries, key=lambda q: (q.by_strategy[main_strategy].f1, -q.by_strategy[main_strategy].fn))
    lines += ["", f"worst {min(worst, len(ranked))} queries ({main_strategy}):",
              f"{'subject':<8} {'to find':>7} {'found':>6} {'TP':>4} {'FP':>4} {'FN':>4} {'F1':>6}"
              + "".join(f"   {s} F1" for s in other)]
    for q in ranked[:worst]:
        sc = q.by_strategy[main_strategy]
        lines.append(f"{q.subject:<8} {q.to_find:>7} {sc.tp + sc.fp:>6} {sc.tp:>4} {sc.fp:>4} {sc.fn:>4} {sc.f1:>6.3f}"
                     + "".join(f"   {q.by_strategy[s].f1:>{len(s) + 3}.3f}" for s in other))
    return lines
