"""Photo file names: by album date, unique, stable, safe for any file system."""
from datetime import date

import pytest

from photoscrape.naming import (
    album_folder,
    album_id,
    disambiguated,
    photo_filename,
    photo_path,
    safe_name,
)


def test_photo_path_is_date_title_id_and_position():
    assert (photo_path(date(2014, 2, 21), "Осенний поход 2014", "1000", 7)
            == "2014-02-21 Осенний поход 2014/2014-02-21_1000_007.jpg")


def test_undated_album_is_visibly_undated():
    assert photo_path(None, "Поездка на море", "1014", 3) == "undated Поездка на море/undated_1014_003.jpg"


def test_three_photos_of_one_date_get_three_names():
    names = {photo_filename(date(2014, 2, 21), "1000", n) for n in (1, 2, 3)}
    assert len(names) == 3


def test_positions_beyond_999_keep_the_name_of_smaller_ones_stable():
    assert photo_filename(date(2020, 1, 1), "7", 12) == "2020-01-01_7_012.jpg"
    assert photo_filename(date(2020, 1, 1), "7", 1234) == "2020-01-01_7_1234.jpg"


def test_naming_does_not_depend_on_the_time_zone(monkeypatch):
    import time
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    try:
        assert photo_filename(date(2014, 2, 21), "1", 1).startswith("2014-02-21_")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize("title, expected", [
    ('Выпускной: "лучший" день?', "Выпускной_ _лучший_ день_"),
    ("a/b\\c|d*e<f>g", "a_b_c_d_e_f_g"),
    ("  lots   of\tspace\n ", "lots of space"),
    ("...hidden", "hidden"),
    ("trailing dot. ", "trailing dot"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("tab\x00and\x07control", "tab_and_control"),
])
def test_safe_name_removes_what_file_systems_refuse(title, expected):
    assert safe_name(title) == expected


def test_safe_name_limits_bytes_not_characters_and_never_splits_a_letter():
    name = safe_name("Ж" * 300, max_bytes=120)
    assert len(name.encode("utf-8")) <= 120
    assert name == "Ж" * 60


def test_safe_name_normalises_unicode_so_names_are_stable():
    # и + combining breve, as some sites send й: the name is the same as for the one-letter й.
    assert safe_name("Сергеи\u0306") == "Серге\u0439"


def test_album_without_title_uses_its_id():
    assert album_folder(date(2001, 1, 1), " ?? ", "555") == "2001-01-01 __"
    assert album_folder(date(2001, 1, 1), "", "555") == "2001-01-01 555"


@pytest.mark.parametrize("url, expected", [
    ("http://site/album/1000/", "1000"),
    ("http://site/album/1000/index.html", "1000"),
    ("http://site/albums.php?act=show&id=123&page=2", "123"),
    ("http://site/galleries/Summer_trip 2014.html", "Summer-trip-2014"),
])
def test_album_id_from_url(url, expected):
    assert album_id(url) == expected


def test_album_id_with_a_profile_pattern():
    assert album_id("http://vk.example/album-12345_678", r"album-?(\d+_\d+)") == "12345-678"


def test_album_id_falls_back_to_a_stable_hash():
    first = album_id("http://site/")
    assert first == album_id("http://site/") and len(first) == 10


def test_disambiguated_name_differs_per_url_and_keeps_the_extension():
    a = disambiguated("2014-01-01 X/2014-01-01_1_001.jpg", "http://a/1.jpg")
    b = disambiguated("2014-01-01 X/2014-01-01_1_001.jpg", "http://a/2.jpg")
    assert a != b and a.endswith(".jpg") and a.startswith("2014-01-01 X/2014-01-01_1_001~")
