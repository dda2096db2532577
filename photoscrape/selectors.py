"""Reading a page with the profile's selectors: CSS (`::text`, `::attr(x)`) or XPath.

A selector may also pick elements: a link selector then reads the element's
`href` (or `src`, `data-src`), a text selector the element's whole text.
"""
from __future__ import annotations

from urllib.parse import urldefrag, urljoin

from parsel import Selector, SelectorList

from photoscrape.profile import is_xpath

LINK_ATTRIBUTES = ("href", "src", "data-src")


def select(node: Selector, selector: str) -> SelectorList:
    return node.xpath(selector) if is_xpath(selector) else node.css(selector)


def text(node: Selector, selector: str | None) -> str:
    """The text the selector picks, whitespace collapsed ('' when nothing matches).

    str.split() also splits at no-break and narrow no-break spaces, which sites put in dates.
    """
    if not selector:
        return ""
    parts = []
    for match in select(node, selector):
        value = match.root if isinstance(match.root, str) else match.xpath("string()").get("")
        parts.append(value)
    return " ".join(" ".join(parts).split())


def links(node: Selector, selector: str | None, base_url: str) -> list[str]:
    """Absolute URLs the selector picks, in page order, without repeats.

    `base_url`: the page's base (scrapy.utils.response.get_base_url honours <base href>).
    """
    if not selector:
        return []
    found: list[str] = []
    for match in select(node, selector):
        if isinstance(match.root, str):
            value = match.root
        else:
            value = next((match.attrib[a] for a in LINK_ATTRIBUTES if match.attrib.get(a)), "")
        value = value.strip()
        if value and not value.startswith(("javascript:", "#", "data:")):
            url = urldefrag(urljoin(base_url, value))[0]
            if url not in found:
                found.append(url)
    return found

