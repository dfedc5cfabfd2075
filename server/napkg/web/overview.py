"""/overview: the charts a researcher puts in a report, drawn here as SVG from SPARQL queries.

Each chart is one SELECT query on the server's own store (Context.store, never the user query workers),
for the latest progress report in the data. The page shows the query (and opens it in the query editor),
and offers the chart as an SVG file and its data (the query's result) as CSV. No script runs in the page:
the charts are plain SVG with a title, a description, a legend and, beside them, the same numbers as a
table.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from ..endpoint.context import Context
from ..graph.namespaces import PREFIXES
from .docs import FONT, text_width
from .templating import page_lang, render

INK, MUTED, GRID, ACCENT = "#1a1a1a", "#535353", "#d6d6d6", "#154273"
HALO = 'stroke="#ffffff" stroke-width="5" stroke-linejoin="round" paint-order="stroke"'  # text readable over grid lines

#: Order of the statuses in legends and stacks: done first, then on track, then the rest.
STATUS_ORDER = ["completed", "on-schedule", "in-progress", "ongoing", "in-consultation", "delayed", "not-applicable"]
#: status -> (fill, text on the fill); colours of the Dutch government palette, with enough contrast for the
#: numbers printed on them.
STATUS_COLOURS = {
    "completed": ("#39870c", "#ffffff"),
    "on-schedule": ("#01689b", "#ffffff"),
    "in-progress": ("#8fcae7", "#1a1a1a"),
    "ongoing": ("#42145f", "#ffffff"),
    "in-consultation": ("#ffb612", "#1a1a1a"),
    "delayed": ("#e17000", "#1a1a1a"),
    "not-applicable": ("#b4b4b4", "#1a1a1a"),
}
SPARE_COLOURS = [("#a90061", "#ffffff"), ("#007bc7", "#ffffff"), ("#94710a", "#ffffff"), ("#275937", "#ffffff")]


def prologue(*names: str) -> str:
    return "".join(f"PREFIX {n}: <{PREFIXES[n]}>\n" for n in names)


def key_of(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1]


def report_term(iri: str) -> str:
    """report:2024 where the IRI allows it (the queries are shown to people), else <IRI>."""
    if iri.startswith(PREFIXES["report"]) and re.fullmatch(r"[\w-]+", iri[len(PREFIXES["report"]) :]):
        return "report:" + iri[len(PREFIXES["report"]) :]
    return f"<{iri}>"


def label_pattern(subject: str, prop: str, var: str, lang: str) -> str:
    """?var: the subject's label in lang, else in Dutch (the data's own language), else any."""
    return (
        (
            f'  OPTIONAL {{ {subject} {prop} ?{var}_{lang} FILTER(lang(?{var}_{lang}) = "{lang}") }}\n'
            f'  OPTIONAL {{ {subject} {prop} ?{var}_nl FILTER(lang(?{var}_nl) = "nl") }}\n'
            f"  BIND(COALESCE(?{var}_{lang}, ?{var}_nl) AS ?{var})\n"
        )
        if lang != "nl"
        else (f'  OPTIONAL {{ {subject} {prop} ?{var} FILTER(lang(?{var}) = "nl") }}\n')
    )


def indent(text: str) -> str:
    return "".join("  " + line + "\n" for line in text.splitlines())


# --- The queries -------------------------------------------------------------------------------------


def q_pillar(report: str, year: str, lang: str) -> str:
    return (
        prologue("nap", "report", "skos")
        + f"\n# Action points per UNGP pillar and status in the {year} progress report.\n"
        "SELECT ?pillar ?pillarNotation ?pillarLabel ?pillarName ?status ?statusLabel\n"
        "       (COUNT(DISTINCT ?ap) AS ?actionPoints)\n"
        "WHERE {\n"
        f"  ?assessment nap:inReport {report_term(report)} ;\n"
        "              nap:assessedActionPoint ?ap ;\n"
        "              nap:status ?status .\n"
        "  ?ap nap:pillar ?pillar .\n"
        "  ?pillar skos:notation ?pillarNotation .\n"
        + label_pattern("?pillar", "skos:altLabel", "pillarLabel", lang)
        + label_pattern("?pillar", "skos:prefLabel", "pillarName", lang)
        + label_pattern("?status", "skos:prefLabel", "statusLabel", lang)
        + "}\n"
        "GROUP BY ?pillar ?pillarNotation ?pillarLabel ?pillarName ?status ?statusLabel\n"
        "ORDER BY ?pillarNotation ?status\n"
    )


def q_theme(report: str, year: str, lang: str) -> str:
    return (
        prologue("nap", "report", "skos") + f"\n# Action points per theme and status in the {year} progress report.\n"
        "SELECT ?theme ?themeNotation ?themeLabel ?pillarNotation ?status ?statusLabel\n"
        "       (COUNT(DISTINCT ?ap) AS ?actionPoints)\n"
        "WHERE {\n"
        f"  ?assessment nap:inReport {report_term(report)} ;\n"
        "              nap:assessedActionPoint ?ap ;\n"
        "              nap:status ?status .\n"
        "  ?ap nap:theme ?theme .\n"
        "  ?theme skos:notation ?themeNotation .\n"
        "  OPTIONAL { ?theme nap:pillar/skos:notation ?pillarNotation }\n"
        + label_pattern("?theme", "skos:prefLabel", "themeLabel", lang)
        + label_pattern("?status", "skos:prefLabel", "statusLabel", lang)
        + "}\n"
        "GROUP BY ?theme ?themeNotation ?themeLabel ?pillarNotation ?status ?statusLabel\n"
        "ORDER BY ?themeNotation ?status\n"
    )


def q_organisation(report: str, year: str, lang: str) -> str:
    return (
        prologue("nap", "report", "prov", "rdfs", "skos")
        + f"\n# Action points per responsible organisation and status in the {year} progress report.\n"
        "# An action point with several responsible organisations counts once for each of them.\n"
        "SELECT ?organisation ?organisationLabel (SAMPLE(?abbreviation) AS ?short) ?status ?statusLabel\n"
        "       (COUNT(DISTINCT ?ap) AS ?actionPoints)\n"
        "WHERE {\n"
        f"  ?assessment nap:inReport {report_term(report)} ;\n"
        "              nap:assessedActionPoint ?ap ;\n"
        "              nap:status ?status ;\n"
        "              nap:responsibility/prov:agent ?organisation .\n"
        "  OPTIONAL { ?organisation skos:altLabel ?abbreviation }\n"
        + label_pattern("?organisation", "rdfs:label", "organisationLabel", lang)
        + label_pattern("?status", "skos:prefLabel", "statusLabel", lang)
        + "}\n"
        "GROUP BY ?organisation ?organisationLabel ?status ?statusLabel\n"
        "ORDER BY ?organisationLabel ?status\n"
    )


def q_timeline(report: str, year: str, lang: str) -> str:
    return (
        prologue("nap", "report", "dct", "skos")
        + f"\n# Every action point whose timeline in the {year} progress report states a start or an end year, with\n"
        "# its status there and the period of its plan (open-ended periods are drawn to the plan's end).\n"
        "SELECT ?ap ?notation ?title ?startYear ?endYear ?planPeriod ?status ?statusLabel\n"
        "WHERE {\n"
        f"  ?assessment nap:inReport {report_term(report)} ;\n"
        "              nap:assessedActionPoint ?ap .\n"
        "  ?ap skos:notation ?notation .\n"
        "  OPTIONAL { ?assessment nap:startYear ?startYear }\n"
        "  OPTIONAL { ?assessment nap:endYear ?endYear }\n"
        "  FILTER(BOUND(?startYear) || BOUND(?endYear))\n"
        "  OPTIONAL { ?ap dct:isPartOf/dct:temporal ?planPeriod }\n"
        + label_pattern("?assessment", "dct:title", "title", lang)
        + "  OPTIONAL {\n"
        "    ?assessment nap:status ?status .\n"
        + indent(label_pattern("?status", "skos:prefLabel", "statusLabel", lang))
        + "  }\n"
        "}\n"
        "ORDER BY ?notation\n"
    )


def _linked(report: str, element: str, lang: str) -> str:
    """The action points linked to ?{element}, each with its status in the report; ?statedAp where the
    link's basis is stated. In an OPTIONAL, so that an element without any link still gives a row."""
    return (
        "  OPTIONAL {\n"
        "    ?link a nap:FrameworkLink ;\n"
        f"          nap:frameworkElement ?{element} ;\n"
        "          nap:actionPoint ?ap .\n"
        f"    ?assessment nap:inReport {report_term(report)} ;\n"
        "                nap:assessedActionPoint ?ap ;\n"
        "                nap:status ?status .\n"
        "    OPTIONAL { ?link nap:basis basis:stated ; nap:actionPoint ?statedAp }\n"
        + indent(label_pattern("?status", "skos:prefLabel", "statusLabel", lang))
        + "  }\n"
    )


