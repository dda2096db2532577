"""The bundled demo site: built the same every time, readable by its profile, faults as designed.

No crawler or face code needed: the site is read here with parsel (Scrapy's
selector library) and the selectors of demo/settings.yaml, as the crawler would.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin

import pytest
import yaml
from parsel import Selector
from PIL import Image, ImageOps

from demo import generate, pages, story

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "demo"


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    generate.build(out)
    return out


def read_truth(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_rebuilding_gives_the_same_bytes_and_the_committed_truth(built, tmp_path):
    again = tmp_path / "again"
    generate.build(again)
    assert tree_digest(again) == tree_digest(built)
    assert (built / "truth.csv").read_text(encoding="utf-8") == (DEMO / "truth.csv").read_text(encoding="utf-8")


def test_the_site_is_rebuilt_only_when_its_sources_change(built, tmp_path):
    out = tmp_path / "out"
    assert generate.build_if_changed(out) == (57, True)
    stamp = out / "site" / ".sources"
    assert stamp.read_text() == generate.sources_digest()
    stamp.rename(tmp_path / "stamp")
    assert tree_digest(out / "site") == tree_digest(built / "site")
    (tmp_path / "stamp").rename(stamp)
    assert generate.build_if_changed(out) == (57, False)
    (out / "site" / ".sources").write_text("made from other sources")
    assert generate.build_if_changed(out) == (57, True)


def test_truth_lists_every_photo_with_the_people_in_it():
    rows = read_truth((DEMO / "truth.csv").read_text(encoding="utf-8"))
    assert len(rows) == 57
    per_subject = Counter(s for r in rows for s in r["subjects"].split(";") if s)
    assert len(per_subject) == 10
    assert per_subject[story.TARGET] == 15
    # Everyone's subjects agree with the FG-NET file names in the photo.
    for r in rows:
        files = [f for f in r["sources"].split(";") if re.fullmatch(r"\d{3}A\d{2}[a-z]?\.JPG", f)]
        assert r["subjects"] == ";".join(sorted({f[:3] for f in files}))
    # The references are the person's, and not on the site.
    refs = sorted(p.name for p in (DEMO / "references").iterdir())
    assert refs == ["016A07.JPG", "016A08.JPG"]
    assert not any(ref in r["sources"] for ref in refs for r in rows)


def test_every_portrait_is_of_the_album_year_so_people_age_across_albums():
    cast = story.portraits()
    assert len(cast) == 54
    for album in story.ALBUMS:
        for shot in story.shots(album, cast):
            assert all(story.BIRTH_YEAR + p.age == album.date.year for p in shot.people)
    years = sorted(a.date.year for a in story.ALBUMS)
    assert years[0] == 2005 and years[-1] == 2014


class Crawl:
    """The site read with demo/settings.yaml's selectors, straight from the built files."""

    def __init__(self, site: Path):
        self.site = site
        self.profile = yaml.safe_load((DEMO / "settings.yaml").read_text(encoding="utf-8"))["site"]

    def page(self, url: str) -> Selector:
        path = self.site / url.lstrip("/")
        if url.endswith("/"):
            path = path / "index.html"
        return Selector(text=path.read_text(encoding="utf-8"))

    def albums(self) -> list[dict]:
        p, url, out = self.profile, "/", []
        while url:
            sel = self.page(url)
            for entry in sel.css(p["album_entry"]):
                link = entry.css(p["album_links"]).get()
                album = self.page(link)
                out.append({"url": link, "list_count": entry.css(p["album_count"]).get(),
                            "title": album.css(p["album_title"]).get(),
                            "date": album.css(p["album_date"]).get(),
                            "count": album.css(p["album_count"]).get(),
                            "images": self.images(link)})
            url = sel.css(p["next_albums_page"]).get()
        return out

    def images(self, url: str) -> list[str]:
        p, out = self.profile, []
        while url:
            sel = self.page(url)
            out += [self.page(link).css(p["photo_image"]).get() for link in sel.css(p["photo_links"]).getall()]
            url = sel.css(p["next_photos_page"]).get()
        return out


