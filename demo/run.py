"""`make demo`: build the demo site, serve it, crawl it, find one person, score the result.

    python -m demo.run          (what `make demo` runs, after `make install`)

Steps, all with PHOTOSCRAPE_CONFIG=demo/settings.yaml:
  1. build the site into demo-output/site (demo/generate.py; same bytes every time)
  2. serve it on 127.0.0.1 at the port of site.start_urls (demo/serve.py)
  3. scrapy crawl albums                              -> demo-output/data/
  4. python -m faces.match (indexes what is new first) -> demo-output/results/
  5. python -m faces.evaluate --truth demo/truth.csv --subject 016
then a short summary. The server is stopped whatever happens: on success,
failure, Ctrl-C or SIGTERM (each step runs in a process group of its own,
which is stopped as a whole, worker processes included). On Ctrl-C the crawl
is stopped first and waited for, then the server (which has a process group
of its own too, so the terminal's Ctrl-C does not reach it): requests the
crawl still has in flight get their answers instead of "connection refused". If this driver is
killed with SIGKILL, the server (which watches its standard input, a pipe
from here) and the running step (Linux: parent-death signal) stop by
themselves, and the next run kills whatever the step had started. Only one
demo runs at a time (a lock file in demo-output/). A second run reuses the
downloads and the face index, so it only re-checks.
"""
from __future__ import annotations

import csv
import ctypes
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from demo import generate, story

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "demo" / "settings.yaml"
TRUTH = REPO / "demo" / "truth.csv"
OUT = REPO / "demo-output"
STEP_GROUP_FILE = OUT / "step.pgid"    # the running step's process group, for stop_stale_step
SUBJECT = story.TARGET      # the person in demo/references


class Interrupted(Exception):
    """SIGTERM or SIGINT reached the driver."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StepFailed(Exception):
    pass


def die_with_parent() -> None:
    """Linux: have the kernel send SIGTERM to this process when its parent dies.

    Used in the driver (so killing `make` stops the demo) and in every child
    (so killing the driver stops them). Elsewhere it is a no-op.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)          # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child_setup(parent: int):
    def setup():
        die_with_parent()
        if os.getppid() != parent:             # the parent died before prctl took effect
            os._exit(1)
    return setup


class DemoSettings:
    """What the driver needs from demo/settings.yaml: the site's port, the data and output folders."""

    def __init__(self, path: Path = CONFIG):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        url = urlsplit(((doc.get("site") or {}).get("start_urls") or [""])[0])
        if url.hostname != "127.0.0.1" or not url.port:
            raise SystemExit(f"error: {path}: site.start_urls must start with http://127.0.0.1:PORT/ for the demo")
        self.port = url.port
        base = path.parent
        self.data = (base / doc.get("data", "data")).resolve()
        self.output = (base / ((doc.get("faces") or {}).get("output") or "results")).resolve()


def take_lock(out: Path):
    """Hold demo-output/.lock for this run; a second concurrent demo stops with a message."""
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / ".lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        raise SystemExit(f"error: another demo is running (pid {handle.read().strip() or '?'}); "
                         f"wait for it or stop it first") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


