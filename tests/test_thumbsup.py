"""A real second site: a thumbsup gallery, crawled with profiles/thumbsup.yaml and no code of its own.

thumbsup 2.18.0 (npm) is installed once into .cache/thumbsup (gitignored) from
tests/thumbsup/package-lock.json, its native dependency built offline against
the system's Node headers. It builds a gallery from a few FG-NET photos: dated
by EXIF (an album spanning three days), one by file time only, a Cyrillic
folder name, a sub-folder (an album inside an album), two photos per page,
dates in Russian (--locale ru), photos in the top folder (shown on the home
page itself). `scrapy crawl albums` then has to save every
photo once, named by its album's first day, with the counts the gallery shows.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
LOCK_DIR = Path(__file__).resolve().parent / "thumbsup"     # package.json + package-lock.json
CACHE = REPO / ".cache" / "thumbsup"
THUMBSUP = CACHE / "node_modules" / ".bin" / "thumbsup"

pytestmark = pytest.mark.slow

# folder -> [(FG-NET photo, EXIF DateTimeOriginal or None)]; thumbsup sorts photos by date.
GALLERY = {
    "Выпускной вечер": [("001A02.JPG", "2014:02:23 09:00:00"), ("001A05.JPG", "2014:02:21 10:00:00"),
                        ("001A08.JPG", "2014:02:21 18:30:00")],
    "Autumn hike": [("002A04.JPG", "2011:10:05 08:00:00"), ("002A05.JPG", "2011:10:05 23:30:00"),
                    ("002A07.JPG", "2011:10:06 12:00:00"), ("002A12.JPG", "2011:10:07 07:00:00"),
                    ("002A15.JPG", "2011:10:07 09:00:00")],
    "Trips/Sea 2010": [("003A18.JPG", "2010:07:02 12:00:00"), ("003A20.JPG", "2010:07:26 12:00:00")],
    "No EXIF": [("004A19.JPG", None)],      # thumbsup falls back to the file's time
    "": [("005A18.JPG", "2005:05:05 10:00:00"), ("005A24.JPG", "2005:05:06 10:00:00"),
         ("005A30.JPG", "2005:05:07 10:00:00")],   # the top folder: photos on the home page itself
}
FILE_TIME = "2009-03-28 12:00:00 UTC"
# (title, date, displayed count, own photos) in the gallery's order: the home page's own photos,
# then albums oldest first, sub-albums after their parent.
EXPECTED = [
    ("Школа - Home", None, None, ["005A18.JPG", "005A24.JPG", "005A30.JPG"]),   # the page's <title>, no date
    ("No EXIF", date(2009, 3, 28), 1, ["004A19.JPG"]),
    ("Trips", date(2010, 7, 2), None, []),               # shows "1 album, 2 photos": no count of its own
    ("Sea 2010", date(2010, 7, 2), 2, ["003A18.JPG", "003A20.JPG"]),
    ("Autumn hike", date(2011, 10, 5), 5, ["002A04.JPG", "002A05.JPG", "002A07.JPG", "002A12.JPG", "002A15.JPG"]),
    ("Выпускной вечер", date(2014, 2, 21), 3, ["001A05.JPG", "001A08.JPG", "001A02.JPG"]),
]


def missing_tools() -> list[str]:
    return [tool for tool in ("node", "npm", "gm", "exiftool") if shutil.which(tool) is None]


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    if proc.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


def install_thumbsup() -> Path:
    """thumbsup in .cache/thumbsup, installed once per lock file and Node ABI; returns its command."""
    npm_env = {**os.environ, "npm_config_nodedir": "/usr",        # Node headers: node-gyp downloads nothing
               "npm_config_update_notifier": "false", "npm_config_fund": "false", "npm_config_audit": "false"}
    node_abi = run(["node", "-p", "process.versions.modules"]).stdout.strip()
    lock = (LOCK_DIR / "package-lock.json").read_bytes()
    stamp_text = f"{hashlib.sha256(lock).hexdigest()} node-abi-{node_abi}\n"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE.parent / "thumbsup.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)            # one installer at a time (teammates share the tree)
        stamp = CACHE / ".installed"
        if stamp.exists() and stamp.read_text() == stamp_text and THUMBSUP.exists():
            return THUMBSUP
        stamp.unlink(missing_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(LOCK_DIR / name, CACHE / name)
        # The exact tree of the lock file; no install scripts (better-sqlite3's would try to
        # download a prebuilt binary), then better-sqlite3 compiled from its bundled sources.
        run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=CACHE, env=npm_env)
        run(["npm", "rebuild", "better-sqlite3"], cwd=CACHE, env=npm_env)
        run(["node", "-e", "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"],
            cwd=CACHE, env=npm_env)
        stamp.write_text(stamp_text)
    return THUMBSUP


@pytest.fixture(scope="module")
def thumbsup() -> Path:
    missing = missing_tools()
    if missing:
        pytest.skip(f"thumbsup test needs {', '.join(missing)} (Debian: nodejs npm graphicsmagick "
                    f"libimage-exiftool-perl; .ci/run installs them)")
    return install_thumbsup()


@pytest.fixture(scope="module")
def gallery(thumbsup, bench_kit, tmp_path_factory) -> Path:
    """The built gallery folder (index.html at its top); the photos it was built from are in ../photos."""
    images = bench_kit / "data" / "fgnet" / "images"
    work = tmp_path_factory.mktemp("thumbsup")
    source = work / "photos"
    for folder, photos in GALLERY.items():
        (source / folder).mkdir(parents=True, exist_ok=True)
        for name, taken in photos:
            target = source / folder / name
            shutil.copy(images / name, target)
            if taken:
                run(["exiftool", "-q", "-overwrite_original", f"-DateTimeOriginal={taken}", target])
            else:
                run(["exiftool", "-q", "-overwrite_original", "-all=", target])   # no date but the file's
                run(["touch", "-d", FILE_TIME, target])
    out = work / "site"
    # TZ=UTC: thumbsup shows a file time in the build machine's zone.
    run(["nice", thumbsup, "--input", source, "--output", out, "--database-file", work / "thumbsup.db",
         "--log-file", work / "thumbsup.log", "--album-page-size", 2, "--locale", "ru",
         "--title", "Школа"], env={**os.environ, "TZ": "UTC"}, timeout=600)
    return out


def crawl(config: Path) -> list[dict]:
    run([sys.executable, "-m", "scrapy", "crawl", "albums"], cwd=REPO, timeout=300,
        env={**os.environ, "PHOTOSCRAPE_CONFIG": str(config)})
    manifest = config.parent / "data" / "albums.jsonl"
    return [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]


def test_thumbsup_gallery_is_crawled_completely(gallery, serve_site, tmp_path):
    site = serve_site(gallery)
    config = tmp_path / "settings.yaml"
    config.write_text(f"""data: data
