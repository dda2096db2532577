"""Crawl speed on loopback: `scrapy crawl albums` on the bench site, several ways, side by side.

    .venv/bin/python benchmarks/crawl_bench.py [--site /work/bench-site/site] [--copies N]

Each run is the real command in a subprocess with the shipped bench profile
(profiles/bench-ru.yaml) pointed at a fresh fault-injecting server
(../shared/bench/serve.py), so every cold run meets the same 404, 503s and
redirect. Runs:

- cold, 16 at once: the bench profile as shipped (empty data folder);
- rerun: the same data folder again (everything already saved: nothing downloaded);
- cold, 4 at once: the concurrency a real site gets by default (still no delay);
- cold, 1 at once;
- cold, 16 at once against serve.py as shipped (listen backlog 5, see Server).

Printed per run: wall time (what a user waits, with ~2 s of Python/Scrapy
start-up), crawl time (Scrapy's elapsed_time_seconds), photos found, photos
per second of crawl time, and that rate relative to the first run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PHOTOSCRAPE_SHARED", REPO.parent / "shared"))
BENCH = SHARED / "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# serve.py's ThreadingHTTPServer listens with Python's default backlog of 5: with more
# connections at once, the kernel drops SYNs and clients retry after 1 s, which then
# dominates every timing. The benchmark runs serve.py unchanged with a larger backlog,
# and once as shipped, to show that effect.
RUN_WITH_BACKLOG = ("import http.server, runpy, sys; http.server.ThreadingHTTPServer.request_queue_size = 128; "
                    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")


class Server:
    """serve.py on `port`, restarted per run so injected faults start afresh."""

    def __init__(self, site: Path, port: int, backlog_5: bool = False):
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}/"
        launcher = [] if backlog_5 else ["-c", RUN_WITH_BACKLOG]
        self.proc = subprocess.Popen([sys.executable, *launcher, str(BENCH / "serve.py"), str(site),
                                      "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url, timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("bench server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def crawl(site: Path, work: Path, concurrency: int, port: int, backlog_5: bool = False) -> dict:
    """One `scrapy crawl albums` into work/data; the same port gives the same URLs (a rerun)."""
    server = Server(site, port, backlog_5)
    try:
        settings = work / "settings.yaml"
        settings.write_text(f'data: data\nsite:\n  profile: bench-ru\n  start_urls: ["{server.url}"]\n'
                            f"  concurrency: {concurrency}\n", encoding="utf-8")
        env = {**os.environ, "PHOTOSCRAPE_CONFIG": str(settings)}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "albums"], cwd=REPO, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
    finally:
        server.stop()
    if done.returncode != 0:
        raise SystemExit(f"crawl failed:\n{done.stderr[-2000:]}")
    elapsed = float(re.search(r"'elapsed_time_seconds': ([\d.]+)", done.stderr).group(1))
    albums = [json.loads(line) for line in (work / "data" / "albums.jsonl").read_text(encoding="utf-8").splitlines()]
    statuses = [p["status"] for a in albums for p in a["photos"]]
    return {"wall": wall, "crawl": elapsed, "photos": len(statuses), "saved": statuses.count("saved"),
            "already": statuses.count("already_saved")}


def build_site(copies: int, out: Path) -> Path:
    data = BENCH / "data"
    subprocess.run([sys.executable, str(BENCH / "build_site.py"), "--faces", str(data / "fgnet" / "images"),
                    "--labels", str(data / "fgnet" / "labels.csv"), "--crowds", str(data / "crowds"),
                    "--faults", "--copies", str(copies), "--out", str(out)], check=True, capture_output=True)
    return out / "site"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--site", type=Path, default=Path("/work/bench-site/site"),
                    help="a built bench site (default: the dev bench)")
    ap.add_argument("--copies", type=int, default=0,
                    help="build a bench with --copies N into a temp folder instead (N=5: ~1000 photos)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="crawl-bench-") as tmp:
        tmp = Path(tmp)
        site = build_site(args.copies, tmp / "bench") if args.copies else args.site
        if not (site / "index.html").exists():
            raise SystemExit(f"no bench site at {site} (build one with {BENCH / 'build_site.py'} or use --copies)")
        runs = []
        cold = tmp / "cold16"
        cold.mkdir()
        port = free_port()
        runs.append(("cold, 16 at once (bench profile)", crawl(site, cold, 16, port)))
        runs.append(("rerun, 16 at once (all already saved)", crawl(site, cold, 16, port)))
        for name, n, backlog_5 in [("cold, 4 at once", 4, False), ("cold, 1 at once", 1, False),
                                   ("cold, 16 at once, serve.py backlog 5", 16, True)]:
            work = tmp / f"cold{n}{backlog_5}"
            work.mkdir()
            runs.append((name, crawl(site, work, n, free_port(), backlog_5)))
            shutil.rmtree(work / "data")

    base = runs[0][1]["photos"] / runs[0][1]["crawl"]
    print(f"site: {site}  ({runs[0][1]['photos']} photos, {runs[0][1]['saved']} saved on the cold crawl)")
    print(f"{'run':<40} {'wall s':>7} {'crawl s':>8} {'photos':>7} {'new':>5} {'photos/s':>9} {'vs cold-16':>11}")
    for name, r in runs:
        rate = r["photos"] / r["crawl"]
        print(f"{name:<40} {r['wall']:>7.1f} {r['crawl']:>8.2f} {r['photos']:>7} {r['saved']:>5} {rate:>9.1f} "
              f"{rate / base:>10.2f}x")


if __name__ == "__main__":
    main()
