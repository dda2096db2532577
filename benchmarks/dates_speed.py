"""How long reading one date takes: photoscrape.dates next to dateparser alone, same texts, one run.

    .venv/bin/python benchmarks/dates_speed.py [--repeat N]

For each kind of text: milliseconds per call of parse_album_date with its
cache cleared (what the first album with that text costs), of dateparser.parse
alone (the library call our rules wrap), their ratio, and of a cached call. Then
a crawl-sized workload: 2,000 photo dates with 60 distinct texts.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dateparser  # noqa: E402

from photoscrape import dates  # noqa: E402

LANGUAGES = ["ru", "en"]
TEXTS = {
    "short Russian": "21 фев 2014",
    "full, genitive": "четверг, 6 января 2022 г.",
    "English": "February 21, 2014",
    "ISO": "2014-02-21",
    "numeric": "21.02.2014",
    "stray words": "Загружено 21 фев 2014",
    "range": "от Сб 1 до четверг, 6 января 2022 г.",
    "no date": "48 фотографий",
}
PLAIN = {"PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False, "TIMEZONE": "UTC",
         "RELATIVE_BASE": dt.datetime(2000, 1, 1)}


def per_call_ms(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()

    start = time.perf_counter()
    dates.parse_album_date("1 янв 2000", LANGUAGES)             # loads the locale data once
    dateparser.parse("1 янв 2000", languages=LANGUAGES, settings=PLAIN)
    print(f"first call (loads dateparser's locales): {(time.perf_counter() - start) * 1000:.0f} ms\n")

    def cold(text):
        dates._parse_cached.cache_clear()
        return dates.parse_album_date(text, LANGUAGES)

    print(f"{'text':<15} {'ours ms':>8} {'dateparser ms':>14} {'ratio':>6} {'cached ms':>10}  result")
    for kind, text in TEXTS.items():
        ours = per_call_ms(lambda: cold(text), args.repeat)
        plain = per_call_ms(lambda: dateparser.parse(text, languages=LANGUAGES, settings=PLAIN), args.repeat)
        cached = per_call_ms(lambda: dates.parse_album_date(text, LANGUAGES), args.repeat * 100)
        print(f"{kind:<15} {ours:8.2f} {plain:14.2f} {ours / plain:6.1f} {cached:10.4f}  {cold(text)}")

    distinct = [f"{day} {month} {year}" for day, month, year in
                zip(range(1, 61), ["янв", "фев", "мар", "апр", "мая", "июн"] * 10, range(2000, 2060))]
    workload = [distinct[i % len(distinct)] for i in range(2000)]
    dates._parse_cached.cache_clear()
    ours = per_call_ms(lambda: [dates.parse_album_date(t, LANGUAGES) for t in workload], 1)
    plain = per_call_ms(lambda: [dateparser.parse(t, languages=LANGUAGES, settings=PLAIN) for t in workload], 1)
    print(f"\n2,000 photo dates, 60 distinct: ours {ours / 1000:.2f} s, dateparser alone {plain / 1000:.2f} s "
          f"(ratio {ours / plain:.2f})")


if __name__ == "__main__":
    main()