site:
  profile: thumbsup
  start_urls: ["{site.url}"]
  date_languages: [ru]
  autothrottle: false
  download_delay: 0
""", encoding="utf-8")
    # the gallery shows the album's first and last day in Russian: "21 февр. 2014 - 23 февр. 2014"
    assert "21 февр. 2014 - 23 февр. 2014" in (gallery / "index.html").read_text(encoding="utf-8")
    assert (gallery / "Autumn-hike3.html").exists()                      # 5 photos, 2 per page

    albums = crawl(config)
    got = [(a["title"], a["date"], a["displayed_count"], [p["url"].rsplit("/", 1)[1] for p in a["photos"]])
           for a in albums]
    assert got == [(t, d and d.isoformat(), n, names) for t, d, n, names in EXPECTED]
    assert all(a["complete"] and a["found_count"] == a["saved_count"] for a in albums)

    data = config.parent / "data"
    saved = sorted(p.relative_to(data).as_posix() for p in (data / "photos").rglob("*") if p.is_file())
    assert len(saved) == sum(len(photos) for photos in GALLERY.values())
    originals = {p.name: p for p in (gallery.parent / "photos").rglob("*.JPG")}
    for album, (title, when, _, names) in zip(albums, EXPECTED):
        label = when.isoformat() if when else "undated"
        # the album id: thumbsup's page name, or for the home page (no name) a hash of its URL
        page = Path(urlsplit(album["url"]).path).stem or Path(album["photos"][0]["path"]).name.split("_")[1]
        for position, (photo, name) in enumerate(zip(album["photos"], names), 1):
            expected_path = f"photos/{label} {title}/{label}_{page}_{position:03d}.jpg"
            assert (photo["status"], photo["path"]) == ("saved", expected_path)
            assert expected_path in saved
            # the photo itself, full size (not a 120 px thumbnail), decodable
            with Image.open(data / expected_path) as img, Image.open(originals[name]) as original:
                img.load()
                assert img.format == "JPEG" and img.size == original.size
    assert "photos/2014-02-21 Выпускной вечер/2014-02-21_Vypusknoj-vecher_001.jpg" in saved

    # a second crawl finds everything on disk and saves nothing again
    again = crawl(config)
    assert [p["status"] for a in again for p in a["photos"]] == ["already_saved"] * len(saved)
    assert sorted(p.relative_to(data).as_posix() for p in (data / "photos").rglob("*") if p.is_file()) == saved
