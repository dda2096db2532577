"""Downloading an album's photos: Scrapy's ImagesPipeline, through its own hooks.

- `get_media_requests`: one request per photo whose image URL is known, in album order.
- `media_to_download`: a photo already saved (see store.py) is not fetched again.
- `media_downloaded` / `get_images` / `convert_image`: the answer becomes an upright RGB
  JPEG, or a failed photo with its reason (`HTTP 404`, `not an image`, ...).
- `file_path`: the date-based name from naming.py, unique among saved photos.
- `item_completed`: every photo of the album gets its status, path, reason and checksum; a
  photo fetched once for several albums is put in each album's folder (store.place).
"""
from __future__ import annotations

import logging
from io import BytesIO
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.images import ImagesPipeline
from scrapy.pipelines.media import _MediaRequestFiltered

from photoscrape import imaging
from photoscrape.items import ALREADY_SAVED, FAILED, SAVED, AlbumItem, PhotoEntry
from photoscrape.naming import photo_path
from photoscrape.reasons import cut_short, failure_reason, http_status, stopping
from photoscrape.store import STATE_FILE, PhotoStore, SavedPhoto

logger = logging.getLogger(__name__)


class PhotoFailed(_MediaRequestFiltered):
    """A photo that could not be fetched; `str()` is the reason.

    It derives from the exception Scrapy's media pipeline raises for filtered
    requests only so that Scrapy does not log a traceback for it: item_completed
    reports every failed photo on one line instead.
    """


class PhotosPipeline(ImagesPipeline):
    MEDIA_NAME = "photo"

    def __init__(self, store_uri, download_func=None, *, crawler):
        super().__init__(store_uri, crawler=crawler)
        root = Path(store_uri)
        state = crawler.settings.get("PHOTOSCRAPE_STATE_FILE") or root.parent / STATE_FILE
        self.photos = PhotoStore(root, Path(state))
        self.max_pixels = crawler.settings.getint("PHOTOSCRAPE_MAX_PIXELS", imaging.DEFAULT_MAX_PIXELS)
        self.photo_timeout = crawler.settings.getfloat("PHOTOSCRAPE_PHOTO_TIMEOUT") or None

    # Which photos to fetch ---------------------------------------------------------

    def get_media_requests(self, item: Any, info) -> list[Request]:
        album: AlbumItem = ItemAdapter(item).item
        requests = []
        for position, entry in enumerate(album.photos, start=1):
            if entry.url and not entry.error:
                meta = {"photo_name": self.photo_name(album, position)}
                if self.photo_timeout:
                    meta["download_timeout"] = self.photo_timeout
                requests.append(Request(entry.url, callback=NO_CALLBACK, meta=meta))
        return requests

    @staticmethod
    def photo_name(album: AlbumItem, position: int) -> str:
        return photo_path(album.date, album.title, album.album_id, position)

    def media_to_download(self, request: Request, info, *, item: Any = None):
        saved = self.photos.already_saved(request.url)
        if saved is None:
            return None
        self.inc_stats(ALREADY_SAVED)
        return {"url": request.url, "path": saved.path, "checksum": saved.checksum, "status": ALREADY_SAVED}

    def file_path(self, request: Request, response: Response | None = None, info=None, *,
                  item: Any = None) -> str:
        """The photo's date-based name (naming.py); the store keeps another photo's file from
        being overwritten by giving the newcomer a variant of it."""
        return request.meta["photo_name"]

    # Fetched: check, convert, store ------------------------------------------------

    async def media_downloaded(self, response: Response, request: Request, info, *, item: Any = None):
        if response.status != 200:
            return self._failed(request, http_status(response.status))
        try:
            saved, written = await self.image_downloaded(response, request, info, item=item)
        except imaging.BadPhoto as exc:
            return self._failed(request, str(exc))
        status = SAVED if written else ALREADY_SAVED
        self.inc_stats(status)
        return {"url": request.url, "path": saved.path, "checksum": saved.checksum, "status": status}

    async def image_downloaded(self, response: Response, request: Request, info, *, item: Any = None):
        """Store the photo; (record, whether a file was written). Scrapy's returns the checksum."""
        for path, _image, buf in self.get_images(response, request, info, item=item):
            return self.photos.save(request.url, path, buf.getvalue())
        raise AssertionError("get_images yields the photo")

    def get_images(self, response: Response, request: Request, info, *, item: Any = None):
        """The photo to store: the downloaded bytes when they already are an upright RGB JPEG,
        else the converted image. (IMAGES_THUMBS is not used: the full photo is the product.)"""
        source = imaging.open_photo(response.body, self.max_pixels)
        if imaging.needs_conversion(source):
            image, buf = self.convert_image(source, response_body=BytesIO(response.body))
        else:
            image, buf = source, BytesIO(response.body)
        yield self.file_path(request, response=response, info=info, item=item), image, buf

    def convert_image(self, image, size=None, *, response_body: BytesIO):
        """Upright (EXIF orientation), RGB with transparency on white, JPEG-encoded."""
        upright = imaging.upright_rgb(image)
        if size:
            upright = upright.copy()
            upright.thumbnail(size)
        return upright, BytesIO(imaging.encode_jpeg(upright, image))

    def media_failed(self, failure, request: Request, info):
        reason = failure_reason(failure.value)
        raise PhotoFailed(cut_short(reason) if stopping(self.crawler) else reason)

    def _failed(self, request: Request, reason: str) -> dict:
        self.inc_stats(FAILED)
        return {"url": request.url, "path": None, "checksum": None, "status": FAILED, "reason": reason}

    def inc_stats(self, status: str) -> None:
        self.crawler.stats.inc_value(f"photoscrape/{status}")

    # Back on the album ---------------------------------------------------------------

    def item_completed(self, results, item: Any, info) -> Any:
        album: AlbumItem = ItemAdapter(item).item
        outcomes = iter(results)
        for position, entry in enumerate(album.photos, start=1):
            if not entry.url or entry.error:
                self._record_failure(album, position, entry, entry.error or "no image URL")
                continue
            ok, value = next(outcomes)
            if not ok:
                self._record_failure(album, position, entry, str(value.value) or failure_reason(value.value))
            elif value["status"] == FAILED:
                self._record_failure(album, position, entry, value["reason"])
            else:
                stored = SavedPhoto(url=entry.url, path=value["path"], checksum=value["checksum"])
                placed, made = self.photos.place(entry.url, stored, self.photo_name(album, position))
                # Scrapy fetches a URL once per crawl: another album that shows the same photo
                # gets the first album's result, and here a file of its own in its own folder.
                status = SAVED if made else value["status"] if placed is stored else ALREADY_SAVED
                entry.status, entry.path, entry.checksum = status, placed.path, placed.checksum
        return item

    def _record_failure(self, album: AlbumItem, position: int, entry: PhotoEntry, reason: str) -> None:
        entry.status, entry.reason, entry.path, entry.checksum = FAILED, reason, None, None
        logger.warning("Album %s: photo %d (%s): %s", album.url, position, entry.url or entry.page_url, reason)
