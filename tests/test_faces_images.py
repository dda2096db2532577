"""faces.images: any photo becomes an upright RGB array, or an UnreadableImage with a reason."""
from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import FGNET, REPO, jpeg_claiming, jpeg_with_corrupt_exif
from faces.images import UnreadableImage, exif_date, file_checksum, image_files, load_rgb
from faces.report import face_thumbnail

PHOTO = "002A36.JPG"       # an RGB FG-NET photo, 400 x 500-ish, one large face


@pytest.fixture
def photo(bench_kit) -> Image.Image:
    with Image.open(FGNET / "images" / PHOTO) as im:
        return im.convert("RGB")


def save(im: Image.Image, path, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, **kw)
    return path


def test_rgb_jpeg_round_trips(photo, tmp_path):
    arr = load_rgb(save(photo, tmp_path / "a.png"))
    assert arr.dtype == np.uint8 and arr.shape == (photo.height, photo.width, 3)
    assert np.array_equal(arr, np.asarray(photo))


def test_grayscale_becomes_three_equal_channels(bench_kit, tmp_path):
    gray = Image.open(FGNET / "images" / "003A38.JPG")
    assert gray.mode == "L"
    arr = load_rgb(FGNET / "images" / "003A38.JPG")
    assert arr.shape == (gray.height, gray.width, 3)
    assert np.array_equal(arr[..., 0], np.asarray(gray)) and np.array_equal(arr[..., 0], arr[..., 2])


def test_cmyk_jpeg_keeps_its_colours(photo, tmp_path):
    path = save(photo.convert("CMYK"), tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(path).mode == "CMYK"
    arr = load_rgb(path).astype(int)
    assert arr.shape == (photo.height, photo.width, 3)
    # JPEG loses a little; a wrong CMYK inversion would be off by ~100 per channel.
    assert np.abs(arr - np.asarray(photo, dtype=int)).mean() < 6


def test_transparent_pixels_become_white(photo, tmp_path):
    rgba = photo.convert("RGBA")
    alpha = np.full((photo.height, photo.width), 255, np.uint8)
    alpha[:, :40] = 0                                   # a transparent left band
    rgba.putalpha(Image.fromarray(alpha))
    arr = load_rgb(save(rgba, tmp_path / "alpha.png"))
    assert (arr[:, :40] == 255).all()
    assert np.array_equal(arr[:, 40:], np.asarray(photo)[:, 40:])


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (20, 10), 0)
    im.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    im.paste(1, (10, 0, 20, 10))
    im.info["transparency"] = 0
    arr = load_rgb(save(im, tmp_path / "p.gif", transparency=0))
    assert (arr[:, :10] == 255).all() and tuple(arr[0, 15]) == (200, 10, 10)


def test_sixteen_bit_grayscale(tmp_path):
    ramp = (np.arange(256, dtype=np.uint16) * 257).reshape(16, 16)
    arr = load_rgb(save(Image.fromarray(ramp), tmp_path / "16.png"))
    assert arr.shape == (16, 16, 3) and arr[..., 1].ravel().tolist() == list(range(256))


def test_exif_orientation_is_applied(photo, tmp_path):
    sideways = photo.transpose(Image.Transpose.ROTATE_90)   # pixels stored lying on their side
    exif = Image.Exif()
    exif[0x0112] = 6                                         # "rotate 90 degrees clockwise to view"
    path = save(sideways, tmp_path / "rotated.jpg", exif=exif, quality=95)
    arr = load_rgb(path)
    assert arr.shape == (photo.height, photo.width, 3)
    assert np.abs(arr.astype(int) - np.asarray(photo, dtype=int)).mean() < 6


def test_non_ascii_path(photo, tmp_path):
    path = save(photo, tmp_path / "Выпускной 2005" / "Катя и Маша.jpg")
    assert load_rgb(path).shape == (photo.height, photo.width, 3)
    assert image_files(tmp_path) == [path]


