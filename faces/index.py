"""`python -m faces.index`: detect and embed every downloaded photo not yet indexed.

The photos are the crawl manifest's plus any image dropped under
`<data>/photos/` (faces.photos). Each distinct content is indexed once per
(detector, model, align) into `<data>/faces.sqlite` (faces.store): a rerun only
does new photos, a touched or renamed file is not embedded again, and a killed
run loses at most the batch in flight.

Worker processes (faces.workers, default and at most one per core) each load
the models once; the main process reads the manifest, hashes files and is the
only one writing to SQLite. `faces.match` calls `update_index(cfg)` before
matching. One run indexes a data folder at a time (faces.lock); a crawl still
running there is named, and what it saved so far is indexed.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from faces import weights
from faces.cli import counted, parser, run
from faces.config import FacesConfig, UserError, load_config
from faces.images import UnreadableImage, load_rgb
from faces.lock import crawl_running, index_lock
from faces.photos import file_records, list_photos, same_content
from faces.store import Key, Store

log = logging.getLogger("faces.index")

BATCH_PHOTOS = 20                       # commit at least this often...
BATCH_SECONDS = 5.0                     # ...and at least this often
LOG_EVERY_SECONDS = 30.0                # progress lines when stderr is not a terminal
MAX_WORKER_CRASHES = 3


# --- one photo ----------------------------------------------------------------

@dataclass
class Outcome:
    checksum: str
    path: str                                  # relative, for messages
    size: tuple[int, int] | None = None        # (width, height) once decoded
    faces: list = field(default_factory=list)  # faces.embed.DetectedFace
    unreadable: str | None = None              # why the file is not an image
    error: str | None = None                   # why detection or embedding failed
    seconds: float = 0.0


def index_photo(encoder, checksum: str, path: Path, rel: str) -> Outcome:
    """Decode one photo and find its faces; failures become part of the Outcome, never exceptions."""
    start = time.perf_counter()
    try:
        rgb = load_rgb(path)
    except UnreadableImage as exc:
        return Outcome(checksum, rel, unreadable=exc.reason)
    outcome = Outcome(checksum, rel, size=(rgb.shape[1], rgb.shape[0]))
    try:
        outcome.faces = encoder.faces(rgb)
    except Exception as exc:   # one photo's failure must not stop the run; it is recorded with its reason
        outcome.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    outcome.seconds = time.perf_counter() - start
    return outcome


# --- worker processes -----------------------------------------------------------

_worker_encoder = None
_worker_load_error: str | None = None


def _start_worker(cfg: FacesConfig, parent_pid: int) -> None:
    """Process-pool initializer: one thread per worker, models loaded once, Ctrl-C left to the main process."""
    global _worker_encoder, _worker_load_error
    # Ctrl-C and `kill -- -PGID` reach the whole process group: the main process stops the
    # pool (the photos in flight finish); a worker dying first would fail its photo instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ[var] = "1"
    # numpy's OpenBLAS read its thread count when imported, before this ran: one per
    # worker, else two workers' BLAS threads fight over two cores (the Dlib network is BLAS).
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    try:
        import cv2

        cv2.setNumThreads(1)
        from faces.embed import FaceEncoder

        _worker_encoder = FaceEncoder(cfg)
    except UserError as exc:
        _worker_load_error = str(exc)
    except Exception as exc:
        _worker_load_error = f"cannot load {cfg.detector_backend} / {cfg.model_name}: {type(exc).__name__}: {exc}"


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to end this worker when the main process dies (even by SIGKILL).

    Without it, killing `faces.index` or `faces.match` leaves the workers
    running as orphans, each holding a loaded model. SIGKILL: the workers
    ignore SIGTERM (see _start_worker). Elsewhere: no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:   # the parent died before the request took effect
        os._exit(1)


def _worker_index(checksum: str, path: Path, rel: str) -> Outcome:
    if _worker_load_error is not None:
        raise UserError(_worker_load_error)
    return index_photo(_worker_encoder, checksum, path, rel)


def _in_workers(cfg: FacesConfig, jobs: Sequence[tuple[str, Path, str]], workers: int) -> Iterator[Outcome]:
    """Outcomes of `jobs` indexed by `workers` processes, in completion order.

    A worker that dies (out of memory, a crash in native code) fails the photos
    in flight with a reason, and the pool is started again.
    """
    queue = iter(jobs)
    crashes = 0
    while True:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(cfg, os.getpid()))
        running: dict = {}
        try:
            while True:
                for job in islice(queue, 2 * workers - len(running)):
                    running[pool.submit(_worker_index, *job)] = job
                if not running:
                    pool.shutdown()
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()          # BrokenProcessPool when a worker died
                    del running[future]
                    yield outcome
        except BrokenProcessPool:
            crashes += 1
            for future, (checksum, _, rel) in running.items():
                if future.done() and not future.cancelled() and future.exception() is None:
                    yield future.result()              # finished before the crash
                else:
                    yield Outcome(checksum, rel, error="a worker process died while indexing this photo "
                                                       "or one beside it (rerun with --retry-failed)")
            if crashes >= MAX_WORKER_CRASHES:
                raise UserError(f"worker processes died {crashes} times; the photos in flight are recorded "
                                f"as failed (is memory short?)") from None
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def _in_process(encoder, jobs: Iterable[tuple[str, Path, str]]) -> Iterator[Outcome]:
    for job in jobs:
        yield index_photo(encoder, *job)


# --- the run ------------------------------------------------------------------

@dataclass
class IndexReport:
    key: Key
    listed: int = 0                                        # photo files listed
    copies: list[tuple[str, str]] = field(default_factory=list)          # (copy, original): same bytes
    pending: int = 0                                       # distinct photos to index this run
    pending_files: int = 0                                 # ...in this many files (copies share one)
    indexed: int = 0                                       # ...done
    faces: int = 0
    no_face: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)          # (path, reason), this run
    failed_before: list[tuple[str, str]] = field(default_factory=list)   # not retried
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    crawl_pid: str | None = None                           # a crawl still filling the data folder

    def summary(self, store_path: Path | None = None, shown: int = 10) -> str:
        detector, model, align = self.key
        lines = []
        if self.pending:
            lines.append(f"Indexed {counted(self.indexed, 'photo')} with {detector} + {model} ({align} alignment) "
                         f"in {_duration(self.seconds)}: {counted(self.faces, 'face')} found, "
                         f"{counted(self.no_face, 'photo')} with no face, {len(self.failed)} failed.")
        elif not self.listed:
            lines.append("Nothing to index yet: albums.jsonl lists no saved photo and photos/ holds none"
                         + (" (the crawl is still running)." if self.crawl_pid else "."))
        else:
            distinct = f" ({self.listed - len(self.copies)} distinct photos)" if self.copies else ""
            lines.append(f"Nothing new to index: all {self.listed} photo files{distinct} were seen before with "
                         f"{detector} + {model} ({align} alignment).")
        if self.copies:
            lines.append(f"{len(self.copies)} of the {self.listed} photo files "
                         f"{'is a byte-identical copy' if len(self.copies) == 1 else 'are byte-identical copies'} "
                         f"of another (indexed once, listed under each name):")
            lines += [f"  {copy} = {original}" for copy, original in self.copies[:shown]]
            if len(self.copies) > shown:
                lines.append(f"  ... and {len(self.copies) - shown} more")
        for title, rows in (("Failed", self.failed),
                            ("Failed in an earlier run (rerun with --retry-failed to try again)", self.failed_before)):
            if rows:
                lines.append(f"{title}:")
                lines += [f"  {path}: {reason}" for path, reason in rows[:shown]]
                if len(rows) > shown:
                    lines.append(f"  ... and {len(rows) - shown} more (see the photo_status view in faces.sqlite)")
        if self.missing:
            lines.append(f"{counted(len(self.missing), 'photo')} listed in albums.jsonl not on disk, "
                         f"e.g. {self.missing[0]}")
        lines += self.problems
        if store_path is not None:
            lines.append(f"Face index: {store_path}")
        return "\n".join(lines)


def update_index(cfg: FacesConfig, *, encoder=None, retry_failed: bool = False,
                 progress: bool | None = None, wait: bool = False) -> IndexReport:
    """Index what is new under cfg's (detector, model, align); return what was done.

    `encoder`: an already loaded faces.embed.FaceEncoder for cfg, used in this
    process instead of starting workers. `progress`: a bar (tqdm) when None and
    stderr is a terminal, else a log line every 30 s. `wait`: when another run
    is indexing the data folder, wait for it (saying so) instead of raising
    faces.lock.IndexBusy.

    Ctrl-C (or SIGTERM, see faces.cli) while photos are indexed raises
    KeyboardInterrupt with a message saying how far it got; what is done is kept.
    """
    start = time.monotonic()
    weights.prepare(cfg)                  # a missing weight file stops us before any photo is read

    def waiting(pid: str) -> None:
        log.info("another faces.index or faces.match (pid %s) is indexing %s: waiting for it to end "
                 "(Ctrl-C to stop)", pid, cfg.data_dir)

    with index_lock(cfg.data_dir, on_wait=waiting if wait else None):
        report = _update(cfg, encoder, retry_failed, progress)
    report.seconds = time.monotonic() - start
    return report


def _update(cfg: FacesConfig, encoder, retry_failed: bool, progress: bool | None) -> IndexReport:
    key: Key = (cfg.detector_backend, cfg.model_name, cfg.alignment)
    crawl_pid = crawl_running(cfg.data_dir)
    if crawl_pid is not None:
        log.info("a crawl is still running in %s (pid %s): indexing the photos saved so far; "
                 "run again when it ends", cfg.data_dir, crawl_pid)
    listing = list_photos(cfg)
    report = IndexReport(key, listed=len(listing.photos), missing=listing.missing, problems=listing.problems,
                         crawl_pid=crawl_pid)
    with Store(cfg.store_path) as store:
        if len(listing.photos) > 500:
            log.info("checking %d photo files...", len(listing.photos))
        records = file_records(listing, cfg.data_dir, store.known_files())
        report.failed += listing.unreadable         # broken links and the like: not in the index, named each run
        store.replace_files(records)
        store.commit()
        report.copies = same_content(records)
        pending = store.pending(key, retry_failed)
        report.pending = len(pending)
        pending_checksums = {checksum for checksum, _ in pending}
        report.pending_files = sum(r.checksum in pending_checksums for r in records)
        jobs = [(checksum, cfg.data_dir / rel, rel) for checksum, rel in pending]
        workers = min(cfg.workers, len(jobs))
        if jobs:
            extra = report.pending_files - len(jobs)
            capped = (f" (faces.workers: {cfg.workers_asked} is more than the {cfg.workers} CPU cores: "
                      f"at most {cfg.workers})" if cfg.workers_asked and encoder is None else "")
            log.info("indexing %s%s with %s + %s (%s alignment), %s%s", counted(len(jobs), "new photo"),
                     f" (in {report.pending_files} files: {counted(extra, 'copy', 'copies')} of another, "
                     f"indexed once)" if extra else "", *key,
                     f"{workers} worker processes" if workers > 1 and encoder is None else "in this process",
                     capped)
        if not jobs:
            outcomes: Iterator[Outcome] = iter(())
        elif encoder is not None or workers <= 1:
            if encoder is not None and encoder.key != key:
                raise ValueError(f"encoder {encoder.key} does not match the config's {key}")
            if encoder is None:
                from faces.embed import FaceEncoder

                encoder = FaceEncoder(cfg)
            outcomes = _in_process(encoder, jobs)
        else:
            outcomes = _in_workers(cfg, jobs, workers)
        bar = Progress(len(jobs), progress)
        last_commit = time.monotonic()
        uncommitted = 0
        try:
            for outcome in outcomes:
                _record(store, key, outcome, report)
                bar.update(len(outcome.faces))
                uncommitted += 1
                if uncommitted >= BATCH_PHOTOS or time.monotonic() - last_commit >= BATCH_SECONDS:
                    store.commit()
                    uncommitted, last_commit = 0, time.monotonic()
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"interrupted after {bar.done} of {counted(len(jobs), 'photo')}; "
                                    f"they are saved, run again to index the rest") from None
        finally:
            if hasattr(outcomes, "close"):
                outcomes.close()          # the worker pool stops now, not when garbage is collected
            store.commit()                # Ctrl-C or an error: keep what is done
            bar.close()
        done = {path for path, _ in report.failed}
        report.failed_before = [row for row in store.failures(key) if row[0] not in done]
    return report


def _record(store: Store, key: Key, outcome: Outcome, report: IndexReport) -> None:
    if outcome.unreadable is not None:
        store.record_unreadable(outcome.checksum, outcome.unreadable)
        report.failed.append((outcome.path, outcome.unreadable))
        return
    store.record_scan(outcome.checksum, key, outcome.size, outcome.faces, outcome.error, outcome.seconds)
    if outcome.error is not None:
        report.failed.append((outcome.path, outcome.error))
        return
    report.indexed += 1
    report.faces += len(outcome.faces)
    report.no_face += not outcome.faces


class Progress:
    """A tqdm bar (rate, ETA) on a terminal; otherwise a plain log line now and then."""

    def __init__(self, total: int, bar: bool | None):
        self.total, self.done, self.faces = total, 0, 0
        self.start = self.last_line = time.monotonic()
        self.bar = None
        if total and (bar if bar is not None else sys.stderr.isatty()):
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="photo", desc="indexing", dynamic_ncols=True, file=sys.stderr)

    def update(self, faces: int) -> None:
        self.done += 1
        self.faces += faces
        if self.bar is not None:
            self.bar.update()
            self.bar.set_postfix(faces=self.faces, refresh=False)
        elif time.monotonic() - self.last_line >= LOG_EVERY_SECONDS:
            self.last_line = time.monotonic()
            rate = self.done / (self.last_line - self.start)
            log.info("indexed %d/%d photos, %d faces (%.1f photos/s, about %s left)", self.done, self.total,
                     self.faces, rate, _duration((self.total - self.done) / rate))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def main(argv: Sequence[str] | None = None) -> int:
    p = parser("Detect and embed every downloaded photo not yet indexed (into <data>/faces.sqlite).")
    p.add_argument("--retry-failed", action="store_true",
                   help="try again the photos that could not be read or indexed before")
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    report = update_index(cfg, retry_failed=args.retry_failed)
    print(report.summary(cfg.store_path))
    return 0


if __name__ == "__main__":
    run(main)
