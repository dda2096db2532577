"""What Scrapy's log shows while `scrapy crawl albums` runs.

The terminal belongs to the person watching the crawl: it shows progress,
retries and failures, then the summary table. Scrapy's start-up dumps
(versions, overridden settings, enabled components) and its end-of-crawl
statistics are a page of Python dictionaries each: in the terminal they
become DEBUG lines (`scrapy crawl albums -L DEBUG` shows them), while a log
written to a file (`--logfile`, as `make demo` does) keeps them at INFO.
A robots.txt that cannot be fetched is one line, not a traceback: the album
list page fails right after for the same reason, and the summary explains it.
The minute-by-minute progress line counts albums and photos, not "items".

`quiet_terminal()` installs this on Scrapy's loggers (the crawl command calls
it before Scrapy logs anything); it is idempotent.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy.extensions.logstats import LogStats

from photoscrape.items import ALREADY_SAVED, FAILED, SAVED
from photoscrape.reasons import failure_reason

# logger -> the start of the INFO messages that are dumps ('' = all of them)
DUMPS = {
    "scrapy.utils.log": ("Versions:",),
    "scrapy.crawler": ("Overridden settings:",),
    "scrapy.addons": ("",),
    "scrapy.middleware": ("",),
    "scrapy.statscollectors": ("",),
}
ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"
progress = logging.getLogger("photoscrape.progress")


class DumpsToDebug(logging.Filter):
    """Lowers the dumps a logger writes at INFO to DEBUG (the handler's level then decides)."""

    def __init__(self, prefixes: tuple[str, ...]):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and str(record.msg).startswith(self.prefixes):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


class OneLineRobotsError(logging.Filter):
    """Scrapy logs a failed robots.txt download as an ERROR with a traceback that names the
    page that waited for it; this says what failed, why, and that the crawl goes on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Error downloading"):
            args = record.args if isinstance(record.args, dict) else {}
            exc = record.exc_info[1] or args.get("f_exception")
            page = urlsplit(getattr(args.get("request"), "url", ""))
            robots = f"{page.scheme}://{page.netloc}/robots.txt" if page.netloc else "robots.txt"
            record.msg = "%s could not be read (%s); crawling as if it allowed everything"
            record.args = (robots, failure_reason(exc) if exc else "unknown error")
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class ProgressLog(LogStats):
    """Scrapy's LogStats (every LOGSTATS_INTERVAL seconds), in the crawl's own words."""

    def log(self, spider) -> None:
        self.calculate_stats()
        saved, already, failed = (self.stats.get_value(f"photoscrape/{status}", 0)
                                   for status in (SAVED, ALREADY_SAVED, FAILED))
        progress.info("Fetched %d pages and photos (%d/min); albums done: %d; photos: %d saved, %d already saved, "
                      "%d failed", self.pages, self.prate, self.items, saved, already, failed,
                      extra={"spider": spider})


def _install(logger_name: str, kind: type[logging.Filter], flt: logging.Filter | None) -> None:
    """Replace the logger's filter of this kind by `flt` (None: just remove it)."""
    log = logging.getLogger(logger_name)
    for old in [f for f in log.filters if isinstance(f, kind)]:
        log.removeFilter(old)
    if flt is not None:
        log.addFilter(flt)


def quiet_terminal(log_to_file: bool) -> None:
    """Robots.txt failures on one line; the dumps at DEBUG unless the log goes to a file."""
    _install(ROBOTS_LOGGER, OneLineRobotsError, OneLineRobotsError())
    for name, prefixes in DUMPS.items():
        _install(name, DumpsToDebug, None if log_to_file else DumpsToDebug(prefixes))
