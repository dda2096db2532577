"""Album dates and photo counts as sites show them (photoscrape.dates)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from photoscrape import dates
from photoscrape.dates import check_languages, parse_album_date, parse_count

REPO = Path(__file__).resolve().parent.parent
NBSP, NNBSP = "\u00a0", "\u202f"

RU_EXAMPLES = [
    # Russian: abbreviated, full and genitive month names, "г."/"года", weekdays
    ("21 фев 2014", date(2014, 2, 21)),
    ("1 января 2022 г.", date(2022, 1, 1)),
    ("21 февраля 2014 года", date(2014, 2, 21)),
    ("3 мая 2015", date(2015, 5, 3)),
    ("3 май 2015", date(2015, 5, 3)),
    ("21 февр. 2014", date(2014, 2, 21)),
    ("6 ноя 2013", date(2013, 11, 6)),
    ("21 ФЕВ 2014", date(2014, 2, 21)),
    ("четверг, 6 января 2022 г.", date(2022, 1, 6)),
    # numeric: day first in Russian, year first always
    ("21.02.2014", date(2014, 2, 21)),
    ("21.02.14", date(2014, 2, 21)),
    ("21-02-2014", date(2014, 2, 21)),
    ("2014-02-21", date(2014, 2, 21)),
    ("20140221", date(2014, 2, 21)),
    ("02/03/2014", date(2014, 3, 2)),
    # ranges: the first day, its missing month/year taken from the last day
    ("от Сб 1 до четверг, 6 января 2022 г.", date(2022, 1, 1)),
    ("02 июля 2021 - 26 июля 2021", date(2021, 7, 2)),
    ("1 - 6 января 2022", date(2022, 1, 1)),
    ("1–6 января 2022", date(2022, 1, 1)),
    ("1-6 января 2022", date(2022, 1, 1)),
    ("с 1 по 6 января 2022", date(2022, 1, 1)),
    ("28 декабря — 3 января 2022", date(2021, 12, 28)),
    ("02.07.2021-26.07.2021", date(2021, 7, 2)),
    ("2021-07-02 - 2021-07-26", date(2021, 7, 2)),
    ("2021-07-02/2021-07-26", date(2021, 7, 2)),
    ("декабрь 2021 – январь 2022", date(2021, 12, 1)),
    ("29 февраля - 2 марта 2016", date(2016, 2, 29)),
    # no-break and narrow no-break spaces, stray text, clock times
    (f"21{NBSP}фев{NBSP}2014", date(2014, 2, 21)),
    (f"21{NNBSP}фев{NNBSP}2014", date(2014, 2, 21)),
    (f"1{NBSP}января{NBSP}2022{NBSP}г.", date(2022, 1, 1)),
    ("  21 фев\t2014\n", date(2014, 2, 21)),
    ("21\u200b фев 2014", date(2014, 2, 21)),
    ("Загружено 21 фев 2014", date(2014, 2, 21)),
    ("Альбом: на даче, 3 марта 2010 года", date(2010, 3, 3)),
    ("Загружено: от Сб 1 до четверг, 6 января 2022 г.", date(2022, 1, 1)),
    ("Класс 11 — 21 фев 2014", date(2014, 2, 21)),
    ("21 фев 2014 — Выпускной", date(2014, 2, 21)),
    ("21 фев 2014 в 23:59", date(2014, 2, 21)),
    ("21 фев 2014 MSK", date(2014, 2, 21)),        # a zone never moves the day (was the 20th: UTC)
    ("21 фев 2014 в 23:30 MSK", date(2014, 2, 21)),
    # a month without a day: its first day
    ("сентябрь 2014", date(2014, 9, 1)),
]

# thumbsup --locale ru (moment.js "DD MMM YYYY"): every month's short form, as a range
MOMENT_RU_MONTHS = ["янв.", "февр.", "мар.", "апр.", "мая", "июня", "июля", "авг.", "сент.", "окт.", "нояб.", "дек."]

EN_EXAMPLES = [
    ("February 21, 2014", date(2014, 2, 21)),
    ("21 Feb 2014", date(2014, 2, 21)),
    ("Sunday, 2 March 2014", date(2014, 3, 2)),
    ("Feb 2014", date(2014, 2, 1)),
    ("02/03/2014", date(2014, 2, 3)),  # month first in English
    ("13/02/2014", date(2014, 2, 13)),  # ...unless only the other order exists
    ("July 2 - July 26, 2021", date(2021, 7, 2)),
    ("from Saturday 1 to Thursday, January 6, 2022", date(2022, 1, 1)),
    ("Uploaded on 21 Feb 2014 by Ivan", date(2014, 2, 21)),
    # the date as written, never converted to another zone
    ("21 Feb 2014 10:30 pm PST", date(2014, 2, 21)),
    ("21 Feb 2014 23:30 +0300", date(2014, 2, 21)),
    ("2014-02-21T23:30:00-05:00", date(2014, 2, 21)),
    ("2014-02-21 23:30:00 -0500", date(2014, 2, 21)),
    ("2014-02-21T01:30:00+14:00", date(2014, 2, 21)),
    ("21 Feb 2014 CEST", date(2014, 2, 21)),
    ("21 Feb 2014 GMT+14", date(2014, 2, 21)),
    ("February 21, 2014 11:30 pm -1000", date(2014, 2, 21)),
]

NO_DATE = [
    "", "   ", NBSP, "garbage", "48 фотографий", "Выпускной 2014", "2014",
    "21 фев",  # no year: the year a site leaves out depends on the day of the visit
    "вчера", "сегодня в 12:30", "3 года назад", "на прошлой неделе",  # relative to the visit
    "yesterday", "2 days ago", "last month",
    "29.02.2015", "31.04.2014", "99.99.2014", "1393000000",  # impossible dates, a Unix time
    "29 февраля 2015",  # not "февраля 2015" without its impossible day
    "—", "-", " - ", "от до", "None", "n/a",  # placeholders
]


@pytest.mark.parametrize("text, expected", RU_EXAMPLES)
def test_russian_dates(text, expected):
    assert parse_album_date(text, ["ru"]) == expected


@pytest.mark.parametrize("month", range(1, 13))
def test_thumbsup_russian_short_months(month):
    short = MOMENT_RU_MONTHS[month - 1]
    assert parse_album_date(f"05 {short} 2011 - 07 {short} 2011", ["ru"]) == date(2011, month, 5)


@pytest.mark.parametrize("text, expected", EN_EXAMPLES)
def test_english_dates(text, expected):
    assert parse_album_date(text, ["en"]) == expected


@pytest.mark.parametrize("text", NO_DATE)
def test_no_date(text):
    assert parse_album_date(text, ["ru", "en"]) is None


def test_none_is_no_date():
    assert parse_album_date(None, ["ru"]) is None


def test_only_the_configured_languages_are_read():
    assert parse_album_date("21 Feb 2014", ["ru"]) is None
    assert parse_album_date("21 фев 2014", ["en"]) is None
    assert parse_album_date("21 Feb 2014", ["ru", "en"]) == date(2014, 2, 21)
    assert parse_album_date("21 фев 2014", ["ru", "en"]) == date(2014, 2, 21)


def test_numeric_order_follows_the_first_language():
    assert parse_album_date("02/03/2014", ["ru", "en"]) == date(2014, 3, 2)
    assert parse_album_date("02/03/2014", ["en", "ru"]) == date(2014, 2, 3)


@pytest.mark.parametrize("text, expected", [
    ("05.03.2019", date(2019, 3, 5)),
    ("5.3.19", date(2019, 3, 5)),
    ("Uploaded 05.03.2019", date(2019, 3, 5)),
    ("05.03.2019 - 07.03.2019", date(2019, 3, 5)),
    ("2019.03.05", date(2019, 3, 5)),          # year first stays year first
])
@pytest.mark.parametrize("languages", [["en"], ["ru"], ["en", "ru"]])
def test_dotted_dates_are_day_first_in_every_language(text, expected, languages):
    # Only the US writes the month first, and with slashes: "05.03.2019" is 5 March everywhere.
    assert parse_album_date(text, languages) == expected


def test_no_languages_means_detection():
    assert parse_album_date("21 фев 2014", []) == date(2014, 2, 21)
    assert parse_album_date("February 21, 2014", []) == date(2014, 2, 21)


def test_feb_29_only_in_leap_years():
    assert parse_album_date("29 февраля 2016", ["ru"]) == date(2016, 2, 29)
    assert parse_album_date("29.02.2000", ["ru"]) == date(2000, 2, 29)
    assert parse_album_date("29 февраля 2015", ["ru"]) is None
    assert parse_album_date("29.02.1900", ["ru"]) is None


def test_impossible_first_day_of_a_range_falls_back_to_the_day_that_exists():
    # dateparser alone would go back to 2012-02-29
    assert parse_album_date("29 февраля - 2 марта 2015", ["ru"]) == date(2015, 3, 2)


def test_long_text_with_many_dashes_is_not_searched_once_per_dash(monkeypatch):
    # every dash could start a range; only the first few are tried (all 400 took 8 s)
    searches = []
    real_search = dates.search_dates
    monkeypatch.setattr(dates, "search_dates", lambda *a, **kw: searches.append(a) or real_search(*a, **kw))
    assert parse_album_date("Поход - отдых - " * 200 + "21 фев 2014", ["ru"]) == date(2014, 2, 21)
    assert 1 <= len(searches) <= dates._MAX_RANGE_TRIES + 1


def test_unknown_language_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown date language 'xx'"):
        parse_album_date("21 фев 2014", ["ru", "xx"])
    with pytest.raises(ValueError, match="'xx'"):
        parse_album_date("21 фев 2014", ["xx"])  # every call, not only the first (no caching of errors)
    with pytest.raises(ValueError, match="'zz'"):
        check_languages(["zz"])
    assert check_languages(["ru", "en"]) == ("ru", "en")


def test_dates_do_not_depend_on_the_machine_time_zone():
    """UTC+14 and UTC-10 (-9 in summer): a date read as a time in another zone would move a day."""
    cases = ([(t, ["ru"], str(d)) for t, d in RU_EXAMPLES] + [(t, ["en"], str(d)) for t, d in EN_EXAMPLES]
             + [(t, ["ru", "en"], "None") for t in NO_DATE])
    code = ("import json, sys, time; from photoscrape.dates import parse_album_date as p; "
            "print(json.dumps([time.strftime('%z', time.localtime(1393000000))]"
            " + [str(p(t, langs)) for t, langs, _ in json.load(sys.stdin)]))")
    expected = [want for _, _, want in cases]
    for zone, offset in (("Pacific/Kiritimati", "+1400"), ("America/Adak", "-1000")):
        env = {**os.environ, "TZ": zone}
        out = subprocess.run([sys.executable, "-c", code], input=json.dumps(cases), env=env, cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        got_offset, *got = json.loads(out)
        assert got_offset == offset  # the zone really applied
        assert got == expected, zone


COUNTS = [
    ("48 фотографий", 48),
    ("изображений: 6", 6),
    ("25 photos", 25),
    ("1 photo", 1),
    ("0 фотографий", 0),
    ("1 234 фото", 1234),
    (f"1{NBSP}234 фото", 1234),
    (f"1{NNBSP}234 фото", 1234),
    ("1,234 photos", 1234),
    ("12 345 678 photos", 12345678),
    ("  Фотографий:\n 48 ", 48),
    ("Фото 12 из 48", 12),  # the first number, whatever it means
    ("48 фото, 1 234 просмотра", 48),
    ("1 23 фото", 1),  # "23" is no thousands group
    ("1,5 тыс. фото", 1),
    ("２５ photos", 25),  # full-width digits
]


@pytest.mark.parametrize("text, expected", COUNTS)
def test_counts(text, expected):
    assert parse_count(text) == expected


@pytest.mark.parametrize("text", [None, "", "   ", "нет фотографий", "no photos", "фото"])
def test_no_count(text):
    assert parse_count(text) is None
