"""albums.jsonl records and the end-of-crawl summary: complete means nothing is missing."""
import json
from datetime import date

from photoscrape.items import AlbumItem, PhotoEntry
from photoscrape.manifest import album_record, read_manifest, write_manifest
from photoscrape.summary import CrawlReport, render, why_incomplete

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
    report = CrawlReport(misses={"album_date": ["http://s/album/3/"]}, omitted=["photo_date"], new_saved=2)
    text = render(recs, report, "data/albums.jsonl")
    lines = text.splitlines()
    assert lines[0].split() == ["date", "album", "shown", "found", "saved", "failed"]
    assert lines[1].split() == ["2014-02-21", "A", "2", "2", "2", "0"]
    assert lines[2].split() == ["2014-02-21", "Б", "3", "2", "1", "1", "!"]
    assert "2 albums, 4 photos found: 3 on disk (2 saved now, 1 already saved), 1 failed." in text
    assert "Not complete (1 of 2 albums):" in text
    assert "the site shows 3 photos, 2 found; 1 failed (HTTP 404)" in text
    assert "Selector site.album_date matched nothing on 1 page: http://s/album/3/" in text
    assert "site.photo_date" in text and "Manifest: data/albums.jsonl" in text
    json.dumps(recs)     # records are plain JSON
