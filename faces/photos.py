"""Which photo files there are: the crawl manifest's, and any image dropped under photos/.

The manifest (`<data>/albums.jsonl`, see CONTRACTS.md) gives each saved photo's
path (relative to the manifest's folder), source URL and album date; image
files under `<data>/photos/` that it does not list are indexed too, dated from
EXIF when they can be. `file_records` turns the listing into the store's
FileRecords, reading (hashing) only files whose size or mtime changed.
Byte-identical files (a photo reposted in a second album, a copy dropped in
by hand) are one photo to the index, indexed once; `same_content` names them.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterator, Sequence

from faces.config import FacesConfig, UserError
from faces.images import exif_date, file_checksum, image_files
from faces.store import FileRecord

SAVED = ("saved", "already_saved")      # manifest statuses of photos that are on disk


@dataclass(frozen=True)
class Listed:
    path: Path                          # absolute
    url: str = ""
    album_date: str | None = None       # ISO
    in_manifest: bool = False


@dataclass
class Listing:
    photos: list[Listed] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)         # in the manifest, not on disk
    unreadable: list[tuple[str, str]] = field(default_factory=list)   # (path, why): a broken link, no permission
    problems: list[str] = field(default_factory=list)        # manifest lines that could not be read


def list_photos(cfg: FacesConfig) -> Listing:
    """The manifest's saved photos, then the unlisted image files under photos/, each once."""
    if not cfg.manifest.exists() and not cfg.photos_dir.is_dir():
        raise UserError(f"nothing to index: neither {cfg.manifest} nor {cfg.photos_dir} exists "
                        f"(run `scrapy crawl albums` first, or put photos in {cfg.photos_dir})")
    listing = Listing()
    seen: set[Path] = set()
    for entry in _manifest_photos(cfg.manifest, listing.problems):
        if entry.path in seen:
            continue
        seen.add(entry.path)
        if entry.path.is_file():
            listing.photos.append(entry)
        else:
            listing.missing.append(_relative(entry.path, cfg.data_dir))
    if cfg.photos_dir.is_dir():
        for path in map(_absolute, image_files(cfg.photos_dir)):
            if path in seen:
                continue
            if path.is_file():
                listing.photos.append(Listed(path))
            else:     # a symbolic link to nothing, or a folder named like a photo
                listing.unreadable.append((_relative(path, cfg.data_dir), _not_a_file(path)))
    return listing


def _not_a_file(path: Path) -> str:
    if path.is_symlink():
        try:
            return f"broken symbolic link (to {os.readlink(path)}, which does not exist)"
        except OSError:
            return "broken symbolic link"
    return "not a file" if path.exists() else "file not found"


def manifest_photos(manifest: Path, problems: list[str] | None = None) -> Iterator[tuple[dict, dict]]:
    """(album, photo) for every photo record of the manifest, whatever its status.

    A line that is not a JSON album is skipped and, when `problems` is given, named there.
    """
    if not manifest.exists():
        return
    with manifest.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                album = json.loads(line)
                photos = album.get("photos") or []
            except (ValueError, AttributeError):
                if problems is not None:
                    problems.append(f"{manifest.name} line {number}: not a JSON album (skipped)")
                continue
            yield from ((album, photo) for photo in photos if isinstance(photo, dict))


def _manifest_photos(manifest: Path, problems: list[str]) -> Iterator[Listed]:
    """The manifest's photos that are on disk."""
    for album, photo in manifest_photos(manifest, problems):
        if photo.get("status") in SAVED and photo.get("path"):
            yield Listed(_absolute(manifest.parent / photo["path"]), str(photo.get("url") or ""),
                         _iso_date(album.get("date")) or _iso_date(photo.get("date")), in_manifest=True)


def _iso_date(value) -> str | None:
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) else None
    except ValueError:
        return None


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))     # without resolving symlinks: paths stay under the data folder


def _relative(path: Path, data_dir: Path) -> str:
    return Path(os.path.relpath(path, data_dir)).as_posix()


def file_records(listing: Listing, data_dir: Path, known: dict[str, FileRecord]) -> list[FileRecord]:
    """A FileRecord per listed photo; unchanged files (same size and mtime) are not read again.

    A file that cannot be read (no permission, deleted since it was listed) is
    added to `listing.unreadable` with the reason instead: one bad file must not stop the run.
    """
    records = []
    for photo in listing.photos:
        rel = _relative(photo.path, data_dir)
        try:
            stat = photo.path.stat()
            old = known.get(rel)
            unchanged = old is not None and (old.size, old.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
            checksum = old.checksum if unchanged else file_checksum(photo.path)
        except OSError as exc:
            listing.unreadable.append((rel, f"cannot read the file: {exc.strerror or exc}"))
            continue
        if photo.in_manifest:
            album_date = photo.album_date
        elif unchanged:
            album_date = old.album_date
        else:
            taken = exif_date(photo.path)
            album_date = taken.isoformat() if taken else None
        records.append(FileRecord(rel, checksum, stat.st_size, stat.st_mtime_ns, photo.url, album_date))
    return records


def same_content(records: Sequence[FileRecord]) -> list[tuple[str, str]]:
    """(copy, original) for every file whose bytes equal those of a file before it by path."""
    first: dict[str, str] = {}
    pairs = []
    for record in sorted(records, key=lambda r: r.path):
        original = first.setdefault(record.checksum, record.path)
        if original != record.path:
            pairs.append((record.path, original))
    return pairs
