"""The demo site's photos: portraits side by side on a blurred scene, 540x360 JPEG.

Scenes are painted (sky, hills, trees or a room, then blurred as by a wide
lens) so no extra photos need to be shipped. Only Pillow; the same inputs
give the same bytes.
"""
from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

W, H = 540, 360
THUMB_W = 180

# (sky top, sky at the horizon, far hills, ground, tree colours)
SEASONS = {
    "winter": ((150, 170, 195), (215, 222, 230), (150, 160, 175), (232, 236, 242), [(60, 75, 70), (85, 95, 90)]),
    "spring": ((110, 160, 220), (200, 225, 240), (120, 150, 120), (120, 170, 90), [(90, 150, 80), (140, 190, 110)]),
    "summer": ((70, 130, 210), (180, 215, 240), (90, 130, 95), (95, 150, 60), [(40, 100, 45), (70, 130, 50)]),
    "autumn": ((120, 150, 190), (225, 215, 195), (140, 120, 95), (150, 130, 70), [(190, 110, 40), (170, 60, 30)]),
}


def scene(kind: str, rng: random.Random) -> Image.Image:
    """A blurred background: an outdoor season or a room ("indoor")."""
    img = _room(rng) if kind == "indoor" else _landscape(SEASONS[kind], rng)
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(5, 9)))


def _gradient(top: tuple, bottom: tuple, height: int) -> Image.Image:
    col = Image.new("RGB", (1, height))
    for y in range(height):
        t = y / max(1, height - 1)
        col.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return col.resize((W, height))


def _landscape(palette, rng: random.Random) -> Image.Image:
    sky_top, sky_low, hills, ground, trees = palette
    horizon = rng.randint(int(H * 0.45), int(H * 0.6))
    img = Image.new("RGB", (W, H), ground)
    img.paste(_gradient(sky_top, sky_low, horizon), (0, 0))
    draw = ImageDraw.Draw(img)
    # Far hills: a random walk along the horizon.
    y, points = horizon - rng.randint(10, 40), [(0, horizon)]
    for x in range(0, W + 30, 30):
        y = max(horizon - 90, min(horizon - 5, y + rng.randint(-14, 14)))
        points.append((x, y))
    points.append((W, horizon))
    draw.polygon(points, fill=hills)
    draw.rectangle((0, horizon, W, H), fill=ground)
    # Trees and bushes along the horizon, darker and larger nearer the sides.
    for _ in range(rng.randint(10, 18)):
        cx = rng.randint(-20, W + 20)
        r = rng.randint(18, 55)
        colour = tuple(max(0, c + rng.randint(-15, 15)) for c in rng.choice(trees))
        draw.ellipse((cx - r, horizon - 2 * r, cx + r, horizon + r // 3), fill=colour)
    return img


def _room(rng: random.Random) -> Image.Image:
    wall = (rng.randint(190, 225), rng.randint(170, 200), rng.randint(140, 170))
    floor_y = rng.randint(int(H * 0.72), int(H * 0.82))
    img = _gradient(wall, tuple(c - 40 for c in wall), H)
    draw = ImageDraw.Draw(img)
    wx = rng.randint(40, W - 200)
    draw.rectangle((wx, 40, wx + 150, 190), fill=(235, 240, 250))                    # window
    draw.rectangle((wx + 72, 40, wx + 78, 190), fill=tuple(c - 60 for c in wall))    # its frame
    draw.rectangle((0, floor_y, W, H), fill=(120, 85, 60))                            # floor
    for _ in range(24):                                                               # garland lights
        x = rng.randint(0, W)
        r = rng.randint(3, 6)
        draw.ellipse((x - r, 20 - r, x + r, 20 + r),
                     fill=rng.choice([(240, 200, 60), (230, 70, 60), (80, 160, 230), (90, 200, 110)]))
    return img


def group_photo(background: Image.Image, portraits: list[Path], rng: random.Random) -> Image.Image:
    """The portraits side by side, standing on the bottom edge, each with softened edges."""
    canvas = background.copy()
    k = len(portraits)
    slot = W / k
    lo, hi = (0.62, 0.9) if k <= 2 else (0.5, 0.78)
    for i, path in enumerate(portraits):
        face = _portrait(path, rng)
        scale = min(rng.uniform(lo, hi) * H / face.height, slot * 1.02 / face.width)
        size = (max(1, round(face.width * scale)), max(1, round(face.height * scale)))
        face = face.resize(size, Image.LANCZOS)
        mask = _soft_mask(face.size)
        x = round(i * slot + (slot - face.width) / 2) + rng.randint(-6, 6)
        y = H - face.height + rng.randint(0, max(1, face.height // 12))
        canvas.paste(face, (min(max(0, x), W - face.width), y), mask)
    return canvas


def _portrait(path: Path, rng: random.Random) -> Image.Image:
    """A portrait as it might be taken again: mirrored or not, light and contrast varied."""
    face = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    if rng.random() < 0.5:
        face = ImageOps.mirror(face)
    face = ImageEnhance.Brightness(face).enhance(rng.uniform(0.9, 1.1))
    return ImageEnhance.Contrast(face).enhance(rng.uniform(0.9, 1.1))


def _soft_mask(size: tuple[int, int]) -> Image.Image:
    """Opaque in the middle, fading out over the outer ~7% so the photo melts into the scene."""
    w, h = size
    edge = max(2, round(min(w, h) * 0.07))
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((edge, edge, w - 1 - edge, h - 1), radius=edge * 2, fill=255)
    return mask.filter(ImageFilter.GaussianBlur(edge / 2))


def crowd_photo(path: Path) -> Image.Image:
    """A photo of strangers, cropped from the centre and scaled to 540x360."""
    src = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    return ImageOps.fit(src, (W, H), Image.LANCZOS)


def jpeg(img: Image.Image, quality: int = 88, exif_rotated: bool = False) -> bytes:
    """JPEG bytes; with exif_rotated the pixels are stored turned and EXIF turns them back."""
    buf = io.BytesIO()
    if exif_rotated:
        exif = Image.Exif()
        exif[0x0112] = 6      # Orientation: rotate 90 degrees clockwise to view
        img.transpose(Image.ROTATE_90).save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    else:
        img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def thumbnail(img: Image.Image) -> bytes:
    small = img.resize((THUMB_W, THUMB_W * H // W), Image.LANCZOS)
    return jpeg(small, quality=80)