def q_principle(report: str, year: str, lang: str) -> str:
    return (
        prologue("nap", "report", "basis", "skos", "xsd")
        + f"\n# Action points per UNGP principle and their status in the {year} progress report, each principle with\n"
        "# its section (the heading it stands under) and pillar. An action point linked to several principles\n"
        "# counts once for each of them. Links of both bases count: stated by the report and editorial (our\n"
        "# coding); ?statedActionPoints counts the action points with a stated link. A principle without any\n"
        "# linked action point gives one row with 0.\n"
        "SELECT ?principle ?principleNotation ?principleLabel ?section ?sectionNotation ?sectionLabel\n"
        "       ?pillar ?pillarNotation ?pillarLabel ?pillarName ?status ?statusLabel\n"
        "       (COUNT(DISTINCT ?ap) AS ?actionPoints) (COUNT(DISTINCT ?statedAp) AS ?statedActionPoints)\n"
        "WHERE {\n"
        "  ?principle a nap:UNGPPrinciple ;\n"
        "             skos:notation ?principleNotation .\n"
        + label_pattern("?principle", "skos:prefLabel", "principleLabel", lang)
        + "  OPTIONAL {\n"
        "    ?principle skos:broader ?section .\n"
        "    ?section a nap:UNGPSection .\n"
        "    OPTIONAL { ?section skos:notation ?sectionNotation }\n"
        + indent(label_pattern("?section", "skos:prefLabel", "sectionLabel", lang))
        + "  }\n"
        "  OPTIONAL {\n"
        "    ?principle (nap:pillar|skos:broader)+ ?pillar .\n"
        "    ?pillar a nap:UNGPPillar ;\n"
        "            skos:notation ?pillarNotation .\n"
        + indent(label_pattern("?pillar", "skos:altLabel", "pillarLabel", lang))
        + indent(label_pattern("?pillar", "skos:prefLabel", "pillarName", lang))
        + "  }\n"
        + _linked(report, "principle", lang)
        + "}\n"
        "GROUP BY ?principle ?principleNotation ?principleLabel ?section ?sectionNotation ?sectionLabel\n"
        "         ?pillar ?pillarNotation ?pillarLabel ?pillarName ?status ?statusLabel\n"
        "ORDER BY xsd:integer(?principleNotation) ?status\n"
    )


def q_chapter(report: str, year: str, lang: str) -> str:
    return (
        prologue("nap", "report", "basis", "skos")
        + f"\n# Action points per chapter of the OECD Guidelines and their status in the {year} progress report.\n"
        "# An action point linked to several chapters counts once for each of them. Links of both bases count:\n"
        "# stated by the report and editorial (our coding); ?statedActionPoints counts the action points with a\n"
        "# stated link. A chapter without any linked action point gives one row with 0.\n"
        "SELECT ?chapter ?chapterNotation ?chapterLabel ?status ?statusLabel\n"
        "       (COUNT(DISTINCT ?ap) AS ?actionPoints) (COUNT(DISTINCT ?statedAp) AS ?statedActionPoints)\n"
        "WHERE {\n"
        "  ?chapter a nap:OECDGuidelinesChapter ;\n"
        "           skos:notation ?chapterNotation .\n"
        + label_pattern("?chapter", "skos:prefLabel", "chapterLabel", lang)
        + _linked(report, "chapter", lang)
        + "}\n"
        "GROUP BY ?chapter ?chapterNotation ?chapterLabel ?status ?statusLabel\n"
        "# chapter:1 ... chapter:11 in their order (the notations are Roman numerals)\n"
        "ORDER BY STRLEN(STR(?chapter)) ?chapter ?status\n"
    )