class DemoServer:
    """demo/serve.py in a child process, tied to this driver by a pipe on its stdin."""

    def __init__(self, site: Path, faults: Path, port: int, pidfile: Path, log: Path):
        self.site, self.faults, self.port, self.pidfile, self.log = site, faults, port, pidfile, log
        self.url = f"http://127.0.0.1:{port}/"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> None:
        self._stop_stale()
        cmd = [sys.executable, "-m", "demo.serve", str(self.site), "--faults", str(self.faults),
               "--port", str(self.port), "--until-stdin-closes"]
        with open(self.log, "wb") as errors:          # a file, so a chatty server never blocks on a pipe
            # A process group of its own: Ctrl-C in the terminal reaches the whole foreground group,
            # and the site must outlive the crawl's last requests (the driver stops it after the crawl).
            self.proc = subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=errors, text=True, preexec_fn=_child_setup(os.getpid()),
                                         process_group=0)
        self.pidfile.write_text(str(self.proc.pid))
        first = self.proc.stdout.readline()           # "serving ... on URL", or EOF if it failed
        if not first.startswith("serving"):
            self.proc.wait(timeout)
            why = self.log.read_text(errors="replace").strip() or f"exit status {self.proc.returncode}"
            self.pidfile.unlink(missing_ok=True)
            hint = (f"\n  (is another program using port {self.port}? Stop it, or change the port in "
                    f"{CONFIG.relative_to(REPO)} site.start_urls)") if "cannot serve" in why else ""
            raise StepFailed(f"the demo site did not start: {why}{hint}")
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise StepFailed(f"the demo site does not answer at {self.url}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            proc.stdin.close()                        # the server shuts down at end of input
        except OSError:
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            end_process(proc, grace=5)
        self.pidfile.unlink(missing_ok=True)

    def _stop_stale(self) -> None:
        """A server left by an earlier run (its pid in the pidfile, still our serve module): stop it."""
        try:
            pid = int(self.pidfile.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            self.pidfile.unlink(missing_ok=True)
            return
        if b"demo.serve" in cmdline:
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
        self.pidfile.unlink(missing_ok=True)


def end_process(proc: subprocess.Popen, grace: float, group: bool = False) -> None:
    """SIGTERM, then SIGKILL if it is still there after `grace` seconds.

    With `group`, the whole process group the command leads (its worker
    processes too) gets the signals, and is waited for.
    """
    def alive() -> bool:
        if proc.poll() is None:
            return True
        if group:
            try:
                os.killpg(proc.pid, 0)
                return True
            except (ProcessLookupError, PermissionError):
                return False
        return False

    def send(sig: int) -> None:
        try:
            os.killpg(proc.pid, sig) if group else proc.send_signal(sig)
        except ProcessLookupError:
            pass

    if not alive():
        return
    send(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive():
        send(signal.SIGKILL)
        proc.wait()


STEP_TOKEN = "PHOTOSCRAPE_DEMO_STEP"     # environment variable marking a step's processes


def group_members(pgid: int, token: str) -> list[int]:
    """Live processes in process group `pgid` whose environment has STEP_TOKEN=token.

    The token (inherited by everything a step starts) makes sure a process
    group id reused by the system since then is never mistaken for ours.
    """
    found, mark = [], f"{STEP_TOKEN}={token}".encode()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z" and mark in environ:
            found.append(int(stat.parent.name))
    return found


def stop_stale_step(group_file: Path) -> None:
    """Kill what is left of a step whose driver was killed with SIGKILL.

    The step itself gets SIGTERM from the kernel then (parent-death signal),
    but processes it started may live on; they are still in its process group.
    """
    try:
        pgid, token = group_file.read_text().split()
    except (OSError, ValueError):
        return
    for pid in group_members(int(pgid), token):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    group_file.unlink(missing_ok=True)


def run_step(title: str, cmd: list[str], env: dict, log: Path | None = None) -> str:
    """Run one command from the repository root; raise StepFailed if it fails.

    Without `log` the command has the terminal (progress bars stay bars);
    with it, its output goes to the terminal and to `log`, and is returned.
    The command runs in a process group of its own, so that on SIGTERM/Ctrl-C
    (which reach this driver) it and any worker processes it started are
    asked to stop (SIGTERM), then killed after 15 s; none outlives the step.
    """
    print(f"\n==> {title}\n    $ {' '.join(_shown(c) for c in cmd)}", flush=True)
    pipe = subprocess.PIPE if log else None
    token = f"{os.getpid()}-{time.time_ns()}"
    env = dict(env, **{STEP_TOKEN: token})
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=pipe, stderr=subprocess.STDOUT if log else None,
                            preexec_fn=_child_setup(os.getpid()), process_group=0)
    STEP_GROUP_FILE.write_text(f"{proc.pid} {token}")
    lines: list[bytes] = []
    try:
        if log:
            with open(log, "wb") as sink:
                for line in proc.stdout:
                    lines.append(line)
                    sink.write(line)
                    sys.stdout.buffer.write(line)
                    sys.stdout.flush()
        proc.wait()
    finally:
        end_process(proc, grace=15, group=True)
        STEP_GROUP_FILE.unlink(missing_ok=True)
    if proc.returncode:
        where = f"; its output is in {_shown(str(log))}" if log else ""
        raise StepFailed(f"{title}: `{' '.join(_shown(c) for c in cmd)}` exited with status {proc.returncode}{where}")
    return b"".join(lines).decode("utf-8", "replace")


def _shown(arg: str) -> str:
    if arg == sys.executable:
        return "python"
    return str(Path(arg).relative_to(REPO)) if arg.startswith(str(REPO) + "/") else arg


def crawl_counts(manifest: Path) -> dict:
    """Albums, photos and failures from the manifest (the crawler's contract file)."""
    albums = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    photos = [p for a in albums for p in a.get("photos", [])]
    return {
        "albums": len(albums),
        "photos": len(photos),
        "saved": sum(p["status"] in ("saved", "already_saved") for p in photos),
        "failed": [p for p in photos if p["status"] == "failed"],
        "incomplete": [a for a in albums if not a.get("complete")],
        "undated": [a for a in albums if not a.get("date")],
    }


def found_count(matches: Path) -> int:
    with matches.open(newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.DictReader(f))


def scores(evaluate_output: str) -> tuple[str | None, str | None]:
    def grab(name: str) -> str | None:
        m = re.search(rf"\b{name}\b\W*([01](?:\.\d+)?)", evaluate_output, re.IGNORECASE)
        return m.group(1) if m else None
    return grab("precision"), grab("recall")


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def summary(settings: DemoSettings, evaluate_output: str, seconds: float) -> str:
    c = crawl_counts(settings.data / "albums.jsonl")
    results = settings.output
    failed = "; ".join(f"{p['url']}: {p.get('reason') or 'failed'}" for p in c["failed"]) or "none"
    incomplete = "; ".join(f"{a.get('title')} (site says {a.get('displayed_count')}, "
                           f"found {a.get('found_count')}, saved {a.get('saved_count')})"
                           for a in c["incomplete"]) or "none"
    precision, recall = scores(evaluate_output)
    rel = lambda p: p.relative_to(REPO) if p.is_relative_to(REPO) else p  # noqa: E731
    return "\n".join([
        "",
        f"==> Demo done in {seconds:.0f} s",
        f"  crawl:      {_n(c['albums'], 'album')}, {_n(c['photos'], 'photo')} linked, {c['saved']} on disk "
        f"({rel(settings.data / 'photos')}), {_n(len(c['undated']), 'album')} without a date",
        f"  failed:     {failed}",
        f"  incomplete: {incomplete}",
        f"  found:      {_n(found_count(results / 'matches.csv'), 'photo')} of person {SUBJECT} "
        f"({rel(results / 'matches.csv')})",
        f"  accuracy:   precision {precision or '?'}, recall {recall or '?'} (against {rel(TRUTH)})",
        f"  report:     {results / 'report.html'}",
    ])


def main() -> int:
    started = time.monotonic()

    def on_signal(signum, _frame):
        raise Interrupted(signum)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}

    env = dict(os.environ, PHOTOSCRAPE_CONFIG=str(CONFIG), PYTHONUNBUFFERED="1")
    lock = server = None
    try:
        lock = take_lock(OUT)
        stop_stale_step(STEP_GROUP_FILE)
        (OUT / "logs").mkdir(exist_ok=True)
        print("==> Building the demo site (demo/generate.py)", flush=True)
        photos, rebuilt = generate.build_if_changed(OUT)
        print(f"    {len(story.ALBUMS)} albums, {photos} photos -> {OUT.relative_to(REPO)}/site"
              + ("" if rebuilt else " (unchanged)"), flush=True)
        settings = DemoSettings()
        server = DemoServer(OUT / "site", OUT / "faults.json", settings.port, OUT / "server.pid",
                            OUT / "logs" / "server.log")
        server.start()
        print(f"    serving it on {server.url}", flush=True)
        # Scrapy's own log goes to a file; the terminal gets the crawl summary.
        crawl_log = OUT / "logs" / "crawl.log"
        try:
            run_step("Crawling every album",
                     [sys.executable, "-m", "scrapy", "crawl", "albums", "--logfile", str(crawl_log)], env)
        except StepFailed as exc:
            raise StepFailed(f"{exc}; Scrapy's log is in {_shown(str(crawl_log))}") from None
        server.stop()                                 # the faces steps need no site
        run_step(f"Finding person {SUBJECT} from the two photos in demo/references",
                 [sys.executable, "-m", "faces.match"], env)
        evaluation = run_step("Scoring the result against the truth",
                              [sys.executable, "-m", "faces.evaluate", "--truth", str(TRUTH),
                               "--subject", SUBJECT, "--list"], env, OUT / "logs" / "evaluate.txt")
        print(summary(settings, evaluation, time.monotonic() - started))
        return 0
    except StepFailed as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    except Interrupted as exc:
        print(f"\ndemo stopped ({exc}); the demo site is shut down. Run `make demo` again to resume.",
              file=sys.stderr)
        return 128 + exc.signum
    finally:
        for sig in previous:                              # finish cleaning up once started
            signal.signal(sig, signal.SIG_IGN)
        if server:
            server.stop()
        if lock:
            lock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    die_with_parent()
    sys.exit(main())
