"""Photos as upright RGB arrays, whatever their format, colour mode or path; and their dates.

`load_rgb` hands DeepFace arrays rather than paths: DeepFace reads paths with
cv2.imread, which ignores EXIF orientation and fails on non-ASCII paths.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# What a photo folder may hold (lower case). Pillow reads all of them.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"})

EXIF_DATETIME = 0x0132             # DateTime, in IFD0: when the file was last changed
EXIF_DATETIME_ORIGINAL = 0x9003    # DateTimeOriginal, in the Exif IFD: when the photo was taken
EXIF_IFD = 0x8769

# The largest photo read, in pixels: 89.5 megapixels, the crawler's limit too (Pillow's
# default), so a photo the crawl would refuse is refused here as well. Checked from the
# file's header before anything is decoded; a larger photo is a one-line failure.
MAX_PIXELS = 89_478_485

# Pillow's own size check would only repeat ours, as a DecompressionBombWarning on every
# run; and a photo whose EXIF block is damaged still has its pixels (Pillow warns
# "Corrupt EXIF data", reads what it can, and the photo is indexed).
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")
warnings.filterwarnings("ignore", message="Possibly corrupt EXIF", category=UserWarning, module=r"PIL\.Image")


class UnreadableImage(ValueError):
    """A file that cannot be decoded as an image; `reason` says why, in a few words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def open_image(path: str | os.PathLike) -> Image.Image:
    """The photo opened lazily (header read, pixels not decoded yet), at most MAX_PIXELS large.

    Use it as a context manager. Raises `UnreadableImage` for a missing file, a
    file that is not an image, or one larger than MAX_PIXELS.
    """
    try:
        im = Image.open(path)
    except Image.DecompressionBombError as exc:  # beyond twice Pillow's limit: Pillow refuses to open it
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise UnreadableImage(_too_large(int(found[1]) if found else None)) from None
    except UnidentifiedImageError:
        raise UnreadableImage(_not_an_image(Path(path))) from None
    except FileNotFoundError:
        raise UnreadableImage("file not found") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImage(f"cannot decode: {exc}") from None
    pixels = im.width * im.height
    if pixels > MAX_PIXELS:
        im.close()
        raise UnreadableImage(_too_large(pixels))
    return im


def _too_large(pixels: int | None) -> str:
    limit = f"the limit is {MAX_PIXELS / 1e6:.0f}"
    return f"image too large ({pixels / 1e6:.0f} megapixels; {limit})" if pixels else f"image too large ({limit})"


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """The photo as an (H, W, 3) uint8 RGB array, upright (EXIF orientation applied).

    Grayscale, palette, CMYK and 16-bit images are converted to RGB; transparent
    pixels become white. Raises `UnreadableImage` for a missing, truncated,
    non-image or too large (see MAX_PIXELS) file.
    """
    with open_image(path) as im:
        try:
            im.load()  # decode now: a truncated file fails here, not later
            upright = ImageOps.exif_transpose(im)
            return np.asarray(to_rgb(upright))
        except (OSError, SyntaxError, ValueError) as exc:  # Pillow's decoders raise all three
            text = str(exc)
            raise UnreadableImage("truncated image" if "truncated" in text else f"cannot decode: {text}") from None


def to_rgb(im: Image.Image) -> Image.Image:
    """`im` as 8-bit RGB; transparency is composited onto white (the usual page background)."""
    if im.mode.startswith("I;16"):
        im = Image.fromarray((np.asarray(im, dtype=np.uint16) >> 8).astype(np.uint8))
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def _not_an_image(path: Path) -> str:
    try:
        head = path.read_bytes()[:512].lstrip().lower()
    except OSError:
        head = b""
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        return "not an image (an HTML page)"
    if not head:
        return "not an image (empty file)"
    return "not an image (unknown format)"


def exif_date(path: str | os.PathLike) -> dt.date | None:
    """The day the photo was taken, from EXIF (DateTimeOriginal, else DateTime); None when absent."""
    try:
        with open_image(path) as im:
            exif = im.getexif()
            raw = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) or exif.get(EXIF_DATETIME)
    except (OSError, SyntaxError, ValueError):   # UnreadableImage is a ValueError
        return None
    if not isinstance(raw, str):
        return None
    try:  # "YYYY:MM:DD HH:MM:SS"; cameras without a clock write zeros or blanks
        return dt.datetime.strptime(raw.strip()[:10], "%Y:%m:%d").date()
    except ValueError:
        return None


def image_files(folder: str | os.PathLike) -> list[Path]:
    """Every image file under `folder` (recursively, by suffix), sorted; hidden files and folders skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root, f) for f in files
                  if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found)


def file_checksum(path: str | os.PathLike) -> str:
    """SHA-256 of the file's bytes, hex: the same checksum the crawl manifest carries."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