# --- Running them ----------------------------------------------------------------------------------


def value(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> str:
    return "" if term is None else term.value


@dataclass
class Result:
    variables: list[str]
    rows: list[dict[str, str]]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.variables)
        for row in self.rows:
            writer.writerow([row.get(v, "") for v in self.variables])
        return out.getvalue()


def run(context: Context, query: str) -> Result:
    result = context.store.query(query, use_default_graph_as_union=context.union_default_graph)
    assert isinstance(result, ox.QuerySolutions), "a SELECT query"
    variables = [v.value for v in result.variables]
    return Result(variables, [{v: value(s[v]) for v in variables} for s in result])


@dataclass
class Report:
    iri: str
    year: str
    label: str
    page: str
    identifier: str


def latest_report(context: Context, lang: str) -> Report | None:
    rows = run(
        context,
        prologue("nap", "rdfs", "foaf", "dct") + "SELECT ?report ?year ?label ?page ?identifier WHERE {\n"
        "  ?report a nap:ProgressReport ; nap:reportingYear ?year .\n"
        + label_pattern("?report", "rdfs:label", "label", lang)
        + "  OPTIONAL { ?report foaf:page ?page }\n  OPTIONAL { ?report dct:identifier ?identifier }\n"
        "} ORDER BY DESC(STR(?year)) ?report LIMIT 1",
    ).rows
    if not rows:
        return None
    r = rows[0]
    return Report(r["report"], r["year"], r["label"], r["page"], r["identifier"])


# --- Drawing ---------------------------------------------------------------------------------------


def shorten(text: str, width: float, size: float) -> str:
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text.rstrip(" ,;:–-") + "…"


class Palette:
    def __init__(self, statuses: list[str]):
        self.colours, spare = {}, iter(SPARE_COLOURS * 4)
        for s in statuses:
            self.colours[s] = STATUS_COLOURS.get(s) or next(spare)

    def fill(self, s: str) -> str:
        return self.colours.get(s, ("#777777", "#ffffff"))[0]

    def ink(self, s: str) -> str:
        return self.colours.get(s, ("#777777", "#ffffff"))[1]


def order_statuses(keys: Iterable[str]) -> list[str]:
    keys = set(keys)
    return [s for s in STATUS_ORDER if s in keys] + sorted(keys - set(STATUS_ORDER))


def svg_open(chart_id: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}-svg" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="{escape(FONT)}" font-size="13" fill="{INK}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
    ]


def legend(items: list[tuple[str, str, str]], x0: float, y0: float, width: float) -> tuple[list[str], float]:
    """Swatches with labels, flowing into rows; returns the SVG and the height used. items: (key, label, fill)."""
    out, x, y = ['<g class="legend">'], x0, y0
    for key, label, fill in items:
        w = 16 + 6 + text_width(label, 13) * 1.12 + 18  # room for a wider fallback font (DejaVu Sans)
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + 22
        out.append(
            f'<g class="legend-item" data-status={quoteattr(key)}><rect x="{x:.1f}" y="{y:.1f}" width="14" height="14" '
            f'rx="2" fill="{fill}"/><text x="{x + 20:.1f}" y="{y + 12:.1f}" font-size="13">{escape(label)}</text></g>'
        )
        x += w
    out.append("</g>")
    return out, y + 22 - y0


def nice_step(maximum: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100):
        if maximum / step <= 10:
            return step
    return 10 ** math.ceil(math.log10(maximum))


def wrap(text: str, width: float, size: float) -> list[str]:
    """The text in lines no wider than width (at this font size), broken between words."""
    lines, line = [], ""
    for word in text.split():
        if line and text_width(f"{line} {word}", size) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + ([line] if line else [])


