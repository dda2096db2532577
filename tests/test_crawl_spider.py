"""AlbumsSpider on hand-written pages: list entries, paginated grids, photo pages, failures."""
from datetime import date

import scrapy
from scrapy.http import HtmlResponse, Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError
from twisted.python.failure import Failure

from photoscrape.items import AlbumItem
from photoscrape.profile import SiteProfile
from photoscrape.spiders.albums import AlbumsSpider

# XPath and CSS mixed, as a profile may; list entries show title and count, album pages the date.
PROFILE = SiteProfile(
    start_urls=("http://s/",), album_entry="//div[@class='entry']", album_links="a.go",
    album_title="(.//b/text())", album_count=".n::text", next_albums_page="//a[@rel='next']/@href",
    album_date="//time/text()", photo_links="//div[@id='grid']/a/@href", next_photos_page="a.more",
    photo_image="img#full::attr(src)", photo_date=".taken::text", date_languages=("en",))


def html(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=f"<html><body>{body}</body></html>".encode(), encoding="utf-8")


def run(gen) -> tuple[list[Request], list[AlbumItem]]:
    out = list(gen)
    return [r for r in out if isinstance(r, Request)], [i for i in out if isinstance(i, AlbumItem)]


def failure(request: Request, exc: Exception) -> Failure:
    f = Failure(exc)
    f.request = request
    return f


def test_list_page_entries_next_page_and_site_order():
    spider = AlbumsSpider(profile=PROFILE)
    page = html("http://s/", '<div class="entry"><a class="go" href="/a/2/"><b>Sea</b></a><i class="n">3 photos</i></div>'
                             '<div class="entry"><a class="go" href="/a/1/"><b>Hike</b></a></div>'
                             '<div class="entry"><b>no link</b></div>'
                             '<a rel="next" href="/page/2/">more</a>')
    requests, _ = run(spider.parse(page, page=0))
    albums = [r.cb_kwargs["album"] for r in requests if "album" in r.cb_kwargs]
    assert [(a.url, a.title, a.count_text, a.order, a.album_id) for a in albums] == [
        ("http://s/a/2/", "Sea", "3 photos", (0, 0), "2"), ("http://s/a/1/", "Hike", "", (0, 1), "1")]
    assert [r.url for r in requests if "page" in r.cb_kwargs] == ["http://s/page/2/"]
    assert requests[-1].cb_kwargs["page"] == 1
    assert spider.misses["album_links"] == ["http://s/ (an album_entry without a link)"]
    # the same album linked again on a later page is not crawled twice
    again, _ = run(spider.parse(html("http://s/page/2/", '<div class="entry"><a class="go" href="/a/1/">x</a></div>'),
                                page=1))
    assert again == []


def test_album_list_pages_not_read_yet_are_counted():
    # A crawl stopped early says "at least N albums" while list pages are still unread.
    spider = AlbumsSpider(profile=PROFILE)
    spider.unread_list_pages = 1                       # start() requested the start URL
    requests, _ = run(spider.parse(html("http://s/", '<a rel="next" href="/page/2/">more</a>'), page=0))
    assert spider.unread_list_pages == 1               # read one, requested the next
    [next_page] = [r for r in requests if "page" in r.cb_kwargs]
    spider.list_page_failed(failure(next_page, ConnectionRefusedError()))
    assert spider.unread_list_pages == 0


def test_without_entries_the_album_links_of_the_page_are_used_and_the_miss_reported():
    spider = AlbumsSpider(profile=PROFILE)
    requests, _ = run(spider.parse(html("http://s/", '<a class="go" href="/a/7/">Seven</a>'), page=0))
    assert [r.url for r in requests] == ["http://s/a/7/"]
    assert spider.misses["album_entry"] == ["http://s/"]


def test_album_grid_across_pages_then_photo_pages_in_site_order():
    spider = AlbumsSpider(profile=PROFILE)
    album = AlbumItem(url="http://s/a/1/", order=(0, 0), title="Hike", count_text="3 photos")
    first = html(album.url, '<time>February 21, 2014</time><div id="grid"><a href="/p/1">1</a><a href="/p/2">2</a></div>'
                            '<a class="more" href="/a/1/?page=2">more</a>')
    requests, done = run(spider.parse_album(first, album=album, grid_page=0))
    assert done == [] and [r.url for r in requests] == ["http://s/a/1/?page=2"]
    assert (album.title, album.date, album.displayed_count) == ("Hike", date(2014, 2, 21), 3)

    second = html("http://s/a/1/?page=2", '<div id="grid"><a href="/p/2">2</a><a href="/p/3">3</a></div>'
                                          '<a class="more" href="/a/1/">back to the first page</a>')
    assert requests[0].cb_kwargs["album"] is album
    photo_pages, done = run(spider.parse_album(second, **requests[0].cb_kwargs))
    assert [r.url for r in photo_pages] == ["http://s/p/1", "http://s/p/2", "http://s/p/3"]   # no repeat, no loop

    # Photo pages answer in any order; the album is yielded once, after the last one.
    results = []
    for request, body in [(photo_pages[2], '<img id="full" src="/m/3.jpg"><span class="taken">March 1, 2014</span>'),
                          (photo_pages[0], '<img id="full" src="/m/1.jpg">')]:
        results += run(spider.parse_photo(html(request.url, body), **request.cb_kwargs))[1]
    assert results == []
    notfound = failure(photo_pages[1], HttpError(Response(photo_pages[1].url, status=404)))
    _, done = run(spider.photo_page_failed(notfound))
    assert done == [album] and not spider.open_albums
    assert [(p.url, p.error, p.date) for p in album.photos] == [
        ("http://s/m/1.jpg", "", None), (None, "photo page: HTTP 404", None),
        ("http://s/m/3.jpg", "", date(2014, 3, 1))]
    assert spider.misses["photo_date"] == ["http://s/p/1"]


