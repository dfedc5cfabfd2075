"""/overview: each chart's data (its CSV) against counts computed here from the same store.

The charts are served by overview.make_router on the store napkg serve builds (load.to_store of
load_project()), in this process: no validation gate and no query workers, which the charts do not use.
Each expectation comes from a plain SPARQL query that lists facts (one row per entry, per responsibility,
per framework link) and is counted here, in Python, never from the chart's own aggregate query. The 2024
report's 16, 6 and 11 action points per pillar are also written out, but are compared only after the graph.

The framework charts are also checked on a fixture: the project's store without its framework links, plus
a few links of our own, so that a principle with action points, one with none, an action point linked to
two principles and to one principle on both bases exist whatever links the data hold.
"""

from __future__ import annotations

import asyncio
import collections
import csv
import html
import io
import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import httpx
import pyoxigraph as ox
import pytest
from fastapi import FastAPI

from napkg.endpoint.context import Context
from napkg.graph.load import to_store
from napkg.web.overview import CHART_IDS, make_router

REPORT = "https://w3id.org/nap-bhr/id/report/2024"
SVG_NS = "{http://www.w3.org/2000/svg}"
PREFIXES = """PREFIX nap: <https://w3id.org/nap-bhr/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dct: <http://purl.org/dc/terms/>
"""
PRINCIPLE = "https://w3id.org/nap-bhr/id/ungp-principle/"
CHAPTER = "https://w3id.org/nap-bhr/id/oecd-chapter/"
STATED = "https://w3id.org/nap-bhr/id/basis/stated"
FRAMEWORK_CHARTS = {
    "status-per-ungp-principle": ("principle", "nap:UNGPPrinciple"),
    "status-per-oecd-chapter": ("chapter", "nap:OECDGuidelinesChapter"),
}


class Client:
    """GET on the overview router, in this process."""

    def __init__(self, store: ox.Store):
        self.store = store
        self.app = FastAPI()
        self.app.include_router(
            make_router(Context(pool=None, settings=None, store=store, union_default_graph=True, fingerprint="test"))
        )

    def get(self, path: str, **options) -> httpx.Response:
        async def go():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://test") as c:
                return await c.get(path, **options)

        return asyncio.run(go())


def select(store: ox.Store, query: str) -> list[dict[str, str]]:
    result = store.query(PREFIXES + query, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: (s[n].value if s[n] is not None else "") for n in names} for s in result]


@pytest.fixture(scope="module")
def store(project) -> ox.Store:
    return to_store(project)


@pytest.fixture(scope="module")
def server(store) -> Client:
    return Client(store)


def table(server: Client, chart: str, lang: str = "nl") -> list[dict]:
    response = server.get(f"/overview/{chart}.csv", params={"lang": lang})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def entries(store: ox.Store) -> list[dict]:
    """One row per entry of the 2024 report: its action point, status, and the action point's pillar and theme."""
    return select(
        store,
        f"""SELECT ?ap ?status ?pillar ?pillarNotation ?theme WHERE {{
        ?entry nap:inReport <{REPORT}> ; nap:assessedActionPoint ?ap ; nap:status ?status .
        ?ap nap:pillar ?pillar ; nap:theme ?theme . ?pillar skos:notation ?pillarNotation }}""",
    )


# --- The four charts of the first model, on the entries ------------------------------------------------


def test_status_per_pillar_sums_to_16_6_11(server, store):
    per_pillar = collections.Counter()
    for row in table(server, "status-per-pillar"):
        per_pillar[row["pillarNotation"]] += int(row["actionPoints"])
    assert per_pillar == collections.Counter(e["pillarNotation"] for e in entries(store))
    assert dict(per_pillar) == {"1": 16, "2": 6, "3": 11}


def test_status_per_pillar_by_status_equals_the_graph(server, store):
    found = {(r["pillar"], r["status"]): int(r["actionPoints"]) for r in table(server, "status-per-pillar")}
    assert found == dict(collections.Counter((e["pillar"], e["status"]) for e in entries(store)))


def test_status_per_theme_equals_the_graph(server, store):
    found = {(r["theme"], r["status"]): int(r["actionPoints"]) for r in table(server, "status-per-theme")}
    assert found == dict(collections.Counter((e["theme"], e["status"]) for e in entries(store)))
    assert sum(found.values()) == 33 and len({theme for theme, _ in found}) == 16