@dataclass
class Bar:
    key: str
    label: str
    counts: dict[str, int]
    heading: str = ""  # a group heading drawn above this bar
    subheading: str = ""  # a heading within the group (a UNGP section within its pillar)
    group: str = ""  # what the bars are grouped by (a theme's pillar)
    title: str = ""  # full name, for the tooltip and the table
    note: str = ""  # added to the tooltip of the bar's total

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class BarChart:
    id: str
    title: str
    desc: str
    bars: list[Bar]
    statuses: list[tuple[str, str]]  # (key, label) in legend order
    unit: tuple[str, str] = ("action point", "action points")
    axis_label: str = ""
    width: int = 660
    #: 0: each bar's label above it; else the width of a label column beside the bars (one line per bar,
    #: for charts with many bars: the 31 UNGP principles).
    label_width: int = 0
    note: str = ""  # printed under the axis, so that a downloaded figure keeps its caveat

    def svg(self) -> str:
        W, M, RIGHT = self.width, 16, 52
        palette = Palette([k for k, _ in self.statuses])
        # The legend wraps at 460 units: on a phone the chart scrolls sideways, and the legend stays in view.
        leg, leg_h = legend([(k, lbl, palette.fill(k)) for k, lbl in self.statuses], M, 14, min(W - 2 * M, 460))
        top = 14 + leg_h + 14
        maximum = max((b.total for b in self.bars), default=1) or 1
        step = nice_step(maximum)
        scale_max = math.ceil(maximum / step) * step
        beside = self.label_width > 0
        plot_x = M + self.label_width
        plot_w = W - plot_x - RIGHT
        bar_h = 18 if beside else 22
        y = top
        rows = []
        for bar in self.bars:
            if bar.heading:
                y += 10
                # Bold, and room for a wider fallback font: wrapped well inside the chart.
                lines = wrap(bar.heading, (W - M - RIGHT) * 0.85 / 1.07, 13.5)
                rows.append(
                    f'<text class="group" x="{M}" y="{y + 14:.1f}" font-size="13.5" font-weight="700" '
                    f'fill="{ACCENT}" {HALO}>'
                    + "".join(
                        f'<tspan x="{M}" dy="{0 if i == 0 else 18}">{escape(line)}</tspan>'
                        for i, line in enumerate(lines)
                    )
                    + "</text>"
                )
                y += 24 + 18 * (len(lines) - 1)
            if bar.subheading:
                y += 4
                rows.append(
                    f'<text class="subgroup" x="{M}" y="{y + 13:.1f}" font-size="12.5" font-weight="600" '
                    f'fill="{MUTED}" {HALO}>{escape(shorten(bar.subheading, (W - M - RIGHT) * 0.9, 12.5))}</text>'
                )
                y += 20
            rows.append(f'<g class="bar" data-key={quoteattr(bar.key)} data-total="{bar.total}">')
            if beside:
                by = y + 2
                rows.append(
                    f'<text class="bar-label" x="{M + 8}" y="{by + 13.5:.1f}" font-size="13">'
                    f"{escape(shorten(bar.label, self.label_width - 16, 13))}"
                    f"<title>{escape(bar.title or bar.label)}</title></text>"
                )
            else:
                by = y + 19
                rows.append(
                    f'<text class="bar-label" x="{M}" y="{y + 13:.1f}" font-size="14" {HALO}>'
                    f"{escape(shorten(bar.label, plot_w, 14))}</text>"
                )
            x = float(plot_x)
            for key, label in self.statuses:
                n = bar.counts.get(key, 0)
                if not n:
                    continue
                w = plot_w * n / scale_max
                rows.append(
                    f'<rect class="segment" data-status={quoteattr(key)} data-count="{n}" x="{x:.2f}" y="{by:.1f}" '
                    f'width="{w:.2f}" height="{bar_h}" fill="{palette.fill(key)}" stroke="#ffffff" stroke-width="1">'
                    f"<title>{escape(bar.title or bar.label)}: {escape(label)}: {n}</title></rect>"
                )
                if w >= 16:
                    rows.append(
                        f'<text class="count" x="{x + w / 2:.1f}" y="{by + bar_h / 2 + 4.5:.1f}" text-anchor="middle" '
                        f'font-size="{12 if beside else 13}" font-weight="600" fill="{palette.ink(key)}" '
                        f'aria-hidden="true">{n}</text>'
                    )
                x += w
            note = f"<title>{escape(bar.note)}</title>" if bar.note else ""
            rows.append(
                f'<text class="total" x="{x + 7:.1f}" y="{by + bar_h / 2 + 5:.1f}" font-size="13.5" font-weight="700">'
                f"{bar.total}{note}</text>"
            )
            rows.append("</g>")
            y = by + bar_h + (6 if beside else 14)
        bottom = y
        grid = ['<g class="grid">']
        for n in range(0, scale_max + 1, step):
            gx = plot_x + plot_w * n / scale_max
            dash = "" if n == 0 else ' stroke-dasharray="3 3"'
            grid.append(
                f'<line x1="{gx:.1f}" x2="{gx:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="{GRID}" '
                f'stroke-width="{1.2 if n == 0 else 0.8}"{dash}/>'
            )
            grid.append(
                f'<text x="{gx:.1f}" y="{bottom + 16:.1f}" text-anchor="middle" font-size="12" '
                f'fill="{MUTED}">{n}</text>'
            )
        grid.append(
            f'<text x="{plot_x + plot_w / 2:.1f}" y="{bottom + 36:.1f}" text-anchor="middle" font-size="12.5" '
            f'fill="{MUTED}">{escape(self.axis_label)}</text>'
        )
        grid.append("</g>")
        height = bottom + 48
        if self.note:
            # text_width() fits the first fonts of FONT; a wider fallback (DejaVu Sans) must fit too.
            lines = wrap(self.note, (W - 2 * M) * 0.85, 12)
            grid.append(
                f'<text class="note" x="{M}" y="{height + 4:.1f}" font-size="12" fill="{MUTED}">'
                + "".join(
                    f'<tspan x="{M}" dy="{0 if i == 0 else 16}">{escape(line)}</tspan>' for i, line in enumerate(lines)
                )
                + "</text>"
            )
            height += 16 * len(lines) + 8
        out = svg_open(self.id, W, height, self.title, self.desc)
        return "\n".join(out + leg + grid + rows + ["</svg>"])


@dataclass
class Period:
    ap: str
    notation: str
    title: str
    start: int | None
    end: int | None
    status: str
    status_label: str

    def drawn(self, plan_start: int, plan_end: int) -> tuple[int, int]:
        return (
            self.start if self.start is not None else plan_start,
            self.end if self.end is not None else max(plan_end, self.start or plan_end),
        )


