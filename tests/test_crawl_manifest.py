"""albums.jsonl records and the end-of-crawl summary: complete means nothing is missing."""
import json
from datetime import date
from types import SimpleNamespace

from photoscrape.items import AlbumItem, PhotoEntry
from photoscrape.manifest import FAILURE_STAT, album_record, read_manifest, write_manifest
from photoscrape.summary import CrawlReport, crawl_failure, render, why_incomplete

CONTRACT_KEYS = ["url", "title", "date", "date_text", "displayed_count", "found_count", "saved_count",
                 "complete", "photos"]
PHOTO_KEYS = ["url", "path", "status", "reason", "checksum", "date"]


def album(shown, statuses, problems=(), when=date(2014, 2, 21)):
    photos = []
    for n, status in enumerate(statuses, 1):
        e = PhotoEntry(url=f"http://s/m/{n}.jpg", status=status)
        if status == "failed":
            e.reason = "HTTP 404"
        else:
            e.path, e.checksum = f"2014-02-21 A/2014-02-21_1_{n:03d}.jpg", f"c{n}"
        photos.append(e)
    return AlbumItem(url="http://s/album/1/", order=(0, 0), album_id="1", title="A", date=when,
                     date_text="21 фев 2014" if when else "", count_text=f"{shown} фото",
                     displayed_count=shown, photos=photos, problems=list(problems))


def test_record_has_exactly_the_contract_fields():
    rec = album_record(album(2, ["saved", "already_saved"]), "photos/")
    assert list(rec) == CONTRACT_KEYS
    assert all(list(p) == PHOTO_KEYS for p in rec["photos"])
    assert rec["date"] == "2014-02-21" and rec["date_text"] == "21 фев 2014"
    assert rec["photos"][0]["path"] == "photos/2014-02-21 A/2014-02-21_1_001.jpg"
    assert (rec["found_count"], rec["saved_count"], rec["complete"]) == (2, 2, True)


def test_complete_needs_every_photo_saved_and_the_shown_count_found():
    assert album_record(album(3, ["saved", "saved", "failed"]), "")["complete"] is False
    assert album_record(album(3, ["saved", "saved"]), "")["complete"] is False         # 3 shown, 2 found
    assert album_record(album(None, ["saved", "saved"]), "")["complete"] is True       # no count shown
    assert album_record(album(0, []), "")["complete"] is True                          # empty album
    assert album_record(album(None, [], problems=["album page: HTTP 500"]), "")["complete"] is False


def test_undated_album_has_null_date_and_failed_photo_its_reason():
    rec = album_record(album(1, ["failed"], when=None), "photos/")
    assert rec["date"] is None and rec["date_text"] == ""
    assert rec["photos"][0] == {"url": "http://s/m/1.jpg", "path": None, "status": "failed",
                                "reason": "HTTP 404", "checksum": None, "date": None}


def test_manifest_round_trips_cyrillic_as_text(tmp_path):
    path = tmp_path / "albums.jsonl"
    records = [album_record(album(1, ["saved"]), "photos/")]
    write_manifest(path, records)
    assert "21 фев 2014" in path.read_text(encoding="utf-8")
    assert read_manifest(path) == records
    assert [p.name for p in tmp_path.iterdir()] == ["albums.jsonl"]      # no temporary file left


def test_why_incomplete_says_what_is_missing():
    rec = album_record(album(5, ["saved", "failed", "failed"]), "")
    assert why_incomplete(rec, []) == "the site shows 5 photos, 3 found; 2 failed (HTTP 404 x2)"
    assert why_incomplete(album_record(album(1, ["saved"]), ""), []) == ""


def test_summary_table_and_problems():
    recs = [album_record(album(2, ["saved", "already_saved"]), "photos/"),
            album_record(album(3, ["saved", "failed"]), "photos/")]
    recs[1]["title"], recs[1]["url"] = "Б", "http://s/album/2/"
    report = CrawlReport(misses={"album_date": ["http://s/album/3/"]}, omitted=["photo_date"])
    text = render(recs, report, "data/albums.jsonl")
    lines = text.splitlines()
    assert lines[0].split() == ["date", "album", "shown", "found", "saved", "failed"]
    assert lines[1].split() == ["2014-02-21", "A", "2", "2", "2", "0"]
    assert lines[2].split() == ["2014-02-21", "Б", "3", "2", "1", "1", "!"]
    assert "2 albums, 4 photos found: 3 on disk (2 saved now, 1 already saved), 1 failed." in text
    assert "Not complete (1 of 2 albums):" in text
    assert "the site shows 3 photos, 2 found; 1 failed (HTTP 404)" in text
    assert "Selector site.album_date matched nothing on 1 page (saved as undated): http://s/album/3/" in text
    assert "Optional selectors not set (not read): site.photo_date" in text
    assert text.endswith("\nManifest: data/albums.jsonl\n")
    json.dumps(recs)     # records are plain JSON


