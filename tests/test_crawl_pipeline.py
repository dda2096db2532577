"""The photos pipeline: every failure carries its reason; what is stored is an upright RGB JPEG."""
import asyncio
import io
import struct
import zlib
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from scrapy import Spider
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionRefusedError
from twisted.python.failure import Failure

from photoscrape.items import AlbumItem, PhotoEntry
from photoscrape.pipelines import PhotoFailed, PhotosPipeline
from photoscrape.store import STATE_FILE, PhotoStore, checksum_file

URL = "http://site.test/media/1.jpg"


def jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def photo(size=(60, 40), colour=(200, 30, 30)) -> Image.Image:
    """A small photo whose left half is red, right half blue: orientation is visible."""
    img = Image.new("RGB", size, (30, 30, 200))
    img.paste(Image.new("RGB", (size[0] // 2, size[1]), colour), (0, 0))
    return img


def png_with_alpha() -> bytes:
    img = Image.new("RGBA", (40, 20), (0, 0, 0, 0))          # fully transparent
    img.paste(Image.new("RGBA", (20, 20), (0, 128, 0, 255)), (0, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def corrupt_png() -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 50).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    start = data.index(b"IDAT") + 14
    data[start:start + 20] = b"\xff" * 20                     # the compressed pixels are garbage
    return bytes(data)


def bomb(width=20000, height=20000) -> bytes:
    """A PNG header announcing 400 Mpx: a decompression bomb is refused before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100))


@pytest.fixture
def pipe(tmp_path):
    crawler = get_crawler(Spider, {"IMAGES_STORE": str(tmp_path / "photos")})
    return PhotosPipeline.from_crawler(crawler)


def fetch(pipe, body: bytes, status: int = 200, url: str = URL, name="2014-02-21 Альбом/2014-02-21_1000_001.jpg"):
    request = Request(url, meta={"photo_name": name})
    response = Response(url, status=status, body=body, request=request)
    return asyncio.run(pipe.media_downloaded(response, request, None)), request


def stored(pipe, result) -> Image.Image:
    img = Image.open(pipe.photos.root / result["path"])
    img.load()
    return img


@pytest.mark.parametrize("body, status, reason", ids=[
    "404", "html", "truncated", "bomb", "empty", "bad-header", "corrupt"], argvalues=[
    (b"<html><body>Not found</body></html>", 404, "HTTP 404"),
    (b"<!DOCTYPE html><html><body><h1>Photo is temporarily unavailable</h1></body></html>", 200, "not an image"),
    (jpeg(photo((400, 300)))[:1500], 200, "truncated image"),
    (bomb(), 200, "image too large"),
    (b"", 200, "empty file"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, 200, "not an image"),
    (corrupt_png(), 200, "corrupt image"),
])
def test_failure_reasons(pipe, body, status, reason):
    result, _ = fetch(pipe, body, status)
    assert result["status"] == "failed"
    assert result["reason"].startswith(reason)
    assert result["path"] is None
    assert not any(p.is_file() for p in pipe.photos.root.rglob("*"))   # nothing half-stored


def test_upright_rgb_jpeg_is_stored_byte_for_byte(pipe):
    body = jpeg(photo())
    result, _ = fetch(pipe, body)
    assert result["status"] == "saved"
    assert (pipe.photos.root / result["path"]).read_bytes() == body
    assert result["checksum"] == checksum_file(pipe.photos.root / result["path"])


def test_exif_rotated_photo_is_stored_upright(pipe):
    upright = photo((60, 40))
    exif = Image.Exif()
    exif[0x0112] = 6                          # "turn 90 degrees clockwise to view"
    result, _ = fetch(pipe, jpeg(upright.transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes()))
    img = stored(pipe, result)
    assert img.size == (60, 40)
    assert img.getexif().get(0x0112, 1) == 1
    left, right = img.getpixel((5, 20)), img.getpixel((55, 20))
    assert left[0] > 150 > left[2] and right[2] > 150 > right[0]   # red left, blue right, as taken


def test_cmyk_and_greyscale_become_rgb(pipe):
    for n, img in enumerate([photo().convert("CMYK"), photo().convert("L")]):
        result, _ = fetch(pipe, jpeg(img), url=f"http://site.test/{n}.jpg", name=f"a/{n}.jpg")
        out = stored(pipe, result)
        assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (60, 40))
    cmyk = stored(pipe, {"path": "a/0.jpg"})
    r, g, b = cmyk.getpixel((5, 20))
    assert r > 150 and g < 90 and b < 90                       # still red, not inverted


def test_png_with_alpha_named_jpg_becomes_rgb_on_white(pipe):
    result, _ = fetch(pipe, png_with_alpha())
    img = stored(pipe, result)
    assert (img.format, img.mode) == ("JPEG", "RGB")
    assert result["path"].endswith(".jpg")
    assert min(img.getpixel((35, 10))) > 240                     # transparent -> white
    g = img.getpixel((5, 10))
    assert g[1] > 100 and g[0] < 60                              # the opaque part kept


def test_already_saved_is_known_by_url_even_when_the_bytes_were_converted(pipe, tmp_path):
    result, request = fetch(pipe, png_with_alpha())
    # A new crawl (new pipeline, same data folder): the PNG-as-.jpg URL is not fetched again.
    again = PhotosPipeline.from_crawler(get_crawler(Spider, {"IMAGES_STORE": str(tmp_path / "photos")}))
    info = again.media_to_download(Request(URL), None)
    assert info == {"url": URL, "path": result["path"], "checksum": result["checksum"], "status": "already_saved"}


def test_a_changed_or_missing_file_is_fetched_again(pipe):
    result, _ = fetch(pipe, jpeg(photo()))
    path = pipe.photos.root / result["path"]
    path.write_bytes(b"edited")
    assert pipe.media_to_download(Request(URL), None) is None
    path.unlink()
    assert pipe.media_to_download(Request(URL), None) is None


def test_a_name_held_by_another_photo_is_not_overwritten(pipe):
    first, _ = fetch(pipe, jpeg(photo()), url="http://site.test/a.jpg", name="x/2014-01-01_1_001.jpg")
    # The site reordered the album: another photo is now at position 1.
    second, _ = fetch(pipe, jpeg(photo(colour=(0, 255, 0))), url="http://site.test/b.jpg",
                      name="x/2014-01-01_1_001.jpg")
    assert first["path"] == "x/2014-01-01_1_001.jpg"
    assert second["path"].startswith("x/2014-01-01_1_001~") and second["path"] != first["path"]
    assert checksum_file(pipe.photos.root / first["path"]) == first["checksum"]


def test_the_same_photo_under_a_new_url_is_not_stored_twice(pipe):
    body = jpeg(photo())
    first, _ = fetch(pipe, body, url="http://site.test/a.jpg?sig=111", name="x/2014-01-01_1_001.jpg")
    # Signed image URLs change between visits; the photo itself does not.
    again, _ = fetch(pipe, body, url="http://site.test/a.jpg?sig=222", name="x/2014-01-01_1_001.jpg")
    assert (again["status"], again["path"], again["checksum"]) == ("already_saved", first["path"], first["checksum"])
    assert [p.name for p in pipe.photos.root.rglob("*.jpg")] == ["2014-01-01_1_001.jpg"]


def test_network_failure_is_a_one_line_reason(pipe):
    with pytest.raises(PhotoFailed, match="^connection refused$"):
        pipe.media_failed(Failure(ConnectionRefusedError()), Request(URL), None)


def test_item_completed_gives_every_photo_a_status_in_site_order(pipe):
    album = AlbumItem(url="http://site.test/album/1/", order=(0, 0), album_id="1", title="T",
                      date=date(2014, 2, 21), photos=[
                          PhotoEntry(url="http://site.test/1.jpg"),
                          PhotoEntry(url=None, page_url="http://site.test/p/2", error="photo page: HTTP 404"),
                          PhotoEntry(url="http://site.test/3.jpg"),
                          PhotoEntry(url="http://site.test/4.jpg")])
    requests = pipe.get_media_requests(album, None)
    assert [r.url for r in requests] == ["http://site.test/1.jpg", "http://site.test/3.jpg", "http://site.test/4.jpg"]
    assert requests[1].meta["photo_name"] == "2014-02-21 T/2014-02-21_1_003.jpg"   # position in the album
    results = [
        (True, {"url": "http://site.test/1.jpg", "path": "2014-02-21 T/2014-02-21_1_001.jpg", "checksum": "c1",
                "status": "saved"}),
        (True, {"url": "http://site.test/3.jpg", "path": None, "checksum": None, "status": "failed",
                "reason": "not an image"}),
        (False, Failure(PhotoFailed("timed out"))),
    ]
    pipe.item_completed(results, album, None)
    assert [(p.status, p.reason, p.path) for p in album.photos] == [
        ("saved", "", "2014-02-21 T/2014-02-21_1_001.jpg"), ("failed", "photo page: HTTP 404", None),
        ("failed", "not an image", None), ("failed", "timed out", None)]


def test_store_survives_a_state_line_cut_short(tmp_path):
    store = PhotoStore(tmp_path / "photos", tmp_path / STATE_FILE)
    store.save("http://a/1.jpg", "x/1.jpg", b"one")
    with (tmp_path / STATE_FILE).open("a") as f:
        f.write('{"url": "http://a/2.jpg", "pa')              # SIGKILL in the middle of a line
    (tmp_path / "photos" / "x" / ".2.jpg.part").write_bytes(b"half")   # and of a file
    store = PhotoStore(tmp_path / "photos", tmp_path / STATE_FILE)
    assert not (tmp_path / "photos" / "x" / ".2.jpg.part").exists()
    assert store.already_saved("http://a/1.jpg").path == "x/1.jpg"
    store.save("http://a/3.jpg", "x/3.jpg", b"three")
    store = PhotoStore(tmp_path / "photos", tmp_path / STATE_FILE)
    assert store.already_saved("http://a/3.jpg") is not None     # the next line was not glued on
    assert store.already_saved("http://a/2.jpg") is None


def test_photo_requests_get_the_longer_photo_timeout(tmp_path):
    pipe = PhotosPipeline.from_crawler(get_crawler(Spider, {"IMAGES_STORE": str(tmp_path / "photos"),
                                                            "PHOTOSCRAPE_PHOTO_TIMEOUT": 120}))
    album = AlbumItem(url="http://s/a/", order=(0, 0), album_id="1", photos=[PhotoEntry(url="http://s/1.jpg")])
    assert [r.meta["download_timeout"] for r in pipe.get_media_requests(album, None)] == [120]


def test_a_photo_in_two_albums_is_in_both_folders_as_one_file(tmp_path):
    store = PhotoStore(tmp_path / "photos", tmp_path / STATE_FILE)
    first, made = store.save("http://a/s.jpg", "2014-02-21 Hike/2014-02-21_1_002.jpg", b"shared")
    assert made
    second, made = store.place("http://a/s.jpg", first, "2015-07-01 Sea/2015-07-01_2_001.jpg")
    assert made and second.path == "2015-07-01 Sea/2015-07-01_2_001.jpg" and second.checksum == first.checksum
    files = [tmp_path / "photos" / rec.path for rec in (first, second)]
    assert files[0].stat().st_ino == files[1].stat().st_ino          # a hard link: no extra disk space
    assert store.place("http://a/s.jpg", first, second.path) == (second, False)
    assert store.place("http://a/s.jpg", first, first.path) == (first, False)

    # The next crawl: nothing to fetch, and each album finds its own file.
    again = PhotoStore(tmp_path / "photos", tmp_path / STATE_FILE)
    known = again.already_saved("http://a/s.jpg")
    assert known in (first, second)
    assert again.place("http://a/s.jpg", known, "2015-07-01 Sea/2015-07-01_2_001.jpg") == (second, False)
    assert again.place("http://a/s.jpg", known, "2014-02-21 Hike/2014-02-21_1_002.jpg") == (first, False)
    assert len((tmp_path / STATE_FILE).read_text().splitlines()) == 2


def test_without_hard_links_the_photo_is_copied(tmp_path, monkeypatch, caplog):
    def refuse(src, dst):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr("os.link", refuse)
    store = PhotoStore(tmp_path / "photos", tmp_path / STATE_FILE)
    first, _ = store.save("http://a/s.jpg", "A/1.jpg", b"shared")
    for folder in ("B", "C"):
        rec, made = store.place("http://a/s.jpg", first, f"{folder}/1.jpg")
        assert made and (tmp_path / "photos" / rec.path).read_bytes() == b"shared"
    assert len([r for r in caplog.records if "No hard links" in r.getMessage()]) == 1
    assert not list((tmp_path / "photos").rglob(".*.part"))


def test_the_same_bytes_under_another_url_are_linked_not_written_twice(tmp_path):
    store = PhotoStore(tmp_path / "photos", tmp_path / STATE_FILE)
    a, _ = store.save("http://a/1.jpg", "A/1.jpg", b"same photo")
    b, made = store.save("http://cdn/x.jpg", "B/1.jpg", b"same photo")
    assert made and (b.path, b.checksum) == ("B/1.jpg", a.checksum)
    assert (tmp_path / "photos" / "A/1.jpg").stat().st_ino == (tmp_path / "photos" / "B/1.jpg").stat().st_ino


def test_item_completed_puts_a_photo_fetched_for_another_album_in_this_albums_folder(pipe):
    body = jpeg(photo())
    shared = "http://site.test/s.jpg"
    hike = AlbumItem(url="http://site.test/album/1/", order=(0, 0), album_id="1", title="Hike",
                     date=date(2014, 2, 21), photos=[PhotoEntry(url=shared)])
    sea = AlbumItem(url="http://site.test/album/2/", order=(0, 1), album_id="2", title="Sea",
                    date=date(2015, 7, 1), photos=[PhotoEntry(url="http://site.test/b.jpg"), PhotoEntry(url=shared)])
    result, _ = fetch(pipe, body, url=shared, name=pipe.get_media_requests(hike, None)[0].meta["photo_name"])
    pipe.item_completed([(True, result)], hike, None)
    other, _ = fetch(pipe, jpeg(photo(colour=(0, 255, 0))), url="http://site.test/b.jpg",
                     name=pipe.get_media_requests(sea, None)[0].meta["photo_name"])
    # Scrapy hands the second album the first album's result for the same URL.
    pipe.item_completed([(True, other), (True, result)], sea, None)
    assert [(p.status, p.path) for p in hike.photos] == [("saved", "2014-02-21 Hike/2014-02-21_1_001.jpg")]
    assert [(p.status, p.path) for p in sea.photos] == [
        ("saved", "2015-07-01 Sea/2015-07-01_2_001.jpg"), ("saved", "2015-07-01 Sea/2015-07-01_2_002.jpg")]
    root = pipe.photos.root
    assert (root / sea.photos[1].path).stat().st_ino == (root / hike.photos[0].path).stat().st_ino
    assert sea.photos[1].checksum == hike.photos[0].checksum == checksum_file(root / sea.photos[1].path)
