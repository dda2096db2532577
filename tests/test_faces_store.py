"""faces.store: photos keyed by content, faces per (detector, model, align), the FaceTable matching reads."""
from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pytest

from faces.config import UserError
from faces.embed import DetectedFace
from faces.store import FileRecord, Store

DLIB = ("dlib", "Dlib", "chip")
OPENCV = ("opencv", "Dlib", "chip")


def face(x: int, seed: int, w: int = 40) -> DetectedFace:
    vec = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return DetectedFace((x, 10, w, w + 5), 0.9, {"left_eye": (x + 25, 20), "right_eye": (x + 10, 20)}, vec)


def file(path: str, checksum: str, url: str = "", date: str | None = None) -> FileRecord:
    return FileRecord(path, checksum, size=100, mtime_ns=1, url=url, album_date=date)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "faces.sqlite") as s:
        yield s


def test_face_table_lists_faces_with_their_photos(store, tmp_path):
    store.replace_files([file("photos/b.jpg", "B", "http://x/b.jpg", "2005-04-01"), file("photos/a.jpg", "A"),
                         file("photos/c.jpg", "C")])
    store.record_scan("A", DLIB, (300, 200), [face(0, 1), face(100, 2)], seconds=0.5)
    store.record_scan("B", DLIB, (300, 200), [face(50, 3, w=60)])
    store.record_scan("C", DLIB, (300, 200), [])
    store.commit()

    table = store.face_table("dlib", "Dlib")                  # align "auto" = chip for Dlib
    assert [p.path for p in table.photos] == [tmp_path / "data" / "photos" / n for n in ("a.jpg", "b.jpg", "c.jpg")]
    assert table.photos[1].url == "http://x/b.jpg" and table.photos[1].album_date == dt.date(2005, 4, 1)
    assert table.photos[0].url == "" and table.photos[0].album_date is None
    assert table.photo_index.tolist() == [0, 0, 1] and len(table) == 3
    assert table.embeddings.shape == (3, 128) and table.embeddings.dtype == np.float32
    assert np.array_equal(table.embeddings[2], face(50, 3).embedding)
    assert table.boxes.tolist() == [[0, 10, 40, 45], [100, 10, 40, 45], [50, 10, 60, 65]]
    assert table.confidence.dtype == np.float32 and np.allclose(table.confidence, 0.9)
    row = store.db.execute("SELECT size, landmarks FROM faces WHERE checksum = 'B'").fetchone()
    assert row == (60, '{"left_eye": [75, 20], "right_eye": [60, 20]}')


def test_keys_are_kept_apart(store):
    store.replace_files([file("photos/a.jpg", "A")])
    store.record_scan("A", DLIB, (300, 200), [face(0, 1)])
    assert store.pending(OPENCV) == [("A", "photos/a.jpg")] and store.pending(DLIB) == []
    store.record_scan("A", OPENCV, (300, 200), [face(0, 5), face(9, 6)])
    assert len(store.face_table(*OPENCV)) == 2 and len(store.face_table(*DLIB)) == 1
    assert len(store.face_table("dlib", "Dlib", "deepface")) == 0
    assert store.face_table("dlib", "Dlib", "deepface").embeddings.shape == (0, 0)
    assert store.keys() == [DLIB, OPENCV]


def test_a_renamed_file_keeps_its_faces_and_gets_its_new_path(store, tmp_path):
    store.replace_files([file("photos/old.jpg", "A")])
    store.record_scan("A", DLIB, (300, 200), [face(0, 1)])
    store.replace_files([file("photos/new name.jpg", "A")])
    assert store.pending(DLIB) == []
    table = store.face_table(*DLIB)
    assert [p.path.name for p in table.photos] == ["new name.jpg"] and len(table) == 1


def test_same_content_under_two_paths_is_indexed_once_and_listed_twice(store):
    store.replace_files([file("photos/x/1.jpg", "A", "http://x/1"), file("photos/y/1.jpg", "A", "http://y/1")])
    assert store.pending(DLIB) == [("A", "photos/x/1.jpg")]
    store.record_scan("A", DLIB, (300, 200), [face(0, 1)])
    table = store.face_table(*DLIB)
    assert [p.url for p in table.photos] == ["http://x/1", "http://y/1"]
    assert table.photo_index.tolist() == [0, 1]


def test_failures_are_kept_and_not_retried_unless_asked(store):
    store.replace_files([file("photos/a.jpg", "A"), file("photos/b.jpg", "B"), file("photos/c.jpg", "C")])
    store.record_unreadable("A", "truncated image")
    store.record_scan("B", DLIB, (300, 200), [], error="MemoryError: ")
    assert store.pending(DLIB) == [("C", "photos/c.jpg")]
    assert store.pending(OPENCV) == [("B", "photos/b.jpg"), ("C", "photos/c.jpg")]   # unreadable is unreadable
    assert store.pending(DLIB, retry_failed=True) == [("A", "photos/a.jpg"), ("B", "photos/b.jpg"),
                                                      ("C", "photos/c.jpg")]
    assert store.failures(DLIB) == [("photos/a.jpg", "truncated image"), ("photos/b.jpg", "MemoryError: ")]
    assert store.face_table(*DLIB).photos == []
    store.record_scan("B", DLIB, (300, 200), [face(0, 1)])                      # a retry that worked
    assert store.failures(DLIB) == [("photos/a.jpg", "truncated image")]
    assert [p.checksum for p in store.face_table(*DLIB).photos] == ["B"]


def test_rescanning_replaces_faces(store):
    store.replace_files([file("photos/a.jpg", "A")])
    store.record_scan("A", DLIB, (300, 200), [face(0, 1), face(50, 2)])
    store.record_scan("A", DLIB, (300, 200), [face(0, 3)])
    assert store.db.execute("SELECT COUNT(*) FROM faces").fetchone() == (1,)


def test_committed_batches_survive_and_others_can_read_meanwhile(tmp_path):
    path = tmp_path / "faces.sqlite"
    writer = Store(path)
    assert writer.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    writer.replace_files([file("photos/a.jpg", "A"), file("photos/b.jpg", "B")])
    writer.record_scan("A", DLIB, (1, 1), [face(0, 1)])
    writer.commit()
    writer.record_scan("B", DLIB, (1, 1), [face(0, 2)])      # the batch in flight, never committed
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT COUNT(*) FROM faces").fetchone() == (1,)
    writer.db.close()                                          # like a kill: the open transaction is lost
    with Store(path) as again:
        assert again.pending(DLIB) == [("B", "photos/b.jpg")] and len(again.face_table(*DLIB)) == 1


def test_status_view_for_people_reading_the_file(store):
    store.replace_files([file("photos/a.jpg", "A"), file("photos/b.jpg", "B")])
    store.record_unreadable("B", "not an image (an HTML page)")
    store.record_scan("A", DLIB, (300, 200), [face(0, 1)])
    rows = store.db.execute("SELECT path, status, error, faces FROM photo_status ORDER BY path").fetchall()
    assert rows == [("photos/a.jpg", "indexed", None, 1), ("photos/b.jpg", "failed", "not an image (an HTML page)", None)]


def test_a_file_that_is_not_an_index_is_one_line(tmp_path):
    path = tmp_path / "faces.sqlite"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(UserError, match=r"faces.sqlite: not a face index \(file is not a database\); move it away"):
        Store(path)