def test_the_demo_profile_reads_every_album_date_count_and_photo(built):
    albums = Crawl(built / "site").albums()
    by_id = {int(a["url"].strip("/").split("/")[-1]): a for a in albums}
    assert len(albums) == len(story.ALBUMS) == 10
    assert [a["url"] for a in albums[:2]] == ["/album/1402/", "/album/1305/"]    # newest first
    assert by_id[1402]["date"] == "21 фев 2014"
    assert by_id[1006]["date"] is None                                         # no date shown
    assert by_id[905]["count"] == by_id[905]["list_count"] == "7 фотографий"   # two were deleted
    assert len(by_id[905]["images"]) == 5
    assert by_id[501]["count"] == "3 фотографии"
    assert len(by_id[1402]["images"]) == 7                                      # two grid pages
    images = [i for a in albums for i in a["images"]]
    truth = read_truth((built / "truth.csv").read_text(encoding="utf-8"))
    assert sorted(images) == sorted(r["url"] for r in truth)


def test_full_size_photos_are_540x360_jpegs_and_one_needs_its_exif_rotation(built):
    faults = json.loads((built / "faults.json").read_text())
    missing = set(faults["missing"])
    truth = read_truth((built / "truth.csv").read_text(encoding="utf-8"))
    rotated = 0
    for row in truth:
        path = built / "site" / row["url"].lstrip("/")
        if row["url"] in missing:
            assert not path.exists()
            assert row["subjects"] == ""           # the 404 loses nobody of the cast
            continue
        with Image.open(path) as img:
            assert img.format == "JPEG"
            if img.getexif().get(0x0112) == 6:
                rotated += 1
                assert img.size == (360, 540) and story.TARGET in row["subjects"]
            assert ImageOps.exif_transpose(img).size == (540, 360)
    assert rotated == 1 and len(missing) == 1 and len(faults["flaky"]) == 1


@pytest.mark.parametrize("n, text", [(1, "1 фотография"), (3, "3 фотографии"), (5, "5 фотографий"),
                                     (11, "11 фотографий"), (12, "12 фотографий"), (21, "21 фотография"),
                                     (22, "22 фотографии"), (48, "48 фотографий"), (111, "111 фотографий")])
def test_counts_are_shown_with_russian_plurals(n, text):
    assert pages.shown_count(n) == text


def test_the_bundled_demo_stays_small():
    size = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert size < 10 * 2**20


# The server ----------------------------------------------------------------

@pytest.fixture
def server(built):
    proc = subprocess.Popen([sys.executable, "-m", "demo.serve", str(built / "site"), "--port", "0",
                             "--until-stdin-closes"], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("serving"), proc.stderr.read()
    proc.url = line.split()[-1]
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_server_serves_pages_and_photos_with_the_faults(built, server):
    assert server.url.startswith("http://127.0.0.1:")
    status, ctype, body = fetch(server.url)
    assert status == 200 and ctype.startswith("text/html") and "Встреча выпускников" in body.decode()
    assert fetch(urljoin(server.url, "/robots.txt"))[0] == 200
    faults = json.loads((built / "faults.json").read_text())
    assert fetch(urljoin(server.url, faults["missing"][0]))[0] == 404
    flaky = next(iter(faults["flaky"]))
    assert fetch(urljoin(server.url, flaky))[0] == 503
    status, ctype, body = fetch(urljoin(server.url, flaky))
    assert status == 200 and ctype == "image/jpeg" and body == (built / "site" / flaky.lstrip("/")).read_bytes()
    assert fetch(urljoin(server.url, "/no/such/page/"))[0] == 404


def test_server_stops_when_its_stdin_closes(server):
    server.stdin.close()
    assert server.wait(10) == 0


def test_server_stops_cleanly_on_sigterm(server):
    server.terminate()
    assert server.wait(10) == 0


def test_server_on_a_busy_port_says_so(built, server):
    port = server.url.rstrip("/").rsplit(":", 1)[1]
    other = subprocess.run([sys.executable, "-m", "demo.serve", str(built / "site"), "--port", port],
                           cwd=REPO, capture_output=True, text=True, timeout=30)
    assert other.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in other.stderr
