"""`<data>/albums.jsonl`: one JSON object per album, the proof that nothing is missing.

Fields per album (the contract): url, title, date (ISO or null), date_text,
displayed_count, found_count, saved_count, complete, photos; per photo: url,
path (relative to the manifest's folder), status, reason, checksum, date.

The file is rewritten whole, under a temporary name then renamed, after each
album and at the end, so a reader never sees half of it. Albums are in the
site's order. When a crawl does not reach every album (stopped, an album list
page failed, nothing found) the albums of the previous manifest it did not
reach are kept as they were; a crawl that ran to the end lists exactly the
albums the site shows now.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from itemadapter import ItemAdapter
from scrapy import signals

from photoscrape.items import ALREADY_SAVED, SAVED, AlbumItem
from photoscrape.summary import CrawlReport, crawl_failure, render

logger = logging.getLogger(__name__)

WRITE_EVERY = 2.0        # seconds: rewriting a large manifest after every album would be quadratic
SUMMARY_FILE = "crawl-summary.txt"
# Set at the end of the crawl: why it did not do its job, '' when it did. The crawl command
# exits with status 1 unless it is '' (so also when the crawl never got this far).
FAILURE_STAT = "photoscrape/crawl_failed"


def album_record(album: AlbumItem, photos_prefix: str) -> dict:
    """The manifest object for one crawled album (its photos already through the pipeline)."""
    photos = [{
        "url": e.url or e.page_url,
        "path": f"{photos_prefix}{e.path}" if e.path else None,
        "status": e.status,
        "reason": e.reason or None,
        "checksum": e.checksum,
        "date": e.date.isoformat() if e.date else None,
    } for e in album.photos]
    found = len(photos)
    saved = sum(p["status"] in (SAVED, ALREADY_SAVED) for p in photos)
    count_ok = album.displayed_count is None or album.displayed_count == found
    return {
        "url": album.url,
        "title": album.title,
        "date": album.date.isoformat() if album.date else None,
        "date_text": album.date_text,
        "displayed_count": album.displayed_count,
        "found_count": found,
        "saved_count": saved,
        "complete": saved == found and count_ok and not album.problems,
        "photos": photos,
    }


def read_manifest(path: Path) -> list[dict]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            logger.warning("%s: skipping a line that is not JSON", path)
    return records


def write_manifest(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


class ManifestPipeline:
    """Collects the albums the photos pipeline finished; writes the manifest and the summary."""

    def __init__(self, manifest: Path, photos_dir: Path, crawler):
        self.manifest = manifest
        self.photos_prefix = Path(os.path.relpath(photos_dir, manifest.parent)).as_posix() + "/"
        self.crawler = crawler
        self.previous = {r.get("url"): r for r in read_manifest(manifest)}
        self.albums: dict[str, tuple[tuple[int, int], dict, list[str]]] = {}
        self.last_write = 0.0
        self.summary = ""

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        pipe = cls(Path(s["PHOTOSCRAPE_MANIFEST"]), Path(s["IMAGES_STORE"]), crawler)
        crawler.signals.connect(pipe.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipe.engine_stopped, signal=signals.engine_stopped)
        return pipe

    def process_item(self, item):
        album: AlbumItem = ItemAdapter(item).item
        self.albums[album.url] = (album.order, album_record(album, self.photos_prefix), album.problems)
        if time.monotonic() - self.last_write > WRITE_EVERY:
            self.write(reached_all=False)
        return item

    def records(self, reached_all: bool) -> list[dict]:
        ours = [rec for _, rec, _ in sorted(self.albums.values(), key=lambda a: a[0])]
        if reached_all:
            return ours
        kept = [rec for url, rec in self.previous.items() if url not in self.albums]
        return ours + kept

    def write(self, reached_all: bool) -> None:
        write_manifest(self.manifest, self.records(reached_all))
        self.last_write = time.monotonic()

    def spider_closed(self, spider, reason: str) -> None:
        report = CrawlReport(
            finish_reason=reason,
            list_errors=list(spider.list_errors),
            unfinished_albums=sorted(spider.open_albums),
            unread_list_pages=spider.unread_list_pages,
            misses={k: list(v) for k, v in spider.misses.items()},
            omitted=spider.omitted_selectors,
            unreadable_dates=list(spider.unreadable_dates),
            album_id=spider.profile.album_id,
            album_id_misses=list(spider.album_id_misses),
            problems={url: problems for url, (_, _, problems) in self.albums.items() if problems},
        )
        reached_all = report.reached_all and bool(self.albums)
        if self.albums:          # a crawl that read no album leaves the last manifest as it was
            self.write(reached_all)
        records = self.records(reached_all)
        ours, kept = records[: len(self.albums)], len(records) - len(self.albums)
        self.summary = render(ours, report, self.manifest, kept)
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        (self.manifest.parent / SUMMARY_FILE).write_text(self.summary, encoding="utf-8")
        self.crawler.stats.set_value(FAILURE_STAT, crawl_failure(ours, report))

    def engine_stopped(self) -> None:
        """The summary goes to the terminal last, after Scrapy's own closing lines."""
        print(self.summary, end="", flush=True)
