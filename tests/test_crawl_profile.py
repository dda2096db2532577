"""The `site:` profile: shipped profiles, overrides, and one-line errors naming the key."""
import time
from pathlib import Path

import pytest

from photoscrape.profile import PROFILES_DIR, ProfileError, crawl_settings, load_crawl_config

MINIMAL = """
site:
  start_urls: ["http://127.0.0.1:9/"]
  album_links: "a.album::attr(href)"
  photo_links: "a.photo::attr(href)"
"""


def write(tmp_path: Path, text: str, name: str = "settings.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ProfileError) as exc:
        load_crawl_config(path)
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_minimal_profile_gets_polite_defaults(tmp_path):
    cfg = load_crawl_config(write(tmp_path, MINIMAL))
    assert cfg.site.start_urls == ("http://127.0.0.1:9/",)
    assert cfg.data_dir == (tmp_path / "data").resolve()
    assert cfg.manifest == cfg.data_dir / "albums.jsonl"
    s = crawl_settings(cfg)
    assert s["ROBOTSTXT_OBEY"] is True and s["AUTOTHROTTLE_ENABLED"] is True
    assert s["DOWNLOAD_DELAY"] > 0 and s["CONCURRENT_REQUESTS_PER_DOMAIN"] <= 4
    assert s["IMAGES_STORE"] == str(cfg.data_dir / "photos")
    assert s["PHOTOSCRAPE_DATA"] == str(cfg.data_dir)     # what the crawl command locks
    assert "USER_AGENT" not in s            # the settings module's descriptive agent stays


def test_shipped_profile_by_name_with_overrides(tmp_path):
    cfg = load_crawl_config(write(tmp_path, """
data: ../out
site:
  profile: bench-ru
  start_urls: ["http://127.0.0.1:4321/"]
  concurrency: 2
"""))
    assert cfg.profile_path == PROFILES_DIR / "bench-ru.yaml"
    assert cfg.site.start_urls == ("http://127.0.0.1:4321/",)    # settings.yaml wins
    assert cfg.site.concurrency == 2
    assert cfg.site.album_entry == "div.album_row"                # from the profile
    assert cfg.site.date_languages == ("ru",)
    assert cfg.data_dir == (tmp_path.parent / "out").resolve()


@pytest.mark.parametrize("name", sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
def test_every_shipped_profile_loads(tmp_path, name):
    cfg = load_crawl_config(write(tmp_path, f"site: {{profile: {name}}}\n"))
    assert cfg.site.album_links and cfg.site.photo_links and cfg.site.start_urls


def test_profile_file_path_is_relative_to_the_settings_file(tmp_path):
    (tmp_path / "mine").mkdir()
    write(tmp_path / "mine", "album_links: 'a.x'\nphoto_links: '//a/@href'\n", "site.yaml")
    cfg = load_crawl_config(write(tmp_path, "site:\n  profile: mine/site.yaml\n  start_urls: http://h/\n"))
    assert cfg.site.photo_links == "//a/@href" and cfg.site.start_urls == ("http://h/",)


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    msg = error_of(write(tmp_path, MINIMAL + "  album_linx: 'a'\n"))
    assert "site.album_linx: unknown key" in msg and "did you mean site.album_links" in msg


def test_unknown_key_in_a_profile_names_the_profile_file(tmp_path):
    write(tmp_path, "album_links: a\nphoto_links: b\nphoto_imgae: c\n", "p.yaml")
    msg = error_of(write(tmp_path, "site: {profile: p.yaml, start_urls: ['http://h/']}\n"))
    assert "p.yaml: photo_imgae: unknown key" in msg


@pytest.mark.parametrize("missing", ["start_urls", "album_links", "photo_links"])
def test_required_keys(tmp_path, missing):
    text = "\n".join(line for line in MINIMAL.splitlines() if not line.strip().startswith(missing))
    assert f"site.{missing}: required" in error_of(write(tmp_path, text))


@pytest.mark.parametrize("line, expected", [
    ("  album_title: 'h1[class='", "site.album_title: not a valid CSS selector"),
    ("  album_date: '//span[@class='", "site.album_date: not a valid XPath selector"),
    ("  album_count: ''", "site.album_count: expected a CSS or XPath selector"),
    ("  start_urls: ['ftp://h/']", "site.start_urls: not an http(s) URL"),
    ("  start_urls: []", "site.start_urls: expected a list of URLs"),
    ("  date_languages: {ru: 1}", "site.date_languages: expected a list of language codes"),
    ("  date_languages: [russian]", "site.date_languages: unknown date language 'russian'"),
    ("  obey_robots_txt: 'no'", "site.obey_robots_txt: expected true or false"),
    ("  download_delay: -1", "site.download_delay: expected a number of seconds"),
    ("  concurrency: 0", "site.concurrency: expected a whole number >= 1"),
    ("  album_id: 'album(\\d+'", "site.album_id: not a valid regular expression"),
    ("  album_id: 'album\\d+'", "site.album_id: the regular expression needs exactly one (group)"),
    ("  profile: nosuchprofile", "site.profile: no shipped profile 'nosuchprofile'"),
    ("  profile: nowhere/p.yaml", "site.profile: file not found"),
    ("  cookies_file: cookies.txt", "site.cookies_file: file not found"),
])
def test_bad_values_name_the_key(tmp_path, line, expected):
    lines = [x for x in MINIMAL.splitlines() if not x.strip().startswith(line.split(":")[0].strip() + ":")]
    assert expected in error_of(write(tmp_path, "\n".join(lines) + "\n" + line + "\n"))


def test_site_must_be_a_mapping_and_yaml_valid(tmp_path):
    assert "site: expected a mapping" in error_of(write(tmp_path, "site: http://x/\n"))
    assert "not valid YAML" in error_of(write(tmp_path, "site: [\n"))
    assert "settings file not found" in error_of(tmp_path / "absent.yaml")


def test_cookies_file_relative_to_the_settings_file_and_loaded(tmp_path):
    future = int(time.time()) + 86400
    (tmp_path / "cookies.txt").write_text(
        "# Netscape HTTP Cookie File\n"
        f".example.org\tTRUE\t/\tFALSE\t{future}\tsession\tabc123\n"
        f"#HttpOnly_.example.org\tTRUE\t/\tTRUE\t0\tremember\tyes\n", encoding="utf-8")
    cfg = load_crawl_config(write(tmp_path, MINIMAL + "  cookies_file: cookies.txt\n"))
    assert cfg.site.cookies_file == tmp_path / "cookies.txt"
    assert crawl_settings(cfg)["PHOTOSCRAPE_COOKIES_FILE"] == str(tmp_path / "cookies.txt")


def test_cookies_file_in_another_format_is_refused(tmp_path):
    (tmp_path / "cookies.json").write_text('[{"name": "a", "value": "b"}]', encoding="utf-8")
    msg = error_of(write(tmp_path, MINIMAL + "  cookies_file: cookies.json\n"))
    assert "site.cookies_file:" in msg and "not a Netscape cookies.txt file" in msg


def test_politeness_can_be_turned_off_for_a_local_site(tmp_path):
    cfg = load_crawl_config(write(tmp_path, MINIMAL + "  obey_robots_txt: false\n  autothrottle: false\n"
                                  "  download_delay: 0\n  concurrency: 16\n  user_agent: test-agent\n"))
    s = crawl_settings(cfg)
    assert (s["ROBOTSTXT_OBEY"], s["AUTOTHROTTLE_ENABLED"], s["DOWNLOAD_DELAY"]) == (False, False, 0.0)
    assert s["CONCURRENT_REQUESTS_PER_DOMAIN"] == 16 and s["USER_AGENT"] == "test-agent"


@pytest.mark.parametrize("line, expected", [
    ("dat: photos-archive", "dat: unknown key (did you mean data?)"),
    ("sites: {}", "sites: unknown key (did you mean site?)"),
    ("extra_thing: 1", "extra_thing: unknown key (known: data, site, faces)"),
])
def test_unknown_top_level_key_stops_the_crawl(tmp_path, line, expected):
    # A misspelt `data:` would otherwise save everything into the default data/ folder.
    msg = error_of(write(tmp_path, MINIMAL + line + "\n"))
    assert msg == f"{tmp_path / 'settings.yaml'}: {expected}"


def test_the_faces_section_is_the_face_finders_and_not_checked_here(tmp_path):
    cfg = load_crawl_config(write(tmp_path, "data: archive\nfaces: {detector_backend: dlib}\n" + MINIMAL))
    assert cfg.data_dir == (tmp_path / "archive").resolve()


def test_data_and_paths_starting_with_a_tilde_are_in_the_home_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "profiles").mkdir(parents=True)
    (home / "cookies.txt").write_text("# Netscape HTTP Cookie File\n", encoding="utf-8")
    (home / "profiles" / "mine.yaml").write_text(MINIMAL.replace("site:\n", ""), encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    config = write(tmp_path, "data: ~/albumsdata\nsite:\n  profile: ~/profiles/mine.yaml\n"
                             "  cookies_file: ~/cookies.txt\n")
    cfg = load_crawl_config(config)
    assert cfg.data_dir == home / "albumsdata"          # never ./~/albumsdata
    assert cfg.profile_path == home / "profiles" / "mine.yaml"
    assert cfg.site.cookies_file == home / "cookies.txt"
    assert not (tmp_path / "~").exists()


def test_a_settings_file_that_is_not_utf8_is_one_line_naming_the_line(tmp_path):
    path = tmp_path / "l1.yaml"
    path.write_bytes(MINIMAL.encode() + b"data: d\xe9\n")
    message = error_of(path)
    assert message == f"{path}: line 6: not UTF-8 text (byte 0xe9); save the file as UTF-8"


def test_data_naming_an_existing_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    message = error_of(write(tmp_path, "data: notes.txt\n" + MINIMAL))
    assert message.endswith(f"data: {tmp_path / 'notes.txt'} is a file, not a folder; name a folder for the photos")


@pytest.mark.parametrize("text, key, lines", [
    (MINIMAL + "  profile: bench-ru\n  profile: thumbsup\n", "profile", (6, 7)),
    ("data: a\n" + MINIMAL + "data: b\n", "data", (1, 7)),
])
def test_a_key_given_twice_is_refused_naming_it_and_its_lines(tmp_path, text, key, lines):
    message = error_of(write(tmp_path, text))
    assert f"{key}: given twice (lines {lines[0]} and {lines[1]}); keep one" in message
