"""Content negotiation: Accept headers with q-values, and the format= parameter; for the site, the choice
between a resource's page and its RDF (page_or_rdf)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

from ..sparql.results import ALIASES, FORMAT_PARAM, GRAPH_ALIASES

HTML = "text/html"


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """[(media range, q)] best first; q=0 ranges are kept so they can exclude."""
    if not header:
        return [("*/*", 1.0)]
    ranges = []
    for position, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            if param.lower().startswith("q="):
                try:
                    q = max(0.0, min(1.0, float(param[2:])))
                except ValueError:
                    q = 0.0
        # More specific ranges win ties (text/csv before text/* before */*), then header order.
        specificity = 0 if media == "*/*" else 1 if media.endswith("/*") else 2
        ranges.append((media, q, specificity, -position))
    ranges.sort(key=lambda r: (r[1], r[2], r[3]), reverse=True)
    return [(m, q) for m, q, _, _ in ranges]


def _quality(offer: str, ranges: list[tuple[str, float]], aliases: dict[str, str] = ALIASES) -> float:
    """The q of the most specific range that matches offer (RFC 9110 §12.5.1)."""
    best, best_specificity = None, -1
    for media, q in ranges:
        target = aliases.get(media, media)
        if target == offer:
            specificity = 2
        elif media.endswith("/*") and media != "*/*" and offer.startswith(media[:-1]):
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best, best_specificity = q, specificity
    return best or 0.0


# Answers for recent (offers, Accept, format=) combinations: clients send a handful of distinct Accept
# headers, and reading one costs ~20 us a request. Bounded, since headers are the client's choice.
_answers: dict[tuple, list[str]] = {}


def acceptable(
    offers: list[str], accept: str | None, formats: list[str] | None = None, kind: str = "table"
) -> list[str]:
    """The offered media types the client accepts, best first. offers[0] is the server's default, used
    for */* and for ties. format= values (short names or media types) come before the Accept header; when
    none of them can be served the Accept header decides (SPARQLWrapper sends both)."""
    key = (tuple(offers), accept, tuple(formats or ()), kind)
    answer = _answers.get(key)
    if answer is None:
        answer = _acceptable(offers, accept, formats, kind)
        if len(_answers) < 256 and len(accept or "") < 1024:
            _answers[key] = answer
    return list(answer)


def _acceptable(offers: list[str], accept: str | None, formats: list[str] | None, kind: str) -> list[str]:
    names = FORMAT_PARAM[kind]
    aliases = GRAPH_ALIASES if kind == "graph" else ALIASES
    chosen = []
    for value in formats or ():
        wanted = names.get(value.lower(), aliases.get(value.lower(), value.lower()))
        if wanted in offers and wanted not in chosen:
            chosen.append(wanted)
    if chosen:
        return chosen
    ranges = parse_accept(accept)
    scored = [(_quality(offer, ranges, aliases), -i, offer) for i, offer in enumerate(offers)]
    return [offer for q, _, offer in sorted(scored, reverse=True) if q > 0]


def wants_html(accept: str | None) -> bool:
    """A browser navigating here (text/html preferred over RDF)."""
    ranges = parse_accept(accept)
    html = _quality(HTML, ranges)
    return (
        html > 0
        and html >= max(_quality("text/turtle", [r for r in ranges if r[0] != "*/*"]), 0.0)
        and any(m in (HTML, "application/xhtml+xml") for m, _ in ranges)
    )


class Page(enum.Enum):
    """Where a resource's HTML page stands among its RDF forms (page_or_rdf)."""

    #: The page is the default: for */*, for a browser, for format=html or text/html (/doc/..., /graph/...).
    FIRST = "first"
    #: RDF is the default (a client that takes */* is a program); the page goes to a browser that sends no
    #: format=, and is offered after the RDF, so format=text/html gets it too (/def).
    FOR_BROWSERS = "for browsers"
    #: As FOR_BROWSERS, but the page is not among the offers: format=text/html is a format it does not know,
    #: and Accept chooses among the RDF (/download/).
    ONLY_FOR_BROWSERS = "only for browsers"
    #: RDF only (/.well-known/void).
    NONE = "none"


def page_or_rdf(accept: str | None, formats: Sequence[str] | None, rdf_media: Iterable[str], page: Page) -> str | None:
    """What to answer with: HTML, one of rdf_media (the server's order of preference), or None when the client
    takes none of them (406). formats are the format= values (short names or media types); they come before
    Accept, as in acceptable()."""
    formats = list(formats or ())
    if page in (Page.FOR_BROWSERS, Page.ONLY_FOR_BROWSERS) and not formats and wants_html(accept):
        return HTML
    offers = list(rdf_media)
    if page is Page.FIRST:
        offers.insert(0, HTML)
        # "html" is a short name of the page only where the page comes first; /def has always read it as a
        # format it does not know (Accept then decides).
        formats = [HTML if value == "html" else value for value in formats]
    elif page is Page.FOR_BROWSERS:
        offers.append(HTML)
    chosen = acceptable(offers, accept, formats, kind="graph")
    return chosen[0] if chosen else None


def accepts_error_page(accept: str | None) -> bool:
    """Whether an error (a 404) is sent as a page: to a browser and to a client that takes anything; as plain
    text to one that asked only for other types (RDF, say). Not page_or_rdf: with nothing else to offer, a
    client that takes text/html at all would get the page (text/*, or text/html;q=0.5 after Turtle)."""
    return not accept or "*/*" in accept or wants_html(accept)
