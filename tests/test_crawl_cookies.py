"""site.cookies_file: a browser's cookies.txt export is sent with the crawl's requests."""
import time

from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from photoscrape.cookies import CookiesFileMiddleware, read_cookies_file


def cookies_txt(tmp_path):
    future = int(time.time()) + 86400
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        "# exported by a browser extension\n"
        f".photos.example\tTRUE\t/\tFALSE\t{future}\tsid\tsecret1\n"
        "#HttpOnly_.photos.example\tTRUE\t/\tFALSE\t0\tlogin\tyes\n"      # a session cookie
        f".photos.example\tTRUE\t/\tFALSE\t{int(time.time()) - 10}\told\tgone\n"   # expired
        f".other.example\tTRUE\t/\tFALSE\t{future}\tforeign\tno\n", encoding="utf-8")
    return path


def test_read_keeps_session_cookies_and_drops_expired_ones(tmp_path):
    names = sorted(c.name for c in read_cookies_file(cookies_txt(tmp_path)))
    assert names == ["foreign", "login", "sid"]


def test_requests_carry_the_cookies_of_their_site_only(tmp_path):
    crawler = get_crawler(Spider, {"PHOTOSCRAPE_COOKIES_FILE": str(cookies_txt(tmp_path))})
    mw = CookiesFileMiddleware.from_crawler(crawler)
    request = Request("https://photos.example/albums/")
    mw.process_request(request)
    header = request.headers.get("Cookie").decode()
    assert sorted(header.split("; ")) == ["login=yes", "sid=secret1"]
    other = Request("https://unrelated.example/")
    mw.process_request(other)
    assert other.headers.get("Cookie") is None


def test_without_a_cookies_file_it_is_scrapys_middleware(tmp_path):
    mw = CookiesFileMiddleware.from_crawler(get_crawler(Spider, {}))
    request = Request("https://photos.example/")
    mw.process_request(request)
    assert request.headers.get("Cookie") is None
