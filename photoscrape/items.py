"""What the spider hands to the pipelines: one item per album, its photos in the site's order."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

SAVED, ALREADY_SAVED, FAILED = "saved", "already_saved", "failed"


@dataclass
class PhotoEntry:
    """One photo of an album, as found on the site, then as stored."""

    url: str | None            # the image URL as the site links it (None until its photo page is read)
    page_url: str | None = None  # the photo page, when photos link to pages
    date: date | None = None   # the photo's own date, when the profile reads one
    date_text: str = ""
    error: str = ""            # why the image URL could not be found (photo page failed...)
    # Filled by the photos pipeline:
    path: str | None = None    # inside the photos folder
    status: str = ""           # saved | already_saved | failed
    reason: str = ""
    checksum: str | None = None


@dataclass
class AlbumItem:
    url: str
    order: tuple[int, ...]     # (album list page, position on it[, position inside the parent album...])
    album_id: str = ""
    title: str = ""
    date: date | None = None
    date_text: str = ""        # as the site shows it ('' when it shows none)
    count_text: str = ""
    displayed_count: int | None = None
    photos: list[PhotoEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # album-level: a grid page failed, ...
