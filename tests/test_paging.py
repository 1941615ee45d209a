"""Pages of results on the web pages: the range shown, Previous and Next (node/web/paging.py)."""

from __future__ import annotations

import html
import re

import pytest
from support.factories import add_member
from support.nodes import Node

from node.errors import InvalidInput
from node.web import pages
from node.web.paging import TRAIL, count_text, pager

SIZE = pages.PAGE_SIZE


def _page(node: Node, url: str) -> tuple[str, list[str], dict[str, str]]:
    r = node.client.get(url)
    assert r.status_code == 200, r.text
    text = r.text
    names = re.findall(r'class="name" href="/m/[^"]+">([^<]+)</a>', text)
    links = {
        rel: "/" + html.unescape(href)
        for href, rel in re.findall(r'<a href="(\?[^"]*)" rel="(next|prev)"', text)
    }
    first = re.search(r'<a href="(\?[^"]*)">First page</a>', text)
    if first:
        links["first"] = "/" + html.unescape(first.group(1))
    m = re.search(r'<span class="range">([^<]+)</span>', text)
    links["range"] = m.group(1) if m else ""
    return text, names, links


def test_forward_and_back_through_the_directory(sqlite_node: Node) -> None:
    count = 2 * SIZE + 5
    for i in range(count):
        add_member(sqlite_node, name=f"Member {i:02d}")
    _, one, first = _page(sqlite_node, "/?region=europe")
    assert first["range"] == f"1–{SIZE} of {count}" and "prev" not in first
    _, two, second = _page(sqlite_node, first["next"])
    assert second["range"] == f"{SIZE + 1}–{2 * SIZE} of {count}"
    _, three, third = _page(sqlite_node, second["next"])
    assert third["range"] == f"{2 * SIZE + 1}–{count} of {count}" and "next" not in third
    assert len(one) == len(two) == SIZE and len(three) == 5
    assert not set(one) & set(two) and not set(two) & set(three)
    # Back: the same pages again, with the same ranges, and the filters kept.
    _, again, back = _page(sqlite_node, third["prev"])
    assert again == two and back["range"] == second["range"] and "region=europe" in third["prev"]
    _, start, home = _page(sqlite_node, back["prev"])
    assert start == one and home["range"] == first["range"] and "prev" not in home


def test_the_pager_keeps_a_bounded_trail_and_offers_the_first_page_past_it() -> None:
    params = {"q": "health"}
    for number in range(1, TRAIL + 4):
        p = pager(params, next_cursor=f"c{number}", shown=20, total=None, page_size=20)
        assert p.start == (number - 1) * 20 + 1 and p.total is None
        assert p.next is not None
        params = dict(kv.split("=", 1) for kv in p.next[1:].split("&"))
    assert len(params["trail"].split(".")) == TRAIL
    # Walking back TRAIL times empties the trail; the next step offers the first page.
    for _ in range(TRAIL):
        p = pager(params, next_cursor=None, shown=20, total=None, page_size=20)
        assert p.previous is not None
        params = dict(kv.split("=", 1) for kv in p.previous[1:].split("&"))
    p = pager(params, next_cursor=None, shown=20, total=None, page_size=20)
    assert p.previous is None and p.first == "?q=health"
    assert int(params["page"]) == 4  # page 14, back TRAIL pages: the range stays right


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"trail": "a..b"}, "trail"),
        ({"trail": ".".join(["c"] * (TRAIL + 1))}, "trail"),
    ],
)
def test_a_tampered_page_link_is_named(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        pager(params, next_cursor=None, shown=1, total=1, page_size=20)
    assert err.value.errors[0][0] == field


def test_a_tampered_page_link_on_the_page_is_an_html_422(sqlite_node: Node) -> None:
    r = sqlite_node.client.get("/", params={"page": "-1"})
    assert r.status_code == 422 and "page number" in r.text


@pytest.mark.parametrize(
    ("total", "capped", "text"),
    [(None, False, ""), (0, False, "0"), (7, False, "7"), (10_000, True, "more than 10,000")],
)
def test_count_text_says_more_than_at_the_cap(total: int | None, capped: bool, text: str) -> None:
    assert count_text(total, capped=capped) == text
