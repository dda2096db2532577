"""`scrapy crawl albums` as a user runs it: exit status, what the terminal shows, one crawl per folder.

Each test writes a settings file and runs the real command in a subprocess
against a site served from this process (a folder of hand-written pages), a
closed port, or a port that accepts connections and never answers.
"""
from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from scrapy import Spider
from scrapy.utils.test import get_crawler

from conftest import REPO, free_port
from photoscrape import logs
from photoscrape.lock import LOCK_FILE, DataFolderBusy, data_folder_lock

SELECTORS = {
    "album_links": "a.album::attr(href)",
    "album_title": "h1::text",
    "album_date": "time::text",
    "photo_links": "a.photo::attr(href)",
    "photo_image": "img.full::attr(src)",
}


def settings(tmp_path: Path, url: str, **overrides: str) -> Path:
    lines = ["data: data", "site:", f'  start_urls: ["{url}"]', "  obey_robots_txt: false",
             "  autothrottle: false", "  download_delay: 0"]
    lines += [f'  {key}: "{value}"' for key, value in {**SELECTORS, **overrides}.items()]
    path = tmp_path / "settings.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def crawl(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scrapy", "crawl", "albums", *args], cwd=REPO,
                          env={**os.environ, "PHOTOSCRAPE_CONFIG": str(config)},
                          capture_output=True, text=True, timeout=timeout)


