"""python -m faces.evaluate --bench DIR: every benchmark query, both strategies, micro-averaged."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import BENCH, FGNET
from faces.config import load_config
from faces.bench import BenchRun, QueryScores, bench_lines
from faces.evaluate import Scores, main


def test_bench_lines_sum_counts_over_queries_and_rank_the_worst():
    queries = [QueryScores("001", 5, {"default": Scores(4, 0, 1), "seed": Scores(5, 20, 0)}),
               QueryScores("002", 6, {"default": Scores(0, 0, 6), "seed": Scores(6, 30, 0)}),
               QueryScores("003", 4, {"default": Scores(3, 1, 1), "seed": Scores(4, 10, 0)})]
    lines = bench_lines(BenchRun(Path("/b"), queries, 20, 31, ["seeds/x.jpg: no face"]), ("default", "seed"),
                        worst=2)
    assert lines[:3] == ["bench:  /b: 3 queries", "index:  31 faces in 20 photos", "note:   seeds/x.jpg: no face"]
    # default: TP 7, FP 1, FN 8 -> P 0.875, R 0.467, F1 14/23; seed: TP 15, FP 60, FN 0
    assert lines[5] == "default        0.875   0.467  0.609      7      1      8"
    assert lines[6] == "seed           0.200   1.000  0.333     15     60      0"
    assert lines[9] == "worst 2 queries (default):"
    assert [line.split()[0] for line in lines[11:]] == ["002", "003"]
    assert lines[11].split() == ["002", "6", "0", "0", "0", "6", "0.000", "0.286"]


def test_bench_lines_warn_when_the_index_lacks_the_bench_photos():
    queries = [QueryScores("001", 5, {"default": Scores(0, 0, 5)})]
    lines = bench_lines(BenchRun(Path("/b"), queries, 56, 108, [], bench_photos=196, bench_photos_indexed=0),
                        ("default",), worst=0)
    assert lines[2] == "warning: 0 of 196 bench photos are in the index: crawl and index the bench first"
    assert lines[-2] == "default          n/a   0.000  0.000      0      0      5"    # nothing found: no precision
    some = bench_lines(BenchRun(Path("/b"), queries, 56, 108, [], 196, 150), ("default",), worst=0)
    assert some[2].startswith("warning: 150 of 196 bench photos are in the index") and "count as not found" in some[2]
    full = bench_lines(BenchRun(Path("/b"), queries, 56, 108, [], 196, 196), ("default",), worst=0)
    assert not any(line.startswith("warning") for line in full)


@pytest.mark.slow
def test_bench_run_against_an_index(bench_kit, deepface_home, tmp_path, capsys):
    bench = tmp_path / "bench"
    subprocess.run([sys.executable, str(BENCH / "build_site.py"), "--faces", str(FGNET / "images"),
                    "--labels", str(FGNET / "labels.csv"), "--subjects", "1,2,9,26,30,35", "--out", str(bench)],
                   check=True, capture_output=True)
    # The crawl's result without crawling: the site's photos under data/photos/, a manifest naming their URLs.
    data = tmp_path / "data"
    with (bench / "truth" / "photos.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    albums: dict[str, list] = {}
    for row in rows:
        rel = f"photos/{row['album_date']}/{Path(row['url']).name}"
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bench / "site" / row["url"].lstrip("/"), data / rel)
        albums.setdefault(row["album_date"], []).append(
            {"url": f"http://bench.example{row['url']}", "path": rel, "status": "saved", "reason": None,
             "checksum": None, "date": None})
    with (data / "albums.jsonl").open("w", encoding="utf-8") as f:
        for day, photos in albums.items():
            f.write(json.dumps({"url": f"http://bench.example/album/{day}/", "title": day, "date": day,
                                "photos": photos}) + "\n")
    (tmp_path / "settings.yaml").write_text(f"data: data\nfaces:\n  weights_dir: {deepface_home}\n", encoding="utf-8")
    cfg = load_config(tmp_path / "settings.yaml")
    from faces.embed import FaceEncoder
    from faces.expand import Params
    from faces.index import update_index
    from faces.match import load_faces, search
    from faces.references import embeddings, read_faces

    encoder = FaceEncoder(cfg)
    update_index(cfg, encoder=encoder, progress=False)

    assert main(["--config", str(tmp_path / "settings.yaml"), "--bench", str(bench)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"bench:  {bench}: 6 queries"
    assert not any(line.startswith("warning") for line in out)        # every bench photo is in the index

    # The same counts, worked out here directly from faces.expand and the truth file.
    table = load_faces(cfg)
    truth = {Path(r["url"]).name: set(r["subjects"].split(";")) for r in rows}
    counts = {}
    for strategy in ("default", "seed"):
        tp = fp = fn = 0
        for subject in ("001", "002", "009", "026", "030", "035"):
            seeds = embeddings(read_faces(bench / "truth" / "seeds" / subject, encoder, "seed"))
            result = search(table, seeds, None, Params(strategy=strategy))
            found = {Path(table.photos[i].url).name for i in np.unique(table.photo_index[result.accepted])}
            shows = {name for name, subjects in truth.items() if subject in subjects}
            tp, fp, fn = tp + len(found & shows), fp + len(found - shows), fn + len(shows - found)
        line = next(x for x in out if x.startswith(f"{strategy} "))
        assert line.split()[-3:] == [str(tp), str(fp), str(fn)]
        assert tp + fn == 37                                     # the queries' positives on the site
        counts[strategy] = (tp, fp, fn)
    # Six well-separated subjects: the default strategy gets nearly all and no stranger (35, 0, 2 when
    # written); the user's method lets strangers in (25 when written).
    assert counts["default"][1] == 0 and counts["default"][0] >= 33
    assert counts["seed"][1] > 10
