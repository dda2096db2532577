"""Turn downloaded bytes into the photo we store: an upright RGB JPEG, or a reason why not.

Reasons are short fixed phrases, sometimes with a detail in parentheses:
"not an image", "truncated image", "corrupt image (...)", "image too large (...)".
"""
from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

JPEG_QUALITY = 95          # re-encoding only happens when needed (rotation, CMYK, PNG...)
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
ORIENTATION = 0x0112
KEEP_AS_IS = {"JPEG", "MPO"}   # MPO: a phone's multi-picture JPEG; viewers show its first frame


class BadPhoto(ValueError):
    """The bytes are not a usable photo; `str(exc)` is the reason for the manifest."""


def open_photo(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode `data` fully; raise BadPhoto with the reason when that is not possible."""
    if not data:
        raise BadPhoto("empty file")
    # Pillow only warns between 1x and 2x its pixel limit; a photo site's image that
    # large is a decompression bomb, not a photo, so both are refused.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise BadPhoto("not an image") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise BadPhoto("image too large") from None
    width, height = image.size
    if width * height > max_pixels:
        raise BadPhoto(f"image too large ({width}x{height} pixels)")
    try:
        image.load()
    except OSError as exc:
        if "truncated" in str(exc):
            raise BadPhoto("truncated image") from None
        raise BadPhoto(f"corrupt image ({exc})") from None
    except Exception as exc:        # Pillow plugins raise SyntaxError, ValueError... on bad data
        raise BadPhoto(f"corrupt image ({exc})") from None
    return image


def upright_rgb(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says, in RGB; transparency becomes white."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")    # CMYK (Pillow undoes Adobe's inversion), L, P, I;16...
    return image


def needs_conversion(image: Image.Image) -> bool:
    """False when the downloaded file already is an upright RGB JPEG (stored byte for byte)."""
    return (image.format not in KEEP_AS_IS or image.mode != "RGB"
            or image.getexif().get(ORIENTATION, 1) != 1)


def encode_jpeg(image: Image.Image, source: Image.Image) -> bytes:
    """`image` as a JPEG, keeping the source's EXIF (dates, camera) and, for RGB sources, its
    colour profile. The orientation tag is reset, since the pixels are now upright."""
    exif = source.getexif()
    if ORIENTATION in exif:
        exif[ORIENTATION] = 1
    kwargs = {"quality": JPEG_QUALITY, "exif": exif.tobytes() if len(exif) else b""}
    if source.mode in ("RGB", "RGBA") and source.info.get("icc_profile"):
        kwargs["icc_profile"] = source.info["icc_profile"]
    buf = io.BytesIO()
    image.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def photo_to_store(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[bytes, Image.Image]:
    """The bytes to store for downloaded `data` and the upright RGB image they hold.

    An upright RGB JPEG is kept byte for byte (no re-encoding loss); anything else
    (EXIF-rotated, CMYK, greyscale, PNG, WebP...) is converted and re-encoded.
    Raises BadPhoto with the reason when `data` is no usable photo.
    """
    source = open_photo(data, max_pixels)
    if not needs_conversion(source):
        return data, source
    image = upright_rgb(source)
    return encode_jpeg(image, source), image
