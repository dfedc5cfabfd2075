"""Crawl the site as a visitor would: from the query editor, the overview and the index of pages, follow every
link and source on this server (href and src), each URL once, and find no broken link and no server error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
import pytest

from server import running_server

LIMIT = 5000  # URLs; the site has about 3000 (pages in two languages, four RDF formats each)
STARTS = ["/", "/overview", "/doc"]  # the query editor, the overview charts, the index of pages


class Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.found.append(value)


def links_of(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.found


def crawl(
    base: str, starts: list[str], limit: int = LIMIT, threads: int = 8
) -> tuple[dict[str, int], list[tuple[str, int, str]]]:
    """{url: status} of every internal URL reached, and the failures as (url, status, the page linking it).
    Breadth first, a level at a time, the URLs of a level fetched in parallel."""
    host = urlsplit(base).netloc
    seen: dict[str, int] = {}
    referrer: dict[str, str] = {}
    level = []
    for start in starts:
        url = urljoin(base, start)
        referrer[url] = "(start)"
        level.append(url)
    failures = []

    def fetch(url):
        response = client.get(url)
        html = (
            response.text
            if response.status_code < 400 and response.headers.get("content-type", "").startswith("text/html")
            else None
        )
        return url, response.status_code, str(response.url), html

    with httpx.Client(timeout=60, follow_redirects=True) as client, ThreadPoolExecutor(threads) as pool:
        while level and len(seen) < limit:
            following = []
            for url, status, final, html in pool.map(fetch, level[: limit - len(seen)]):
                seen[url] = status
                if status >= 400:
                    failures.append((url, status, referrer.get(url, "?")))
                if html is None:
                    continue
                for link in links_of(html):
                    if link.startswith(("mailto:", "javascript:", "data:", "tel:")):
                        continue
                    target = urldefrag(urljoin(final, link))[0]
                    if urlsplit(target).netloc != host or not target.startswith(("http://", "https://")):
                        continue
                    if target not in referrer:
                        referrer[target] = url
                        following.append(target)
            level = following
    return seen, failures


@pytest.fixture(scope="module")
def server():
    with running_server("--workers", "2") as s:
        yield s


@pytest.fixture(scope="module")
def crawled(server):
    for start in STARTS:
        assert httpx.get(server.url + start, timeout=30).status_code == 200, f"start page {start} does not answer"
    return crawl(server.url, STARTS)


def test_no_broken_links(crawled):
    seen, failures = crawled
    assert len(seen) < LIMIT, f"the crawl stopped at {LIMIT} URLs: raise LIMIT or find the link trap"
    assert not failures, "broken links (url, status, linked from):\n" + "\n".join(
        f"{url} {status} <- {ref}" for url, status, ref in failures[:50]
    )
    assert not [u for u, s in seen.items() if s >= 500]
    # It reached every kind of page.
    paths = {urlsplit(u).path for u in seen}
    for expected in (
        "/doc/action-point/nap-2022-02",
        "/doc/organisation/szw",
        "/doc/theme/scheme",
        "/doc/status/delayed",
        "/doc/footnote/2024-1",
        "/doc/action-point/nap-2022-02.ttl",
        "/doc/action-point/nap-2022-02.jsonld",
        "/graph/action-points",
        "/sparql",
        "/def",
        "/download/",
        "/static/site.css",
    ):
        assert expected in paths, f"the crawl never reached {expected}"


def test_every_resource_is_linked_from_some_page(crawled, graph):
    """Every thing of ours (/doc/{type}/{ref}) is reached by following links: nothing is an orphan."""
    from napkg.graph.namespaces import ID

    seen, _ = crawled
    paths = {urlsplit(u).path for u in seen}
    things = {"/doc/" + str(s)[len(ID) :].partition("#")[0] for s in graph.subjects() if str(s).startswith(ID)}
    missing = sorted(things - paths)
    assert not missing, f"{len(missing)} resources not linked from any page, e.g. {missing[:10]}"