@pytest.mark.parametrize("content, reason", [
    (b"<!DOCTYPE html><html><body>Not found</body></html>", "not an image (an HTML page)"),
    (b"", "not an image (empty file)"),
    (b"\x00\x01garbage" * 50, "not an image (unknown format)"),
])
def test_non_images_say_what_they_are(tmp_path, content, reason):
    path = tmp_path / "x.jpg"
    path.write_bytes(content)
    with pytest.raises(UnreadableImage) as err:
        load_rgb(path)
    assert err.value.reason == reason
    assert isinstance(err.value, ValueError)


def test_truncated_jpeg(photo, tmp_path):
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=95)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(UnreadableImage, match="^truncated image$"):
        load_rgb(path)


def test_missing_file(tmp_path):
    with pytest.raises(UnreadableImage, match="file not found"):
        load_rgb(tmp_path / "nope.jpg")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")   # pytest resets our filters
@pytest.mark.parametrize("width, height, megapixels", [(18000, 10500, 189), (12000, 8000, 96)])
def test_a_photo_over_the_pixel_limit_fails_from_its_header(tmp_path, width, height, megapixels):
    path = tmp_path / "huge.jpg"
    path.write_bytes(jpeg_claiming(width, height))
    reason = f"image too large ({megapixels} megapixels; the limit is 89)"
    with pytest.raises(UnreadableImage) as err:
        load_rgb(path)
    assert err.value.reason == reason
    assert exif_date(path) is None                         # the photo listing reads dates: no traceback there
    with pytest.raises(UnreadableImage, match=re.escape(reason)):
        face_thumbnail(path, (0, 0, 10, 10))


def test_pillow_says_nothing_on_the_terminal_about_huge_photos_or_broken_exif(tmp_path):
    (tmp_path / "96mp.jpg").write_bytes(jpeg_claiming(12000, 8000))    # Pillow warns between 89 and 179 MP
    (tmp_path / "189mp.jpg").write_bytes(jpeg_claiming(18000, 10500))  # and refuses above
    jpeg_with_corrupt_exif(tmp_path / "exif.jpg")
    script = ("import sys; from faces.images import exif_date, load_rgb, UnreadableImage\n"
              "for name in sys.argv[1:]:\n"
              "    exif_date(name)\n"
              "    try: print(name, load_rgb(name).shape)\n"
              "    except UnreadableImage as exc: print(name, exc.reason)\n")
    out = subprocess.run([sys.executable, "-W", "default", "-c", script, "96mp.jpg", "189mp.jpg", "exif.jpg"],
                         cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(REPO)})
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout.splitlines() == ["96mp.jpg image too large (96 megapixels; the limit is 89)",
                                       "189mp.jpg image too large (189 megapixels; the limit is 89)",
                                       "exif.jpg (48, 64, 3)"]                # broken EXIF: the pixels still count


def test_exif_date_prefers_date_taken(photo, tmp_path):
    exif = Image.Exif()
    exif[0x0132] = "2011:01:02 10:00:00"
    exif.get_ifd(0x8769)[0x9003] = "2009:06:25 18:30:00"
    assert exif_date(save(photo, tmp_path / "a.jpg", exif=exif)) == dt.date(2009, 6, 25)
    exif = Image.Exif()
    exif[0x0132] = "2011:01:02 10:00:00"
    assert exif_date(save(photo, tmp_path / "b.jpg", exif=exif)) == dt.date(2011, 1, 2)
    exif[0x0132] = "0000:00:00 00:00:00"
    assert exif_date(save(photo, tmp_path / "c.jpg", exif=exif)) is None
    assert exif_date(save(photo, tmp_path / "d.png")) is None


def test_image_files_by_suffix_skipping_hidden(tmp_path):
    for name in ["b/2.JPG", "a.png", "notes.txt", ".hidden.jpg", ".thumbs/x.jpg", "c.webp"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in image_files(tmp_path)] == ["a.png", "b/2.JPG", "c.webp"]


def test_checksum_is_sha256_of_the_bytes(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert file_checksum(tmp_path / "f") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
