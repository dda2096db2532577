"""One crawl at a time per data folder.

Two crawls writing one data folder would both download every photo and
append every line of crawl-state.jsonl twice. A crawl holds an exclusive
`flock` on `<data>/.crawl.lock` from before its first request to its end;
the file holds its pid, for the message the second crawl gives. The kernel
drops the lock when the process ends, even by SIGKILL, so there is never a
stale lock to delete by hand.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOCK_FILE = ".crawl.lock"


class DataFolderBusy(Exception):
    """Another process holds the data folder's lock; the message is one line naming it."""


@contextmanager
def data_folder_lock(data_dir: Path) -> Iterator[None]:
    """Hold `<data_dir>/.crawl.lock` for the block, or raise DataFolderBusy at once."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_FILE, "a+", encoding="ascii") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            raise DataFolderBusy(f"another crawl is using {data_dir} (pid {pid}); "
                                 "wait for it to finish, or stop it first") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
