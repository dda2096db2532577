"""Albums inside albums (thumbsup's sub-folders): album entries on an album page are albums too."""
import scrapy
from scrapy.http import HtmlResponse

from photoscrape.items import AlbumItem
from photoscrape.profile import SiteProfile
from photoscrape.spiders.albums import AlbumsSpider

PROFILE = SiteProfile(start_urls=("http://s/",), album_entry="ul#galleries > li", album_links="a::attr(href)",
                      album_title="h3::text", album_count="(self::li/a/p/text())[1]",
                      photo_links="ul#media a::attr(href)")


def page(url: str, galleries: str, media: str) -> HtmlResponse:
    html = f'<html><body><ul id="galleries">{galleries}</ul><ul id="media">{media}</ul></body></html>'
    return HtmlResponse(url=url, body=html.encode(), encoding="utf-8")


def entry(href: str, title: str, count: str) -> str:
    return f'<li><a href="{href}"><h3>{title}</h3><p>{count}</p></a></li>'


def crawl_page(spider, response, album):
    out = list(spider.parse_album(response, album=album, grid_page=0))
    return [r for r in out if isinstance(r, scrapy.Request)], [i for i in out if isinstance(i, AlbumItem)]


def test_sub_albums_are_crawled_in_order_after_their_parent():
    spider = AlbumsSpider(profile=PROFILE)
    parent = AlbumItem(url="http://s/Trips.html", order=(0, 1), title="Trips")
    spider.seen_albums.add(parent.url)
    response = page(parent.url, entry("Trips-Sea.html", "Sea", "2 photos") + entry("Trips-Hike.html", "Hike", "5 photos"),
                     '<li><a href="media/large/Trips/own.jpg">x</a></li>')
    requests, finished = crawl_page(spider, response, parent)

    subs = [r.cb_kwargs["album"] for r in requests]
    assert [(a.url, a.title, a.count_text, a.order) for a in subs] == [
        ("http://s/Trips-Sea.html", "Sea", "2 photos", (0, 1, 0)),
        ("http://s/Trips-Hike.html", "Hike", "5 photos", (0, 1, 1)),
    ]
    assert sorted([(0, 2), (0, 1, 1), (0, 1), (0, 1, 0)]) == [(0, 1), (0, 1, 0), (0, 1, 1), (0, 2)]
    # the parent keeps its own photo and is finished; its sub-albums are its neighbours, not its photos
    assert [p.url for p in finished[0].photos] == ["http://s/media/large/Trips/own.jpg"]
    # the parent's own entry (self::li) is not on its page: no count taken from a sub-album
    assert finished[0].count_text == "" and finished[0].displayed_count is None


def test_a_parent_without_photos_of_its_own_is_no_missing_photo_grid():
    spider = AlbumsSpider(profile=PROFILE)
    parent = AlbumItem(url="http://s/Trips.html", order=(0, 0), title="Trips")
    requests, finished = crawl_page(spider, page(parent.url, entry("Trips-Sea.html", "Sea", "2 photos"), ""), parent)
    assert len(requests) == 1 and finished[0].photos == []
    assert "photo_links" not in spider.misses


def test_an_album_seen_before_is_not_crawled_twice():
    spider = AlbumsSpider(profile=PROFILE)
    spider.seen_albums.add("http://s/Trips-Sea.html")
    parent = AlbumItem(url="http://s/Trips.html", order=(0, 0), title="Trips")
    requests, _ = crawl_page(spider, page(parent.url, entry("Trips-Sea.html", "Sea", "2 photos"), ""), parent)
    assert requests == []
    assert "photo_links" not in spider.misses  # still a page of albums, not a grid that lost its photos


def test_without_album_entry_album_pages_are_not_searched_for_albums():
    spider = AlbumsSpider(profile=SiteProfile(start_urls=("http://s/",), album_links="ul#galleries a::attr(href)",
                                              photo_links="ul#media a::attr(href)"))
    parent = AlbumItem(url="http://s/Trips.html", order=(0, 0), title="Trips")
    requests, finished = crawl_page(spider, page(parent.url, entry("Trips-Sea.html", "Sea", "2 photos"),
                                                 '<li><a href="own.jpg">x</a></li>'), parent)
    assert requests == [] and len(finished[0].photos) == 1


def start_page(galleries: str, media: str) -> HtmlResponse:
    html = (f'<html><head><title>Школа - Home</title></head><body><ul id="galleries">{galleries}</ul>'
            f'<ul id="media">{media}</ul></body></html>')
    return HtmlResponse(url="http://s/", body=html.encode(), encoding="utf-8")


def test_a_start_page_with_photos_of_its_own_is_an_album_before_the_ones_it_lists():
    spider = AlbumsSpider(profile=PROFILE)
    out = list(spider.parse(start_page(entry("Trips.html", "Trips", "2 photos"),
                                       '<li><a href="media/large/top.jpg">x</a></li>'), page=0))
    requests = [r for r in out if isinstance(r, scrapy.Request)]
    albums = [i for i in out if isinstance(i, AlbumItem)]
    assert [r.cb_kwargs["album"].url for r in requests] == ["http://s/Trips.html"]
    assert len(albums) == 1
    home = albums[0]
    assert (home.url, home.order) == ("http://s/", (0, -1))
    assert [p.url for p in home.photos] == ["http://s/media/large/top.jpg"]
    assert sorted([home.order, requests[0].cb_kwargs["album"].order]) == [(0, -1), (0, 0)]

    # its title: album_title on the page, else the page's <title>
    anchored = AlbumsSpider(profile=SiteProfile(**{**PROFILE.__dict__, "album_title": "(self::li/a/h3/text())"}))
    out = list(anchored.parse(start_page("", '<li><a href="top.jpg">x</a></li>'), page=0))
    assert [i.title for i in out if isinstance(i, AlbumItem)] == ["Школа - Home"]


def test_a_start_page_without_photos_is_only_a_list():
    spider = AlbumsSpider(profile=PROFILE)
    out = list(spider.parse(start_page(entry("Trips.html", "Trips", "2 photos"), ""), page=0))
    assert [type(i).__name__ for i in out] == ["Request"]
    assert list(spider.open_albums) == ["http://s/Trips.html"]
