"""What every `python -m faces.*` command shares: --config, one-line errors, logging."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable, Sequence

from faces.config import UserError


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser that already knows --config PATH."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", metavar="PATH",
                   help="settings file (default: $PHOTOSCRAPE_CONFIG or ./settings.yaml)")
    return p


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> None:
    """Run a command's main(); a UserError becomes one line on stderr and exit status 2."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        code = main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
