"""What every `python -m faces.*` command shares: --config, one-line errors, logging, stopping."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Callable, Sequence

from faces.config import UserError


def counted(n: int, noun: str, plural: str = "") -> str:
    """`1 photo`, `2 photos` (or `2 <plural>`): a count with its noun in the right number."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser that already knows --config PATH."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", metavar="PATH",
                   help="settings file (default: $PHOTOSCRAPE_CONFIG or ./settings.yaml)")
    return p


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> None:
    """Run a command's main(); a UserError becomes one line on stderr and exit status 2.

    SIGTERM (`kill PID`, a script stopping us) is handled like Ctrl-C: a
    KeyboardInterrupt, so worker pools shut down and what is done is saved,
    instead of dying on the spot and leaving multiprocessing's semaphores for
    its resource tracker to warn about. Its message (e.g. how far indexing
    got) is printed; the exit status is 128 + the signal's number.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    received = [signal.SIGINT]

    def terminate(signum, frame):
        received[0] = signal.Signals(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        code = main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        print(str(exc) or "interrupted", file=sys.stderr)
        sys.exit(128 + received[0])
    sys.exit(code or 0)
