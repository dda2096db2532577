"""The photos folder, and the record of which URL was saved to which file.

A file is written under a temporary name and renamed into place, so a crawl
killed at any moment leaves either the whole photo or nothing (leftover
temporary files are removed at the next start). After the rename, one line
`{"url", "path", "checksum"}` is appended to `<data>/crawl-state.jsonl`. That
record, not the file name, is what makes a photo "already saved" on a rerun:
the URL was saved, and the file it was saved to still has the same checksum.
So a `.jpg` URL that served PNG bytes (stored converted) is not fetched again,
and a photo whose position in its album changed keeps its file.

A name already holding another URL's photo is never overwritten: if the new
bytes are the same photo (sites that sign or rotate their image URLs, a site
moved to https), the file is kept and the new URL recorded against it; if not
(the album was reordered), the new photo gets a name of its own.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from photoscrape.naming import disambiguated

logger = logging.getLogger(__name__)

STATE_FILE = "crawl-state.jsonl"
PARTIAL_SUFFIX = ".part"


def checksum_bytes(data: bytes) -> str:
    """The checksum the manifest carries: SHA-256 of the stored file, hex."""
    return hashlib.sha256(data).hexdigest()


def checksum_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SavedPhoto:
    url: str
    path: str          # inside the photos folder, `/` separators
    checksum: str


class PhotoStore:
    """Stores photo bytes atomically under `root` and remembers what was saved where."""

    def __init__(self, root: Path, state_file: Path):
        self.root = root
        self.state_file = state_file
        self.root.mkdir(parents=True, exist_ok=True)
        self._by_url: dict[str, SavedPhoto] = {}
        self._owner: dict[str, str] = {}        # path -> url that holds it (saved or claimed)
        self._load_state()
        self._remove_partial_files()

    def _load_state(self) -> None:
        if not self.state_file.exists():
            return
        raw = self.state_file.read_bytes()
        if raw and not raw.endswith(b"\n"):
            # The last line was cut short by a killed crawl: drop it, so the next line
            # appended does not glue onto it (that photo is simply fetched again).
            raw = raw[: raw.rfind(b"\n") + 1]
            self.state_file.write_bytes(raw)
        for line in raw.decode("utf-8", "replace").splitlines():
            if line.strip():
                try:
                    rec = SavedPhoto(**json.loads(line))
                except (ValueError, TypeError):
                    continue
                old = self._by_url.get(rec.url)
                if old and self._owner.get(old.path) == rec.url:
                    del self._owner[old.path]
                self._by_url[rec.url] = rec
                self._owner[rec.path] = rec.url

    def _remove_partial_files(self) -> None:
        for part in self.root.rglob(f".*{PARTIAL_SUFFIX}"):
            logger.info("Removing a partial file left by an interrupted crawl: %s", part)
            part.unlink(missing_ok=True)

    def already_saved(self, url: str) -> SavedPhoto | None:
        """The record of `url` if its file is still there, unchanged."""
        rec = self._by_url.get(url)
        if rec is None:
            return None
        if self._unchanged(rec):
            return rec
        logger.warning("%s (saved from %s) is gone or changed; fetching it again", self.root / rec.path, url)
        return None

    def save(self, url: str, path: str, data: bytes) -> tuple[SavedPhoto, bool]:
        """Store `data` for `url` at `path` (its preferred name) and record it.

        Returns the record and whether a file was written (False: the same photo was
        already stored at that name under another URL)."""
        owner = self._owner.get(path)
        if owner not in (None, url):
            held = self._by_url.get(owner)
            if held and held.path == path and held.checksum == checksum_bytes(data) and self._unchanged(held):
                return self._record(url, path, held.checksum), False
            path = disambiguated(path, url)
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}{PARTIAL_SUFFIX}")
        partial.write_bytes(data)
        os.replace(partial, target)
        return self._record(url, path, checksum_bytes(data)), True

    def _unchanged(self, rec: SavedPhoto) -> bool:
        try:
            return checksum_file(self.root / rec.path) == rec.checksum
        except OSError:
            return False

    def _record(self, url: str, path: str, checksum: str) -> SavedPhoto:
        rec = SavedPhoto(url=url, path=path, checksum=checksum)
        with self.state_file.open("a", encoding="utf-8") as f:
            f.write(json.dumps(rec.__dict__, ensure_ascii=False) + "\n")
        self._by_url[url] = rec
        self._owner.setdefault(path, url)
        return rec