def test_status_per_organisation_counts_shared_responsibility_for_each(server, store):
    found = {(r["organisation"], r["status"]): int(r["actionPoints"]) for r in table(server, "status-per-organisation")}
    expected = collections.defaultdict(set)
    for row in select(
        store,
        f"""SELECT ?ap ?status ?agent WHERE {{
            ?entry nap:inReport <{REPORT}> ; nap:assessedActionPoint ?ap ; nap:status ?status ;
                   nap:responsibility ?responsibility . ?responsibility prov:agent ?agent }}""",
    ):
        expected[(row["agent"], row["status"])].add(row["ap"])
    assert found == {k: len(v) for k, v in expected.items()}
    # Shared responsibility: the organisations together hold more action points than there are.
    assert sum(found.values()) > 33


def test_the_timeline_has_one_row_per_action_point_with_a_stated_period(server, store):
    rows = table(server, "timeline")
    stated = {
        e["ap"]: e
        for e in select(
            store,
            f"""SELECT ?ap ?start ?end ?status WHERE {{
            ?entry nap:inReport <{REPORT}> ; nap:assessedActionPoint ?ap ; nap:status ?status .
            OPTIONAL {{ ?entry nap:startYear ?start }} OPTIONAL {{ ?entry nap:endYear ?end }}
            FILTER(BOUND(?start) || BOUND(?end)) }}""",
        )
    }
    assert sorted(r["ap"] for r in rows) == sorted(stated)
    for row in rows:
        assert (row["startYear"], row["endYear"], row["status"]) == (
            stated[row["ap"]]["start"],
            stated[row["ap"]]["end"],
            stated[row["ap"]]["status"],
        )
        assert row["planPeriod"] == "2022/2026" and row["title"]
    assert 0 < len(rows) < 33  # some timelines ("Doorlopend") state no year


def test_the_timeline_draws_open_periods_to_the_plans_end(server):
    svg = ET.fromstring(server.get("/overview/timeline.svg").content)
    rows = [g for g in svg.iter(SVG_NS + "g") if g.get("class") == "row"]
    assert len(rows) == len(table(server, "timeline"))
    open_ended = [g for g in rows if g.get("data-end") == ""]
    assert open_ended and all(any(p.get("class") == "open-end" for p in g.iter(SVG_NS + "path")) for g in open_ended)
    closed = [g for g in rows if g.get("data-end") and g.get("data-start")]
    assert all(not any(p.get("class", "").startswith("open") for p in g.iter(SVG_NS + "path")) for g in closed)


# --- The framework charts: UNGP principles and OECD chapters ---------------------------------------------


def linked(store: ox.Store, cls: str) -> tuple[list[str], dict, dict]:
    """Every element of the class; (element, status) -> the action points linked to it with that status in
    the 2024 report; element -> the action points with a stated link to it."""
    elements = [r["e"] for r in select(store, f"SELECT ?e WHERE {{ ?e a {cls} }}")]
    by_status, stated = collections.defaultdict(set), collections.defaultdict(set)
    for r in select(
        store,
        f"""SELECT ?e ?ap ?status ?basis WHERE {{
            ?e a {cls} . ?link nap:frameworkElement ?e ; nap:actionPoint ?ap . OPTIONAL {{ ?link nap:basis ?basis }}
            ?entry nap:inReport <{REPORT}> ; nap:assessedActionPoint ?ap ; nap:status ?status }}""",
    ):
        by_status[(r["e"], r["status"])].add(r["ap"])
        if r["basis"] == STATED:
            stated[r["e"]].add(r["ap"])
    return elements, by_status, stated


def check_framework_chart(server: Client, chart: str) -> dict[str, int]:
    """The chart's CSV equals the links counted here; returns element -> total action points."""
    element, cls = FRAMEWORK_CHARTS[chart]
    elements, by_status, stated = linked(server.store, cls)
    rows = table(server, chart)
    found = {(r[element], r["status"]): int(r["actionPoints"]) for r in rows if r["status"]}
    assert found == {k: len(v) for k, v in by_status.items()}
    found_stated = collections.Counter()
    for r in rows:
        found_stated[r[element]] += int(r["statedActionPoints"])
    assert {k: v for k, v in found_stated.items() if v} == {k: len(v) for k, v in stated.items() if v}
    # Every element is listed, those without an action point once, with 0.
    assert {r[element] for r in rows} == set(elements)
    for r in rows:
        if not r["status"]:
            assert r["actionPoints"] == "0" and not any(e == r[element] for e, _ in by_status)
    totals = collections.Counter()
    for (e, _), aps in by_status.items():
        totals[e] += len(aps)
    return {e: totals[e] for e in elements}


