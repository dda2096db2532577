"""Shared fixtures: the benchmark kit in ../shared, a built bench site, a served one."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PHOTOSCRAPE_SHARED", REPO.parent / "shared"))
BENCH = SHARED / "bench"
FGNET = BENCH / "data" / "fgnet"
CROWDS = BENCH / "data" / "crowds"


@pytest.fixture(scope="session")
def bench_kit() -> Path:
    """../shared/bench (or $PHOTOSCRAPE_SHARED/bench); skips with a clear reason when absent."""
    if not (BENCH / "build_site.py").exists():
        pytest.skip(f"benchmark kit not found at {BENCH} (set PHOTOSCRAPE_SHARED)")
    return BENCH


def build_bench_site(out: Path, *extra: str) -> Path:
    """Run ../shared/bench/build_site.py into `out` and return it (site/ and truth/ inside)."""
    cmd = [sys.executable, str(BENCH / "build_site.py"), "--faces", str(FGNET / "images"),
           "--labels", str(FGNET / "labels.csv"), "--crowds", str(CROWDS), "--out", str(out), *extra]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="session")
def bench_site(bench_kit, tmp_path_factory) -> Path:
    """The dev benchmark (Russian layout, faults injected, default seed), built once per run."""
    return build_bench_site(tmp_path_factory.mktemp("bench") / "bench-site", "--faults")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedSite:
    """A site folder served by ../shared/bench/serve.py on 127.0.0.1 in a child process."""

    def __init__(self, site_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen([sys.executable, str(BENCH / "serve.py"), str(site_dir), "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"bench server did not start: {self.proc.stderr.read().decode()}")
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def serve_site():
    """Factory: serve_site(site_dir) -> ServedSite; every server is stopped after the test."""
    servers: list[ServedSite] = []

    def start(site_dir: Path) -> ServedSite:
        servers.append(ServedSite(site_dir))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def deepface_home(tmp_path_factory) -> Path:
    """DEEPFACE_HOME for tests that load face models; faces.weights copies dlib's files in on first use."""
    home = tmp_path_factory.mktemp("deepface-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEEPFACE_HOME", str(home))
        yield home


def shuffled_tiles(rgb, tile: int = 25):
    """A photo with no face: its own pixels in 25-px tiles, shuffled (real colours and texture)."""
    import numpy as np

    h, w = (rgb.shape[0] // tile) * tile, (rgb.shape[1] // tile) * tile
    tiles = rgb[:h, :w].reshape(h // tile, tile, w // tile, tile, 3).swapaxes(1, 2).reshape(-1, tile, tile, 3)
    tiles = tiles[np.random.default_rng(0).permutation(len(tiles))]
    return np.ascontiguousarray(tiles.reshape(h // tile, w // tile, tile, tile, 3).swapaxes(1, 2).reshape(h, w, 3))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A tiny JPEG whose header says width x height: a huge photo without the memory or time to make one."""
    import io
    import struct

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 90, 90)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")                      # start of frame: precision, height, width
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_with_corrupt_exif(path: Path) -> Path:
    """A small JPEG whose EXIF block is cut short (Pillow warns "Corrupt EXIF data" reading it)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010E] = "a description long enough to be stored out of line"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (10, 200, 30)).save(path, exif=exif.tobytes()[:20])
    return path
