"""The one choice between a page and its RDF (negotiation.page_or_rdf) for each place the page can stand: first
(/doc, /graph), for browsers (/def), only for browsers (/download/), nowhere (VoID); the 404's choice between
a page and plain text; and the table of RDF media types the site serves. No server: the functions alone."""

from __future__ import annotations

import pytest

from napkg.endpoint.negotiation import HTML, Page, accepts_error_page, page_or_rdf
from napkg.endpoint.rdfmedia import MEDIA_BY_SUFFIX, RDF_MEDIA
from napkg.sparql.results import GRAPH_TYPES

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
TURTLE, JSON_LD, N_TRIPLES, RDF_XML = (
    "text/turtle",
    "application/ld+json",
    "application/n-triples",
    "application/rdf+xml",
)


def choose(accept: str | None, page: Page, *formats: str) -> str | None:
    return page_or_rdf(accept, list(formats), RDF_MEDIA, page)


@pytest.mark.parametrize(
    ("accept", "formats", "first", "for_browsers", "only_for_browsers", "none"),
    [
        (None, (), HTML, TURTLE, TURTLE, TURTLE),
        ("*/*", (), HTML, TURTLE, TURTLE, TURTLE),
        (BROWSER, (), HTML, HTML, HTML, TURTLE),
        ("text/turtle", (), TURTLE, TURTLE, TURTLE, TURTLE),
        ("application/json", (), JSON_LD, JSON_LD, JSON_LD, JSON_LD),
        ("text/html;q=0.1, text/turtle", (), TURTLE, TURTLE, TURTLE, TURTLE),
        # wants_html reads only Turtle's q: the page to a browser even where JSON-LD has the higher q.
        ("text/html;q=0.5, application/ld+json", (), JSON_LD, HTML, HTML, JSON_LD),
        ("image/png", (), None, None, None, None),
        (BROWSER, ("ttl",), TURTLE, TURTLE, TURTLE, TURTLE),
        ("text/turtle", ("html",), HTML, TURTLE, TURTLE, TURTLE),
        ("text/turtle", ("text/html",), HTML, HTML, TURTLE, TURTLE),
        (BROWSER, ("text/html",), HTML, HTML, TURTLE, TURTLE),
        ("image/png", ("bogus",), None, None, None, None),
        ("*/*", ("bogus", "nt"), N_TRIPLES, N_TRIPLES, N_TRIPLES, N_TRIPLES),
    ],
)
def test_page_or_rdf_for_each_place_of_the_page(accept, formats, first, for_browsers, only_for_browsers, none):
    assert choose(accept, Page.FIRST, *formats) == first
    assert choose(accept, Page.FOR_BROWSERS, *formats) == for_browsers
    assert choose(accept, Page.ONLY_FOR_BROWSERS, *formats) == only_for_browsers
    assert choose(accept, Page.NONE, *formats) == none


def test_ties_go_to_the_order_of_the_table():
    for page in Page:
        assert choose("application/rdf+xml, application/n-triples", page) == N_TRIPLES
        assert choose("application/*", page) == JSON_LD


@pytest.mark.parametrize(
    ("accept", "page"),
    [
        (None, True),
        ("*/*", True),
        (BROWSER, True),
        ("text/turtle, */*;q=0.1", True),
        ("*/*;q=0", True),  # */* named at all
        ("text/turtle", False),
        ("application/ld+json, application/n-triples;q=0.5", False),
        ("text/*", False),  # no browser names text/html
        ("text/html;q=0.5, text/turtle", False),
    ],
)
def test_a_404_is_a_page_unless_the_client_named_only_other_types(accept, page):
    assert accepts_error_page(accept) is page


def test_the_rdf_media_types_are_the_graph_results_formats():
    assert set(RDF_MEDIA) == set(GRAPH_TYPES)
    assert {m: f.oxigraph_format for m, f in RDF_MEDIA.items()} == GRAPH_TYPES
    assert len(MEDIA_BY_SUFFIX) == len(RDF_MEDIA) and "html" not in MEDIA_BY_SUFFIX
    assert list(RDF_MEDIA)[0] == TURTLE  # the default of /def, /download/ and VoID for */*
