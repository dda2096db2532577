"""Where a photo is stored: named by its album's date, unique and stable across runs.

    photos/2014-02-21 Осенний поход/2014-02-21_1000_007.jpg
    photos/undated Поездка на море/undated_1014_003.jpg

The folder shows the album's date and title; the file name repeats the date
and adds the album's id (from its URL) and the photo's 1-based position in the
album, so photos of albums that share a date never collide and the same photo
gets the same name on every run. Names are safe on Linux, macOS and Windows.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from urllib.parse import parse_qsl, unquote, urlsplit

UNDATED = "undated"
MAX_TITLE_BYTES = 120        # file systems allow 255 bytes per name; Cyrillic takes 2 per letter
MAX_ID_CHARS = 40
# Characters Windows, macOS or Linux refuse in a name, and control characters.
_HOSTILE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


def safe_name(text: str, max_bytes: int = MAX_TITLE_BYTES) -> str:
    """`text` as one path component: hostile characters become `_`, spaces collapse,
    no leading dot (hidden) and no trailing dot or space (Windows), at most
    `max_bytes` of UTF-8. May return '' for text with nothing usable."""
    text = unicodedata.normalize("NFC", text)
    text = " ".join(text.split())          # tabs and newlines are spaces, not hostile characters
    text = _HOSTILE.sub("_", text)
    text = text.lstrip(". ").rstrip(". ")
    encoded = text.encode("utf-8")
    if len(encoded) > max_bytes:
        text = encoded[:max_bytes].decode("utf-8", "ignore").rstrip(". ")
    if _WINDOWS_RESERVED.match(text):
        text = f"_{text}"
    return text


def album_id(url: str, pattern: str | None = None) -> str:
    """A short id for an album, from its URL.

    With `pattern` (a regex with one group, the profile's `album_id`), its
    group's first match. Otherwise the first numeric query value (`?id=123`),
    else the last path segment that is not `index.*`, without its extension
    (`/album/1000/` -> `1000`, `/trip-2014.html` -> `trip-2014`). Falls back
    to a hash of the URL so that every album has one.
    """
    candidate = ""
    if pattern:
        match = re.search(pattern, url)
        candidate = match.group(1) if match else ""
    if not candidate:
        parts = urlsplit(url)
        numeric = [v for _, v in parse_qsl(parts.query) if v.isdigit()]
        if numeric:
            candidate = numeric[0]
        else:
            segments = [unquote(s) for s in parts.path.split("/") if s]
            segments = [s for s in segments if not re.fullmatch(r"index\.\w+", s, re.IGNORECASE)]
            if segments:
                candidate = re.sub(r"\.(html?|php|aspx?|jsp)$", "", segments[-1], flags=re.IGNORECASE)
    candidate = safe_name(candidate.replace(" ", "-").replace("_", "-"), MAX_ID_CHARS)
    return candidate or hashlib.sha1(url.encode()).hexdigest()[:10]


def date_label(album_date: date | None) -> str:
    return album_date.isoformat() if album_date else UNDATED


def album_folder(album_date: date | None, title: str, album_key: str) -> str:
    """`2014-02-21 <title>` (or `undated <title>`); the album id stands in for a missing title."""
    return f"{date_label(album_date)} {safe_name(title) or album_key}"


def photo_filename(album_date: date | None, album_key: str, position: int) -> str:
    """`2014-02-21_<album id>_007.jpg`; `position` counts from 1 in the site's order."""
    return f"{date_label(album_date)}_{album_key}_{position:03d}.jpg"


def photo_path(album_date: date | None, title: str, album_key: str, position: int) -> str:
    """The photo's path inside the photos folder, with `/` separators."""
    return f"{album_folder(album_date, title, album_key)}/{photo_filename(album_date, album_key, position)}"


def disambiguated(path: str, url: str) -> str:
    """Another name for `path` when it already holds a different photo (the site reordered
    an album, or two albums share date, title and id): a short hash of the URL is added."""
    stem, dot, ext = path.rpartition(".")
    return f"{stem}~{hashlib.sha1(url.encode()).hexdigest()[:6]}{dot}{ext}"
