"""One indexing run per data folder, and whether a crawl is still filling it.

Two `faces.index` / `faces.match` runs on one data folder would both embed
every new photo. The run that indexes holds an exclusive `flock` on
`<data>/.index.lock` while it does (the file holds its pid, for the other
run's message); the kernel drops it when the process ends, even by SIGKILL,
so there is never a stale lock to delete by hand.

The crawl (photoscrape) holds `<data>/.crawl.lock` the same way while it
runs; `crawl_running` only tests that lock (a shared, non-blocking flock),
it never takes it for long nor imports the crawler.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from faces.config import UserError

INDEX_LOCK = ".index.lock"
CRAWL_LOCK = ".crawl.lock"      # written by photoscrape's crawl


class IndexBusy(UserError):
    """Another run is indexing this data folder; the message is one line naming its pid."""


@contextmanager
def index_lock(data_dir: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold `<data_dir>/.index.lock` for the block.

    When another process holds it: without `on_wait`, raise IndexBusy at once;
    with it, call `on_wait(pid)` once and wait for the lock.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / INDEX_LOCK, "a+", encoding="ascii") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _pid(handle)
            if on_wait is None:
                raise IndexBusy(f"another faces.index or faces.match (pid {pid}) is indexing {data_dir}: "
                                f"it will index the new photos; run this again when it ends") from None
            on_wait(pid)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()    # the pid of a run that ended would mislead


def crawl_running(data_dir: Path) -> str | None:
    """The pid (as written, "?" when unknown) of a crawl holding `<data_dir>/.crawl.lock`, else None."""
    try:
        handle = open(data_dir / CRAWL_LOCK, encoding="ascii", errors="replace")
    except OSError:              # no crawl ever ran here (or the file is unreadable: we cannot tell)
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _pid(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _pid(handle) -> str:
    handle.seek(0)
    return handle.read().strip() or "?"
