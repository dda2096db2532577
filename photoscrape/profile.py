"""The `site:` part of settings.yaml: which site to crawl and how to read it.

`scrapy crawl albums` reads settings.yaml from the working directory, or the
file named by $PHOTOSCRAPE_CONFIG. Its `site:` mapping may name a shipped or
own profile (`profile: bench-ru`, or a path to a YAML file); keys given next
to `profile:` override the profile's. Relative paths are relative to the file
that holds them. Every key is checked before any request is sent; a bad one is
a `ProfileError` whose message is one line naming the file and the key.
"""
from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import parsel
import yaml

from photoscrape.dates import check_languages

REPO = Path(__file__).resolve().parent.parent
PROFILES_DIR = REPO / "profiles"


class ProfileError(Exception):
    """A settings problem the user can fix; the message is one line naming the key."""


@dataclass(frozen=True)
class SiteProfile:
    """How to walk one site. Selectors are CSS (`::text`, `::attr(x)`) or XPath (starting `/` or `(`)."""

    start_urls: tuple[str, ...]
    album_links: str                      # album links on album list pages (required)
    photo_links: str                      # on album pages: photo pages, or images directly (required)
    album_entry: str | None = None        # one element per album on list pages
    next_albums_page: str | None = None
    album_title: str | None = None
    album_date: str | None = None
    album_count: str | None = None
    next_photos_page: str | None = None
    photo_image: str | None = None        # the image on a photo page; None = photo_links are images
    photo_date: str | None = None
    album_id: str | None = None           # regex with one group, applied to the album URL
    date_languages: tuple[str, ...] = ("en",)
    cookies_file: Path | None = None      # Netscape cookies.txt for albums behind a login
    obey_robots_txt: bool = True
    autothrottle: bool = True
    download_delay: float = 0.5           # seconds between requests to one site (AutoThrottle's floor)
    concurrency: int = 4                  # requests at once per site
    user_agent: str | None = None         # None = photoscrape's own descriptive agent

    def selectors(self) -> dict[str, str | None]:
        return {k: getattr(self, k) for k in SELECTOR_KEYS}


@dataclass(frozen=True)
class CrawlConfig:
    config_path: Path                     # the settings file that was read
    data_dir: Path                        # photos/, albums.jsonl live here
    site: SiteProfile
    profile_path: Path | None = None      # the profile file `site.profile` named, if any
    sources: dict[str, Path] = field(default_factory=dict)  # key -> file it came from

    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"

    @property
    def manifest(self) -> Path:
        return self.data_dir / "albums.jsonl"


SELECTOR_KEYS = ("album_links", "photo_links", "album_entry", "next_albums_page", "album_title",
                 "album_date", "album_count", "next_photos_page", "photo_image", "photo_date")
REQUIRED = {
    "start_urls": "the album list page(s) to start from",
    "album_links": "the selector of album links on album list pages",
    "photo_links": "the selector of photo links on album pages",
}
# key -> kind, checked by _check(); every SiteProfile field plus `profile`.
KINDS = {**{k: "selector" for k in SELECTOR_KEYS},
         "start_urls": "urls", "album_id": "regex", "date_languages": "languages",
         "cookies_file": "cookies", "obey_robots_txt": "bool", "autothrottle": "bool",
         "download_delay": "seconds", "concurrency": "count", "user_agent": "text"}
KNOWN = ("profile", *KINDS)
# The settings file's top level: the crawl reads data and site; faces/config.py reads faces.
TOP_LEVEL = ("data", "site", "faces")