def test_photo_links_that_are_images_finish_the_album_without_photo_pages():
    spider = AlbumsSpider(profile=SiteProfile(start_urls=("http://s/",), album_links="a", photo_links="#grid img"))
    album = AlbumItem(url="http://s/a/1/", order=(0, 0))
    requests, done = run(spider.parse_album(html(album.url, '<div id="grid"><img src="/m/1.jpg"><img data-src="/m/2.jpg">'
                                                           '</div><title>x</title>'), album=album, grid_page=0))
    assert requests == [] and done == [album]
    assert [p.url for p in album.photos] == ["http://s/m/1.jpg", "http://s/m/2.jpg"]
    assert "album_title" not in spider.misses      # not in the profile: omitted, not missed
    assert "album_title" in spider.omitted_selectors


def test_album_page_that_fails_is_an_album_with_a_problem():
    spider = AlbumsSpider(profile=PROFILE)
    album = AlbumItem(url="http://s/a/9/", order=(0, 3), title="Gone")
    spider.open_albums[album.url] = album
    request = scrapy.Request(album.url, cb_kwargs={"album": album, "grid_page": 0})
    _, done = run(spider.album_page_failed(failure(request, ConnectionRefusedError())))
    assert done == [album] and album.problems == ["album page http://s/a/9/: connection refused"]
    assert album.photos == [] and not spider.open_albums


def test_a_date_shown_but_not_understood_is_reported_and_the_album_kept_undated():
    spider = AlbumsSpider(profile=PROFILE)
    album = AlbumItem(url="http://s/a/1/", order=(0, 0), title="T")
    run(spider.parse_album(html(album.url, '<time>sometime last spring</time><div id="grid"></div>'),
                           album=album, grid_page=0))
    assert album.date is None and album.date_text == "sometime last spring"
    assert spider.unreadable_dates == ["http://s/a/1/: 'sometime last spring'"]


def test_an_album_page_without_photo_links_is_not_complete():
    spider = AlbumsSpider(profile=PROFILE)
    album = AlbumItem(url="http://s/a/1/", order=(0, 0), title="T")      # no count shown
    _, done = run(spider.parse_album(html(album.url, '<div id="other"><a href="/p/1">1</a></div>'),
                                     album=album, grid_page=0))
    assert done == [album] and album.photos == []
    assert album.problems == ["no photos found on the album page (site.photo_links matched nothing)"]
    assert spider.misses["photo_links"] == ["http://s/a/1/"]
    # an album that shows "0 photos" is just empty
    empty = AlbumItem(url="http://s/a/2/", order=(0, 1), title="E", count_text="0 photos")
    run(spider.parse_album(html(empty.url, '<div id="grid"></div>'), album=empty, grid_page=0))
    assert empty.problems == [] and spider.misses["photo_links"] == ["http://s/a/1/"]


def test_an_album_id_regex_that_matches_no_album_url_is_warned_about_once(caplog):
    from dataclasses import replace
    spider = AlbumsSpider(profile=replace(PROFILE, album_id=r"/gallery/(\d+)/"))
    page = html("http://s/", '<div class="entry"><a class="go" href="/gallery/5/">five</a></div>'
                             '<div class="entry"><a class="go" href="/a/2/">two</a></div>'
                             '<div class="entry"><a class="go" href="/a/3/">three</a></div>')
    with caplog.at_level("WARNING"):
        requests, _ = run(spider.parse(page, page=0))
    assert [r.cb_kwargs["album"].album_id for r in requests] == ["5", "2", "3"]
    assert spider.album_id_misses == ["http://s/a/2/", "http://s/a/3/"]
    warnings = [r.getMessage() for r in caplog.records if "album_id" in r.getMessage()]
    assert warnings == ["site.album_id '/gallery/(\\d+)/' matched nothing in the album URL http://s/a/2/: "
                        "such albums get the default id (from the end of the URL) in their file names"]


def test_a_page_failing_after_ctrl_c_is_marked_cut_short_not_the_sites_fault():
    from scrapy.utils.test import get_crawler
    spider = AlbumsSpider(profile=PROFILE)
    spider.crawler = crawler = get_crawler(AlbumsSpider)
    crawler.stats.set_value("start_time", 1.0)     # a crawl that has started...
    crawler.crawling = True
    spider.list_page_failed(failure(Request("http://s/"), ConnectionRefusedError()))
    crawler.crawling = False                      # Scrapy's graceful stop after Ctrl-C
    spider.list_page_failed(failure(Request("http://s/?page=2"), ConnectionRefusedError()))
    assert spider.list_errors == ["http://s/: connection refused",
                                  "http://s/?page=2: not fetched: the crawl was stopped (connection refused)"]
