"""The `make demo` driver (demo/run.py): summary, and no server left behind whatever happens.

The driver runs in a copy of demo/ in a temporary repository, where small
stand-ins for `scrapy`, `faces.match` and `faces.evaluate` (packages next
to it, found first by `python -m`) write the contract files, fail or hang
on request. So these tests need none of the crawler or face code.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import free_port

REPO = Path(__file__).resolve().parent.parent

FAKE_SCRAPY = '''
import json, os, sys, time, urllib.request
from pathlib import Path
import yaml
Path(os.environ["FAKE_MARKER"]).write_text(str(os.getpid()))
assert sys.argv[1:3] == ["crawl", "albums"] and sys.argv[3] == "--logfile", sys.argv
Path(sys.argv[4]).write_text("scrapy log")
config = Path(os.environ["PHOTOSCRAPE_CONFIG"])
doc = yaml.safe_load(config.read_text())
page = urllib.request.urlopen(doc["site"]["start_urls"][0], timeout=5).read().decode()
assert "album_row" in page           # the demo site is up during the crawl
mode = os.environ.get("FAKE_CRAWL", "ok")
if mode == "fail":
    sys.exit(3)
if mode == "workers":               # a worker process, as faces.index starts them
    import subprocess
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    Path(os.environ["FAKE_MARKER"] + ".worker").write_text(str(worker.pid))
if mode == "graceful":              # like Scrapy: on a stop signal, finish the requests in flight
    import signal
    def finish(signum, frame):
        time.sleep(1)
        try:
            urllib.request.urlopen(doc["site"]["start_urls"][0], timeout=5).read()
            result = "answered"
        except OSError as exc:
            result = f"no answer: {exc}"
        Path(os.environ["FAKE_MARKER"] + ".after").write_text(result)
        sys.exit(1)
    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    Path(os.environ["FAKE_MARKER"] + ".ready").write_text("")
if mode in ("hang", "workers", "graceful"):
    time.sleep(300)
data = config.parent / doc["data"]
data.mkdir(parents=True, exist_ok=True)
ok = {"status": "saved", "reason": None}
albums = [
    {"url": "/album/1/", "title": "Масленица", "date": "2009-03-01", "displayed_count": 4, "found_count": 2,
     "saved_count": 2, "complete": False, "photos": [dict(ok, url="/img/a.jpg"), dict(ok, url="/img/b.jpg")]},
    {"url": "/album/2/", "title": "Турслёт", "date": None, "displayed_count": 2, "found_count": 2,
     "saved_count": 1, "complete": True, "photos": [dict(ok, url="/img/c.jpg"),
     {"url": "/img/d.jpg", "status": "failed", "reason": "HTTP 404"}]},
]
(data / "albums.jsonl").write_text("".join(json.dumps(a, ensure_ascii=False) + "\\n" for a in albums))
print("crawl summary: 2 albums")
'''

FAKE_MATCH = '''
import os
from pathlib import Path
import yaml
config = Path(os.environ["PHOTOSCRAPE_CONFIG"])
out = config.parent / yaml.safe_load(config.read_text())["faces"]["output"]
out.mkdir(parents=True, exist_ok=True)
(out / "matches.csv").write_text("path,url,album_date,score,face_box,iteration\\n"
                                 "a.jpg,/img/a.jpg,2009-03-01,0.9,\\"1,2,3,4\\",0\\n"
                                 "c.jpg,/img/c.jpg,,0.8,\\"1,2,3,4\\",1\\n")
(out / "report.html").write_text("<html></html>")
'''

FAKE_EVALUATE = '''
import sys
assert sys.argv[1] == "--truth" and sys.argv[3:] == ["--subject", "016", "--list"], sys.argv
print("precision 0.93  recall 0.87  F1 0.90  (13 of 14 found right, 15 in truth)")
'''


class DemoCopy:
    """demo/ copied into an empty repository with stand-in commands; runs demo.run there."""

    def __init__(self, root: Path):
        self.root = root
        shutil.copytree(REPO / "demo", root / "demo", ignore=shutil.ignore_patterns("__pycache__"))
        self.port = free_port()
        settings = root / "demo" / "settings.yaml"
        settings.write_text(settings.read_text(encoding="utf-8").replace(":8642/", f":{self.port}/"),
                            encoding="utf-8")
        for name, code in {"scrapy/__main__.py": FAKE_SCRAPY, "faces/match.py": FAKE_MATCH,
                           "faces/evaluate.py": FAKE_EVALUATE}.items():
            path = root / name
            path.parent.mkdir(exist_ok=True)
            (path.parent / "__init__.py").touch()
            path.write_text(textwrap.dedent(code), encoding="utf-8")
        self.marker = root / "crawl.pid"
        self.out = root / "demo-output"

    def start(self, crawl: str = "ok", new_session: bool = False) -> subprocess.Popen:
        env = dict(os.environ, FAKE_CRAWL=crawl, FAKE_MARKER=str(self.marker))
        env.pop("PHOTOSCRAPE_CONFIG", None)
        return subprocess.Popen([sys.executable, "-m", "demo.run"], cwd=self.root, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=new_session)

    def run(self, crawl: str = "ok") -> subprocess.CompletedProcess:
        proc = self.start(crawl)
        out, err = proc.communicate(timeout=180)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def wait_for_crawl(self, proc: subprocess.Popen, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the crawl step never started"
            time.sleep(0.1)
        time.sleep(0.3)
        return int(self.marker.read_text())

    def leftovers(self) -> dict[int, str]:
        """Processes still running from this copy (the server's command line names its site folder)."""
        found = {}
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            pid = int(cmdline.parent.name)
            try:
                text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(self.root) in text and not gone(pid):
                found[pid] = text
        return found

    def port_is_free(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) != 0

    def assert_clean(self, timeout: float = 15, pidfile_removed: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while (self.leftovers() or not self.port_is_free()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.leftovers() == {}
        assert self.port_is_free()
        if pidfile_removed:
            assert not (self.out / "server.pid").exists()


@pytest.fixture(scope="module")
def prebuilt(tmp_path_factory) -> Path:
    """The demo site built once; each copy starts from it (the driver sees it is up to date)."""
    from demo import generate
    out = tmp_path_factory.mktemp("demo-prebuilt")
    generate.build_if_changed(out)
    return out


@pytest.fixture
def demo(tmp_path, prebuilt) -> DemoCopy:
    copy = DemoCopy(tmp_path / "repo")
    shutil.copytree(prebuilt, copy.out)
    yield copy
    strays = list(copy.leftovers())         # never leave a process behind, even when a test fails
    strays += [int(p.read_text()) for p in (copy.marker, Path(f"{copy.marker}.worker")) if p.exists()]
    for pid in strays:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


def gone(pid: int) -> bool:
    """No such process, or only a zombie waiting for its parent to read its status."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"


def wait_gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return gone(pid)


def test_demo_prints_the_crawl_the_photos_found_the_scores_and_the_report(demo):
    done = demo.run()
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "crawl summary: 2 albums" in out                      # the crawler's own output is shown
    assert "crawl:      2 albums, 4 photos linked, 3 on disk" in out
    assert "1 album without a date" in out                       # not "1 album(s)"
    assert "/img/d.jpg: HTTP 404" in out
    assert "Масленица (site says 4, found 2, saved 2)" in out
    assert "found:      2 photos of person 016" in out
    assert "precision 0.93, recall 0.87" in out
    assert f"report:     {demo.out / 'results' / 'report.html'}" in out
    assert (demo.out / "logs" / "crawl.log").read_text() == "scrapy log"
    assert (demo.out / "logs" / "evaluate.txt").read_text().startswith("precision 0.93")
    assert "57 photos -> demo-output/site (unchanged)" in out
    demo.assert_clean()


def test_a_failed_step_stops_the_server_and_says_where_the_log_is(demo):
    done = demo.run(crawl="fail")
    assert done.returncode == 1
    assert "exited with status 3; Scrapy's log is in demo-output/logs/crawl.log" in done.stderr
    demo.assert_clean()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_driver_stops_the_step_its_workers_and_the_server(demo, sig):
    proc = demo.start(crawl="workers")
    crawl_pid = demo.wait_for_crawl(proc)
    worker = Path(f"{demo.marker}.worker")
    while not worker.exists():
        time.sleep(0.1)
    worker_pid = int(worker.read_text())
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig
    assert "demo stopped" in err
    assert wait_gone(crawl_pid) and wait_gone(worker_pid)
    demo.assert_clean()


def test_ctrl_c_in_the_terminal_lets_the_crawl_finish_its_requests_before_the_site_stops(demo):
    # The driver leads a session of its own, as `make demo` is the terminal's foreground group:
    # Ctrl-C sends SIGINT to every process of that group at once.
    proc = demo.start(crawl="graceful", new_session=True)
    demo.wait_for_crawl(proc)
    ready = Path(f"{demo.marker}.ready")
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT
    # The site was still up when the crawl, stopping, fetched its last page (was: connection refused).
    assert Path(f"{demo.marker}.after").read_text() == "answered"
    assert "demo stopped" in err
    demo.assert_clean()


def test_after_sigkill_of_the_driver_nothing_is_left_and_a_rerun_works(demo):
    proc = demo.start(crawl="workers")
    crawl_pid = demo.wait_for_crawl(proc)
    worker = Path(f"{demo.marker}.worker")
    while not worker.exists():
        time.sleep(0.1)
    proc.kill()
    proc.wait(30)                            # not communicate(): the orphaned worker holds the pipes open
    proc.stdout.close()
    proc.stderr.close()
    assert wait_gone(crawl_pid)              # the kernel sent it SIGTERM when the driver died
    demo.assert_clean(pidfile_removed=False)  # the server saw its stdin close; the rerun finds a stale pidfile
    # The step's own worker outlives it (nothing signals it), until the next run clears the step's group.
    done = demo.run()
    assert done.returncode == 0, done.stderr
    assert wait_gone(int(worker.read_text()), timeout=5)
    demo.assert_clean()


def test_a_stale_server_named_in_the_pidfile_is_stopped_first(demo):
    assert demo.run().returncode == 0        # builds the site
    stale = subprocess.Popen([sys.executable, "-m", "demo.serve", str(demo.out / "site"), "--port", str(demo.port)],
                             cwd=demo.root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert stale.stdout.readline().startswith("serving")
    (demo.out / "server.pid").write_text(str(stale.pid))
    done = demo.run()
    assert done.returncode == 0, done.stderr
    assert stale.wait(10) == 0
    demo.assert_clean()


def test_only_one_demo_runs_at_a_time(demo):
    first = demo.start(crawl="hang")
    demo.wait_for_crawl(first)
    second = demo.run()
    assert second.returncode != 0
    assert f"another demo is running (pid {first.pid})" in second.stderr
    first.terminate()
    first.communicate(timeout=60)
    demo.assert_clean()