@pytest.mark.parametrize("chart", FRAMEWORK_CHARTS)
def test_framework_charts_equal_the_links_in_the_data(server, chart):
    totals = check_framework_chart(server, chart)
    assert len(totals) == (31 if chart == "status-per-ungp-principle" else 11)
    svg = ET.fromstring(server.get(f"/overview/{chart}.svg").content)
    bars = {g.get("data-key"): int(g.get("data-total")) for g in svg.iter(SVG_NS + "g") if g.get("class") == "bar"}
    assert bars == {e.rsplit("/", 1)[-1]: n for e, n in totals.items()}


FIXTURE = """
@prefix nap: <https://w3id.org/nap-bhr/def#> .
@prefix ap: <https://w3id.org/nap-bhr/id/action-point/> .
@prefix flink: <https://w3id.org/nap-bhr/id/framework-link/> .
@prefix principle: <https://w3id.org/nap-bhr/id/ungp-principle/> .
@prefix chapter: <https://w3id.org/nap-bhr/id/oecd-chapter/> .
@prefix step: <https://w3id.org/nap-bhr/id/due-diligence-step/> .
@prefix basis: <https://w3id.org/nap-bhr/id/basis/> .

flink:t-19-ungp-25 a nap:FrameworkLink ; nap:actionPoint ap:nap-2022-19 ; nap:frameworkElement principle:25 ;
    nap:basis basis:editorial .
flink:t-31-ungp-25 a nap:FrameworkLink ; nap:actionPoint ap:nap-2022-31 ; nap:frameworkElement principle:25 ;
    nap:basis basis:stated .
# 31 to principle 31 on both bases: still one action point there.
flink:t-31-ungp-31-stated a nap:FrameworkLink ; nap:actionPoint ap:nap-2022-31 ; nap:frameworkElement principle:31 ;
    nap:basis basis:stated .
flink:t-31-ungp-31-editorial a nap:FrameworkLink ; nap:actionPoint ap:nap-2022-31 ;
    nap:frameworkElement principle:31 ; nap:basis basis:editorial .
flink:t-19-oecd-4 a nap:FrameworkLink ; nap:actionPoint ap:nap-2022-19 ; nap:frameworkElement chapter:4 ;
    nap:basis basis:editorial .
flink:t-01-oecd-4 a nap:FrameworkLink ; nap:actionPoint ap:nap-2022-01 ; nap:frameworkElement chapter:4 ;
    nap:basis basis:editorial .
flink:t-01-oecd-5 a nap:FrameworkLink ; nap:actionPoint ap:nap-2022-01 ; nap:frameworkElement chapter:5 ;
    nap:basis basis:editorial .
# A due diligence step is neither a principle nor a chapter.
flink:t-19-step-2 a nap:FrameworkLink ; nap:actionPoint ap:nap-2022-19 ; nap:frameworkElement step:2 ;
    nap:basis basis:editorial .
"""


@pytest.fixture(scope="module")
def fixture_server(store) -> Client:
    """The project's store without its framework links, with the links of FIXTURE in a graph of their own."""
    copy = ox.Store()
    copy.extend(store.quads_for_pattern(None, None, None, None))
    copy.update(
        PREFIXES + "DELETE { GRAPH ?g { ?link ?p ?o } } WHERE { GRAPH ?g { ?link nap:frameworkElement ?e ; ?p ?o } }"
    )
    copy.load(
        FIXTURE.encode(), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode("https://example.org/test/framework-links")
    )
    return Client(copy)


def test_the_principle_chart_on_the_fixture(fixture_server):
    totals = check_framework_chart(fixture_server, "status-per-ungp-principle")
    assert totals[PRINCIPLE + "25"] == 2  # 19 and 31
    assert totals[PRINCIPLE + "31"] == 1  # 31, on both bases: once
    assert sum(totals.values()) == 3 and len(totals) == 31
    rows = table(fixture_server, "status-per-ungp-principle")
    zero = [r for r in rows if r["principle"] == PRINCIPLE + "1"]
    assert len(zero) == 1 and zero[0]["actionPoints"] == "0" and zero[0]["status"] == ""
    assert sum(int(r["statedActionPoints"]) for r in rows if r["principle"] == PRINCIPLE + "25") == 1
    assert sum(int(r["statedActionPoints"]) for r in rows if r["principle"] == PRINCIPLE + "31") == 1
    # Every principle with its section and pillar, for the grouping.
    assert all(r["section"] and r["pillarNotation"] for r in rows)


