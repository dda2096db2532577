"""Short, readable reasons for a failed request, as the manifest and the summary show them."""
from __future__ import annotations

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx

TIMEOUTS = (DownloadTimeoutError, tx.TimeoutError, tx.TCPTimedOutError)   # the site did not answer in time

_PHRASES: list[tuple[tuple[type[BaseException], ...], str]] = [
    ((DownloadConnectionRefusedError, tx.ConnectionRefusedError), "connection refused"),
    ((CannotResolveHostError, tx.DNSLookupError), "host not found"),
    (TIMEOUTS, "timed out"),
    ((ResponseDataLossError,), "connection lost before the whole answer arrived"),
    ((DownloadCancelledError,), "download cancelled (larger than DOWNLOAD_MAXSIZE, or the crawl stopped)"),
    ((tx.ConnectionLost, tx.ConnectionDone, DownloadFailedError), "connection lost"),
]


# A request that failed after the user stopped the crawl (Ctrl-C) was cut short by the
# shutdown (the demo stops its site too): not the site's failure; the next run fetches it.
STOPPED = "not fetched: the crawl was stopped"


def cut_short(reason: str) -> str:
    return f"{STOPPED} ({reason})"


def stopping(crawler) -> bool:
    """Whether this crawl ran and the user has stopped it (Ctrl-C, SIGTERM): Scrapy clears
    `crawling` then, while the requests in flight finish. (start_time: CoreStats, at spider open.)"""
    return crawler is not None and not crawler.crawling and crawler.stats.get_value("start_time") is not None


def is_cut_short(reason: str | None) -> bool:
    return bool(reason) and STOPPED in reason


def http_status(status: int) -> str:
    return f"HTTP {status}"


def failure_reason(exc: BaseException) -> str:
    """`HTTP 404`, `connection refused`, `forbidden by robots.txt`... for an errback's exception."""
    if isinstance(exc, HttpError) and exc.response is not None:
        return http_status(exc.response.status)
    if isinstance(exc, IgnoreRequest):
        message = str(exc)
        return "forbidden by robots.txt" if "robots.txt" in message else (message or "request ignored")
    for types, phrase in _PHRASES:
        if isinstance(exc, types):
            return phrase
    detail = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
