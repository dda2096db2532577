"""Cookies from a browser export (`site.cookies_file`), for albums behind a login.

The file is the Netscape cookies.txt format that browser export extensions,
yt-dlp and gallery-dl read and write; the standard library's MozillaCookieJar
parses it. The cookies go into Scrapy's own cookie jar, so the site's later
Set-Cookie answers keep working as in a browser.
"""
from __future__ import annotations

import http.cookiejar
import logging
import time
from pathlib import Path

from scrapy.downloadermiddlewares.cookies import CookiesMiddleware

logger = logging.getLogger(__name__)


class CookiesFileError(ValueError):
    """The cookies file is missing or not in the Netscape cookies.txt format."""


def read_cookies_file(path: Path) -> list[http.cookiejar.Cookie]:
    """The usable cookies of a Netscape cookies.txt file (expired ones dropped)."""
    if not path.is_file():
        raise CookiesFileError(f"file not found: {path}")
    jar = http.cookiejar.MozillaCookieJar()
    try:
        # Session cookies are what a login usually is: keep them (ignore_discard).
        jar.load(str(path), ignore_discard=True, ignore_expires=True)
    except (http.cookiejar.LoadError, OSError, UnicodeDecodeError) as exc:
        raise CookiesFileError(f"{path} is not a Netscape cookies.txt file (export it with a "
                               f"'cookies.txt' browser extension; first line "
                               f"'# Netscape HTTP Cookie File'): {exc}") from None
    now = time.time()
    cookies = []
    for cookie in jar:
        if not cookie.expires:     # 0 or empty: a session cookie in exporters' spelling
            cookie.expires = None
            cookie.discard = True
        elif cookie.expires <= now:
            continue
        cookies.append(cookie)
    return cookies


class CookiesFileMiddleware(CookiesMiddleware):
    """Scrapy's CookiesMiddleware, with the jar filled from PHOTOSCRAPE_COOKIES_FILE first."""

    @classmethod
    def from_crawler(cls, crawler):
        mw = super().from_crawler(crawler)
        path = crawler.settings.get("PHOTOSCRAPE_COOKIES_FILE")
        if path:
            cookies = read_cookies_file(Path(path))
            jar = mw.jars[None]          # the jar of requests without a `cookiejar` meta key
            for cookie in cookies:
                jar.set_cookie(cookie)
            logger.info("Loaded %d cookies for %s from %s", len(cookies),
                        ", ".join(sorted({c.domain.lstrip(".") for c in cookies})) or "no site", path)
        return mw
