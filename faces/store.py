"""The face index: one SQLite file, `<data>/faces.sqlite`.

Tables (open it with any SQLite browser):
- `files`: every photo file seen by the last index run: path (relative to the
  data folder), content checksum, size and mtime (to skip rehashing unchanged
  files), source URL ('' when not from the crawl), album date.
- `photos`: one row per distinct content (SHA-256 checksum): upright width and
  height, or why the file cannot be read. Touching or renaming a file changes
  nothing here, so nothing is embedded again.
- `scans`: which photo was indexed under which (detector, model, align), with
  the number of faces found or the error.
- `faces`: box, confidence, size, landmarks (JSON) and embedding (float32
  bytes) of every face, filed under its (detector, model, align), so changing
  the detector or model in settings.yaml indexes again without losing the old.
- view `photo_status`: one line per file and (detector, model, align) indexed.

WAL mode: `faces.match` can read while `faces.index` writes; the index commits
per batch, so a killed run loses at most the batch in flight.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faces.config import UserError, align_mode
from faces.embed import DetectedFace

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,             -- relative to the data folder, '/'-separated
    checksum TEXT NOT NULL,            -- SHA-256 of the bytes, hex
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    url TEXT NOT NULL DEFAULT '',      -- the photo's source URL from albums.jsonl
    album_date TEXT                    -- ISO date, or NULL when unknown
);
CREATE INDEX IF NOT EXISTS files_by_checksum ON files (checksum);
CREATE TABLE IF NOT EXISTS photos (
    checksum TEXT PRIMARY KEY,
    width INTEGER,                     -- upright, pixels
    height INTEGER,
    error TEXT                         -- why it cannot be read as an image; NULL when it can
);
CREATE TABLE IF NOT EXISTS scans (
    checksum TEXT NOT NULL,
    detector TEXT NOT NULL,
    model TEXT NOT NULL,
    align TEXT NOT NULL,
    faces INTEGER NOT NULL DEFAULT 0,
    error TEXT,                        -- why detection or embedding failed; NULL when it did not
    seconds REAL,                      -- time spent on this photo
    indexed_at TEXT NOT NULL,
    PRIMARY KEY (checksum, detector, model, align)
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY,
    checksum TEXT NOT NULL,
    detector TEXT NOT NULL,
    model TEXT NOT NULL,
    align TEXT NOT NULL,
    x INTEGER NOT NULL, y INTEGER NOT NULL, w INTEGER NOT NULL, h INTEGER NOT NULL,
    confidence REAL NOT NULL,
    size INTEGER NOT NULL,             -- the box's shorter side, pixels
    landmarks TEXT NOT NULL,           -- JSON: {"left_eye": [x, y], ...}
    embedding BLOB NOT NULL            -- float32, native byte order
);
CREATE INDEX IF NOT EXISTS faces_by_key ON faces (detector, model, align, checksum);
CREATE VIEW IF NOT EXISTS photo_status AS
    SELECT f.path, f.url, f.album_date, f.checksum, s.detector, s.model, s.align,
           CASE WHEN p.error IS NOT NULL OR s.error IS NOT NULL THEN 'failed'
                WHEN s.checksum IS NULL THEN 'not indexed' ELSE 'indexed' END AS status,
           COALESCE(p.error, s.error) AS error, s.faces
    FROM files f LEFT JOIN photos p USING (checksum) LEFT JOIN scans s USING (checksum);
"""

Key = tuple[str, str, str]             # (detector, model, align)


@dataclass(frozen=True)
class PhotoInfo:
    path: Path                         # absolute
    url: str                           # '' when the photo did not come from a crawl
    album_date: dt.date | None
    checksum: str


@dataclass(frozen=True)
class FileRecord:
    """A photo file as the index run found it."""
    path: str                          # relative to the data folder, '/'-separated
    checksum: str
    size: int
    mtime_ns: int
    url: str = ""
    album_date: str | None = None      # ISO date


@dataclass
class FaceTable:
    """Every face of every indexed photo file under one (detector, model, align).

    Row i of `embeddings`, `boxes`, `confidence` and `face_ids` is one face, in
    photo `photos[photo_index[i]]`. A photo whose content is stored under two
    paths is listed twice, with its faces under each. Photos indexed with no
    face are in `photos` too.
    """
    photos: list[PhotoInfo]
    embeddings: np.ndarray             # (N, D) float32 (D = 0 when there is no face)
    photo_index: np.ndarray            # (N,) int
    boxes: np.ndarray                  # (N, 4) int: x, y, w, h
    confidence: np.ndarray             # (N,) float32
    face_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # (N,) faces.id

    def __len__(self) -> int:
        return len(self.photo_index)