class FakeSpider:
    """What ManifestPipeline reads from the spider at the end."""

    def __init__(self, list_errors=(), open_albums=(), album_id=None, album_id_misses=(), unread_list_pages=0):
        self.list_errors = list(list_errors)
        self.unread_list_pages = unread_list_pages
        self.open_albums = {u: None for u in open_albums}
        self.misses, self.omitted_selectors, self.unreadable_dates = {}, [], []
        self.profile = SimpleNamespace(album_id=album_id)
        self.album_id_misses = list(album_id_misses)


def pipeline(tmp_path):
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from photoscrape.manifest import ManifestPipeline
    crawler = get_crawler(Spider, {"PHOTOSCRAPE_MANIFEST": str(tmp_path / "albums.jsonl"),
                                   "IMAGES_STORE": str(tmp_path / "photos")})
    return ManifestPipeline.from_crawler(crawler)


def close(pipe, spider: FakeSpider, reason: str, capsys) -> str:
    """End the crawl as Scrapy does: spider_closed, then engine_stopped (the summary is printed last)."""
    pipe.spider_closed(spider, reason)
    assert capsys.readouterr().out == ""
    pipe.engine_stopped()
    out = capsys.readouterr().out
    assert out == (pipe.manifest.parent / "crawl-summary.txt").read_text(encoding="utf-8")
    return out


def numbered(n: int, order) -> AlbumItem:
    item = album(1, ["saved"])
    item.url, item.order, item.title = f"http://s/album/{n}/", order, f"album {n}"
    return item


def test_albums_are_written_in_site_order_and_vanished_ones_dropped_after_a_full_crawl(tmp_path, capsys):
    write_manifest(tmp_path / "albums.jsonl", [{"url": "http://s/album/9/", "title": "gone"}])
    pipe = pipeline(tmp_path)
    for n, order in [(2, (1, 0)), (1, (0, 1)), (3, (0, 0, 0))]:     # finished in any order
        pipe.process_item(numbered(n, order))
    out = close(pipe, FakeSpider(), "finished", capsys)
    assert [r["title"] for r in read_manifest(tmp_path / "albums.jsonl")] == ["album 3", "album 1", "album 2"]
    assert "Every album is complete." in out
    assert pipe.crawler.stats.get_value(FAILURE_STAT) == ""        # the crawl did its job: exit 0


def test_a_stopped_crawl_keeps_the_albums_it_did_not_reach(tmp_path, capsys):
    old = [album_record(numbered(n, (0, n)), "photos/") for n in (1, 2)]
    write_manifest(tmp_path / "albums.jsonl", old)
    pipe = pipeline(tmp_path)
    pipe.process_item(numbered(1, (0, 1)))
    out = close(pipe, FakeSpider(open_albums=["http://s/album/2/"]), "shutdown", capsys)
    assert [r["url"] for r in read_manifest(tmp_path / "albums.jsonl")] == ["http://s/album/1/", "http://s/album/2/"]
    assert pipe.crawler.stats.get_value(FAILURE_STAT) == "stopped by you (Ctrl-C) before the end"
    assert ("Stopped by you (Ctrl-C): 1 album not crawled yet (http://s/album/2/); run it again to finish "
            "(photos already saved are not fetched again).") in out
    assert "Albums not finished" not in out          # said once, in the line above
    assert "Kept from the last crawl in the manifest, not reached this time: 1 album." in out


def test_a_crawl_stopped_before_the_last_album_list_page_gives_a_floor(tmp_path, capsys):
    # Albums listed on pages not read yet are unknown: 9 open albums of a 22-album site is "at least 9".
    pipe = pipeline(tmp_path)
    pipe.process_item(numbered(1, (0, 1)))
    out = close(pipe, FakeSpider(open_albums=["http://s/album/2/"], unread_list_pages=1), "shutdown", capsys)
    assert ("Stopped by you (Ctrl-C): at least 1 album not crawled yet (http://s/album/2/), and 1 album list "
            "page not read yet; run it again to finish") in out


