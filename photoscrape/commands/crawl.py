"""`scrapy crawl albums`: Scrapy's crawl command, with an exit status a script can trust.

Exit status 0: the crawl read the album lists and saved photos; photos that
failed are named in the manifest and the summary. 1: it could not do its job
(no album list page could be read, no album or no photo found, none saved,
stopped early, or another crawl is using the data folder). 2: a settings error
(photoscrape/settings.py) or a wrong command line.

Before Scrapy logs anything or sends a request, the data folder is locked
(lock.py) and Scrapy's terminal output trimmed (logs.py).
"""
from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler

from photoscrape.lock import DataFolderBusy, data_folder_lock
from photoscrape.logs import quiet_terminal
from photoscrape.manifest import FAILURE_STAT


class Command(ScrapyCrawlCommand):
    crawler: Crawler | None = None

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        """Scrapy calls this before it creates the crawler process (which logs its start)."""
        super().process_options(args, opts)
        self.held = ExitStack()
        data = self.settings.get("PHOTOSCRAPE_DATA")
        if data:
            try:
                self.held.enter_context(data_folder_lock(Path(data)))
            except DataFolderBusy as exc:
                sys.stderr.write(f"error: {exc}\n")
                raise SystemExit(1) from None
            except OSError as exc:      # a file where a folder should be, no permission, disk full
                sys.stderr.write(f"error: data folder {data}: cannot use it ({exc.strerror or exc}"
                                 f"{': ' + exc.filename if exc.filename else ''})\n")
                raise SystemExit(2) from None
        quiet_terminal(log_to_file=bool(self.settings.get("LOG_FILE")))

    def _create_crawler(self, spidercls) -> Crawler:
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        with self.held:
            super().run(args, opts)
        if self.exitcode == 0 and self.crawler is not None:
            # '' = it did its job; None = it ended before the manifest pipeline judged it.
            if self.crawler.stats.get_value(FAILURE_STAT) != "":
                self.exitcode = 1