@dataclass
class Timeline:
    id: str
    title: str
    desc: str
    rows: list[Period]
    statuses: list[tuple[str, str]]
    plan: tuple[int, int]
    report_year: int | None
    lang: str
    width: int = 960

    def svg(self) -> str:
        en = self.lang == "en"
        W, M, LABEL, RIGHT = self.width, 16, 300, 24
        palette = Palette([k for k, _ in self.statuses])
        plan_start, plan_end = self.plan
        years = [y for p in self.rows for y in (p.start, p.end) if y is not None] + [plan_start, plan_end]
        first, last = min(years), max(years)
        n_years = last - first + 1
        plot_x, plot_w = M + LABEL, W - M - LABEL - RIGHT
        yw = plot_w / n_years
        sx = lambda year: plot_x + (year - first) * yw  # noqa: E731 - left edge of a year
        items = [(k, lbl, palette.fill(k)) for k, lbl in self.statuses]
        leg, leg_h = legend(items, M, 14, W - 2 * M)
        marks_y = 14 + leg_h + 4
        open_end = (
            "open end: no end year stated; drawn to the end of the plan"
            if en
            else "open einde: geen eindjaar genoemd; doorgetrokken tot het einde van het plan"
        )
        open_start = (
            "no start year stated; drawn from the start of the plan"
            if en
            else "geen beginjaar genoemd; getekend vanaf het begin van het plan"
        )
        marks = [
            '<g class="legend-marks" font-size="12.5">',
            f'<path d="M{M},{marks_y + 2} l9,5 l-9,5 z" fill="{MUTED}"/>',
            f'<text x="{M + 16}" y="{marks_y + 11}">{escape(open_end)} ({plan_end})</text>',
            f'<path d="M{M + 9},{marks_y + 24} l-9,5 l9,5 z" fill="{MUTED}"/>',
            f'<text x="{M + 16}" y="{marks_y + 33}">{escape(open_start)} ({plan_start})</text>',
            "</g>",
        ]
        top = marks_y + 50
        axis_y = top + 24
        body_top = axis_y + 8
        row_h = 24
        bottom = body_top + row_h * len(self.rows) + 4
        out = svg_open(self.id, W, bottom + 40, self.title, self.desc)
        grid = ['<g class="axis">']
        # The plan's period, shaded, and the year of the report.
        grid.append(
            f'<rect class="plan-period" x="{sx(plan_start):.1f}" y="{axis_y - 2:.1f}" '
            f'width="{sx(plan_end + 1) - sx(plan_start):.1f}" height="{bottom - axis_y + 2:.1f}" fill="#e5ecf3"/>'
        )
        plan_text = f"NAP {plan_start}–{plan_end}"
        grid.append(
            f'<text x="{(sx(plan_start) + sx(plan_end + 1)) / 2:.1f}" y="{top:.1f}" text-anchor="middle" '
            f'font-size="12" font-weight="700" fill="{ACCENT}">{escape(plan_text)}</text>'
        )
        for year in range(first, last + 2):
            gx = sx(year)
            grid.append(
                f'<line x1="{gx:.1f}" x2="{gx:.1f}" y1="{axis_y - 2:.1f}" y2="{bottom:.1f}" stroke="{GRID}" '
                f'stroke-width="0.8"/>'
            )
            if year <= last:
                for ty in (axis_y - 6 + 2, bottom + 16):
                    grid.append(
                        f'<text x="{gx + yw / 2:.1f}" y="{ty:.1f}" text-anchor="middle" font-size="12" '
                        f'fill="{MUTED}">{year}</text>'
                    )
        if self.report_year is not None and first <= self.report_year <= last:
            rx = sx(self.report_year + 1)
            note = f"{'report' if en else 'rapportage'} {self.report_year}"
            grid.append(
                f'<line class="report-year" x1="{rx:.1f}" x2="{rx:.1f}" y1="{axis_y - 2:.1f}" y2="{bottom:.1f}" '
                f'stroke="{ACCENT}" stroke-width="1.5" stroke-dasharray="5 3"/>'
            )
            grid.append(
                f'<text x="{rx + 4:.1f}" y="{bottom + 30:.1f}" font-size="11.5" fill="{ACCENT}">{escape(note)}</text>'
            )
        grid.append("</g>")
        rows = ['<g class="rows">']
        for i, p in enumerate(self.rows):
            y = body_top + i * row_h
            start, end = p.drawn(plan_start, plan_end)
            x0, x1 = sx(start) + 1.5, sx(end + 1) - 1.5
            open_s, open_e = p.start is None, p.end is None
            period_text = f"{p.start if p.start is not None else '…'}–{p.end if p.end is not None else '…'}"
            attrs = (
                f'data-ap={quoteattr(p.notation)} data-start="{p.start if p.start is not None else ""}" '
                f'data-end="{p.end if p.end is not None else ""}" data-status={quoteattr(p.status)}'
            )
            rows.append(f'<g class="row" {attrs}>')
            if i % 2 == 0:
                rows.append(
                    f'<rect x="{M}" y="{y:.1f}" width="{W - 2 * M}" height="{row_h}" fill="#f6f6f6" opacity="0.6"/>'
                )
            rows.append(
                f'<text x="{M + 22:.1f}" y="{y + 16:.1f}" text-anchor="end" font-weight="700" font-size="12.5">'
                f"{escape(p.notation)}</text>"
            )
            rows.append(
                f'<text x="{M + 30:.1f}" y="{y + 16:.1f}" font-size="12.5">{escape(shorten(p.title, LABEL - 40, 12.5))}'
                f"<title>{escape(p.title)}</title></text>"
            )
            fill = palette.fill(p.status)
            rows.append(
                f'<rect class="period" x="{x0:.1f}" y="{y + 5:.1f}" width="{max(x1 - x0, 4):.1f}" height="14" rx="2" '
                f'fill="{fill}"><title>{escape(p.notation)} {escape(p.title)}: {period_text}; '
                f"{escape(p.status_label)}</title></rect>"
            )
            if open_e:
                rows.append(f'<path class="open-end" d="M{x1 + 2:.1f},{y + 5:.1f} l9,7 l-9,7 z" fill="{fill}"/>')
            if open_s:
                rows.append(f'<path class="open-start" d="M{x0 - 2:.1f},{y + 5:.1f} l-9,7 l9,7 z" fill="{fill}"/>')
            rows.append("</g>")
        rows.append("</g>")
        return "\n".join(out + leg + marks + grid + rows + ["</svg>"])


# --- The charts, from the query results ------------------------------------------------------------

