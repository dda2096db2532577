"""The end-of-crawl summary: per album displayed / found / saved / failed, then what is wrong.

    date        album                            shown  found  saved  failed
    2021-12-23  Турслёт 2021                        10     10     10       0
    ...
    Not complete (2 of 22 albums):
      2005-12-27  Осенний поход 2005: the site shows 10 photos, 8 found
      2003-02-03  Последний звонок 2003: 1 failed (not an image)
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from photoscrape.items import ALREADY_SAVED, FAILED, SAVED
from photoscrape.reasons import is_cut_short

TITLE_WIDTH = 34
EXAMPLES = 3


@dataclass
class CrawlReport:
    """What the spider saw besides the albums themselves."""

    finish_reason: str = "finished"
    list_errors: list[str] = field(default_factory=list)         # album list pages that failed
    unfinished_albums: list[str] = field(default_factory=list)   # albums the crawl stopped inside
    unread_list_pages: int = 0                                    # album list pages it stopped before reading
    misses: dict[str, list[str]] = field(default_factory=dict)   # selector key -> pages
    omitted: list[str] = field(default_factory=list)             # optional selectors not in the profile
    unreadable_dates: list[str] = field(default_factory=list)
    album_id: str | None = None                                   # the site.album_id regex, if any
    album_id_misses: list[str] = field(default_factory=list)     # album URLs it matched nothing in
    problems: dict[str, list[str]] = field(default_factory=dict)  # album url -> album-level problems

    @property
    def reached_all(self) -> bool:
        return self.finish_reason == "finished" and not self.list_errors and not self.unfinished_albums


def counted(n: int, word: str, plural: str = "") -> str:
    """`1 photo`, `2 photos`: the count with its noun in the right number."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def why_incomplete(record: dict, problems: list[str]) -> str:
    """One line: why this album is not complete ('' when it is)."""
    if record["complete"]:
        return ""
    reasons = list(problems)
    shown, found = record["displayed_count"], record["found_count"]
    if shown is not None and shown != found:
        reasons.append(f"the site shows {counted(shown, 'photo')}, {found} found")
    failed = Counter(p["reason"] or "unknown" for p in record["photos"] if site_failed(p))
    if failed:
        detail = ", ".join(f"{r}" + (f" x{n}" if n > 1 else "") for r, n in failed.most_common())
        reasons.append(f"{sum(failed.values())} failed ({detail})")
    stopped = sum(map(stopped_before_fetched, record["photos"]))
    if stopped:
        reasons.append(f"{counted(stopped, 'photo')} not fetched: the crawl was stopped")
    return "; ".join(reasons) or "incomplete"


def stopped_before_fetched(photo: dict) -> bool:
    return photo["status"] == FAILED and is_cut_short(photo["reason"])


def site_failed(photo: dict) -> bool:
    """A photo the site failed to give (not one cut short because the user stopped the crawl)."""
    return photo["status"] == FAILED and not is_cut_short(photo["reason"])


def shared_photos(records: list[dict]) -> dict[str, int]:
    """checksum -> number of albums, for the photos on disk that are in more than one album."""
    albums: dict[str, set[str]] = {}
    for r in records:
        for p in r["photos"]:
            if p["status"] != FAILED and p["checksum"]:
                albums.setdefault(p["checksum"], set()).add(r["url"])
    return {c: len(urls) for c, urls in albums.items() if len(urls) > 1}


def _label(record: dict) -> str:
    title = record["title"] or record["url"]
    if len(title) > TITLE_WIDTH:
        title = title[: TITLE_WIDTH - 1] + "…"
    return f"{record['date'] or 'undated':<10}  {title:<{TITLE_WIDTH}}"


# What a selector that matched nothing means for the albums concerned.
MISS_EFFECT = {"album_date": " (saved as undated)", "album_count": " (photo count not checked)",
               "album_title": " (named by the album's id)"}
UNREACHABLE = ("connection refused", "host not found", "timed out", "connection lost")


def crawl_failure(records: list[dict], report: CrawlReport) -> str:
    """Why the crawl as a whole did not do its job, '' when it did (`scrapy crawl albums`
    then exits with status 1). Photos that failed are not that: the table names them."""
    if report.finish_reason == "shutdown":
        return "stopped by you (Ctrl-C) before the end"
    if report.finish_reason != "finished":
        return f"the crawl stopped early ({report.finish_reason})"
    if not records:
        return "no album list page could be read" if report.list_errors else "no album found"
    if not report.reached_all:
        return "album list pages could not be read: some albums may be missing"
    if not any(r["found_count"] for r in records):
        return "no photo found in any album"
    if not any(r["saved_count"] for r in records):
        return "no photo could be saved"
    return ""