def test_an_unreachable_site_leaves_the_manifest_alone(tmp_path, capsys):
    old = [album_record(numbered(1, (0, 0)), "photos/")]
    write_manifest(tmp_path / "albums.jsonl", old)
    before = (tmp_path / "albums.jsonl").read_bytes()
    pipe = pipeline(tmp_path)
    out = close(pipe, FakeSpider(list_errors=["http://s/: connection refused"]), "finished", capsys)
    assert (tmp_path / "albums.jsonl").read_bytes() == before
    assert "No album list page could be read, so no album was found:\n  http://s/: connection refused\n" in out
    assert "some albums may be missing" not in out
    assert "Kept from the last crawl in the manifest, not reached this time: 1 album." in out
    assert pipe.crawler.stats.get_value(FAILURE_STAT) == "no album list page could be read"


def test_a_first_crawl_of_an_unreachable_site_writes_no_empty_manifest(tmp_path, capsys):
    pipe = pipeline(tmp_path)
    out = close(pipe, FakeSpider(list_errors=["http://s/: connection refused"]), "finished", capsys)
    assert not (tmp_path / "albums.jsonl").exists()
    assert out == ("No album list page could be read, so no album was found:\n"
                   "  http://s/: connection refused\n"
                   "The site did not answer: check that it is up and that site.start_urls is right.\n")


def test_a_refused_album_list_suggests_the_cookies_file():
    report = CrawlReport(list_errors=["http://s/: HTTP 403"])
    text = render([], report, "albums.jsonl")
    assert "http://s/: HTTP 403" in text and "site.cookies_file" in text
    assert "site.cookies_file" not in render([], CrawlReport(list_errors=["http://s/: HTTP 500"]), "albums.jsonl")


def test_the_crawl_failed_when_it_could_not_do_its_job_not_when_some_photos_failed():
    ok = album_record(album(3, ["saved", "already_saved", "failed"]), "photos/")
    empty = album_record(album(None, []), "photos/")
    all_failed = album_record(album(2, ["failed", "failed"]), "photos/")
    assert crawl_failure([ok], CrawlReport()) == ""                    # exit 0: failed photos are in the table
    assert crawl_failure([ok, all_failed], CrawlReport()) == ""
    assert crawl_failure([], CrawlReport(list_errors=["http://s/: connection refused"])) == \
        "no album list page could be read"
    assert crawl_failure([], CrawlReport(misses={"album_links": ["http://s/"]})) == "no album found"
    assert crawl_failure([ok], CrawlReport(list_errors=["http://s/?page=2: HTTP 500"])) == \
        "album list pages could not be read: some albums may be missing"
    assert crawl_failure([empty], CrawlReport(misses={"photo_links": ["http://s/album/1/"]})) == \
        "no photo found in any album"
    assert crawl_failure([all_failed], CrawlReport()) == "no photo could be saved"
    assert crawl_failure([ok], CrawlReport(finish_reason="shutdown")) == "stopped by you (Ctrl-C) before the end"
    assert crawl_failure([ok], CrawlReport(finish_reason="closespider_timeout")) == \
        "the crawl stopped early (closespider_timeout)"


def test_the_summary_says_what_to_check_when_nothing_was_found_or_saved():
    problem = "no photos found on the album page (site.photo_links matched nothing)"
    empty = album_record(album(None, [], problems=[problem]), "photos/")
    text = render([empty], CrawlReport(misses={"photo_links": ["http://s/album/1/"]},
                                       problems={"http://s/album/1/": [problem]}), "albums.jsonl")
    assert "no photos found on the album page (site.photo_links matched nothing)" in text
    assert "No photos found in any album: check site.photo_links." in text
    all_failed = album_record(album(2, ["failed", "failed"]), "photos/")
    assert "No photo could be saved: every one failed" in render([all_failed], CrawlReport(), "albums.jsonl")
    text = render([], CrawlReport(misses={"album_links": ["http://s/"]}), "albums.jsonl")
    assert text.splitlines()[0] == "No albums found: check site.start_urls and site.album_links."
    # some list pages read, one not: albums may be missing, which is different from "no album found"
    text = render([album_record(album(1, ["saved"]), "photos/")],
                  CrawlReport(list_errors=["http://s/?page=2: HTTP 500"]), "albums.jsonl")
    assert "Album list pages that could not be read (1): some albums may be missing:" in text


