"""/overview in a real headless Chromium (Debian's): what a reader sees in the rendered charts.

Reads the rendered SVG, not the HTML source: the pillar bars must show 16, 6 and 11 action points, with
widths in that proportion; the timeline must have one row per action point with a stated period; the UNGP
chart a row per principle (31) and the OECD chart a bar per chapter (11), zeros included; the
"open in the editor" link must land in the query editor with the chart's query; and the page must fetch
nothing from any other host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from rdflib import URIRef
from rdflib.namespace import SKOS

from browser import browser, require, server  # noqa: F401 (fixtures)
from napkg.graph.namespaces import NAP

require()

TIMEOUT = 30_000
REPORT = URIRef("https://w3id.org/nap-bhr/id/report/2024")


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.set_default_timeout(TIMEOUT)
    page.goto(server.url + "/overview")
    yield page
    context.close()


def test_status_per_pillar_shows_16_6_and_11(page):
    bars = page.eval_on_selector_all(
        "#status-per-pillar-svg g.bar",
        """bars => bars.map(bar => ({
        key: bar.dataset.key,
        total: bar.querySelector('text.total').textContent.trim(),
        counts: [...bar.querySelectorAll('rect.segment')].map(r => Number(r.dataset.count)),
        width: [...bar.querySelectorAll('rect.segment')].reduce((w, r) => w + r.getBBox().width, 0),
        shown: [...bar.querySelectorAll('text.count')].map(t => Number(t.textContent)),
    }))""",
    )
    assert [(b["key"], b["total"]) for b in bars] == [("1", "16"), ("2", "6"), ("3", "11")]
    for b in bars:
        assert sum(b["counts"]) == int(b["total"])
        assert sum(b["shown"]) == int(b["total"]), "every segment is wide enough to print its number"
    # The bars are drawn to scale: 16 : 6 : 11.
    unit = bars[0]["width"] / 16
    assert bars[1]["width"] == pytest.approx(6 * unit, rel=0.01)
    assert bars[2]["width"] == pytest.approx(11 * unit, rel=0.01)
    assert page.locator("#status-per-pillar-svg").is_visible()


def test_the_timeline_has_a_row_per_action_point_with_a_stated_period(page, graph):
    # The entries of the 2024 report that state a start or an end year.
    entries = [
        sa
        for sa in graph.subjects(NAP.inReport, REPORT)
        if graph.value(sa, NAP.startYear) is not None or graph.value(sa, NAP.endYear) is not None
    ]
    expected = sorted(str(graph.value(graph.value(sa, NAP.assessedActionPoint), SKOS.notation)) for sa in entries)
    rows = page.eval_on_selector_all(
        "#timeline-svg g.row",
        """rows => rows.map(r => ({
        ap: r.dataset.ap, start: r.dataset.start, end: r.dataset.end,
        width: r.querySelector('rect.period').getBBox().width }))""",
    )
    assert sorted(r["ap"] for r in rows) == expected
    assert len({r["ap"] for r in rows}) == len(rows)
    assert all(r["width"] > 0 for r in rows)


def test_every_ungp_principle_has_a_row_and_every_oecd_chapter_a_bar(page):
    for chart, n in (("status-per-ungp-principle", 31), ("status-per-oecd-chapter", 11)):
        bars = page.eval_on_selector_all(
            f"#{chart}-svg g.bar",
            """bars => bars.map(bar => ({
            total: Number(bar.dataset.total),
            shown: bar.querySelector('text.total').textContent.trim(),
            counts: [...bar.querySelectorAll('rect.segment')].map(r => Number(r.dataset.count)),
            label: bar.querySelector('text.bar-label').getBBox().width,
        }))""",
        )
        assert len(bars) == n
        for b in bars:
            assert b["shown"].startswith(str(b["total"])) and sum(b["counts"]) == b["total"]
            assert b["label"] > 0
    # The principles stand under their pillars and sections, and the SVG says what is counted.
    assert page.locator("#status-per-ungp-principle-svg text.group").count() == 3
    assert page.locator("#status-per-ungp-principle-svg text.note").is_visible()


def test_each_chart_has_a_title_a_legend_and_its_table(page):
    for chart in (
        "status-per-pillar",
        "status-per-theme",
        "status-per-organisation",
        "status-per-ungp-principle",
        "status-per-oecd-chapter",
        "timeline",
    ):
        svg = page.locator(f"#{chart}-svg")
        assert svg.get_attribute("role") == "img"
        assert page.locator(f"#{chart}-svg > title").text_content()
        assert page.locator(f"#{chart}-svg g.legend-item").count() >= 2
        section = page.locator(f"section#{chart}")
        section.locator("summary").first.click()
        assert section.locator("table.data-table tbody tr").first.is_visible()


def test_the_editor_link_opens_the_query(page, server):
    query = page.locator("section#status-per-pillar pre code").text_content()
    page.locator("section#status-per-pillar .chart-actions a", has_text="editor").click()
    page.wait_for_selector("html[data-editor=ready]")
    assert page.evaluate("window.napEditor.yasgui.getTab().getQuery()").strip() == query.strip()


def test_nothing_is_fetched_from_elsewhere(page, server):
    page.wait_for_load_state("networkidle")
    hosts = {urlsplit(u).hostname for u in page.requests if u.startswith("http")}
    assert hosts == {"127.0.0.1"}