class Store:
    """`<data>/faces.sqlite`, created on first use."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.data_dir = self.path.parent
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30)
        try:
            if self.db.execute("PRAGMA user_version").fetchone()[0] > SCHEMA_VERSION:
                raise UserError(f"{self.path}: written by a newer version of this tool")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")   # WAL + NORMAL: a crash loses no committed batch
            self.db.executescript(SCHEMA)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.db.commit()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise UserError(f"{self.path}: not a face index ({exc}); move it away to build a new one") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def commit(self) -> None:
        self.db.commit()

    # --- files ---------------------------------------------------------------

    def known_files(self) -> dict[str, FileRecord]:
        """The files table by path, to reuse checksums of files whose size and mtime did not change."""
        rows = self.db.execute("SELECT path, checksum, size, mtime_ns, url, album_date FROM files")
        return {r[0]: FileRecord(*r) for r in rows}

    def replace_files(self, files: list[FileRecord]) -> None:
        """Make the files table exactly `files` (a renamed file's old path goes, its new one comes)."""
        self.db.execute("DELETE FROM files")
        self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                            [(f.path, f.checksum, f.size, f.mtime_ns, f.url, f.album_date) for f in files])
        self.db.execute("INSERT OR IGNORE INTO photos (checksum) SELECT DISTINCT checksum FROM files")

    # --- indexing ------------------------------------------------------------

    def pending(self, key: Key, retry_failed: bool = False) -> list[tuple[str, str]]:
        """(checksum, path) of each listed photo not yet indexed under `key`, by path.

        Photos that failed before (unreadable, or an error under this key) are
        left out unless `retry_failed`.
        """
        rows = self.db.execute(
            """SELECT f.checksum, MIN(f.path) FROM files f JOIN photos p USING (checksum)
               LEFT JOIN scans s ON s.checksum = f.checksum AND s.detector = ? AND s.model = ? AND s.align = ?
               WHERE (s.checksum IS NULL OR (? AND s.error IS NOT NULL)) AND (? OR p.error IS NULL)
               GROUP BY f.checksum ORDER BY MIN(f.path)""", (*key, retry_failed, retry_failed))
        return [(c, p) for c, p in rows]

    def record_unreadable(self, checksum: str, reason: str) -> None:
        self.db.execute("UPDATE photos SET error = ? WHERE checksum = ?", (reason, checksum))

    def record_scan(self, checksum: str, key: Key, size: tuple[int, int] | None,
                    faces: list[DetectedFace], error: str | None = None, seconds: float | None = None) -> None:
        """The outcome of indexing one photo under `key`, replacing any earlier one. `size` is (width, height)."""
        if size is not None:
            self.db.execute("UPDATE photos SET width = ?, height = ?, error = NULL WHERE checksum = ?",
                            (*size, checksum))
        self.db.execute("DELETE FROM faces WHERE checksum = ? AND detector = ? AND model = ? AND align = ?",
                        (checksum, *key))
        self.db.executemany(
            "INSERT INTO faces (checksum, detector, model, align, x, y, w, h, confidence, size, landmarks, embedding)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(checksum, *key, *map(int, f.box), float(f.confidence), int(min(f.box[2], f.box[3])),
              json.dumps(f.landmarks), np.asarray(f.embedding, dtype=np.float32).tobytes()) for f in faces])
        self.db.execute("INSERT OR REPLACE INTO scans VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (checksum, *key, len(faces), error, seconds,
                         dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))

    def failures(self, key: Key) -> list[tuple[str, str]]:
        """(path, reason) of every listed file that could not be read or indexed under `key`, by path."""
        return list(self.db.execute(
            """SELECT f.path, COALESCE(p.error, s.error) FROM files f JOIN photos p USING (checksum)
               LEFT JOIN scans s ON s.checksum = f.checksum AND s.detector = ? AND s.model = ? AND s.align = ?
               WHERE p.error IS NOT NULL OR s.error IS NOT NULL ORDER BY f.path""", key))

    def keys(self) -> list[Key]:
        """Every (detector, model, align) something was indexed under."""
        return list(self.db.execute("SELECT DISTINCT detector, model, align FROM scans ORDER BY 1, 2, 3"))

    # --- reading -------------------------------------------------------------

    def face_table(self, detector: str, model: str, align: str = "auto") -> FaceTable:
        """All faces of the listed photo files indexed under (detector, model, align).

        `align` is "chip", "deepface" or "auto" (as in settings.yaml: chips for Dlib).
        """
        key = (detector, model, align_mode(model, align))
        files = self.db.execute(
            """SELECT f.path, f.url, f.album_date, f.checksum FROM files f
               JOIN photos p USING (checksum)
               JOIN scans s ON s.checksum = f.checksum AND s.detector = ? AND s.model = ? AND s.align = ?
               WHERE p.error IS NULL AND s.error IS NULL ORDER BY f.path""", key).fetchall()
        photos = [PhotoInfo(self.data_dir / path, url, dt.date.fromisoformat(date) if date else None, checksum)
                  for path, url, date, checksum in files]
        faces_of: dict[str, list[tuple]] = {}
        for row in self.db.execute("SELECT checksum, id, x, y, w, h, confidence, embedding FROM faces"
                                   " WHERE detector = ? AND model = ? AND align = ? ORDER BY id", key):
            faces_of.setdefault(row[0], []).append(row[1:])
        rows = [(i, face) for i, photo in enumerate(photos) for face in faces_of.get(photo.checksum, ())]
        dim = len(rows[0][1][6]) // 4 if rows else 0
        return FaceTable(
            photos=photos,
            embeddings=np.frombuffer(b"".join(f[6] for _, f in rows), dtype=np.float32).reshape(len(rows), dim),
            photo_index=np.array([i for i, _ in rows], dtype=np.int64),
            boxes=np.array([f[1:5] for _, f in rows], dtype=np.int64).reshape(len(rows), 4),
            confidence=np.array([f[5] for _, f in rows], dtype=np.float32),
            face_ids=np.array([f[0] for _, f in rows], dtype=np.int64),
        )