TEXT = {
    "status-per-pillar": {
        "nl": ("Stand van zaken per pijler", "Hoeveel actiepunten van elke UNGP-pijler elke stand van zaken hebben."),
        "en": ("Status per pillar", "How many action points of each UNGP pillar have each status."),
    },
    "status-per-theme": {
        "nl": ("Stand van zaken per thema", "De zestien thema's van het actieplan, gegroepeerd per pijler."),
        "en": ("Status per theme", "The sixteen themes of the action plan, grouped by pillar."),
    },
    "status-per-organisation": {
        "nl": (
            "Actiepunten per verantwoordelijke organisatie",
            "Een actiepunt met meer verantwoordelijke organisaties telt bij elk van hen mee; de balken tellen "
            "daarom samen op tot meer dan het aantal actiepunten.",
        ),
        "en": (
            "Action points per responsible organisation",
            "An action point with several responsible organisations counts for each of them, so the bars add up "
            "to more than the number of action points.",
        ),
    },
    "status-per-ungp-principle": {
        "nl": (
            "Actiepunten per UNGP-principe en stand van zaken",
            "De 31 principes van de UN Guiding Principles, per pijler en per onderdeel van het document, met de "
            "actiepunten die eraan gekoppeld zijn en hun stand van zaken. Een actiepunt dat aan meer principes "
            "gekoppeld is, telt bij elk daarvan één keer mee; de balken tellen daarom samen op tot meer dan het "
            "aantal actiepunten. Beide soorten koppelingen tellen mee: wat de rapportage zelf noemt (gesteld) en "
            "onze eigen lezing volgens het codeboek (redactioneel); de tabel en de CSV geven apart hoeveel "
            "actiepunten een gestelde koppeling hebben. Een principe zonder actiepunt staat er met 0, zodat "
            "leemtes zichtbaar zijn.",
        ),
        "en": (
            "Action points by UNGP principle and status",
            "The 31 principles of the UN Guiding Principles, by pillar and by section of the document, with the "
            "action points linked to them and their status. An action point linked to several principles counts "
            "once for each of them, so the bars add up to more than the number of action points. Links of both "
            "bases count: what the report itself names (stated) and our own reading by the codebook "
            "(editorial); the table and the CSV give separately how many action points have a stated link. A "
            "principle without any action point is shown with 0, so that gaps are visible.",
        ),
    },
    "status-per-oecd-chapter": {
        "nl": (
            "Actiepunten per hoofdstuk van de OESO-richtlijnen en stand van zaken",
            "De elf hoofdstukken van de OESO-richtlijnen (editie 2023), met de actiepunten die eraan gekoppeld "
            "zijn en hun stand van zaken. Een actiepunt dat aan meer hoofdstukken gekoppeld is, telt bij elk "
            "daarvan één keer mee. Gestelde en redactionele koppelingen tellen beide mee; de tabel en de CSV "
            "geven apart hoeveel actiepunten een gestelde koppeling hebben. Een hoofdstuk zonder actiepunt staat "
            "er met 0.",
        ),
        "en": (
            "Action points by OECD Guidelines chapter and status",
            "The eleven chapters of the OECD Guidelines (2023 edition), with the action points linked to them "
            "and their status. An action point linked to several chapters counts once for each of them. Stated "
            "and editorial links both count; the table and the CSV give separately how many action points have "
            "a stated link. A chapter without any action point is shown with 0.",
        ),
    },
    "timeline": {
        "nl": (
            "Tijdslijn van de actiepunten",
            "De periode die de tijdslijn van elk actiepunt noemt, gekleurd naar de stand van zaken. Actiepunten "
            "waarvan de tijdslijn geen begin- of eindjaar noemt (zoals ‘doorlopend’), zijn niet getekend.",
        ),
        "en": (
            "Timeline of the action points",
            "The period each action point's timeline states, coloured by its status. Action points whose timeline "
            "names neither a start nor an end year (such as ‘ongoing’) are not drawn.",
        ),
    },
}
#: The caveat each chart carries in its caption and in its SVG (a downloaded figure travels without the page).
NOTES = {
    "status-per-organisation": {
        "nl": "Een actiepunt met meer verantwoordelijke organisaties telt bij elk van hen mee.",
        "en": "An action point with several responsible organisations counts for each of them.",
    },
    "status-per-ungp-principle": {
        "nl": "Een actiepunt dat aan meer principes gekoppeld is, telt bij elk daarvan één keer mee. Gestelde en "
        "redactionele koppelingen tellen beide mee.",
        "en": "An action point linked to several principles counts once for each of them. Stated and editorial "
        "links both count.",
    },
    "status-per-oecd-chapter": {
        "nl": "Een actiepunt dat aan meer hoofdstukken gekoppeld is, telt bij elk daarvan één keer mee. Gestelde en "
        "redactionele koppelingen tellen beide mee.",
        "en": "An action point linked to several chapters counts once for each of them. Stated and editorial links "
        "both count.",
    },
}
CHART_IDS = list(TEXT)
QUERIES = {
    "status-per-pillar": q_pillar,
    "status-per-theme": q_theme,
    "status-per-organisation": q_organisation,
    "status-per-ungp-principle": q_principle,
    "status-per-oecd-chapter": q_chapter,
    "timeline": q_timeline,
}


@dataclass
class Chart:
    id: str
    number: int
    title: str
    intro: str
    query: str
    result: Result
    svg: str
    table: dict  # {"head": [...], "rows": [[...]], "foot": [...]}
    editor: str = ""
    extra: dict = field(default_factory=dict)
    note: str = ""  # the caveat, in the caption
    inline: Markup | None = None  # the SVG, for the page (set by the route)


def _statuses(result: Result) -> list[tuple[str, str]]:
    labels = {}
    for row in result.rows:
        if row.get("status"):
            labels[key_of(row["status"])] = row.get("statusLabel") or key_of(row["status"])
    return [(k, labels[k]) for k in order_statuses(labels)]


def _bars_table(
    bars: list[Bar],
    statuses: list[tuple[str, str]],
    first: str,
    lang: str,
    group_head: str | None = None,
    stated: dict[str, int] | None = None,
) -> dict:
    """stated: bar key -> action points with a stated link, as a last column (the framework charts)."""
    en = lang == "en"
    head = [first] + [label for _, label in statuses] + ["Total" if en else "Totaal"]
    if stated is not None:
        head.append("Of which with a stated link" if en else "Waarvan met gestelde koppeling")
    rows = []
    for b in bars:
        rows.append(
            [b.title or b.label]
            + [str(b.counts.get(k, 0) or "–") for k, _ in statuses]
            + [str(b.total)]
            + ([str(stated.get(b.key, 0))] if stated is not None else [])
        )
    foot = (
        ["Total" if en else "Totaal"]
        + [str(sum(b.counts.get(k, 0) for b in bars)) for k, _ in statuses]
        + [str(sum(b.total for b in bars))]
    )
    return {"head": head, "rows": rows, "foot": foot}


