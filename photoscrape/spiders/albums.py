"""`scrapy crawl albums`: every album of the site in settings.yaml, with all its photos.

Album list pages (following "next" links) -> each album's first page (title,
date and count, unless its entry on the list already showed them; album
entries on it are albums inside the album, read the same way) -> its photo
grid across pages -> each photo's page, for the image URL (skipped when the
grid links images directly). An album is yielded once all its photo pages are
read, with its photos in the site's order; the photos pipeline downloads them.
What goes wrong is recorded on the album, never dropped.
"""
from __future__ import annotations

import re
from collections import defaultdict

import scrapy
from scrapy.http import Response
from scrapy.utils.response import get_base_url
from twisted.python.failure import Failure

from photoscrape.dates import parse_album_date, parse_count
from photoscrape.items import AlbumItem, PhotoEntry
from photoscrape.naming import album_id
from photoscrape.profile import SiteProfile
from photoscrape.reasons import cut_short, failure_reason, stopping
from photoscrape.selectors import links, select, text


class AlbumsSpider(scrapy.Spider):
    name = "albums"

    def __init__(self, *args, profile: SiteProfile | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.profile = profile
        self.seen_albums: set[str] = set()
        self.seen_list_pages: set[str] = set()
        self.unread_list_pages = 0                      # album list pages requested, not yet answered
        self.open_albums: dict[str, AlbumItem] = {}     # albums still being read
        self.pending_photo_pages: dict[str, int] = {}
        self.list_errors: list[str] = []                # album list pages that could not be read
        self.misses: dict[str, list[str]] = defaultdict(list)   # selector key -> pages it missed on
        self.unreadable_dates: list[str] = []
        self.album_id_misses: list[str] = []            # album URLs site.album_id matched no part of

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        kwargs.setdefault("profile", crawler.settings["PHOTOSCRAPE_SITE"])
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.profile is None:
            raise ValueError("PHOTOSCRAPE_SITE is not set: run from the repository folder (scrapy.cfg)")
        return spider

    @property
    def omitted_selectors(self) -> list[str]:
        return [k for k, v in self.profile.selectors().items() if not v and k != "photo_image"]

    async def start(self):
        for url in self.profile.start_urls:
            self.seen_list_pages.add(url)
            self.unread_list_pages += 1
            yield scrapy.Request(url, self.parse, errback=self.list_page_failed,
                                 cb_kwargs={"page": 0}, dont_filter=True)

    # Album list pages -------------------------------------------------------------

    def parse(self, response: Response, page: int):
        self.unread_list_pages -= 1
        p = self.profile
        base = get_base_url(response)
        entries = select(response, p.album_entry) if p.album_entry else []
        if p.album_entry and not entries:
            self.miss("album_entry", response.url)
        found: list[tuple[str, scrapy.Selector | None]] = []
        if entries:
            found = self.entry_links(entries, base, response.url)
        else:
            found = [(url, None) for url in links(response, p.album_links, base)]
        if not found:
            self.miss("album_links", response.url)
        yield from self.album_requests(found, (page,))

        # A start page that shows photos of its own (thumbsup's top folder, or a single album
        # given as start URL) is an album too, placed before the albums it lists.
        if page == 0 and response.url not in self.seen_albums and links(response, p.photo_links, base):
            self.seen_albums.add(response.url)
            album = AlbumItem(url=response.url, order=(page, -1), album_id=self.album_key(response.url),
                              title=text(response, p.album_title) or text(response, "title::text"))
            self.open_albums[response.url] = album
            yield from self.parse_album(response, album, grid_page=0)

        for url in links(response, p.next_albums_page, base)[:1]:
            if url not in self.seen_list_pages:
                self.seen_list_pages.add(url)
                self.unread_list_pages += 1
                yield scrapy.Request(url, self.parse, errback=self.list_page_failed,
                                     cb_kwargs={"page": page + 1}, dont_filter=True)

    def entry_links(self, entries, base: str, page_url: str) -> list[tuple[str, scrapy.Selector]]:
        found = []
        for entry in entries:
            urls = links(entry, self.profile.album_links, base)
            if urls:
                found.append((urls[0], entry))
            else:
                self.miss("album_links", f"{page_url} (an album_entry without a link)")
        return found

    def album_requests(self, found: list[tuple[str, scrapy.Selector | None]], order: tuple[int, ...]):
        """One request per album not seen yet; `order` + its position is its place in the site's order."""
        p = self.profile
        for position, (url, entry) in enumerate(found):
            if url in self.seen_albums:
                continue
            self.seen_albums.add(url)
            album = AlbumItem(url=url, order=(*order, position), album_id=self.album_key(url))
            if entry is not None:
                album.title = text(entry, p.album_title)
                album.date_text = text(entry, p.album_date)
                album.count_text = text(entry, p.album_count)
            self.open_albums[url] = album
            yield scrapy.Request(url, self.parse_album, errback=self.album_page_failed,
                                 cb_kwargs={"album": album, "grid_page": 0}, dont_filter=True)

    def album_key(self, url: str) -> str:
        """The album's id for file names; a site.album_id regex that does not match is
        reported (once in the log, counted in the summary), not silently replaced."""
        pattern = self.profile.album_id
        if pattern:
            match = re.search(pattern, url)
            if not (match and match.group(1)):
                if not self.album_id_misses:
                    self.logger.warning("site.album_id '%s' matched nothing in the album URL %s: such albums "
                                        "get the default id (from the end of the URL) in their file names",
                                        pattern, url)
                self.album_id_misses.append(url)
        return album_id(url, pattern)

    def failure_reason(self, failure: Failure) -> str:
        """Why a request failed; marked as cut short when the user had stopped the crawl."""
        reason = failure_reason(failure.value)
        return cut_short(reason) if stopping(getattr(self, "crawler", None)) else reason

    def list_page_failed(self, failure: Failure):
        self.unread_list_pages -= 1
        reason = self.failure_reason(failure)
        self.list_errors.append(f"{failure.request.url}: {reason}")
        self.logger.error("Album list page %s: %s", failure.request.url, reason)

    # Album pages ------------------------------------------------------------------

    def parse_album(self, response: Response, album: AlbumItem, grid_page: int, seen_grid=None):
        p = self.profile
        seen_grid = seen_grid if seen_grid is not None else {response.url}
        sub_albums = []
        if grid_page == 0:
            self.read_album_fields(response, album)
            # Albums inside albums (thumbsup's sub-folders): album entries on an album page.
            if p.album_entry:
                sub_albums = self.entry_links(select(response, p.album_entry), get_base_url(response), response.url)
                yield from self.album_requests(sub_albums, album.order)
        known = {e.page_url or e.url for e in album.photos}
        new_links = [u for u in links(response, p.photo_links, get_base_url(response)) if u not in known]
        if grid_page == 0 and not new_links and album.displayed_count != 0 and not sub_albums:
            # Not an album showing "0 photos" (just empty): an album whose photos were not seen
            # is not complete, whatever count it shows or not.
            self.miss("photo_links", response.url)
            album.problems.append("no photos found on the album page (site.photo_links matched nothing)")
        for url in new_links:
            album.photos.append(PhotoEntry(url=None, page_url=url) if p.photo_image else PhotoEntry(url=url))

        next_page = [u for u in links(response, p.next_photos_page, get_base_url(response)) if u not in seen_grid]
        if next_page:
            seen_grid.add(next_page[0])
            yield scrapy.Request(next_page[0], self.parse_album, errback=self.album_page_failed,
                                 cb_kwargs={"album": album, "grid_page": grid_page + 1, "seen_grid": seen_grid},
                                 dont_filter=True)
        else:
            yield from self.read_photo_pages(album)

    def read_album_fields(self, response: Response, album: AlbumItem) -> None:
        """Title, date and count from the album's first page, where its list entry showed none."""
        p = self.profile
        for field_name, key in (("title", "album_title"), ("date_text", "album_date"),
                                ("count_text", "album_count")):
            if not getattr(album, field_name):
                value = text(response, getattr(p, key))
                setattr(album, field_name, value)
                if not value and getattr(p, key):
                    self.miss(key, response.url)
        album.date = parse_album_date(album.date_text, list(p.date_languages)) if album.date_text else None
        if album.date_text and album.date is None:
            self.unreadable_dates.append(f"{album.url}: {album.date_text!r}")
            self.logger.warning("Album %s: date %r not understood (languages %s); it is saved as undated",
                                album.url, album.date_text, ", ".join(p.date_languages))
        album.displayed_count = parse_count(album.count_text) if album.count_text else None

    def album_page_failed(self, failure: Failure):
        kwargs = failure.request.cb_kwargs
        album, grid_page = kwargs["album"], kwargs["grid_page"]
        reason = self.failure_reason(failure)
        what = "album page" if grid_page == 0 else f"photo grid page {grid_page + 1}"
        album.problems.append(f"{what} {failure.request.url}: {reason}")
        self.logger.error("Album %s: %s %s: %s", album.url, what, failure.request.url, reason)
        yield from self.read_photo_pages(album)

    # Photo pages ------------------------------------------------------------------

    def read_photo_pages(self, album: AlbumItem):
        if not self.profile.photo_image or not album.photos:
            yield self.finish(album)
            return
        self.pending_photo_pages[album.url] = len(album.photos)
        for entry in album.photos:
            # dont_filter: a photo shown in two albums must be read for both.
            yield scrapy.Request(entry.page_url, self.parse_photo, errback=self.photo_page_failed,
                                 cb_kwargs={"album": album, "entry": entry}, dont_filter=True)

    def parse_photo(self, response: Response, album: AlbumItem, entry: PhotoEntry):
        p = self.profile
        image = links(response, p.photo_image, get_base_url(response))
        if image:
            entry.url = image[0]
        else:
            entry.error = "photo_image matched nothing on the photo page"
            self.miss("photo_image", response.url)
        if p.photo_date:
            entry.date_text = text(response, p.photo_date)
            if entry.date_text:
                entry.date = parse_album_date(entry.date_text, list(p.date_languages))
            else:
                self.miss("photo_date", response.url)
        yield from self.photo_page_done(album)

    def photo_page_failed(self, failure: Failure):
        album, entry = failure.request.cb_kwargs["album"], failure.request.cb_kwargs["entry"]
        entry.error = f"photo page: {self.failure_reason(failure)}"
        self.logger.warning("Album %s: photo page %s: %s", album.url, entry.page_url, entry.error)
        yield from self.photo_page_done(album)

    def photo_page_done(self, album: AlbumItem):
        self.pending_photo_pages[album.url] -= 1
        if self.pending_photo_pages[album.url] == 0:
            del self.pending_photo_pages[album.url]
            yield self.finish(album)

    def finish(self, album: AlbumItem) -> AlbumItem:
        self.open_albums.pop(album.url, None)
        return album

    def miss(self, key: str, where: str) -> None:
        self.misses[key].append(where)
        self.logger.debug("Selector %s matched nothing on %s", key, where)

