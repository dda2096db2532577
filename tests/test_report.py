"""faces.report: matches.csv, photos/, thumbnails and report.html of one match run."""
from __future__ import annotations

import csv
import errno
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image, ImageOps

from faces import report
from faces.config import UserError
from faces.images import load_rgb
from faces.report import (CSV_COLUMNS, FaceHit, album_groups, caption_names, face_thumbnail, thumb_region,
                          write_results)

RED, BLUE = (220, 20, 20), (20, 40, 200)


def photo(path: Path, size=(200, 150), color=BLUE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, "JPEG", quality=90)
    return path.resolve()


def hit(path, day=None, score=0.8, iteration=0, url="", box=(40, 30, 60, 60), album=""):
    return FaceHit(path, url, day, box, score, iteration, album)


def read_rows(out: Path) -> list[dict]:
    with (out / "matches.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        return list(reader)


class Page(HTMLParser):
    """The tags and text of a page, for checking what a browser would see."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag):
        return [a for t, a in self.tags if t == tag]


def test_matches_csv_one_row_per_photo_sorted_by_date_then_path(tmp_path):
    a = photo(tmp_path / "data" / "b.jpg")
    b = photo(tmp_path / "data" / "a.jpg")
    c = photo(tmp_path / "data" / "c.jpg")
    d = photo(tmp_path / "data" / "d.jpg")
    found = [
        hit(a, date(2006, 4, 22), 0.61, 2, "http://site/media/b.jpg", (1, 2, 30, 40)),
        hit(c, None, 0.5, 1),
        hit(b, date(2006, 4, 22), 0.9, 0, "http://site/media/a.jpg"),
        hit(d, date(2003, 2, 3), 0.75, 1, "http://site/media/d.jpg"),
        hit(a, date(2006, 4, 22), 0.55, 0, "http://site/media/b.jpg"),  # same photo, lower score: dropped
    ]
    out = tmp_path / "results"
    assert write_results(out, found, [], []) == out.resolve() / "report.html"
    rows = read_rows(out)
    assert [r["path"] for r in rows] == [str(d), str(b), str(a), str(c)]
    assert rows[2] == {"path": str(a), "url": "http://site/media/b.jpg", "album_date": "2006-04-22",
                       "score": "0.6100", "face_box": "1,2,30,40", "iteration": "2"}
    assert rows[3] == {"path": str(c), "url": "", "album_date": "", "score": "0.5000",
                       "face_box": "40,30,60,60", "iteration": "1"}


def test_face_hit_takes_numpy_values_and_rejects_bad_scores(tmp_path):
    h = FaceHit(str(tmp_path / "x.jpg"), None, None, np.array([1, 2, 3, 4]), np.float32(0.25), np.int64(3))
    assert h.box == (1, 2, 3, 4) and type(h.box[0]) is int
    assert (h.score, h.iteration, h.url, h.path) == (0.25, 3, "", tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="score"):
        FaceHit(tmp_path / "x.jpg", "", None, (0, 0, 1, 1), 1.5, 0)


def test_photos_are_hard_linked_under_their_names_and_clashes_get_a_number(tmp_path):
    first = photo(tmp_path / "data" / "2003-02-03 Звонок" / "001.jpg", color=RED)
    second = photo(tmp_path / "data" / "2005-12-27 Поход" / "001.jpg", color=BLUE)
    third = photo(tmp_path / "data" / "2005-12-27 Поход" / "001.JPG", color=BLUE)  # clashes on case-insensitive disks
    out = tmp_path / "results"
    write_results(out, [hit(second, date(2005, 12, 27)), hit(first, date(2003, 2, 3)),
                        hit(third, date(2005, 12, 27))], [], [])
    names = sorted(p.name for p in (out / "photos").iterdir())
    assert names == ["001 (2).JPG", "001 (3).jpg", "001.jpg"]
    assert os.path.samefile(out / "photos" / "001.jpg", first)      # the earliest album keeps the plain name
    assert os.path.samefile(out / "photos" / "001 (2).JPG", third)  # then by path: "001.JPG" < "001.jpg"
    assert os.path.samefile(out / "photos" / "001 (3).jpg", second)


def test_photos_are_copied_when_hard_links_fail(tmp_path, monkeypatch):
    src = photo(tmp_path / "data" / "x.jpg", color=RED)

    def no_link(a, b):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(report.os, "link", no_link)
    out = tmp_path / "results"
    write_results(out, [hit(src)], [], [])
    copy = out / "photos" / "x.jpg"
    assert copy.read_bytes() == src.read_bytes()
    assert not os.path.samefile(copy, src)


def test_a_missing_photo_stays_listed_and_the_rest_is_written(tmp_path, caplog):
    ok = photo(tmp_path / "data" / "ok.jpg")
    gone = tmp_path / "data" / "gone.jpg"
    out = tmp_path / "results"
    page = write_results(out, [hit(ok), hit(gone)], [], []).read_text(encoding="utf-8")
    assert [r["path"] for r in read_rows(out)] == [str(gone), str(ok)]
    assert sorted(p.name for p in (out / "photos").iterdir()) == ["ok.jpg"]
    assert "no preview" in page
    assert "gone.jpg" in caplog.text


def test_a_new_run_leaves_nothing_of_the_previous_one(tmp_path):
    photos = [photo(tmp_path / "data" / f"{i}.jpg") for i in range(3)]
    out = tmp_path / "results"
    write_results(out, [hit(p) for p in photos], [hit(photos[0])], [hit(photos[1], score=0.3)])
    assert len(list((out / "thumbs").iterdir())) == 5
    write_results(out, [hit(photos[2])], [], [])
    assert [p.name for p in (out / "photos").iterdir()] == ["2.jpg"]
    assert [p.name for p in (out / "thumbs").iterdir()] == ["f00000.jpg"]
    assert [r["path"] for r in read_rows(out)] == [str(photos[2])]
    assert sorted(p.name for p in out.iterdir()) == [".faces-results", "matches.csv", "photos",
                                                      "report.html", "thumbs"]


def test_leftovers_of_an_interrupted_run_are_removed(tmp_path):
    p = photo(tmp_path / "data" / "a.jpg")
    out = tmp_path / "results"
    write_results(out, [hit(p)], [], [])
    (out / ".staging-99999" / "photos").mkdir(parents=True)
    (out / ".replaced-99999-thumbs").mkdir()
    write_results(out, [hit(p)], [], [])
    assert not list(out.glob(".staging-*")) and not list(out.glob(".replaced-*"))


def test_a_folder_not_written_by_us_is_not_overwritten(tmp_path):
    p = photo(tmp_path / "data" / "a.jpg")
    out = tmp_path / "results"
    mine = photo(out / "photos" / "holiday.jpg")
    with pytest.raises(UserError, match="already holds photos not written by faces.match"):
        write_results(out, [hit(p)], [], [])
    assert mine.exists()


def test_the_output_folder_must_not_hold_the_photos_it_reads(tmp_path):
    data = tmp_path / "data"
    p = photo(data / "photos" / "a.jpg")
    (data / ".faces-results").write_text("")  # even a folder we wrote before
    with pytest.raises(UserError, match="photos/ holds photos this run reads"):
        write_results(data, [hit(p)], [], [])
    assert p.exists()


def test_thumb_region_pads_the_face_and_stays_inside_the_image():
    assert thumb_region((100, 100, 50, 40), 400, 300) == (78, 72, 173, 167)   # 50 * 1.9 = 95 around (125, 120)
    assert thumb_region((0, 0, 50, 50), 400, 300) == (0, 0, 95, 95)           # shifted, not cut, at the corner
    assert thumb_region((350, 250, 50, 50), 400, 300) == (305, 205, 400, 300)
    assert thumb_region((10, 10, 200, 200), 250, 120) == (50, 0, 170, 120)    # larger than the image: shrinks


@pytest.mark.parametrize("size, box", [((300, 200), (200, 40, 60, 60)),           # full decode
                                       ((2400, 1600), (1600, 320, 400, 400))])    # JPEG draft (reduced) decode
def test_thumbnail_crops_the_upright_face_of_an_exif_rotated_photo(tmp_path, size, box):
    upright = Image.new("RGB", size, BLUE)
    x, y, w, h = box
    upright.paste(RED, (x, y, x + w, y + h))
    # Orientation 6: the viewer turns the stored pixels 90 degrees clockwise, so store them turned back.
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "turned.jpg"
    stored.save(path, "JPEG", quality=95, exif=exif)

    thumb = face_thumbnail(path, box)
    assert thumb.size == (160, 160) and thumb.mode == "RGB"
    # The face fills the middle 1/1.9 of the crop: 160 / 1.9 = 84 px centred, from 38 to 122.
    for xy in [(80, 80), (45, 45), (115, 115), (45, 115)]:
        assert _near(thumb.getpixel(xy), RED), xy
    for xy in [(20, 20), (140, 140), (80, 20), (20, 80)]:
        assert _near(thumb.getpixel(xy), BLUE), xy
    # The same crop as from the array the index detects faces on, so the index's boxes fit.
    left, top, right, bottom = thumb_region(box, *size)
    from_index = Image.fromarray(load_rgb(path)[top:bottom, left:right]).resize((160, 160))
    assert np.abs(np.asarray(thumb, float) - np.asarray(from_index, float)).mean() < 3


def test_a_transparent_png_gets_a_white_background_like_in_the_index(tmp_path):
    path = tmp_path / "logo.png"
    Image.new("RGBA", (100, 100), (0, 0, 0, 0)).save(path)
    assert face_thumbnail(path, (25, 25, 50, 50)).getpixel((80, 80)) == (255, 255, 255)


def _near(rgb, target, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, target))


def test_albums_are_grouped_by_year_then_album_with_undated_last(tmp_path):
    hits = [
        hit(tmp_path / "2005-12-27 Осенний поход" / "2.jpg", date(2005, 12, 27)),
        hit(tmp_path / "undated Выпускной" / "1.jpg", None),
        hit(tmp_path / "2005-12-27 Осенний поход" / "1.jpg", date(2005, 12, 27)),
        hit(tmp_path / "2003-02-03 Звонок" / "9.jpg", date(2003, 2, 3)),
        hit(tmp_path / "2005-03-01 Масленица" / "5.jpg", date(2005, 3, 1), album="Масленица 2005"),
    ]
    groups = album_groups(hits)
    assert [(year, [heading for heading, _ in albums]) for year, albums in groups] == [
        (2003, ["3 February 2003 · Звонок"]),
        (2005, ["1 March 2005 · Масленица 2005", "27 December 2005 · Осенний поход"]),
        (None, ["Выпускной"]),
    ]
    assert [h.path.name for h in groups[1][1][1][1]] == ["1.jpg", "2.jpg"]


def test_captions_keep_the_part_of_the_name_that_tells_photos_apart(tmp_path):
    album = tmp_path / "photos" / "2012-12-30 Новый год у Лены"
    crawled = [photo(album / f"2012-12-30_1208_{n:03d}.jpg") for n in (1, 4, 12)]
    alone = photo(tmp_path / "photos" / "2013-05-25 Звонок" / "2013-05-25_1305_002.jpg")
    camera = [photo(tmp_path / "mine" / n) for n in ("IMG_20140221_183512.jpg", "IMG_20140221_190003.jpg")]
    mixed = [photo(tmp_path / "refs" / n) for n in ("016A07.JPG", "016A08.JPG", "me at 8.png")]
    photo(album / "2012-12-30_1208_002.jpg")                 # on disk, not found: still shares the start
    mine = [photo(tmp_path / "photos" / "my own" / n) for n in ("IMG_0001.jpg", "IMG_0002.jpg")]
    dropped = photo(album / "IMG_0007.jpg")                   # put by hand into a crawled album's folder
    lookalike = photo(tmp_path / "photos" / "2014-02-21 trip" / "2014-02-21 notes_1.jpg")
    copied = [photo(tmp_path / "photos" / "saved" / f"2012-12-30_1208_00{n}.jpg") for n in (1, 2)]
    names = caption_names([crawled[0], alone, *camera, *mixed, *mine, dropped, lookalike, *copied])
    # Only the crawl's own names, in their album's folder, are shortened; the rest keep the whole name.
    assert names == {crawled[0]: "001.jpg", alone: "1305_002.jpg",
                     camera[0]: "IMG_20140221_183512.jpg", camera[1]: "IMG_20140221_190003.jpg",
                     mixed[0]: "016A07.JPG", mixed[1]: "016A08.JPG", mixed[2]: "me at 8.png",
                     mine[0]: "IMG_0001.jpg", mine[1]: "IMG_0002.jpg", dropped: "IMG_0007.jpg",
                     lookalike: "2014-02-21 notes_1.jpg",
                     copied[0]: "2012-12-30_1208_001.jpg", copied[1]: "2012-12-30_1208_002.jpg"}

    found = [hit(p, date(2012, 12, 30)) for p in crawled]
    misses = [hit(alone, date(2013, 5, 25), score=0.4)]
    text = write_results(tmp_path / "out", found, [], misses).read_text(encoding="utf-8")
    page = Page(text)
    captions = [(html.unescape(t), html.unescape(c)) for t, c in re.findall(r'<span class="name" title="([^"]*)">([^<]*)<', text)]
    # The whole name is the tooltip; the caption is short and never cut by the style sheet.
    assert [(Path(t).name, c) for t, c in captions] == [
        ("2012-12-30_1208_001.jpg", "001.jpg"), ("2012-12-30_1208_004.jpg", "004.jpg"),
        ("2012-12-30_1208_012.jpg", "012.jpg"), ("2013-05-25_1305_002.jpg", "1305_002.jpg")]
    assert "ellipsis" not in report.CSS
    words = " ".join(" ".join(page.text).split())
    assert "3 photos found in 1 album" in words
    assert "30 December 2012 · Новый год у Лены · 3 photos" not in words     # one folder: the heading is the date
    assert "2013-05-25 Звонок" in words                                   # a near miss says its album


def test_files_with_the_same_bytes_are_marked_also_in(tmp_path):
    original = photo(tmp_path / "photos" / "2006-06-14 Поход" / "2006-06-14_602_004.jpg")
    repost = tmp_path / "photos" / "2014-02-21 Встреча" / "2014-02-21_1402_002.jpg"
    repost.parent.mkdir(parents=True)
    shutil.copy(original, repost)
    other = photo(tmp_path / "photos" / "2014-02-21 Встреча" / "2014-02-21_1402_005.jpg")
    found = [FaceHit(original, "", date(2006, 6, 14), (40, 30, 60, 60), 0.8, 0, same_as=[repost]),
             FaceHit(repost, "", date(2014, 2, 21), (40, 30, 60, 60), 0.8, 0, same_as=[original]),
             hit(other, date(2014, 2, 21))]
    text = write_results(tmp_path / "out", found, [], []).read_text(encoding="utf-8")
    words = " ".join(" ".join(Page(text).text).split())
    assert "3 photos found in 2 albums" in words
    assert "1 of them is a byte-identical copy of another found photo" in words
    assert words.count("also in 2014-02-21 Встреча") == 1 and words.count("also in 2006-06-14 Поход") == 1
    assert len(read_rows(tmp_path / "out")) == 3                           # a row per file, as the contract says


def test_every_text_is_escaped_and_links_are_encoded(tmp_path):
    odd = photo(tmp_path / "data" / 'a <b> & "c" #1?.jpg')
    plain = photo(tmp_path / "data" / "plain.jpg")
    title = '<script>alert("x")</script> Выпуск «2005»'
    found = [hit(odd, date(2005, 6, 1), url="http://site/media/1.jpg?a=1&b=<2>", album=title),
             hit(plain, date(2005, 6, 1), url="javascript:alert(1)", album=title)]
    out = tmp_path / "results"
    text = write_results(out, found, [], [], settings={"references": '<refs> "me"'}).read_text(encoding="utf-8")
    page = Page(text)
    assert not page.all("script")
    assert {t for t, _ in page.tags} <= {"html", "head", "meta", "title", "style", "body", "header", "h1", "p",
                                         "b", "a", "ul", "li", "dl", "dt", "dd", "main", "nav", "span", "h2",
                                         "div", "section", "h3", "figure", "img", "i", "figcaption", "footer",
                                         "code"}
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Выпуск «2005»" in text
    assert "1 June 2005 · " + title in "".join(page.text)
    assert "&lt;refs&gt; &quot;me&quot;" in text
    hrefs = [a["href"] for a in page.all("a")]
    assert "photos/a%20%3Cb%3E%20%26%20%22c%22%20%231%3F.jpg" in hrefs
    assert "http://site/media/1.jpg?a=1&b=<2>" in hrefs          # the parser unescapes &amp; and &lt;
    assert not any(h.startswith("javascript:") for h in hrefs)
    for a in page.all("a"):
        if not a["href"].startswith(("http:", "https:", "#")):
            assert (out / unquote(a["href"])).exists(), a["href"]


def test_the_page_works_offline_and_loads_thumbnails_lazily(tmp_path):
    photos = [photo(tmp_path / "data" / f"{i}.jpg") for i in range(4)]
    out = tmp_path / "results"
    text = write_results(out, [hit(photos[0], date(2004, 1, 1)), hit(photos[1])], [hit(photos[2])],
                         [hit(photos[3], score=0.4)]).read_text(encoding="utf-8")
    page = Page(text)
    imgs = page.all("img")
    assert len(imgs) == 4
    for img in imgs:
        assert img["loading"] == "lazy" and img["src"].startswith("thumbs/")
        assert Image.open(out / img["src"]).size == (160, 160)
    assert not page.all("script") and not page.all("link")
    assert "url(" not in text and "@import" not in text and "data:" not in text
    assert "1 reference face · 1 near miss shown" in " ".join("".join(page.text).split())


def test_summary_counts_photos_albums_years_and_rounds(tmp_path):
    ps = [photo(tmp_path / "data" / folder / f"{i}.jpg") for i, folder in enumerate("aabcd")]
    found = [hit(ps[0], date(2003, 2, 3), iteration=0), hit(ps[1], date(2003, 2, 3), iteration=1),
             hit(ps[2], date(2008, 5, 1), iteration=1), hit(ps[3], None, iteration=2),
             hit(ps[4], date(2005, 1, 1), iteration=0)]
    text = write_results(tmp_path / "out", found, [], [], settings={"strategy": "default"}).read_text("utf-8")
    words = " ".join(" ".join(Page(text).text).split())
    assert "5 photos found in 4 albums, 2003–2008" in words
    assert "2 in round 0 (like a reference face)" in words and "seed" not in words   # one name: round 0 and "2 joined in round 1" in words and "1 joined in round 2" in words
    assert "strategy default" in words
    assert words.index("2003 · 2 photos") < words.index("2005 · 1 photo") < words.index("2008 · 1 photo") \
        < words.index("Undated · 1 photo")


# --- rendering in a real browser ---------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WINDOW = (1200, 2000)
# Appended to a copy of the report: once the page has loaded, wake any image still
# waiting for its lazy load, then record what every <img> decoded to and where it sits.
CHECK_SCRIPT = """<script>
addEventListener("load", async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map(i => i.complete ? null :
    new Promise(done => { i.onload = i.onerror = done; i.loading = "eager"; })));
  document.body.setAttribute("data-check", JSON.stringify(imgs.map(i => {
    const r = i.getBoundingClientRect();
    return {src: i.getAttribute("src"), width: i.naturalWidth, height: i.naturalHeight,
            x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height};
  })));
});
</script>"""


def chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium on a local page with a fresh profile; its console goes to stderr."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium), so report.html "
                    "was not rendered")
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp_path))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--hide-scrollbars", "--force-device-scale-factor=1",
           f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=10000",
           "--run-all-compositor-stages-before-draw",  # the screenshot waits for a complete frame
           "--enable-logging=stderr", "--v=0", *args, page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def fgnet_photos(images: Path, folder: Path) -> list[Path]:
    """Eight FG-NET faces of different people as small JPEGs; the second one stored
    turned, with an EXIF orientation tag, as phones write them."""
    picked = {}
    for src in sorted(images.glob("*.JPG")):
        picked.setdefault(src.name[:3], src)
    paths = []
    for i, src in enumerate(list(picked.values())[:8]):
        with Image.open(src) as im:
            im = im.convert("RGB")
            im.thumbnail((320, 320))
            dest = folder / ("2005-12-27 Осенний поход" if i in (2, 3) else "misc") / f"{src.stem}.jpg"
            dest.parent.mkdir(parents=True, exist_ok=True)
            if i == 1:
                exif = Image.Exif()
                exif[0x0112] = 6
                im.transpose(Image.Transpose.ROTATE_90).save(dest, "JPEG", quality=90, exif=exif)
            else:
                im.save(dest, "JPEG", quality=90)
        paths.append(dest.resolve())
    return paths


def centre_box(path: Path) -> tuple[int, int, int, int]:
    """FG-NET photos are portraits: the face sits in the middle (upright size)."""
    with Image.open(path) as im:
        w, h = ImageOps.exif_transpose(im).size
    return round(w * 0.25), round(h * 0.2), round(w * 0.5), round(h * 0.55)


@pytest.mark.slow
def test_report_renders_in_headless_chromium_with_every_thumbnail(tmp_path, bench_kit):
    photos = fgnet_photos(bench_kit / "data" / "fgnet" / "images", tmp_path / "data")
    assert len(photos) == 8
    hits = [FaceHit(p, f"http://site.example/media/{p.stem}.jpg", d, centre_box(p), s, it, a)
            for p, d, s, it, a in [(photos[0], date(2003, 2, 3), 0.97, 0, "Последний звонок <2003>"),
                                   (photos[1], date(2003, 2, 3), 0.88, 1, "Последний звонок <2003>"),
                                   (photos[2], date(2005, 12, 27), 0.74, 2, ""),
                                   (photos[3], date(2005, 12, 27), 0.69, 0, ""),
                                   (photos[4], None, 0.81, 1, "")]]
    references = [FaceHit(p, "", None, centre_box(p), 1.0, 0) for p in photos[5:7]]
    near = [FaceHit(photos[7], "", date(2004, 5, 1), centre_box(photos[7]), 0.41, 0)]
    out = tmp_path / "results"
    report_path = write_results(out, hits, references, near, settings={"strategy": "default", "detector": "dlib"})

    # 1. Every thumbnail loads and decodes: checked in a copy with a script, by the browser itself.
    check_page = out / "check.html"
    check_page.write_text(report_path.read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT + "</body>"),
                          encoding="utf-8")
    dom = chromium(tmp_path, check_page, "--dump-dom").stdout
    found = re.search(r'<body data-check="([^"]*)"', dom)
    assert found, "the check script did not finish: " + dom[:500]
    images = json.loads(html.unescape(found.group(1)))
    assert len(images) == 8
    assert [(i["width"], i["height"]) for i in images] == [(160, 160)] * 8, images

    # 2. The real page renders without console messages, and the screenshot shows the thumbnails.
    shot = tmp_path / "report.png"
    proc = chromium(tmp_path, report_path, f"--screenshot={shot}")
    assert [line for line in proc.stderr.splitlines() if ":CONSOLE" in line] == []
    screen = Image.open(shot).convert("RGB")
    assert screen.size == WINDOW
    assert np.asarray(screen).std() > 30                      # not a blank page
    on_screen = [i for i in images if i["y"] + i["h"] <= WINDOW[1]]
    assert len(on_screen) >= 6, images
    for img in on_screen:
        x, y = round(img["x"]), round(img["y"])
        shown = np.asarray(screen.crop((x, y, x + 160, y + 160)), dtype=float)
        thumb = np.asarray(Image.open(out / img["src"]).convert("RGB"), dtype=float)
        assert shown.std() > 10, img                            # a photo, not an empty box
        assert np.abs(shown - thumb).mean() < 12, img           # and it is this thumbnail, where the page says


def test_a_folder_of_own_photos_is_one_album_whatever_their_dates(tmp_path):
    """`my own` holds an EXIF-dated and an undated photo: one album, shown under both dates."""
    crawled = [photo(tmp_path / "photos" / f"2005-0{m}-01 Поход {m}" / f"2005-0{m}-01_{m}_001.jpg") for m in (1, 2)]
    mine = [photo(tmp_path / "photos" / "my own" / n) for n in ("IMG_0001.jpg", "IMG_0002.jpg")]
    found = [hit(crawled[0], date(2005, 1, 1), album="Поход 1"), hit(crawled[1], date(2005, 2, 1)),
             hit(mine[0], date(2006, 7, 8)), hit(mine[1], None)]
    assert report.album_count(found) == 3
    text = write_results(tmp_path / "out", found, [], []).read_text(encoding="utf-8")
    words = " ".join(" ".join(Page(text).text).split())
    assert "4 photos found in 3 albums, 2005–2006" in words
    assert "8 July 2006 · my own · 1 photo" in words and "my own · 1 photo" in words.split("Undated")[-1]