def render(records: list[dict], report: CrawlReport, manifest: Path, kept_from_before: int = 0) -> str:
    lines = []
    if records:
        lines.append(f"{'date':<10}  {'album':<{TITLE_WIDTH}}  {'shown':>5}  {'found':>5}  {'saved':>5}  {'failed':>6}")
    for r in records:
        shown = "-" if r["displayed_count"] is None else r["displayed_count"]
        failed = sum(map(site_failed, r["photos"]))
        mark = "" if r["complete"] else "  !"
        lines.append(f"{_label(r)}  {shown:>5}  {r['found_count']:>5}  {r['saved_count']:>5}  {failed:>6}{mark}")

    found = sum(r["found_count"] for r in records)
    saved = sum(r["saved_count"] for r in records)
    now = sum(p["status"] == SAVED for r in records for p in r["photos"])
    already = sum(p["status"] == ALREADY_SAVED for r in records for p in r["photos"])
    failed = sum(site_failed(p) for r in records for p in r["photos"])
    stopped = sum(stopped_before_fetched(p) for r in records for p in r["photos"])
    if records:
        lines.append("")
        lines.append(f"{counted(len(records), 'album')}, {counted(found, 'photo')} found: {saved} on disk "
                     f"({now} saved now, {already} already saved), {failed} failed"
                     + (f", {stopped} not fetched (the crawl was stopped)." if stopped else "."))
        shared = len(shared_photos(records))
        if shared:
            lines.append(f"{shared} photo{'s are' if shared > 1 else ' is'} in several albums: each album that shows "
                         f"{'one' if shared > 1 else 'it'} has it in its folder (hard links: stored once on disk).")

    incomplete = [r for r in records if not r["complete"]]
    if incomplete:
        lines.append(f"Not complete ({len(incomplete)} of {counted(len(records), 'album')}):")
        for r in incomplete:
            lines.append(f"  {_label(r).rstrip()}  {r['url']}")
            lines.append(f"      {why_incomplete(r, report.problems.get(r['url'], []))}")
    elif records:
        lines.append("Every album is complete." if report.reached_all
                     else "These albums are complete, but the crawl did not reach every album (see below).")

    if report.list_errors:
        n = len(report.list_errors)
        lines.append(f"Album list pages that could not be read ({n}): some albums may be missing:" if records else
                     f"No album list page could be read{f' ({n})' if n > 1 else ''}, so no album was found:")
        lines.extend(f"  {e}" for e in report.list_errors)
        if not records and any(e.endswith(UNREACHABLE) for e in report.list_errors):
            lines.append("The site did not answer: check that it is up and that site.start_urls is right.")
    denied = [e for e in report.list_errors + [x for v in report.problems.values() for x in v]
              if e.endswith(("HTTP 401", "HTTP 403"))]
    if denied:
        lines.append("HTTP 401/403 usually means the albums need a login: export the browser's cookies "
                     "as cookies.txt and set site.cookies_file (see the README).")
    if report.finish_reason != "finished":
        pass               # stopped: what was not reached is not the profile's fault
    elif not records and not report.list_errors:
        lines.append("No albums found: check site.start_urls and site.album_links.")
    elif records and not found:
        lines.append("No photos found in any album: check site.photo_links.")
    elif found and not saved:
        lines.append("No photo could be saved: every one failed (the reasons are above).")
    if report.finish_reason == "shutdown":
        n = len(report.unfinished_albums)
        examples = (" (" + ", ".join(report.unfinished_albums[:EXAMPLES])
                    + (" ..." if n > EXAMPLES else "") + ")") if n else ""
        # Albums on list pages not read yet are not known, so with unread list pages N is a floor.
        unread = (f", and {counted(report.unread_list_pages, 'album list page')} not read yet"
                  if report.unread_list_pages else "")
        at_least = "at least " if report.unread_list_pages else ""
        lines.append((f"Stopped by you (Ctrl-C): {at_least}{counted(n, 'album')} not crawled yet{examples}{unread}; "
                      if n else f"Stopped by you (Ctrl-C) before the end{unread}; ")
                     + "run it again to finish (photos already saved are not fetched again).")
    elif report.finish_reason != "finished":
        lines.append(f"The crawl stopped early ({report.finish_reason}); run it again to finish.")
    if report.unfinished_albums and report.finish_reason != "shutdown":
        lines.append(f"Albums not finished when the crawl stopped ({len(report.unfinished_albums)}): "
                     + ", ".join(report.unfinished_albums[:EXAMPLES]) + (" ..." if len(report.unfinished_albums) > EXAMPLES else ""))
    if kept_from_before:
        lines.append(f"Kept from the last crawl in the manifest, not reached this time: "
                     f"{counted(kept_from_before, 'album')}.")
    for key, pages in sorted(report.misses.items()):
        examples = ", ".join(pages[:EXAMPLES]) + (" ..." if len(pages) > EXAMPLES else "")
        lines.append(f"Selector site.{key} matched nothing on {counted(len(pages), 'page')}"
                     f"{MISS_EFFECT.get(key, '')}: {examples}")
    if report.omitted and records:
        lines.append(f"Optional selectors not set (not read): {', '.join(f'site.{k}' for k in report.omitted)}")
    if report.album_id_misses:
        n = len(report.album_id_misses)
        lines.append(f"site.album_id '{report.album_id}' matched nothing in {counted(n, 'album URL')} "
                     f"(e.g. {report.album_id_misses[0]}): {'its' if n == 1 else 'their'} file names use "
                     f"the default id (from the end of the URL) instead.")
    if report.unreadable_dates:
        lines.append(f"Dates not understood (albums saved as undated): {'; '.join(report.unreadable_dates[:EXAMPLES])}")
    if records or kept_from_before:
        lines.append(f"Manifest: {manifest}")
    return "\n".join(lines) + "\n"