def config_file() -> Path:
    """The settings file: $PHOTOSCRAPE_CONFIG, else ./settings.yaml."""
    return Path(os.environ.get("PHOTOSCRAPE_CONFIG") or "settings.yaml").expanduser().resolve()


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping: plain YAML loading
    keeps the last silently, so a forgotten `profile:` further down would quietly win."""

    def construct_mapping(self, node, deep=False):
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{key}: given twice (lines {seen[key]} and {line}); keep one",
                        key_node.start_mark)
                seen[key] = line
            except TypeError:          # an unhashable key: construct_mapping below says so
                pass
        return super().construct_mapping(node, deep)


def read_yaml(path: Path, what: str = "settings file") -> dict:
    if not path.is_file():
        raise ProfileError(f"{path}: {what} not found"
                           + (" (run from the repository folder, or set PHOTOSCRAPE_CONFIG)"
                              if what == "settings file" else ""))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ProfileError(f"{path}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                           f"save the file as UTF-8") from None
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark else ""
        raise ProfileError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict):
        raise ProfileError(f"{path}: expected a mapping of keys at the top level")
    return doc


def load_crawl_config(path: Path | None = None) -> CrawlConfig:
    """Read and check `data:` and `site:` (and the profile it names) from the settings file."""
    path = path or config_file()
    doc = read_yaml(path)
    _check_names(path, "", doc, TOP_LEVEL)
    site = doc.get("site")
    if not isinstance(site, dict):
        raise ProfileError(f"{path}: site: expected a mapping of keys (the site profile), got {site!r}")
    _check_names(path, "site.", site)

    values: dict[str, object] = {}
    sources: dict[str, Path] = {}
    profile_path = None
    if site.get("profile") is not None:
        profile_path = _profile_path(path, site["profile"])
        profile = read_yaml(profile_path, "site profile")
        if set(profile) == {"site"} and isinstance(profile["site"], dict):
            profile = profile["site"]          # a whole settings-style file is fine too
        _check_names(profile_path, "", profile)
        if "profile" in profile:
            raise ProfileError(f"{profile_path}: profile: a profile cannot name another profile")
        for key, raw in profile.items():
            values[key] = _check(profile_path, key, key, raw)
            sources[key] = profile_path
    for key, raw in site.items():
        if key != "profile":
            values[key] = _check(path, f"site.{key}", key, raw)
            sources[key] = path
    for key, what in REQUIRED.items():
        if values.get(key) is None:
            raise ProfileError(f"{path}: site.{key}: required ({what})")

    data = doc.get("data", "data")
    if not isinstance(data, str) or not data.strip():
        raise ProfileError(f"{path}: data: expected a folder path, got {data!r}")
    # `~/albums` is the home folder's albums, never a folder named `~` here.
    data_dir = (path.parent / Path(data.strip()).expanduser()).resolve()
    if data_dir.exists() and not data_dir.is_dir():
        raise ProfileError(f"{path}: data: {data_dir} is a file, not a folder; name a folder for the photos")
    profile = SiteProfile(**{k: v for k, v in values.items() if v is not None})
    return CrawlConfig(config_path=path, data_dir=data_dir, site=profile,
                       profile_path=profile_path, sources=sources)


def _profile_path(path: Path, raw: object) -> Path:
    """`bench-ru` names a shipped profile (profiles/bench-ru.yaml); anything with / or .yaml is a path."""
    if not isinstance(raw, str) or not raw.strip():
        raise ProfileError(f"{path}: site.profile: expected a profile name or a YAML file path, got {raw!r}")
    raw = raw.strip()
    if "/" not in raw and not raw.endswith((".yaml", ".yml")):
        candidate = PROFILES_DIR / f"{raw}.yaml"
        if not candidate.is_file():
            shipped = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
            raise ProfileError(f"{path}: site.profile: no shipped profile {raw!r} "
                               f"(shipped: {', '.join(shipped) or 'none'}; or give a file path)")
        return candidate
    candidate = (path.parent / Path(raw).expanduser()).resolve()
    if not candidate.is_file():
        raise ProfileError(f"{path}: site.profile: file not found: {candidate}")
    return candidate


def _check_names(path: Path, prefix: str, keys: dict, known: tuple[str, ...] = KNOWN) -> None:
    """An unknown key (a misspelt `dat:` would silently mean the default) stops the crawl."""
    for key in keys:
        if key not in known:
            hint = difflib.get_close_matches(str(key), known, n=1)
            raise ProfileError(f"{path}: {prefix}{key}: unknown key"
                               + (f" (did you mean {prefix}{hint[0]}?)" if hint else
                                  f" (known: {', '.join(prefix + k for k in known)})"))


def _check(path: Path, name: str, key: str, raw: object):
    """The checked, converted value of one key (None = not given)."""
    where = f"{path}: {name}"
    kind = KINDS[key]
    if raw is None:
        return None
    if kind == "selector":
        return check_selector(where, raw)
    if kind == "urls":
        urls = [raw] if isinstance(raw, str) else raw
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ProfileError(f"{where}: expected a list of URLs, got {raw!r}")
        for url in urls:
            parts = urlsplit(url.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ProfileError(f"{where}: not an http(s) URL: {url!r}")
        return tuple(u.strip() for u in urls)
    if kind == "regex":
        if not isinstance(raw, str):
            raise ProfileError(f"{where}: expected a regular expression, got {raw!r}")
        try:
            rx = re.compile(raw)
        except re.error as exc:
            raise ProfileError(f"{where}: not a valid regular expression ({exc})") from None
        if rx.groups != 1:
            raise ProfileError(f"{where}: the regular expression needs exactly one (group): {raw!r}")
        return raw
    if kind == "languages":
        langs = [raw] if isinstance(raw, str) else raw
        if not isinstance(langs, list) or not langs or not all(isinstance(x, str) for x in langs):
            raise ProfileError(f"{where}: expected a list of language codes like [ru, en], got {raw!r}")
        try:
            return check_languages(langs)
        except ValueError as exc:
            raise ProfileError(f"{where}: {exc}") from None
    if kind == "bool":
        if not isinstance(raw, bool):
            raise ProfileError(f"{where}: expected true or false, got {raw!r}")
        return raw
    if kind == "seconds":
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
            raise ProfileError(f"{where}: expected a number of seconds >= 0, got {raw!r}")
        return float(raw)
    if kind == "count":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise ProfileError(f"{where}: expected a whole number >= 1, got {raw!r}")
        return raw
    if kind == "text":
        if not isinstance(raw, str) or not raw.strip():
            raise ProfileError(f"{where}: expected text, got {raw!r}")
        return raw.strip()
    if kind == "cookies":
        if not isinstance(raw, str) or not raw.strip():
            raise ProfileError(f"{where}: expected the path of a cookies.txt file, got {raw!r}")
        cookies = (path.parent / Path(raw.strip()).expanduser()).resolve()
        from photoscrape.cookies import CookiesFileError, read_cookies_file
        try:
            read_cookies_file(cookies)
        except CookiesFileError as exc:
            raise ProfileError(f"{where}: {exc}") from None
        return cookies
    raise AssertionError(kind)


def is_xpath(selector: str) -> bool:
    return selector.lstrip().startswith(("/", "("))


def check_selector(where: str, raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ProfileError(f"{where}: expected a CSS or XPath selector, got {raw!r}")
    sel = raw.strip()
    probe = parsel.Selector(text="<html><body></body></html>")
    try:
        probe.xpath(sel) if is_xpath(sel) else probe.css(sel)
    except Exception as exc:  # cssselect raises SelectorSyntaxError, lxml ValueError
        kind = "XPath" if is_xpath(sel) else "CSS"
        raise ProfileError(f"{where}: not a valid {kind} selector: {sel!r} ({exc})") from None
    return sel


def crawl_settings(config: CrawlConfig) -> dict[str, object]:
    """The Scrapy settings a checked configuration implies (politeness, storage, cookies)."""
    site = config.site
    return {
        "PHOTOSCRAPE_SITE": site,
        "PHOTOSCRAPE_DATA": str(config.data_dir),           # locked by the crawl command (lock.py)
        "PHOTOSCRAPE_MANIFEST": str(config.manifest),
        "IMAGES_STORE": str(config.photos_dir),
        "ROBOTSTXT_OBEY": site.obey_robots_txt,
        "AUTOTHROTTLE_ENABLED": site.autothrottle,
        "DOWNLOAD_DELAY": site.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": site.concurrency,
        "CONCURRENT_REQUESTS": max(16, site.concurrency),
        "PHOTOSCRAPE_COOKIES_FILE": str(site.cookies_file) if site.cookies_file else None,
        **({"USER_AGENT": site.user_agent} if site.user_agent else {}),
    }