def jpeg(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def site(tmp_path):
    """Two dated albums with two photos each; photo 's' (the same image URL) is shown in both."""
    root = tmp_path / "site"
    (root / "media").mkdir(parents=True)
    for name, colour in [("a1", (200, 0, 0)), ("s", (0, 200, 0)), ("b1", (0, 0, 200))]:
        (root / "media" / f"{name}.jpg").write_bytes(jpeg(colour))
    pages = {
        "index.html": '<a class="album" href="/hike.html">Hike</a><a class="album" href="/sea.html">Sea</a>',
        "hike.html": '<h1>Hike</h1><time>21 Feb 2014</time>'
                     '<a class="photo" href="/p/a1.html">1</a><a class="photo" href="/p/s-hike.html">2</a>',
        "sea.html": '<h1>Sea</h1><time>1 Jul 2015</time>'
                    '<a class="photo" href="/p/s-sea.html">1</a><a class="photo" href="/p/b1.html">2</a>',
        "p/a1.html": '<img class="full" src="/media/a1.jpg">',
        "p/s-hike.html": '<img class="full" src="/media/s.jpg">',
        "p/s-sea.html": '<img class="full" src="/media/s.jpg">',
        "p/b1.html": '<img class="full" src="/media/b1.jpg">',
    }
    for name, body in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"<html><body>{body}</body></html>", encoding="utf-8")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_closed_port_exits_1_with_one_line_per_failure_and_no_scrapy_dumps(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/"
    done = crawl(settings(tmp_path, url))
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stdout == ("No album list page could be read, so no album was found:\n"
                           f"  {url}: connection refused\n"
                           "The site did not answer: check that it is up and that site.start_urls is right.\n")
    assert "some albums may be missing" not in done.stdout
    assert "Traceback" not in done.stderr
    # Scrapy's dictionaries (settings, components, statistics) are not in the terminal.
    for dump in ("Overridden settings", "Enabled downloader middlewares", "Dumping Scrapy stats", "Versions"):
        assert dump not in done.stderr
    assert not (tmp_path / "data" / "albums.jsonl").exists()


def test_robots_txt_that_cannot_be_read_is_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/"
    config = settings(tmp_path, url)
    config.write_text(config.read_text().replace("obey_robots_txt: false", "obey_robots_txt: true"))
    done = crawl(config)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    robots = [line for line in done.stderr.splitlines() if "[scrapy.downloadermiddlewares.robotstxt]" in line]
    assert len(robots) == 1 and robots[0].endswith(
        f"WARNING: {url}robots.txt could not be read (connection refused); crawling as if it allowed everything")


def test_a_second_crawl_of_the_same_data_folder_stops_at_once(tmp_path):
    config = settings(tmp_path, f"http://127.0.0.1:{free_port()}/")
    data = tmp_path / "data"
    with data_folder_lock(data):                       # the first crawl, still running
        started = time.monotonic()
        done = crawl(config)
    assert done.returncode == 1
    assert done.stderr == (f"error: another crawl is using {data} (pid {os.getpid()}); "
                           "wait for it to finish, or stop it first\n")
    assert done.stdout == "" and time.monotonic() - started < 30
    assert sorted(p.name for p in data.iterdir()) == [LOCK_FILE]     # nothing crawled, nothing written
    # once the first crawl is over, the next one runs
    assert "No album list page could be read" in crawl(config).stdout


def test_the_lock_names_the_crawl_holding_it_and_is_free_again_after(tmp_path):
    with data_folder_lock(tmp_path / "data"):
        with pytest.raises(DataFolderBusy, match=rf"^another crawl is using {tmp_path / 'data'} \(pid {os.getpid()}\)"):
            with data_folder_lock(tmp_path / "data"):
                pass
    with data_folder_lock(tmp_path / "data"):
        assert (tmp_path / "data" / LOCK_FILE).read_text() == f"{os.getpid()}\n"


@pytest.mark.slow
def test_a_server_that_never_answers_is_given_up_visibly(tmp_path):
    with socket.socket() as silent:                    # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        started = time.monotonic()
        done = crawl(settings(tmp_path, url), "-s", "DOWNLOAD_TIMEOUT=1")
        elapsed = time.monotonic() - started
    assert done.returncode == 1
    waits = [line.split("INFO: ")[1] for line in done.stderr.splitlines() if "[photoscrape.retry]" in line]
    assert waits == [f"No answer from {url} in 1 s, retrying 1/2", f"No answer from {url} in 1 s, retrying 2/2"]
    assert f"  {url}: timed out\n" in done.stdout
    assert elapsed < 60


@pytest.mark.slow
@pytest.mark.parametrize("broken, message", [
    ({"album_links": "a.albums::attr(href)"}, "No albums found: check site.start_urls and site.album_links."),
    ({"photo_links": "a.photos::attr(href)"}, "No photos found in any album: check site.photo_links."),
    ({"photo_image": "img.large::attr(src)"}, "No photo could be saved: every one failed"),
])
def test_a_required_selector_that_matches_nothing_fails_the_crawl(site, tmp_path, broken, message):
    done = crawl(settings(tmp_path, site, **broken))
    assert done.returncode == 1, done.stdout
    assert message in done.stdout
    key = next(iter(broken))
    assert f"Selector site.{key} matched nothing on" in done.stdout


@pytest.fixture
def scrapy_log():
    """Records reaching a handler at INFO, as Scrapy's terminal handler is; the filters removed after."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    level = logging.root.level
    logging.root.setLevel(logging.NOTSET)               # as Scrapy sets it: the handler's level decides
    logging.root.addHandler(handler)
    yield records
    logging.root.removeHandler(handler)
    logging.root.setLevel(level)
    for name in [*logs.DUMPS, logs.ROBOTS_LOGGER]:
        logging.getLogger(name).filters.clear()


def test_scrapys_dumps_leave_the_terminal_but_stay_in_a_log_file(scrapy_log):
    def dump():
        scrapy_log.clear()
        logging.getLogger("scrapy.crawler").info("Overridden settings:\n%(settings)s", {"settings": "{...}"})
        logging.getLogger("scrapy.crawler").info("Crawler started")
        logging.getLogger("scrapy.statscollectors").info("Dumping Scrapy stats:\n{...}")
        return [(r.levelname, r.getMessage().split(":")[0]) for r in scrapy_log]

    logs.quiet_terminal(log_to_file=False)
    assert dump() == [("INFO", "Crawler started")]
    logs.quiet_terminal(log_to_file=True)
    assert dump() == [("INFO", "Overridden settings"), ("INFO", "Crawler started"), ("INFO", "Dumping Scrapy stats")]


@pytest.mark.slow
def test_a_photo_in_two_albums_is_in_both_album_folders_stored_once(site, tmp_path):
    config = settings(tmp_path, site)
    done = crawl(config)
    assert done.returncode == 0, done.stderr[-2000:]
    data = tmp_path / "data"
    manifest = [json.loads(line) for line in (data / "albums.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [[p["path"] for p in a["photos"]] for a in manifest] == [
        ["photos/2014-02-21 Hike/2014-02-21_hike_001.jpg", "photos/2014-02-21 Hike/2014-02-21_hike_002.jpg"],
        ["photos/2015-07-01 Sea/2015-07-01_sea_001.jpg", "photos/2015-07-01 Sea/2015-07-01_sea_002.jpg"]]
    shared = [data / manifest[0]["photos"][1]["path"], data / manifest[1]["photos"][0]["path"]]
    assert shared[0].stat().st_ino == shared[1].stat().st_ino           # one file, two names
    assert len({p.stat().st_ino for p in (data / "photos").rglob("*.jpg")}) == 3
    assert "2 albums, 4 photos found: 4 on disk (4 saved now, 0 already saved), 0 failed." in done.stdout
    assert "1 photo is in several albums" in done.stdout

    state = (data / "crawl-state.jsonl").read_text()
    again = crawl(config)
    assert again.returncode == 0
    assert "4 on disk (0 saved now, 4 already saved)" in again.stdout
    assert (data / "crawl-state.jsonl").read_text() == state


def test_the_progress_line_counts_albums_and_photos(caplog):
    crawler = get_crawler(Spider, {"LOGSTATS_INTERVAL": 60.0})
    for key, value in {"response_received_count": 40, "item_scraped_count": 3, "photoscrape/saved": 25,
                       "photoscrape/already_saved": 5, "photoscrape/failed": 1}.items():
        crawler.stats.set_value(key, value)
    caplog.set_level(logging.INFO, logger="photoscrape.progress")
    progress = logs.ProgressLog.from_crawler(crawler)
    progress.pagesprev = progress.itemsprev = 0          # as spider_opened sets them
    progress.log(None)
    assert caplog.messages == ["Fetched 40 pages and photos (40/min); albums done: 3; "
                               "photos: 25 saved, 5 already saved, 1 failed"]


def test_a_data_folder_under_a_file_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "data").write_text("not a folder")
    config = settings(tmp_path, f"http://127.0.0.1:{free_port()}/")
    config.write_text(config.read_text().replace("data: data", "data: data/inside"))
    done = crawl(config)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: data folder {tmp_path / 'data' / 'inside'}: cannot use it (")
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("site_dies", [False, True])
def test_ctrl_c_says_stopped_by_you_and_blames_the_site_for_nothing(site, tmp_path, site_dies):
    """Ctrl-C while photos are in flight: the summary says the user stopped the crawl, and photos
    cut short (here the site also goes away, as the demo's did) are not the site's failures."""
    photo_asked, stop = threading.Event(), threading.Event()
    root = tmp_path / "site"

    class SlowPhotos(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/media/"):
                photo_asked.set()
                stop.wait(20)
                if site_dies:
                    self.close_connection = True      # gone without an answer
                    return
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SlowPhotos, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = settings(tmp_path, f"http://127.0.0.1:{server.server_address[1]}/")
        proc = subprocess.Popen([sys.executable, "-m", "scrapy", "crawl", "albums"], cwd=REPO,
                                env={**os.environ, "PHOTOSCRAPE_CONFIG": str(config)}, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        assert photo_asked.wait(60), proc.communicate(timeout=5)
        os.killpg(proc.pid, signal.SIGINT)                # what Ctrl-C sends to the terminal's group
        time.sleep(1)
        if site_dies:
            server.shutdown()
            server.server_close()                         # later tries: connection refused
        stop.set()
        out, err = proc.communicate(timeout=120)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
    assert proc.returncode == 1, err[-2000:]
    assert "Traceback" not in err
    assert "Stopped by you (Ctrl-C)" in out and "run it again to finish" in out, out
    assert "The crawl stopped early" not in out
    totals = next(line for line in out.splitlines() if " found: " in line)
    assert ", 0 failed" in totals, out
    if site_dies:
        assert "not fetched (the crawl was stopped)" in totals
        assert "connection refused" not in out
        assert "not fetched: the crawl was stopped" in out