def test_the_chapter_chart_on_the_fixture(fixture_server):
    totals = check_framework_chart(fixture_server, "status-per-oecd-chapter")
    assert (totals[CHAPTER + "4"], totals[CHAPTER + "5"], sum(totals.values()), len(totals)) == (2, 1, 3, 11)
    rows = table(fixture_server, "status-per-oecd-chapter")
    assert [r["chapterNotation"] for r in rows if not r["status"]] == [
        "I",
        "II",
        "III",
        "VI",
        "VII",
        "VIII",
        "IX",
        "X",
        "XI",
    ]


def test_the_fixture_page_shows_zeros_and_says_what_counts(fixture_server):
    page = fixture_server.get("/overview?lang=en").text
    section = re.search(r'<section[^>]* id="status-per-ungp-principle"(.*?)</section>', page, re.S).group(1)
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", section, re.S).group(0))
    bars = [g for g in svg.iter(SVG_NS + "g") if g.get("class") == "bar"]
    assert [g.get("data-key") for g in bars] == [str(n) for n in range(1, 32)]
    assert {g.get("data-key"): g.get("data-total") for g in bars if g.get("data-total") != "0"} == {
        "25": "2",
        "31": "1",
    }
    # Grouped: the three pillars as headings, and at least one section within each.
    assert len([t for t in svg.iter(SVG_NS + "text") if t.get("class") == "group"]) == 3
    assert len([t for t in svg.iter(SVG_NS + "text") if t.get("class") == "subgroup"]) >= 3
    caption = re.search(r"<figcaption>(.*?)</figcaption>", section, re.S).group(1)
    assert "counts once for each" in caption and "Stated and editorial links both count" in caption
    note = "".join(next(t for t in svg.iter(SVG_NS + "text") if t.get("class") == "note").itertext())
    assert "counts once for each" in note  # the downloaded SVG keeps the caveat
    # The table: a row per principle, the zero ones with 0, and the stated column.
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.S).group(1)
    assert body.count("<tr>") == 31 and "stated link" in section
    assert "2<small> / 31</small>" in page  # the key figure: principles with an action point


# --- The page and the files -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(server) -> str:
    response = server.get("/overview")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    return response.text


@pytest.mark.parametrize("chart", CHART_IDS)
def test_each_chart_has_its_svg_query_files_and_table(server, page, chart):
    section = re.search(rf'<section[^>]* id="{chart}"(.*?)</section>', page, re.S).group(1)
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", section, re.S).group(0))
    assert svg.get("role") == "img" and svg.find(SVG_NS + "title").text and svg.find(SVG_NS + "desc").text
    assert any(g.get("class") == "legend" for g in svg.iter(SVG_NS + "g"))
    # The query shown is the query the editor link opens.
    shown = re.search(r"<pre><code>(.*?)</code></pre>", section, re.S).group(1)
    link = re.search(r'href="/#query=([^"]+)"', section).group(1)
    assert unquote(html.unescape(link)) == html.unescape(shown)
    assert "<table" in section and "<details" in section
    for ext, media in (("svg", "image/svg+xml"), ("csv", "text/csv")):
        assert f'href="/overview/{chart}.{ext}"' in section
        response = server.get(f"/overview/{chart}.{ext}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    ET.fromstring(server.get(f"/overview/{chart}.svg").content)


def test_the_page_in_english(server):
    response = server.get("/overview", params={"lang": "en"})
    assert '<html lang="en">' in response.text and "Status per pillar" in response.text
    assert "Action points by UNGP principle and status" in response.text
    rows = table(server, "status-per-pillar", "en")
    assert {r["statusLabel"] for r in rows} >= {"Completed", "Ongoing"}
    assert all(r["pillarLabel"] and r["principleLabel"] for r in table(server, "status-per-ungp-principle", "en"))


def test_an_unknown_chart_is_404(server):
    assert server.get("/overview/nothing.csv").status_code == 404
    assert server.get("/overview/timeline.png").status_code == 404
