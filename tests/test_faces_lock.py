"""faces.lock: one indexing run per data folder; a running crawl is noticed, never waited for."""
from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO
from faces.config import load_config
from faces.index import update_index
from faces.lock import IndexBusy, crawl_running, index_lock


def hold(path: Path, pid: str = "4242"):
    """Lock `path` as another process would (a second open file: flock locks belong to it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "w", encoding="ascii")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.write(f"{pid}\n")
    handle.flush()
    return handle


def test_a_second_run_stops_at_once_naming_the_first(tmp_path):
    held = hold(tmp_path / ".index.lock")
    with pytest.raises(IndexBusy) as err:
        with index_lock(tmp_path):
            pytest.fail("the lock was taken twice")
    assert str(err.value) == (f"another faces.index or faces.match (pid 4242) is indexing {tmp_path}: "
                              f"it will index the new photos; run this again when it ends")
    held.close()
    with index_lock(tmp_path):
        assert (tmp_path / ".index.lock").read_text() == f"{os.getpid()}\n"
    assert (tmp_path / ".index.lock").read_text() == ""


def test_waiting_for_the_lock_says_so_once_then_gets_it(tmp_path):
    held = hold(tmp_path / ".index.lock")
    waited = []
    threading.Timer(0.5, held.close).start()
    start = time.monotonic()
    with index_lock(tmp_path, on_wait=waited.append):
        assert time.monotonic() - start >= 0.4
    assert waited == ["4242"]


def test_a_running_crawl_is_seen_from_its_lock(tmp_path):
    assert crawl_running(tmp_path) is None                     # no crawl ever ran here
    held = hold(tmp_path / ".crawl.lock", "777")
    assert crawl_running(tmp_path) == "777"
    held.close()
    assert crawl_running(tmp_path) is None                     # the file stays, the lock went with the crawl


def settings(root: Path) -> Path:
    (root / "data" / "photos").mkdir(parents=True)
    path = root / "settings.yaml"
    path.write_text("data: data\nfaces:\n  workers: 1\n", encoding="utf-8")
    return path


def test_indexing_during_a_crawl_names_it(tmp_path, deepface_home, caplog):
    cfg = load_config(settings(tmp_path))
    held = hold(cfg.data_dir / ".crawl.lock", "777")
    caplog.set_level(logging.INFO, logger="faces.index")
    report = update_index(cfg, progress=False)
    held.close()
    assert f"a crawl is still running in {cfg.data_dir} (pid 777): indexing the photos saved so far; " \
           f"run again when it ends" in caplog.text
    assert report.summary().splitlines()[0] == ("Nothing to index yet: albums.jsonl lists no saved photo and "
                                                "photos/ holds none (the crawl is still running).")


def test_faces_index_while_another_indexes_is_one_line(tmp_path, deepface_home):
    config = settings(tmp_path)
    held = hold(tmp_path / "data" / ".index.lock", "4242")
    out = subprocess.run([sys.executable, "-m", "faces.index", "--config", str(config)], cwd=REPO,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "DEEPFACE_HOME": str(deepface_home)})
    held.close()
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == (f"error: another faces.index or faces.match (pid 4242) is indexing {tmp_path / 'data'}: "
                          f"it will index the new photos; run this again when it ends\n")
