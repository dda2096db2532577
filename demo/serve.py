"""Serve the demo site on 127.0.0.1, with the faults a real site has.

    python -m demo.serve demo-output/site [--faults demo-output/faults.json] [--port 8642]

faults.json (written by demo/generate.py) may hold:
  flaky:   {path: n}   answer 503 the first n requests of path, then serve it
  missing: [path]      answer 404 (the generator also leaves these files out)
Everything else is a plain static file server: a path ending in "/" serves
its index.html. `--port 0` picks a free port. The first line printed is
"serving SITE on URL". With --until-stdin-closes the server also stops when
its standard input reaches end of file, so a driver that holds the pipe
never leaves a server behind, even when the driver is killed with SIGKILL.
SIGTERM and Ctrl-C stop it cleanly (exit status 0).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEFAULT_PORT = 8642


class DemoHandler(SimpleHTTPRequestHandler):
    """Static files plus the configured faults; quiet unless asked to log."""

    def __init__(self, *args, faults: dict, hits: dict, lock: threading.Lock, log: bool, **kwargs):
        self.faults, self.hits, self.lock, self.log = faults, hits, lock, log
        super().__init__(*args, **kwargs)

    def log_message(self, fmt, *args):
        if self.log:
            super().log_message(fmt, *args)

    def _fault(self) -> bool:
        path = self.path.split("?", 1)[0]
        if path in self.faults.get("missing", ()):
            self.send_error(HTTPStatus.NOT_FOUND)
            return True
        times = int(self.faults.get("flaky", {}).get(path, 0))
        if times:
            with self.lock:
                seen = self.hits.get(path, 0)
                self.hits[path] = seen + 1
            if seen < times:
                self.send_error(HTTPStatus.SERVICE_UNAVAILABLE, explain="Try again later")
                return True
        return False

    def do_GET(self):
        if not self._fault():
            super().do_GET()

    def do_HEAD(self):
        if not self._fault():
            super().do_HEAD()


def make_server(site: Path, faults: dict, port: int = DEFAULT_PORT, log: bool = False) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1:port (0 = any free port); call serve_forever() on it."""
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"{site}: no index.html (build the site with python -m demo.generate)")
    handler = partial(DemoHandler, directory=str(site), faults=faults, hits={}, lock=threading.Lock(), log=log)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server


def _stop_when_stdin_closes(server: ThreadingHTTPServer) -> None:
    def watch():
        # os.read on the descriptor, not sys.stdin: a daemon thread blocked inside
        # a buffered reader aborts the interpreter at exit.
        while os.read(sys.stdin.fileno(), 4096):
            pass
        server.shutdown()
    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path, help="the site folder (demo-output/site)")
    ap.add_argument("--faults", type=Path, help="faults.json (default: faults.json beside the site folder)")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 = free)")
    ap.add_argument("--log", action="store_true", help="log every request to stderr")
    ap.add_argument("--until-stdin-closes", action="store_true", help="also stop at end of standard input")
    args = ap.parse_args(argv)
    faults_file = args.faults or args.site.parent / "faults.json"
    faults = json.loads(faults_file.read_text()) if faults_file.is_file() else {}
    if not (args.site / "index.html").is_file():
        print(f"error: {args.site}: no index.html (build the site with python -m demo.generate)", file=sys.stderr)
        return 2
    try:
        server = make_server(args.site, faults, args.port, args.log)
    except OSError as exc:
        print(f"error: cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    # SIGTERM ends serve_forever() the same way Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    if args.until_stdin_closes:
        _stop_when_stdin_closes(server)
    print(f"serving {args.site} on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