def _unit(n: int, lang: str) -> str:
    if lang == "en":
        return f"{n} action point" + ("" if n == 1 else "s")
    return f"{n} actiepunt" + ("" if n == 1 else "en")


def _describe(bars: list[Bar], statuses: list[tuple[str, str]], lang: str) -> str:
    labels = dict(statuses)
    parts = []
    for b in bars:
        detail = ", ".join(
            f"{labels.get(k, k)} {n}"
            for k, n in sorted(b.counts.items(), key=lambda kv: order_statuses(b.counts).index(kv[0]))
        )
        parts.append(f"{b.title or b.label}: {_unit(b.total, lang)}" + (f" ({detail})" if detail else ""))
    return "; ".join(parts) + "."


def _numbered(n: str) -> tuple:
    """Sort key of a notation or a key: its numbers as numbers ("2" before "10")."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", n))


def _framework_bars(result: Result, element: str, lang: str) -> tuple[list[Bar], dict[str, int]]:
    """One bar per framework element (a principle, a chapter), zero bars included, in the document's order;
    and per bar, how many action points have a stated link. A UNGP principle's bar is headed by its pillar
    and its section where they change."""
    en = lang == "en"
    bars: dict[str, Bar] = {}
    stated: dict[str, int] = {}
    place: dict[str, tuple[str, str, str]] = {}  # element -> (section IRI, pillar heading, section heading)
    for r in result.rows:
        iri, notation = r[element], r[f"{element}Notation"]
        if iri not in bars:
            label = r.get(f"{element}Label") or notation
            if notation and not re.search(rf"(^|\W){re.escape(notation)}(\W|$)", label):
                label = f"{notation}. {label}"
            bars[iri] = Bar(key_of(iri), label, {}, title=label)
            pillar = " · ".join(x for x in (r.get("pillarLabel"), r.get("pillarName")) if x)
            section = " ".join(x for x in (r.get("sectionNotation"), r.get("sectionLabel")) if x)
            place[iri] = (r.get("section", ""), pillar, section)
        elif r.get("section", "") != place[iri][0]:
            continue  # a principle under two sections would count twice: only under the first
        b = bars[iri]
        if r.get("status"):
            b.counts[key_of(r["status"])] = b.counts.get(key_of(r["status"]), 0) + int(r["actionPoints"])
            stated[b.key] = stated.get(b.key, 0) + int(r["statedActionPoints"] or 0)
    ordered = sorted(bars, key=lambda iri: _numbered(key_of(iri)))
    previous = ("", "")
    for iri in ordered:
        b, (_, pillar, section) = bars[iri], place[iri]
        if pillar and pillar != previous[0]:
            b.heading = pillar
        if section and (pillar, section) != previous:
            b.subheading = section
        previous = (pillar, section)
        b.group = pillar
        n = stated.get(b.key, 0)
        b.note = f"{n} with a stated link" if en else f"{n} met gestelde koppeling"
    return [bars[iri] for iri in ordered], stated


def build_charts(context: Context, lang: str) -> tuple[Report | None, list[Chart], dict]:
    report = latest_report(context, lang)
    if report is None:
        return None, [], {}
    en = lang == "en"
    year = report.year
    charts: list[Chart] = []
    figures: dict[str, Any] = {}
    report_statuses: list[tuple[str, str]] = []  # the statuses of figure 1: every status in the report
    axis = "Number of action points" if en else "Aantal actiepunten"
    caption = f"Source: progress report {year}" if en else f"Bron: voortgangsrapportage {year}"

    for number, chart_id in enumerate(CHART_IDS, 1):
        title, intro = TEXT[chart_id][lang]
        query = QUERIES[chart_id](report.iri, year, lang)
        result = run(context, query)
        statuses = _statuses(result)
        note = NOTES.get(chart_id, {}).get(lang, "")
        full_title = f"{title} ({caption.lower() if not en else caption[0].lower() + caption[1:]})"
        if chart_id == "status-per-pillar":
            bars: dict[str, Bar] = {}
            for r in result.rows:
                b = bars.setdefault(
                    r["pillar"],
                    Bar(
                        r["pillarNotation"],
                        f"{r['pillarLabel']} · {r['pillarName']}",
                        {},
                        title=f"{r['pillarLabel']}: {r['pillarName']}",
                    ),
                )
                b.counts[key_of(r["status"])] = b.counts.get(key_of(r["status"]), 0) + int(r["actionPoints"])
            ordered = sorted(
                bars.values(), key=lambda b: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", b.key)]
            )
            svg = BarChart(
                chart_id, full_title, _describe(ordered, statuses, lang), ordered, statuses, axis_label=axis
            ).svg()
            table = _bars_table(ordered, statuses, "Pillar" if en else "Pijler", lang)
            figures["total"] = sum(b.total for b in ordered)
            figures["pillars"] = [(b.key, b.total) for b in ordered]
            figures["statuses"] = [(k, label, sum(b.counts.get(k, 0) for b in ordered)) for k, label in statuses]
            report_statuses = statuses
        elif chart_id == "status-per-theme":
            bars = {}
            for r in result.rows:
                b = bars.setdefault(
                    r["theme"],
                    Bar(
                        r["themeNotation"],
                        f"{r['themeNotation']}. {r['themeLabel']}",
                        {},
                        title=f"{r['themeNotation']}. {r['themeLabel']}",
                    ),
                )
                b.group = r.get("pillarNotation", "")
                b.counts[key_of(r["status"])] = b.counts.get(key_of(r["status"]), 0) + int(r["actionPoints"])
            ordered = sorted(bars.values(), key=lambda b: (b.group, b.key))
            previous = None
            for b in ordered:
                pillar = b.group
                if pillar != previous and pillar:
                    b.heading = f"{'Pillar' if en else 'Pijler'} {pillar}"
                previous = pillar
            svg = BarChart(
                chart_id, full_title, _describe(ordered, statuses, lang), ordered, statuses, axis_label=axis
            ).svg()
            table = _bars_table(ordered, statuses, "Theme" if en else "Thema", lang)
            figures["themes"] = len(ordered)
        elif chart_id == "status-per-organisation":
            bars = {}
            for r in result.rows:
                short = r.get("short") or ""
                label = (
                    f"{r['organisationLabel']} ({short})"
                    if short and short != r["organisationLabel"]
                    else r["organisationLabel"]
                )
                b = bars.setdefault(r["organisation"], Bar(key_of(r["organisation"]), label, {}, title=label))
                b.counts[key_of(r["status"])] = b.counts.get(key_of(r["status"]), 0) + int(r["actionPoints"])
            ordered = sorted(bars.values(), key=lambda b: (-b.total, b.label.lower()))
            svg = BarChart(
                chart_id,
                full_title,
                note + " " + _describe(ordered, statuses, lang),
                ordered,
                statuses,
                axis_label=axis,
                note=note,
            ).svg()
            table = _bars_table(ordered, statuses, "Organisation" if en else "Organisatie", lang)
            table["foot"] = None  # shared responsibility: a total would count action points twice
            figures["organisations"] = len(ordered)
        elif chart_id in ("status-per-ungp-principle", "status-per-oecd-chapter"):
            principles = chart_id == "status-per-ungp-principle"
            ordered, stated = _framework_bars(result, "principle" if principles else "chapter", lang)
            # The legend of the report's statuses, as in figure 1: the colours stay the same from figure to
            # figure, and stay explained while few action points are linked yet.
            shown = {k for b in ordered for k in b.counts}
            labels = dict(report_statuses) | dict(statuses)
            legend_statuses = [(k, labels[k]) for k in order_statuses(set(dict(report_statuses)) | shown)]
            svg = BarChart(
                chart_id,
                full_title,
                note + " " + _describe(ordered, legend_statuses, lang),
                ordered,
                legend_statuses,
                axis_label=axis,
                note=note,
                label_width=230 if principles else 0,
            ).svg()
            first = ("UNGP principle" if en else "UNGP-principe") if principles else ("Chapter" if en else "Hoofdstuk")
            table = _bars_table(ordered, legend_statuses, first, lang, stated=stated)
            table["foot"] = None  # an action point linked to several elements: a total would count it twice
            figures["principles" if principles else "chapters"] = (sum(1 for b in ordered if b.total), len(ordered))
        else:
            plan = (2022, 2026)
            periods = []
            for r in result.rows:
                if r.get("planPeriod") and re.fullmatch(r"\d{4}/\d{4}", r["planPeriod"]):
                    plan_start, plan_end = r["planPeriod"].split("/")
                    plan = (int(plan_start), int(plan_end))
                periods.append(
                    Period(
                        r["ap"],
                        r["notation"],
                        r["title"],
                        int(r["startYear"]) if r["startYear"] else None,
                        int(r["endYear"]) if r["endYear"] else None,
                        key_of(r["status"]) if r["status"] else "unknown",
                        r["statusLabel"] or ("unknown" if en else "onbekend"),
                    )
                )
            desc = "; ".join(
                f"{p.notation} {p.title}: {p.start or '…'}–{p.end or '…'}, {p.status_label}" for p in periods
            )
            svg = Timeline(
                chart_id, full_title, desc + ".", periods, statuses, plan, int(year) if year.isdigit() else None, lang
            ).svg()
            head = [
                "Nr.",
                "Action point" if en else "Actiepunt",
                "Start" if en else "Begin",
                "End" if en else "Eind",
                "Drawn as" if en else "Getekend als",
                "Status" if en else "Stand van zaken",
            ]
            rows = []
            for p in periods:
                s, e = p.drawn(*plan)
                note = f"{s}–{e}" + (
                    ""
                    if p.start is not None and p.end is not None
                    else (" (open end)" if en else " (open einde)")
                    if p.end is None
                    else (" (start not stated)" if en else " (begin niet genoemd)")
                )
                rows.append([p.notation, p.title, str(p.start or "–"), str(p.end or "–"), note, p.status_label])
            table = {"head": head, "rows": rows, "foot": None}
            figures["timeline_rows"] = len(periods)
            figures["plan"] = plan
        chart = Chart(
            chart_id,
            number,
            title,
            intro,
            query,
            result,
            svg,
            table,
            editor="/#query=" + quote(query, safe=""),
            note=note,
        )
        charts.append(chart)
    return report, charts, figures


# --- Routes ----------------------------------------------------------------------------------------


def make_router(context: Context) -> APIRouter:
    router = APIRouter()
    cache: dict[str, tuple[Report | None, list[Chart], dict]] = {}

    def charts(lang: str) -> tuple[Report | None, list[Chart], dict]:
        if lang not in cache:
            cache[lang] = build_charts(context, lang)
        return cache[lang]

    @router.get("/overview", include_in_schema=False)
    async def overview(request: Request) -> HTMLResponse:
        lang = page_lang(request)
        report, chart_list, figures = charts(lang)
        for chart in chart_list:
            chart.inline = Markup(chart.svg)
        html = render(
            "overview.html",
            request,
            lang,
            active="overview",
            report=report,
            charts=chart_list,
            figures=figures,
            colours=STATUS_COLOURS,
        )
        return HTMLResponse(html)

    @router.get("/overview/{name}.{ext}", include_in_schema=False)
    async def chart_file(name: str, ext: str, request: Request) -> Response:
        lang = page_lang(request)
        _, chart_list, _ = charts(lang)
        chart = next((c for c in chart_list if c.id == name), None)
        if chart is None or ext not in ("svg", "csv"):
            known = ", ".join(f"{c}.svg, {c}.csv" for c in CHART_IDS)
            return Response(
                f"No such chart file: {name}.{ext} (known: {known}).\n", status_code=404, media_type="text/plain"
            )
        disposition = {"Content-Disposition": f'inline; filename="nap-{name}{"-en" if lang == "en" else ""}.{ext}"'}
        if ext == "svg":
            return Response(
                '<?xml version="1.0" encoding="UTF-8"?>\n' + chart.svg, media_type="image/svg+xml", headers=disposition
            )
        return Response(
            chart.result.csv(),
            media_type="text/csv; charset=utf-8",
            headers={
                **disposition,
                "Content-Disposition": disposition["Content-Disposition"].replace("inline", "attachment"),
            },
        )

    return router