def test_a_photo_in_two_albums_counts_in_both_and_the_summary_says_it_is_stored_once():
    hike, sea = album(2, ["saved", "saved"]), album(1, ["saved"])
    sea.url, sea.title = "http://s/album/2/", "Sea"
    sea.photos[0].checksum = hike.photos[1].checksum        # the same photo, in each album's folder
    sea.photos[0].path = "2015-07-01 Sea/2015-07-01_2_001.jpg"
    recs = [album_record(a, "photos/") for a in (hike, sea)]
    text = render(recs, CrawlReport(), "albums.jsonl")
    assert "2 albums, 3 photos found: 3 on disk (3 saved now, 0 already saved), 0 failed." in text
    assert ("1 photo is in several albums: each album that shows it has it in its folder "
            "(hard links: stored once on disk).") in text
    assert "several albums" not in render(recs[:1], CrawlReport(), "albums.jsonl")


def test_one_album_and_one_photo_are_singular_in_the_summary():
    one = album_record(album(1, ["failed"]), "photos/")
    text = render([one], CrawlReport(), "albums.jsonl")
    assert "1 album, 1 photo found: 0 on disk (0 saved now, 0 already saved), 1 failed." in text
    assert "Not complete (1 of 1 album):" in text
    short = album_record(album(1, ["saved", "saved"]), "photos/")
    assert why_incomplete(short, []) == "the site shows 1 photo, 2 found"


def test_an_album_id_regex_that_matches_no_album_url_is_named_with_an_example(tmp_path, capsys):
    pipe = pipeline(tmp_path)
    pipe.process_item(numbered(1, (0, 0)))
    misses = ["http://s/album/1/", "http://s/album/2/"]
    out = close(pipe, FakeSpider(album_id=r"/gallery/(\d+)", album_id_misses=misses), "finished", capsys)
    assert ("site.album_id '/gallery/(\\d+)' matched nothing in 2 album URLs (e.g. http://s/album/1/): "
            "their file names use the default id (from the end of the URL) instead.") in out


def test_photos_cut_short_by_ctrl_c_are_not_counted_as_the_sites_failures():
    from photoscrape.reasons import cut_short
    stopped = album(3, ["saved", "failed", "failed"])
    stopped.photos[1].reason = cut_short("connection refused")
    rec = album_record(stopped, "photos/")
    assert rec["photos"][1]["status"] == "failed"          # the manifest contract: not on disk
    assert why_incomplete(rec, []) == "1 failed (HTTP 404); 1 photo not fetched: the crawl was stopped"
    text = render([rec], CrawlReport(finish_reason="shutdown"), "albums.jsonl")
    assert text.splitlines()[1].split() == ["2014-02-21", "A", "3", "3", "1", "1", "!"]
    assert ("1 album, 3 photos found: 1 on disk (1 saved now, 0 already saved), 1 failed, "
            "1 not fetched (the crawl was stopped).") in text
    assert "Stopped by you (Ctrl-C) before the end; run it again to finish" in text
    assert "No photo" not in text and "No album" not in text     # no advice to fix the profile


def test_a_photo_download_failing_after_ctrl_c_is_marked_cut_short(tmp_path):
    from scrapy import Request
    from scrapy.utils.test import get_crawler
    from twisted.internet.error import ConnectionRefusedError
    from twisted.python.failure import Failure

    from photoscrape.pipelines import PhotoFailed, PhotosPipeline
    crawler = get_crawler(settings_dict={"IMAGES_STORE": str(tmp_path / "photos")})
    pipe = PhotosPipeline.from_crawler(crawler)
    refused = Failure(ConnectionRefusedError())
    crawler.stats.set_value("start_time", 1.0)              # the crawl ran (CoreStats at spider open)
    for crawling, reason in [(True, "connection refused"),
                             (False, "not fetched: the crawl was stopped (connection refused)")]:
        crawler.crawling = crawling                          # Scrapy clears it when the user stops the crawl
        try:
            pipe.media_failed(refused, Request("http://s/m/1.jpg"), None)
        except PhotoFailed as exc:
            assert str(exc) == reason
        else:
            raise AssertionError("media_failed must raise")
