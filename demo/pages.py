"""The demo site's HTML, in the style of a Russian social network's photo section.

Album list pages (four albums a page, "Показать ещё альбомы"), album pages
with the date and the count as the site shows them ("21 фев 2014",
"48 фотографий"; six thumbnails a page) and one page per photo linking the
full-size image. The selectors in demo/settings.yaml read exactly this markup.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

ALBUMS_PER_PAGE = 4
PHOTOS_PER_PAGE = 6
MONTHS = ["янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"]

STYLE = """body{font:14px/1.4 -apple-system,Segoe UI,Roboto,Arial,sans-serif;background:#edeef0;margin:0}
.page{max-width:760px;margin:16px auto;background:#fff;border-radius:6px;padding:16px 20px}
.album_row{display:inline-block;width:170px;margin:0 8px 14px 0;vertical-align:top}
.album_row img{width:170px;height:113px;object-fit:cover;border-radius:4px;background:#dde}
.album_size,.album_info{color:#828282}.album_info h4{display:inline;font-weight:normal;margin-left:8px}
.photos_grid img{width:180px;height:120px;margin:0 4px 4px 0;object-fit:cover}
.show_more{display:block;text-align:center;padding:10px;background:#f0f2f5;color:#2a5885;border-radius:4px}
.photo_full{max-width:100%}a{color:#2a5885;text-decoration:none}
"""


def shown_date(d: date) -> str:
    """'21 фев 2014', as the site prints an album's date."""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def shown_count(n: int) -> str:
    """'1 фотография', '3 фотографии', '48 фотографий' (Russian plural rules)."""
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} фотография"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{n} фотографии"
    return f"{n} фотографий"


@dataclass
class PhotoLink:
    page: str        # "/photo/1402_3/"
    image: str       # "/img/<name>.jpg"
    thumb: str       # "/thumb/<name>.jpg"


@dataclass
class AlbumPage:
    id: int
    title: str
    date: date | None      # None: the site shows no date
    shown_count: int       # what the site claims, may be more than len(photos)
    cover: str             # a thumbnail URL
    photos: list[PhotoLink]

    @property
    def url(self) -> str:
        return f"/album/{self.id}/"


def _shell(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head>\n"
            f"<body><div class=\"page\">\n{body}\n</div></body></html>\n")


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def site_pages(albums: list[AlbumPage]) -> dict[str, str]:
    """Every page of the site: URL path of the page's folder (or file) -> HTML."""
    pages: dict[str, str] = {"/static/style.css": STYLE}
    newest_first = sorted(albums, key=lambda a: (a.date or date.min, a.id), reverse=True)
    list_pages = _chunks(newest_first, ALBUMS_PER_PAGE)
    for n, chunk in enumerate(list_pages, start=1):
        rows = "\n".join(
            f'<div class="album_row"><a class="album_link" href="{a.url}"><img src="{a.cover}" alt="">'
            f'<div class="album_title">{escape(a.title)}</div></a>'
            f'<div class="album_size">{shown_count(a.shown_count)}</div></div>' for a in chunk)
        more = (f'<a class="show_more" href="/albums/page/{n + 1}/">Показать ещё альбомы</a>'
                if n < len(list_pages) else "")
        pages["/" if n == 1 else f"/albums/page/{n}/"] = _shell(
            "Фотоальбомы", f'<h2>Фотоальбомы класса</h2>\n<div class="albums">\n{rows}\n</div>\n{more}')

    for a in albums:
        grid_pages = _chunks(a.photos, PHOTOS_PER_PAGE)
        when = f'<span class="album_date">{shown_date(a.date)}</span>' if a.date else ""
        head = (f'<h1 class="album_name">{escape(a.title)}</h1>\n'
                f'<div class="album_info">{when}<h4 class="album_size">{shown_count(a.shown_count)}</h4></div>')
        for n, chunk in enumerate(grid_pages, start=1):
            thumbs = "\n".join(f'<a class="photo_thumb" href="{p.page}"><img src="{p.thumb}" alt=""></a>'
                               for p in chunk)
            more = (f'<a class="show_more" href="{a.url}page/{n + 1}/">Показать ещё фотографии</a>'
                    if n < len(grid_pages) else "")
            pages[a.url if n == 1 else f"{a.url}page/{n}/"] = _shell(
                a.title, f'{head}\n<div class="photos_grid">\n{thumbs}\n</div>\n{more}')
        for p in a.photos:
            pages[p.page] = _shell(a.title, (
                f'<div class="photo_view"><img class="photo_full" src="{p.image}" alt="">\n'
                f'<div class="photo_album">Из альбома <a href="{a.url}">{escape(a.title)}</a></div></div>'))
    pages["/robots.txt"] = "User-agent: *\nDisallow: /admin/\n"
    return pages
