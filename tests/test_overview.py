"""/overview: each chart's data (its CSV) against counts computed here, in Python, from load_project().

The 2024 report's numbers are also written out (16, 6 and 11 action points per pillar), but each test
compares with what the graph says first, so a corrected or added report changes the expectation with it.
"""
from __future__ import annotations

import collections
import csv
import html
import io
import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import httpx
import pytest
import rdflib
from rdflib.namespace import RDF, SKOS

from napkg.namespaces import NAP, PROV
from napkg.overview import CHART_IDS
from server import running_server

REPORT = rdflib.URIRef("https://w3id.org/nap-bhr/id/report/2024")
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def server():
    with running_server("--workers", "1") as s:
        yield s


def table(server, chart: str, lang: str = "nl") -> list[dict]:
    response = httpx.get(f"{server.url}/overview/{chart}.csv", params={"lang": lang}, timeout=60)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def assessments(graph: rdflib.Graph) -> dict:
    """action point -> its status in the 2024 report."""
    return {graph.value(sa, NAP.assessedActionPoint): graph.value(sa, NAP.status)
            for sa in graph.subjects(NAP.inReport, REPORT)}


def test_status_per_pillar_sums_to_16_6_11(server, graph):
    rows = table(server, "status-per-pillar")
    per_pillar = collections.Counter()
    for row in rows:
        per_pillar[row["pillarNotation"]] += int(row["actionPoints"])
    expected = collections.Counter(str(graph.value(graph.value(ap, NAP.pillar), SKOS.notation)) for ap in assessments(graph))
    assert per_pillar == expected
    assert dict(per_pillar) == {"1": 16, "2": 6, "3": 11}


def test_status_per_pillar_by_status_equals_the_graph(server, graph):
    found = {(r["pillar"], r["status"]): int(r["actionPoints"]) for r in table(server, "status-per-pillar")}
    expected = collections.Counter((str(graph.value(ap, NAP.pillar)), str(status)) for ap, status in assessments(graph).items())
    assert found == dict(expected)


def test_status_per_theme_equals_the_graph(server, graph):
    found = {(r["theme"], r["status"]): int(r["actionPoints"]) for r in table(server, "status-per-theme")}
    expected = collections.Counter((str(graph.value(ap, NAP.theme)), str(status)) for ap, status in assessments(graph).items())
    assert found == dict(expected)
    assert sum(found.values()) == 33 and len({theme for theme, _ in found}) == 16


def test_status_per_organisation_counts_shared_responsibility_for_each(server, graph):
    found = {(r["organisation"], r["status"]): int(r["actionPoints"]) for r in table(server, "status-per-organisation")}
    expected = collections.defaultdict(set)
    for ap, status in assessments(graph).items():
        for responsibility in graph.objects(ap, NAP.responsibility):
            expected[(str(graph.value(responsibility, PROV.agent)), str(status))].add(ap)
    assert found == {k: len(v) for k, v in expected.items()}
    # Shared responsibility: the organisations together hold more action points than there are.
    assert sum(found.values()) > 33


def test_the_timeline_has_one_row_per_action_point_with_a_stated_period(server, graph):
    rows = table(server, "timeline")
    stated = {ap for ap in graph.subjects(RDF.type, NAP.ActionPoint)
              if graph.value(ap, NAP.startYear) is not None or graph.value(ap, NAP.endYear) is not None}
    assert sorted(r["ap"] for r in rows) == sorted(map(str, stated))
    for row in rows:
        ap = rdflib.URIRef(row["ap"])
        assert row["startYear"] == str(graph.value(ap, NAP.startYear) or "")
        assert row["endYear"] == str(graph.value(ap, NAP.endYear) or "")
        assert row["status"] == str(assessments(graph)[ap])
        assert row["planPeriod"] == "2022/2026"
    assert 0 < len(rows) < 33  # some timelines ("Doorlopend") state no year


def test_the_timeline_draws_open_periods_to_the_plans_end(server, graph):
    svg = ET.fromstring(httpx.get(f"{server.url}/overview/timeline.svg", timeout=60).content)
    rows = [g for g in svg.iter(SVG_NS + "g") if g.get("class") == "row"]
    assert len(rows) == len(table(server, "timeline"))
    open_ended = [g for g in rows if g.get("data-end") == ""]
    assert open_ended and all(any(p.get("class") == "open-end" for p in g.iter(SVG_NS + "path")) for g in open_ended)
    closed = [g for g in rows if g.get("data-end") and g.get("data-start")]
    assert all(not any(p.get("class", "").startswith("open") for p in g.iter(SVG_NS + "path")) for g in closed)


# --- The page and the files -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page(server) -> str:
    response = httpx.get(server.url + "/overview", timeout=60)
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
        response = httpx.get(f"{server.url}/overview/{chart}.{ext}", timeout=60)
        assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    ET.fromstring(httpx.get(f"{server.url}/overview/{chart}.svg").content)


def test_the_page_in_english(server):
    response = httpx.get(server.url + "/overview?lang=en", timeout=60)
    assert '<html lang="en">' in response.text and "Status per pillar" in response.text
    rows = table(server, "status-per-pillar", "en")
    assert {r["statusLabel"] for r in rows} >= {"Completed", "Ongoing"}


def test_an_unknown_chart_is_404(server):
    assert httpx.get(server.url + "/overview/nothing.csv").status_code == 404
    assert httpx.get(server.url + "/overview/timeline.png").status_code == 404
