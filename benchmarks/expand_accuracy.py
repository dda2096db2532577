"""Which rule of faces.expand buys what: every variant on a crawled and indexed benchmark, side by side.

    PHOTOSCRAPE_CONFIG=path/settings.yaml .venv/bin/python benchmarks/expand_accuracy.py --bench DIR

DIR is a bench built by ../shared/bench/build_site.py (truth/ and site/ inside);
the settings file's data folder holds that site crawled (`scrapy crawl albums`)
and indexed (`python -m faces.index`). Every query of DIR/truth/queries.csv runs
with each variant below through `faces.bench.run_bench`, the same scoring as
`python -m faces.evaluate --bench` (photos as the unit, counts summed over the
queries: micro average).

Variants, from the user's method to the default strategy:
  seed          any face within 0.54 of any reference, repeated to a fixpoint (the user's method)
  seed-0.45     the same at its best distance on the dev bench
  no-growth     faces within 0.54 of a reference photo; the references never grow
  greedy-0.48   one face at a time, nearest to any reference first, while under 0.48; one face
                per photo, the faces beside an accepted face become negatives
  mean          the default without the twin rule (twin_weight 0): link <= 0.55, one face per
                photo, weighted mean distance to all references < 0.56
  mean+dates    the default, the mean over found faces within 4 years of the candidate's album date
  ref-weight-1  the default with the reference photos weighing as much as a found face
  default       the default strategy (faces.expand.Params())
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from faces.config import load_config  # noqa: E402
from faces.bench import bench_lines, run_bench  # noqa: E402
from faces.expand import Params  # noqa: E402
from faces.match import search  # noqa: E402


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(0, (a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T))


def no_growth(table, seeds, threshold=0.54):
    return distances(table.embeddings, seeds).min(1) < threshold


def greedy(table, seeds, threshold=0.48):
    emb, photo = table.embeddings, table.photo_index
    nearest = distances(emb, seeds).min(1)
    accepted = np.zeros(len(emb), bool)
    blocked = np.zeros(len(emb), bool)
    while True:
        d = np.where(accepted | blocked, np.inf, nearest)
        i = int(np.argmin(d)) if len(d) else 0
        if not len(d) or d[i] >= threshold:
            return accepted
        accepted[i] = True
        blocked |= photo == photo[i]
        nearest = np.minimum(nearest, distances(emb, emb[i:i + 1])[:, 0])


def params(**kw):
    return lambda table, seeds: search(table, seeds, None, Params(**kw)).accepted


VARIANTS = {
    "seed": params(strategy="seed"),
    "seed-0.45": params(strategy="seed", seed_threshold=0.45),
    "no-growth": no_growth,
    "greedy-0.48": greedy,
    "mean": params(twin_weight=0.0),
    "mean+dates": params(years=4.0),
    "ref-weight-1": params(seed_weight=1.0),
    "default": params(),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, required=True, help="the benchmark folder (truth/ inside)")
    ap.add_argument("--config", help="settings file (default: $PHOTOSCRAPE_CONFIG or ./settings.yaml)")
    args = ap.parse_args()
    run, names = run_bench(args.bench.resolve(), load_config(args.config), VARIANTS)
    print("\n".join(bench_lines(run, names, worst=0)))


if __name__ == "__main__":
    main()
