"""The photos folder, and the record of which URL was saved to which file.

A file is written under a temporary name and renamed into place, so a crawl
killed at any moment leaves either the whole photo or nothing (leftover
temporary files are removed at the next start). After the rename, one line
`{"url", "path", "checksum"}` is appended to `<data>/crawl-state.jsonl`. That
record, not the file name, is what makes a photo "already saved" on a rerun:
the URL was saved, and the file it was saved to still has the same checksum.
So a `.jpg` URL that served PNG bytes (stored converted) is not fetched again,
and a photo whose position in its album changed keeps its file.

A photo shown in several albums is in each album's folder (`place`): one
download, then a hard link to the same stored file (no extra disk space), or a
copy where the file system has no hard links. Likewise a photo whose bytes are
already stored (the same image under another URL) is linked, not written again.

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
import posixpath
import shutil
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
        self._by_url: dict[str, dict[str, SavedPhoto]] = {}   # url -> path -> record (one per album folder)
        self._owner: dict[str, str] = {}        # path -> url whose photo it holds
        self._by_checksum: dict[str, str] = {}  # checksum -> a path that held those bytes
        self._copy_only = False                 # the file system refused a hard link once
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
                self._remember(rec)

    def _remove_partial_files(self) -> None:
        for part in self.root.rglob(f".*{PARTIAL_SUFFIX}"):
            logger.info("Removing a partial file left by an interrupted crawl: %s", part)
            part.unlink(missing_ok=True)

    def already_saved(self, url: str) -> SavedPhoto | None:
        """A record of `url` whose file is still there, unchanged (None: fetch it)."""
        records = list(self._by_url.get(url, {}).values())
        for rec in records:
            if self._unchanged(rec):
                return rec
        if records:
            logger.warning("%s (saved from %s) is gone or changed; fetching it again",
                           self.root / records[0].path, url)
        return None

    def save(self, url: str, path: str, data: bytes) -> tuple[SavedPhoto, bool]:
        """Store `data` for `url` at `path` (its preferred name) and record it.

        Returns the record and whether a file was made (False: that name already holds
        these very bytes, saved from another URL)."""
        checksum = checksum_bytes(data)
        path, kept = self._free_name(url, path, checksum)
        if not kept:
            twin = self._stored(checksum)
            if twin is not None:
                self._link(twin, path)
            else:
                target = self.root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(f".{target.name}{PARTIAL_SUFFIX}")
                partial.write_bytes(data)
                os.replace(partial, target)
        return self._record(url, path, checksum), not kept

    def place(self, url: str, stored: SavedPhoto, wanted: str) -> tuple[SavedPhoto, bool]:
        """The photo of `url` (stored as `stored`) in the folder of `wanted`, its name in an
        album that shows it too: its record there, and whether a file was made for it."""
        folder = posixpath.dirname(wanted)
        if posixpath.dirname(stored.path) == folder:
            return stored, False
        for rec in self._by_url.get(url, {}).values():
            if posixpath.dirname(rec.path) == folder and self._unchanged(rec):
                return rec, False
        path, kept = self._free_name(url, wanted, stored.checksum)
        if not kept:
            self._link(stored.path, path)
        return self._record(url, path, stored.checksum), not kept

    def _free_name(self, url: str, path: str, checksum: str) -> tuple[str, bool]:
        """`path`, or a variant of it when it holds another URL's different photo; True when
        it holds these very bytes already (the file is kept as it is)."""
        owner = self._owner.get(path)
        if owner in (None, url):
            return path, False
        held = self._by_url.get(owner, {}).get(path)
        if held and held.checksum == checksum and self._unchanged(held):
            return path, True
        return disambiguated(path, url), False

    def _stored(self, checksum: str) -> str | None:
        """A stored file that has exactly these bytes, if any."""
        path = self._by_checksum.get(checksum)
        owner = self._owner.get(path) if path else None
        rec = self._by_url.get(owner, {}).get(path) if owner else None
        return path if rec and rec.checksum == checksum and self._unchanged(rec) else None

    def _link(self, source: str, path: str) -> None:
        """Make `path` the same file as `source`: a hard link, else a copy; atomically."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}{PARTIAL_SUFFIX}")
        partial.unlink(missing_ok=True)
        try:
            if self._copy_only:
                raise OSError("no hard links here")
            os.link(self.root / source, partial)
        except OSError as exc:
            if not self._copy_only:
                self._copy_only = True
                logger.warning("No hard links in %s (%s): a photo shown in several albums is copied "
                               "into each", self.root, exc.strerror or exc)
            shutil.copyfile(self.root / source, partial)
        os.replace(partial, target)
        partial.unlink(missing_ok=True)    # target was already a link to the same file: rename did nothing

    def _unchanged(self, rec: SavedPhoto) -> bool:
        try:
            return checksum_file(self.root / rec.path) == rec.checksum
        except OSError:
            return False

    def _record(self, url: str, path: str, checksum: str) -> SavedPhoto:
        rec = SavedPhoto(url=url, path=path, checksum=checksum)
        with self.state_file.open("a", encoding="utf-8") as f:
            f.write(json.dumps(rec.__dict__, ensure_ascii=False) + "\n")
        self._remember(rec)
        return rec

    def _remember(self, rec: SavedPhoto) -> None:
        self._by_url.setdefault(rec.url, {})[rec.path] = rec
        self._owner[rec.path] = rec.url
        self._by_checksum[rec.checksum] = rec.path
