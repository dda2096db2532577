"""Dates and photo counts as photo sites show them.

    parse_album_date("21 фев 2014", ["ru"])                          -> date(2014, 2, 21)
    parse_album_date("от Сб 1 до четверг, 6 января 2022 г.", ["ru"]) -> date(2022, 1, 1)
    parse_count("1 234 фотографии")                                  -> 1234

Month and weekday names, their abbreviations and grammatical cases come from
`dateparser`'s locale data; this module only cleans the text, splits date
ranges and decides what counts as a date for an archive:

- A date must show its month and year. A missing day means the first of the
  month ("сентябрь 2014" -> 2014-09-01); a missing year means no date
  ("21 фев" -> None): the year a site leaves out is the year the page was
  viewed, which changes with the day of the crawl.
- Relative dates ("вчера", "yesterday", "3 года назад") give None for the same
  reason.
- A range gives its first day; the first day's missing month or year is taken
  from the second ("1 - 6 января 2022" -> 2022-01-01, "28 декабря - 3 января
  2022" -> 2021-12-28).
- A time zone in the text is dropped before parsing: the date is the calendar
  day as written ("21 фев 2014 23:30 MSK" -> 2014-02-21), never converted,
  whatever the machine's time zone.
- Dotted numeric dates are day first whatever the language ("05.03.2019" is
  5 March 2019, also with `en`): no country writes month.day.year; the US
  writes month first with slashes. Other numeric dates follow the first
  language's usual order (ru: day/month/year, en: month/day/year); year-first
  forms ("2014-02-21", "2014.02.21") are always year-first.
"""
from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import unicodedata

import dateparser
from dateparser.date import DateDataParser
from dateparser.languages.loader import default_loader
from dateparser.search import search_dates
from dateparser.timezone_parser import pop_tz_offset_from_string

__all__ = ["parse_album_date", "parse_count", "check_languages"]

# Only the parsers that read a date written out in full: "timestamp" would read
# any 10-digit id as a Unix time, "relative-time" reads "вчера" against today.
_PARSERS = ["custom-formats", "absolute-time"]

# The base dateparser would fill missing parts from. No accepted date uses it
# (month and year are required, the day defaults to the 1st); fixing it keeps
# results independent of today's date anyway.
_FIXED_BASE = dt.datetime(2000, 1, 1)

# Characters that only change how text looks: zero-width space/joiners, soft
# hyphen, word joiner, byte-order mark. NFKC turns no-break (U+00A0), narrow
# no-break (U+202F), thin and figure spaces into plain spaces.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u00ad\u2060\ufeff"))

# Where a date range is split: dashes (a hyphen-minus only with a space beside
# it, between two day numbers "1-6", or between two whole numeric dates
# "02.07.2021-26.07.2021"), ISO 8601's "/" and the words "до", "по", "to"...
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_RANGE_SEPARATOR = re.compile(
    rf"""\s*[{_DASHES}]\s*
      | \s+-\s* | \s*-\s+
      | (?:(?<=(?<![\d./-])\d)|(?<=(?<![\d./-])\d\d))-(?=\d{{1,2}}(?![\d./-]))
      | (?<=\d{{4}})-(?=\d{{1,2}}[./]\d)
      | (?<=\d)-(?=\d{{4}}[-./]\d)
      | (?<=\d{{4}}-\d\d-\d\d)/(?=\d{{4}})
      | \s+(?:до|по|to|until|till|through|thru)\s+""",
    re.IGNORECASE | re.VERBOSE,
)
_MAX_RANGE_TRIES = 4
# Words that open a range ("от Сб 1 до ...", "с 1 по ...", "from 1 to ...").
_RANGE_START = re.compile(r"(?:^|\s)(?:от|с|со|from|between)\s+", re.IGNORECASE)

# A day.month.year date ("05.03.2019", "5.3.19"): day first in every language that writes it.
_DOTTED = re.compile(r"(?<![\d.])\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})(?![\d.])")

# A count: digits, optionally grouped by thousands with a space (no-break and
# narrow no-break spaces are spaces after normalisation) or a comma.
_COUNT = re.compile(r"\d{1,3}(?:[ ,]\d{3})+(?!\d)|\d+")


def parse_album_date(text: str | None, languages: list[str]) -> dt.date | None:
    """The calendar date shown in `text`, or None when it shows none.

    `languages` are dateparser language codes (e.g. ["ru"], ["ru", "en"]); an
    empty list lets dateparser detect the language (slower, less predictable).
    The first date in the text wins; for a range, its first day. Raises
    ValueError for an unknown language code. Results are cached per text.
    """
    if not text:
        return None
    return _parse_cached(text, tuple(languages))


