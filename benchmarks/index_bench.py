"""Index throughput next to a naive DeepFace loop, and which detector finds the bench faces.

    .venv/bin/python benchmarks/index_bench.py [--site DIR] [--limit N] [--rounds N] [--detectors opencv,mtcnn,dlib]

Speed (always): the same photos (the dev bench site's `site/media/`) go through
- naive: one process calling `DeepFace.represent(path, model_name="Dlib")` per
  photo (DeepFace's defaults: opencv detector, its own alignment), a failing
  photo skipped;
- index: `python -m faces.index` with the repository's defaults (dlib detector,
  Dlib model, face chips, one worker per core) on a fresh data folder.
Both are timed as whole commands (start-up, imports and model loading
included), one after the other in this run (--rounds: alternating, averaged),
with the machine's load average printed: teammates share the two cores.

Then the index runs again after every photo file was touched: nothing is embedded.

Detectors (--detectors): the index run again with each detector backend on the
same photos, scored against the site's truth/photos.csv: of the FG-NET faces
pasted into photos (large), how many were found; how many faces were found in
the crowd photos (small faces, 3-15 per photo by WIDER FACE's labels); CPU
seconds per photo in the workers.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PHOTOSCRAPE_SHARED", REPO.parent / "shared"))
BENCH = SHARED / "bench"
FGNET = BENCH / "data" / "fgnet"

NAIVE = """
import sys
from pathlib import Path
from deepface import DeepFace
faces = 0
for path in sorted(Path(sys.argv[1]).iterdir()):
    try:
        faces += len(DeepFace.represent(str(path), model_name="Dlib"))
    except Exception:
        pass
print(faces)
"""


def bench_site(arg: str | None, work: Path) -> Path:
    """The dev bench site: --site, else ../bench-site, else one built now from ../shared/bench."""
    for candidate in (arg, REPO.parent / "bench-site"):
        if candidate and (Path(candidate) / "site" / "media").is_dir():
            return Path(candidate)
    out = work / "bench-site"
    subprocess.run([sys.executable, str(BENCH / "build_site.py"), "--faces", str(FGNET / "images"),
                    "--labels", str(FGNET / "labels.csv"), "--crowds", str(BENCH / "data" / "crowds"),
                    "--faults", "--out", str(out)], check=True, capture_output=True)
    return out


def timed(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the command and its children, stdout)."""
    before = os.times()
    start = time.monotonic()
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = os.times()
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system), \
        out.stdout


def run_index(photos: list[Path], folder: Path, env: dict, detector: str = "dlib") -> tuple[float, float, Path]:
    data = folder / "data"
    _copy(photos, data / "photos")
    (folder / "settings.yaml").write_text(f"data: data\nfaces:\n  detector_backend: {detector}\n", encoding="utf-8")
    wall, cpu, _ = timed([sys.executable, "-m", "faces.index", "--config", str(folder / "settings.yaml")], env)
    return wall, cpu, data / "faces.sqlite"


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--site", help="a built bench site (site/ and truth/); default ../bench-site or a new one")
    p.add_argument("--limit", type=int, help="only the first N photos (by name)")
    p.add_argument("--detectors", help="comma-separated detector backends to score, e.g. opencv,mtcnn,dlib")
    p.add_argument("--rounds", type=int, default=1, help="naive and index runs each, alternating (default 1)")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="index-bench-"))
    try:
        site = bench_site(args.site, work)
        photos = sorted((site / "site" / "media").iterdir())[: args.limit]
        env = {**os.environ, "DEEPFACE_HOME": str(work / "deepface-home")}
        # the index copies dlib's weight files into DEEPFACE_HOME; the naive loop needs them there too
        prepare = "from faces.config import load_config; from faces import weights; weights.prepare(load_config())"
        subprocess.run([sys.executable, "-c", prepare], cwd=REPO, env=env, check=True)

        print(f"{len(photos)} photos from {site / 'site' / 'media'}; load average before: {load()}")
        naive_dir = _copy(photos, work / "naive")
        runs: dict[str, list[tuple[float, float, int]]] = {"naive": [], "index": []}
        for round_ in range(args.rounds):            # alternate the order so a change in load hits both
            for which in ("naive", "index") if round_ % 2 == 0 else ("index", "naive"):
                if which == "naive":
                    wall, cpu, out = timed([sys.executable, "-c", NAIVE, str(naive_dir)], env)
                    faces = int(out.strip().splitlines()[-1])
                else:
                    wall, cpu, store = run_index(photos, work / f"index-{round_}", env)
                    faces = _faces(store)
                runs[which].append((wall, cpu, faces))
                print(f"{which}: {wall:.1f} s wall, {cpu:.1f} s CPU, {faces} faces; load average {load()}")
        naive_wall, naive_cpu, naive_faces = (sum(x) / args.rounds for x in zip(*runs["naive"]))
        index_wall, index_cpu, index_faces = (sum(x) / args.rounds for x in zip(*runs["index"]))
        later = time.time() + 60
        for photo in (store.parent / "photos").iterdir():
            os.utime(photo, (later, later))
        rerun, _, out = timed([sys.executable, "-m", "faces.index", "--config", str(store.parent.parent / "settings.yaml")],
                            env)
        print(f"index again after touching every photo: {rerun:.1f} s wall: {out.splitlines()[0]}")
        print("| photos | naive s | index s | speed-up | naive CPU s | index CPU s | naive faces | index faces |")
        print(f"| {len(photos)} | {naive_wall:.1f} | {index_wall:.1f} | {naive_wall / index_wall:.2f}x | "
              f"{naive_cpu:.1f} | {index_cpu:.1f} | {naive_faces:.0f} | {index_faces:.0f} |")

        if args.detectors:
            truth = _truth(site, photos)
            print("| detector | FG-NET faces found | extra boxes in FG-NET photos | faces in crowd photos | "
                  "worker s per photo | wall s |")
            for detector in args.detectors.split(","):
                if detector == "dlib":                       # the runs above
                    print(_score(detector, store, truth, index_wall))
                else:
                    wall, _, other = run_index(photos, work / detector, env, detector)
                    print(_score(detector, other, truth, wall))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _copy(photos: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for photo in photos:
        shutil.copy(photo, folder / photo.name)
    return folder


def _faces(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT COUNT(*) FROM faces").fetchone()[0]


def _truth(site: Path, photos: list[Path]) -> dict[str, int | None]:
    """media file name -> number of FG-NET faces pasted in it, or None for a crowd photo."""
    names = {p.name for p in photos}
    truth = {}
    with (site / "truth" / "photos.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = row["url"].rsplit("/", 1)[-1]
            if name in names:
                truth[name] = len(row["subjects"].split(";")) if row["subjects"] else None
    return truth


def _score(detector: str, store: Path, truth: dict[str, int | None], wall: float) -> str:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT f.path, s.faces, s.seconds FROM files f JOIN scans s USING (checksum) "
                          "WHERE s.error IS NULL").fetchall()
    expected = found = extra = crowd = 0
    for path, faces, _ in rows:
        wanted = truth.get(path.rsplit("/", 1)[-1], "unknown")
        if wanted is None:
            crowd += faces
        elif wanted != "unknown":
            expected += wanted
            found += min(faces, wanted)
            extra += max(0, faces - wanted)
    cpu = sum(s for _, _, s in rows) / max(1, len(rows))
    return (f"| {detector} | {found}/{expected} ({found / max(1, expected):.0%}) | {extra} | {crowd} | "
            f"{cpu:.2f} | {wall:.1f} |")


if __name__ == "__main__":
    main()
