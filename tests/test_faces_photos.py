"""faces.photos: the manifest's photos plus dropped-in files, each once, hashed only when changed."""
from __future__ import annotations

import json
import os

import pytest
from PIL import Image

from conftest import jpeg_claiming
from faces.config import UserError, load_config
from faces.images import file_checksum
from faces.photos import file_records, list_photos, same_content
from faces.store import FileRecord


def album(date, *photos, title="A"):
    return {"url": f"http://s/{title}/", "title": title, "date": date, "date_text": "", "displayed_count": None,
            "found_count": len(photos), "saved_count": len(photos), "complete": True, "photos": list(photos)}


def photo(path, url, status="saved", date=None):
    return {"url": url, "path": path, "status": status, "reason": None, "checksum": None, "date": date}


@pytest.fixture
def cfg(tmp_path):
    (tmp_path / "settings.yaml").write_text("data: data\nfaces: {}\n", encoding="utf-8")
    return load_config(tmp_path / "settings.yaml")


def write_image(path, exif_date=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if exif_date:
        exif.get_ifd(0x8769)[0x9003] = exif_date
    Image.new("RGB", (8, 8), (200, 100, 50)).save(path, exif=exif)


def test_manifest_then_dropped_in_files(cfg):
    data = cfg.data_dir
    for rel in ["photos/a/1.jpg", "photos/a/2.jpg", "photos/b/1.jpg"]:
        write_image(data / rel)
    write_image(data / "photos/mine/x.jpg", exif_date="2007:08:09 10:11:12")
    lines = [album("2004-09-01", photo("photos/a/1.jpg", "http://s/1"), photo("photos/a/2.jpg", "http://s/2"),
                   photo(None, "http://s/404", status="failed"), photo("photos/a/gone.jpg", "http://s/3")),
             album(None, photo("photos/b/1.jpg", "http://s/4", status="already_saved", date="2005-01-02"),
                   photo("photos/a/1.jpg", "http://s/1-again"))]
    cfg.manifest.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n[not an album\n", encoding="utf-8")

    listing = list_photos(cfg)
    assert [(p.path.relative_to(data).as_posix(), p.url, p.album_date, p.in_manifest) for p in listing.photos] == [
        ("photos/a/1.jpg", "http://s/1", "2004-09-01", True),      # the first album that lists it
        ("photos/a/2.jpg", "http://s/2", "2004-09-01", True),
        ("photos/b/1.jpg", "http://s/4", "2005-01-02", True),      # no album date: the photo's own
        ("photos/mine/x.jpg", "", None, False),
    ]
    assert listing.missing == ["photos/a/gone.jpg"]
    assert listing.problems == ["albums.jsonl line 4: not a JSON album (skipped)"]

    records = file_records(listing, data, {})
    assert [r.album_date for r in records] == ["2004-09-01", "2004-09-01", "2005-01-02", "2007-08-09"]   # EXIF
    assert records[0].checksum == file_checksum(data / "photos/a/1.jpg")


def test_unchanged_files_are_not_read_again(cfg, monkeypatch):
    write_image(cfg.data_dir / "photos/x.jpg", exif_date="2007:08:09 10:11:12")
    known = {r.path: r for r in file_records(list_photos(cfg), cfg.data_dir, {})}
    monkeypatch.setattr("faces.photos.file_checksum", lambda path: pytest.fail(f"{path} hashed again"))
    monkeypatch.setattr("faces.photos.exif_date", lambda path: pytest.fail(f"{path} read again"))
    assert file_records(list_photos(cfg), cfg.data_dir, known) == list(known.values())

    monkeypatch.undo()
    os.utime(cfg.data_dir / "photos/x.jpg", (1, 1))                 # touched: read again, same content
    [again] = file_records(list_photos(cfg), cfg.data_dir, known)
    assert again.checksum == known["photos/x.jpg"].checksum and again.mtime_ns == 1_000_000_000


def test_nothing_to_index_says_where_it_looked(cfg):
    with pytest.raises(UserError, match=r"nothing to index: neither .*albums.jsonl nor .*photos exists"):
        list_photos(cfg)


def test_a_huge_dropped_in_photo_is_listed_not_fatal(cfg):
    """Its date cannot be read (it is too large to open); indexing then records why it fails."""
    write_image(cfg.data_dir / "photos/small.jpg", exif_date="2007:08:09 10:11:12")
    (cfg.data_dir / "photos/huge.jpg").write_bytes(jpeg_claiming(18000, 10500))
    records = file_records(list_photos(cfg), cfg.data_dir, {})
    assert [(r.path, r.album_date) for r in records] == [("photos/huge.jpg", None), ("photos/small.jpg", "2007-08-09")]


def test_same_content_pairs_each_copy_with_the_first_file_by_path():
    records = [FileRecord(path, checksum, 1, 1) for path, checksum in [
        ("photos/2014 b/2.jpg", "x"), ("photos/2006 a/4.jpg", "x"), ("photos/2011/5.jpg", "y"),
        ("photos/2014 b/3.jpg", "y"), ("photos/mine/x.jpg", "x"), ("photos/z.jpg", "z")]]
    assert same_content(records) == [("photos/2014 b/2.jpg", "photos/2006 a/4.jpg"),
                                     ("photos/2014 b/3.jpg", "photos/2011/5.jpg"),
                                     ("photos/mine/x.jpg", "photos/2006 a/4.jpg")]


def test_a_broken_link_or_an_unreadable_file_is_listed_as_failed_not_fatal(cfg):
    write_image(cfg.data_dir / "photos/mine/ok.jpg")
    (cfg.data_dir / "photos/mine/broken.jpg").symlink_to("/nowhere/broken.jpg")
    listing = list_photos(cfg)
    assert [p.path.name for p in listing.photos] == ["ok.jpg"]
    assert listing.unreadable == [("photos/mine/broken.jpg",
                                   "broken symbolic link (to /nowhere/broken.jpg, which does not exist)")]

    (cfg.data_dir / "photos/mine/ok.jpg").unlink()              # gone between listing and reading
    assert file_records(listing, cfg.data_dir, {}) == []
    assert listing.unreadable[1] == ("photos/mine/ok.jpg", "cannot read the file: No such file or directory")