def parse_count(text: str | None) -> int | None:
    """The first whole number in `text` ("48 фотографий" -> 48, "1 234 фото" -> 1234), or None."""
    if not text:
        return None
    match = _COUNT.search(_clean(text))
    return int(re.sub(r"[ ,]", "", match.group())) if match else None


def check_languages(languages: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`languages` as a tuple, or ValueError naming the codes dateparser does not know."""
    languages = tuple(languages)
    for code in languages:
        try:
            default_loader.get_locale(code)
        except ValueError:
            raise ValueError(f"unknown date language {code!r}: use dateparser's codes, e.g. ru, en, uk, de") from None
    return languages


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return " ".join(text.split())


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str, languages: tuple[str, ...]) -> dt.date | None:
    check_languages(languages)  # first: an unknown language fails on every text
    text = _clean(text)
    order = "DMY" if _DOTTED.search(text) else _date_order(languages)
    parser = _parser(languages, order)
    iso = _iso_date(text)
    if iso:
        return iso
    # A zone would make dateparser convert the time to UTC: "21 фев 2014 MSK" would be the 20th.
    text = " ".join(pop_tz_offset_from_string(text, as_offset=False)[0].split())
    # The first few separators only: a range is a short thing, and each try parses the rest.
    for separator in itertools.islice(_RANGE_SEPARATOR.finditer(text), _MAX_RANGE_TRIES):
        first = _range_start(text[:separator.start()], text[separator.end():], languages, order, parser)
        if first:
            return first
    return _single_date(text, languages, order, parser)


def _iso_date(text: str) -> dt.date | None:
    """Fast path for machine-written dates ("2014-02-21", "2014-02-21T23:30:00-05:00"), as written."""
    if not text[:1].isdigit() or " " in text:
        return None
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _single_date(text: str, languages: tuple[str, ...], order: str | None,
                 parser: DateDataParser) -> dt.date | None:
    """A whole date (month and year shown) that is all of `text`, or else the first one inside it."""
    if not text:
        return None
    found = parser.get_date_data(text).date_obj
    if found is None:
        settings = _settings(order)
        hits = search_dates(text, languages=list(languages) or None, settings=settings) or []
        found = next((when for words, when in hits if not _after_a_number(text, words)), None)
    return found.date() if found else None


def _after_a_number(text: str, words: str) -> bool:
    """Whether `words` follow a number in `text`: "29 февраля 2015" has no day 29, so no date,
    even though dateparser's search finds "февраля 2015" in it."""
    return re.search(r"\d\s*$", text[:text.find(words)]) is not None


def _range_start(left: str, right: str, languages: tuple[str, ...], order: str | None,
                 parser: DateDataParser) -> dt.date | None:
    """The first day of the range `left` - `right`, or None when this is not a range."""
    starts = list(_RANGE_START.finditer(left))
    if starts:
        left = left[starts[-1].end():]
    left = left.strip(" ,.:;")
    if not left or not right:
        return None
    end = _single_date(right, languages, order, parser)
    if end is None:
        return None
    start = parser.get_date_data(left).date_obj
    if start is not None:
        return min(start.date(), end)
    # The first day shows only part of a date ("Сб 1", "28 декабря", "июль"):
    # complete it from the last day, going back (28 декабря - 3 января 2022 -> 2021-12-28).
    if len(re.findall(r"\d+", left)) == 1:
        order = "DMY"
    for required in (["day"], ["month"]):
        settings = {**_settings(order), "REQUIRE_PARTS": required, "PREFER_DATES_FROM": "past",
                    "RELATIVE_BASE": dt.datetime.combine(end, dt.time())}
        start = dateparser.parse(left, languages=list(languages) or None, settings=settings)
        # A range spans days or months; dateparser would find "29 февраля" of 2012 before 2 марта 2015.
        if start is not None and (end - start.date()).days <= 366:
            return start.date()
    return None


def _date_order(languages: tuple[str, ...]) -> str | None:
    return default_loader.get_locale(languages[0]).info.get("date_order") if languages else None


def _settings(order: str | None) -> dict:
    settings = {
        "PARSERS": _PARSERS,
        "REQUIRE_PARTS": ["month", "year"],
        "PREFER_DAY_OF_MONTH": "first",
        "RELATIVE_BASE": _FIXED_BASE,
        "TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    if order:
        settings["DATE_ORDER"] = order
    return settings


@functools.lru_cache(maxsize=64)
def _parser(languages: tuple[str, ...], order: str | None) -> DateDataParser:
    """One parser per language list and order: building one loads the locale data (tens of ms)."""
    return DateDataParser(languages=list(languages) or None, settings=_settings(order))
