"""The linked-data web against a real server: every IRI of ours resolves (303 from /id to /doc), each
description comes in five media types by Accept and by suffix and holds the resource's own triples, unknown
IRIs get a 404 page, the pages show labels in Dutch and English, and search ignores case and accents."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

import httpx
import pyoxigraph as ox
import pytest
import rdflib
import rdflib.compare
from rdflib import URIRef

from napkg.graph.namespaces import BASE, ID, RDFS
from napkg.web.pages import Site
from napkg.web.search import SearchIndex
from server import running_server

RDF_TYPES = {
    "text/turtle": ("ttl", "turtle"),
    "application/ld+json": ("jsonld", "json-ld"),
    "application/n-triples": ("nt", "nt"),
    "application/rdf+xml": ("rdf", "xml"),
}

#: One of each kind of IRI we mint, and the concept schemes.
SAMPLES = [
    "action-point/nap-2022-02",
    "status-assessment/2024-10",
    "responsibility/2024-02-jenv",
    "footnote/2024-1",
    "theme/01",
    "ungp-pillar/1",
    "ungp-principle/31",
    "oecd-chapter/4",
    "due-diligence-step/6",
    "status/delayed",
    "role/coordinating",
    "organisation/szw",
    "legal-instrument/artikel-273f-sr",
    "document/kst-36547-4",
    "programme/isv",
    "action-plan/nap-2022",
    "report/2024",
    "event/split-ezk",
    "theme/scheme",
    "status/scheme",
    "ungp-pillar/scheme",
    "ungp-principle/scheme",
    "oecd-chapter/scheme",
    "due-diligence-step/scheme",
    "role/scheme",
    "basis/stated",
    "report-column/explanation",
]


@pytest.fixture(scope="module")
def server():
    with running_server("--workers", "1") as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def renamed(graph) -> dict[str, str]:
    """{old IRI: new IRI} of the renamed IRIs (owl:deprecated, dct:isReplacedBy): they answer 301."""
    return {
        str(s): str(graph.value(s, rdflib.DCTERMS.isReplacedBy))
        for s in graph.subjects(rdflib.OWL.deprecated, rdflib.Literal(True))
    }


@pytest.fixture(scope="session")
def things(graph) -> list[str]:
    """Every IRI .../id/{type}/{ref} the project's data describes (hash IRIs as the IRI before the #)."""
    found = {str(s).partition("#")[0] for s in graph.subjects() if str(s).startswith(ID)}
    return sorted(found)


def own_triples(graph: rdflib.Graph, iri: str) -> set:
    return set(graph.triples((URIRef(iri), None, None)))


def parsed(response: httpx.Response, fmt: str, iri: str) -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(data=response.content, format=fmt, publicID=iri)
    return g


# --- /id -> /doc ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES)
def test_id_redirects_to_doc(client, path):
    response = client.get(f"/id/{path}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/doc/{path}"
    assert "accept" in response.headers.get("vary", "").lower()


def test_every_iri_of_ours_resolves(client, things, renamed):
    assert len(things) > 300 and renamed
    for iri in things:
        path = iri[len(BASE) :]
        response = client.get("/" + path)
        if iri in renamed:  # 301 to the new IRI, which resolves in its turn
            assert response.status_code == 301, iri
            assert response.headers["location"] == "/" + renamed[iri][len(BASE) :], iri
            continue
        assert response.status_code == 303, iri
        target = client.get(response.headers["location"])
        assert target.status_code == 200, iri
        assert target.headers["content-type"].startswith("text/html")
        # An IRI that is subject and object both (the dataset's #contact) was once shown twice.
        ids = re.findall(r'\sid="([^"]*)"', target.text)
        assert len(ids) == len(set(ids)), (iri, sorted({i for i in ids if ids.count(i) > 1}))


def test_redirect_keeps_suffix_and_query(client):
    response = client.get("/id/action-point/nap-2022-02.ttl")
    assert response.status_code == 303 and response.headers["location"] == "/doc/action-point/nap-2022-02.ttl"
    response = client.get("/id/organisation/szw?lang=en")
    assert response.status_code == 303 and response.headers["location"] == "/doc/organisation/szw?lang=en"
    followed = client.get("/id/action-point/nap-2022-02", headers={"Accept": "text/turtle"}, follow_redirects=True)
    assert followed.status_code == 200 and followed.headers["content-type"].startswith("text/turtle")


# --- negotiation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES)
@pytest.mark.parametrize("media", list(RDF_TYPES))
def test_rdf_by_accept_holds_the_resources_triples(client, graph, path, media):
    iri = ID + path
    response = client.get(f"/doc/{path}", headers={"Accept": media})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert "accept" in response.headers["vary"].lower()
    assert response.headers["content-location"] == f"/doc/{path}.{RDF_TYPES[media][0]}"
    served = parsed(response, RDF_TYPES[media][1], iri)
    expected = own_triples(graph, iri)
    assert expected, f"no triples for {iri} in the project data"
    missing = [t for t in expected if t not in served]
    assert not missing, f"{len(missing)} of {len(expected)} triples missing, e.g. {missing[:3]}"


@pytest.mark.parametrize("media", list(RDF_TYPES))
def test_rdf_by_suffix(client, graph, media):
    suffix, fmt = RDF_TYPES[media]
    iri = ID + "action-point/nap-2022-10"
    response = client.get(f"/doc/action-point/nap-2022-10.{suffix}", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    served = parsed(response, fmt, iri)
    assert own_triples(graph, iri) <= set(served)


def test_json_ld_of_a_page_is_compacted_with_the_graphs_prefixes(client):
    """The same triples as its N-Triples, with prefix:name IRIs and an @context (results.compact_json_ld)."""
    document = client.get("/doc/action-point/nap-2022-10.jsonld").json()
    assert document["@context"]["ap"] == ID + "action-point/" and document["@context"]["nap"] == BASE + "def#"
    assert "ap:nap-2022-10" in {node["@id"] for node in document["@graph"]}
    as_json_ld = rdflib.Graph().parse(data=json.dumps(document), format="json-ld")
    as_nt = rdflib.Graph().parse(data=client.get("/doc/action-point/nap-2022-10.nt").content, format="nt")
    assert rdflib.compare.isomorphic(as_json_ld, as_nt) and len(as_nt) > 10


def test_description_includes_what_was_minted_for_it(client, graph):
    """An action point's RDF carries its responsibilities, its status assessments and their footnotes, and
    the labels of what it links to."""
    response = client.get("/doc/action-point/nap-2022-10.ttl")
    served = parsed(response, "turtle", ID + "action-point/nap-2022-10")
    for minted in ("responsibility/2024-10-bz", "status-assessment/2024-10", "footnote/2024-1", "footnote/2024-2"):
        expected = own_triples(graph, ID + minted)
        assert expected and expected <= set(served), minted
    theme = URIRef(ID + "theme/05")
    assert (theme, rdflib.SKOS.prefLabel, None) in served


def test_every_description_parses_and_holds_its_triples(client, graph, things, renamed):
    for iri in things:
        # A renamed IRI's triples (that it is deprecated) come with the description of its new IRI.
        response = client.get("/doc/" + iri[len(ID) :] + ".ttl", follow_redirects=iri in renamed)
        assert response.status_code == 200, iri
        served = parsed(response, "turtle", iri)
        own = {t for t in graph.triples((None, None, None)) if str(t[0]).partition("#")[0] == iri}
        assert own <= set(served), iri


def test_html_is_the_default_and_q_values_count(client):
    def served(accept):
        headers = {"Accept": accept} if accept is not None else {}
        return client.get("/doc/organisation/szw", headers=headers).headers["content-type"].split(";")[0]

    assert served(None) == "text/html"
    assert served("*/*") == "text/html"
    assert served("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8") == "text/html"
    assert served("text/turtle;q=0.5, application/ld+json") == "application/ld+json"
    assert served("text/html;q=0.1, text/turtle") == "text/turtle"
    assert served("application/n-triples, text/html;q=0.9") == "application/n-triples"
    assert served("text/*;q=0.9, text/html;q=0") == "text/turtle"
    # Plain JSON is JSON-LD for a graph (what R's and JavaScript's clients ask for); N3 is read as Turtle.
    assert served("application/json") == "application/ld+json"
    assert served("text/n3") == "text/turtle"
    assert served("text/rdf+n3;q=0.9, application/json;q=0.5") == "text/turtle"
    response = client.get("/doc/organisation/szw", headers={"Accept": "application/pdf"})
    assert response.status_code == 406


def test_html_by_suffix_and_head_and_etag(client):
    response = client.get("/doc/organisation/szw.html", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    head = client.head("/doc/organisation/szw")
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/html")
    etag = client.get("/doc/organisation/szw").headers["etag"]
    assert etag.startswith('W/"')  # weak: pages may go out gzipped
    for tags in (etag, etag[2:], f'"x", {etag}', "*"):  # compared weakly (RFC 9110, 13.1.2)
        assert client.get("/doc/organisation/szw", headers={"If-None-Match": tags}).status_code == 304, tags
    assert client.get("/doc/organisation/szw", headers={"If-None-Match": 'W/"x"'}).status_code == 200


# --- 404 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/id/action-point/nap-2022-99",
        "/doc/action-point/nap-2022-99",
        "/id/nonsense/x",
        "/doc/nonsense/x",
        "/doc/organisation/szw.pdf",
        "/id/organisation/szw/extra",
        "/graph/nope",
        "/doc/organisation/s%C3%BCw",
        "/id/action-point/nap-2022-99.ttl",
    ],
)
def test_unknown_iris_are_404_pages(client, path):
    response = client.get(path)
    assert response.status_code == 404  # never a 303 to a 404
    assert response.headers["content-type"].startswith("text/html")
    assert 'action="/search"' in response.text


def test_404_suggests_what_was_meant(client):
    response = client.get("/id/organisation/szx")
    assert response.status_code == 404
    assert 'href="/doc/organisation/szw"' in response.text


UNKNOWN = [
    "/id/action-point/nap-2022-99",
    "/doc/organisation/szx",
    "/id/nonsense/x",
    "/graph/nope",
    "/id/action-point/nap-2022-99.ttl",
]


@pytest.mark.parametrize("path", UNKNOWN)
@pytest.mark.parametrize("accept", ["text/turtle", "application/ld+json, application/n-triples;q=0.5"])
def test_a_404_for_an_rdf_client_is_plain_text(client, path, accept):
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain") and "accept" in response.headers["vary"].lower()
    assert response.text.startswith(f"Nothing is published at {path}.")


def test_a_plain_text_404_suggests_iris(client):
    text = client.get("/id/organisation/szx", headers={"Accept": "text/turtle"}).text
    assert f"  {ID}organisation/szw  " in text and "<" not in text


@pytest.mark.parametrize("path", ["/foo", "/static/nope.js", "/void", "/sparql/extra"])
def test_any_other_unknown_path_gets_the_sites_404(client, path):
    """Not FastAPI's {"detail": "Not Found"}: the page with search for a browser, plain text for RDF."""
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert 'action="/search"' in page.text
    plain = client.get(path, headers={"Accept": "text/turtle"})
    assert plain.status_code == 404 and plain.text.startswith(f"Nothing is published at {path}.")


def test_the_api_keeps_json_errors(client):
    response = client.get("/api/nope", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    "accept", ["*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/turtle, */*;q=0.1"]
)
def test_a_404_for_a_browser_or_anyone_is_a_page(client, accept):
    response = client.get("/id/organisation/szx", headers={"Accept": accept})
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")


# --- pages -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES)
def test_html_has_the_label(client, graph, path):
    iri = URIRef(ID + path)
    labels = [
        o
        for p in (rdflib.SKOS.prefLabel, rdflib.RDFS.label, rdflib.DCTERMS.title)
        for o in graph.objects(iri, p)
        if getattr(o, "language", None) == "nl"
    ]
    if path.startswith("action-point/"):
        # An action point's label ("Actiepunt 02") is its kicker; its title is what its latest report calls it.
        entries = sorted(
            graph.subjects(URIRef(BASE + "def#assessedActionPoint"), iri),
            key=lambda e: str(
                graph.value(graph.value(e, URIRef(BASE + "def#inReport")), URIRef(BASE + "def#reportingYear"))
            ),
        )
        labels = [t for t in graph.objects(entries[-1], rdflib.DCTERMS.title) if t.language == "nl"]
    if path.startswith("status-assessment/"):
        # A report entry's dct:title is its action point's title: it is named after its action point and report.
        labels = ["Actiepunt 10 in de voortgangsrapportage 2024"]
    response = client.get(f"/doc/{path}")
    assert response.status_code == 200
    assert '<html lang="nl">' in response.text
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", response.text, re.S).group(1)
    if labels:
        assert html_text(h1) == str(labels[0])
    assert f'href="/doc/{path}.ttl"' in response.text and f'href="/doc/{path}.jsonld"' in response.text
    query = re.search(r'href="/#query=([^"]+)"', response.text)
    assert query and str(iri) in unquote(query.group(1))


def html_text(fragment: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def test_language_switch(client):
    nl = client.get("/doc/action-point/nap-2022-02").text
    en = client.get("/doc/action-point/nap-2022-02?lang=en").text
    assert "<h1>Modernisering artikel 273f van Wetboek van Strafrecht</h1>" in nl
    assert "<h1>Modernise article 273f of the Dutch Criminal Code</h1>" in en
    assert '<html lang="en">' in en
    assert 'href="/doc/action-point/nap-2022-02?lang=en"' in nl  # the switch
    assert 'href="/doc/action-point/nap-2022-02?lang=nl"' in en
    # Links on an English page stay in English.
    assert 'href="/doc/organisation/jenv?lang=en"' in en
    # English texts from the project's translation are marked, and the page says once what that is.
    assert 'class="translation-mark"' in en and 'id="translation-note"' in en
    assert 'class="translation-mark"' not in nl.split('id="explanation-')[1].split("</div>")[0]


def test_action_point_page(client):
    page = client.get("/doc/action-point/nap-2022-10").text
    # Breadcrumbs: pillar, theme, action point.
    crumbs = re.search(r'<nav class="breadcrumbs".*?</nav>', page, re.S).group(0)
    assert (
        crumbs.index('href="/doc/ungp-pillar/1"')
        < crumbs.index('href="/doc/theme/05"')
        < crumbs.index('<li aria-current="page">10. ')
    )
    assert 'href="/def#ActionPoint"' in page
    # Responsibility: organisation and role; status table; explanation paragraphs with linked markers.
    assert 'href="/doc/organisation/bz"' in page and 'href="/doc/role/' in page
    assert "Stand van zaken per voortgangsrapportage" in page and 'href="/doc/report/2024"' in page
    assert re.search(r'<sup class="fnref"><a href="#fn-2024-1"[^>]*>\[1\]</a></sup>', page)
    assert '<li id="fn-2024-1"' in page and 'href="/doc/document/beleidsnota-mensenrechten"' in page
    assert page.count('<div class="explanation"') == 1
    assert len(re.findall(r"<p>", page.split('<div class="explanation"')[1].split("</div>")[0])) == 2
    # What the report names, by column.
    assert "Genoemd, per kolom van de rapportage" in page and 'href="/doc/report-column/explanation"' in page


def test_organisation_page(client):
    page = client.get("/doc/organisation/szw").text
    assert "Verantwoordelijk voor" in page
    assert 'href="/doc/action-point/nap-2022-02"' in page and "verantwoordelijk voor een deel" in page
    assert 'href="https://identifier.overheid.nl/tooi/id/ministerie/mnre1073"' in page
    assert "Genoemd in actiepunten" in page


def test_legal_instrument_page(client):
    page = client.get("/doc/legal-instrument/artikel-273f-sr").text
    assert "Genoemd in actiepunten" in page and 'href="/doc/action-point/nap-2022-02"' in page
    assert 'href="https://wetten.overheid.nl/jci1.3:c:BWBR0001854&amp;artikel=273f"' in page
    assert 'href="/doc/legal-instrument/wetboek-van-strafrecht"' in page


def test_concept_pages_list_their_action_points(client):
    theme = client.get("/doc/theme/01").text
    assert 'href="/doc/action-point/nap-2022-01"' in theme and 'href="/doc/action-point/nap-2022-02"' in theme
    pillar = client.get("/doc/ungp-pillar/2").text
    assert all(f'href="/doc/action-point/nap-2022-{n}"' in pillar for n in range(17, 23))
    status = client.get("/doc/status/delayed").text
    assert 'href="/doc/action-point/nap-2022-02"' in status
    scheme = client.get("/doc/theme/scheme").text
    assert all(f'href="/doc/theme/{n:02d}"' in scheme for n in range(1, 17))


def test_index_lists_the_action_points_and_registries(client):
    page = client.get("/doc").text
    assert all(f'href="/doc/action-point/nap-2022-{n:02d}"' in page for n in range(1, 34))
    for registry in ("organisation", "legal-instrument", "document", "programme", "theme"):
        assert f'href="/doc/{registry}"' in page
        assert client.get(f"/doc/{registry}").status_code == 200
    assert client.get("/doc/", follow_redirects=False).status_code == 301


def test_every_page_has_the_site_frame(client):
    for path in (
        "/doc",
        "/doc/organisation",
        "/doc/action-point/nap-2022-01",
        "/search?q=imvo",
        "/graph/action-points",
        "/id/action-point/nap-2022-99",
    ):
        page = client.get(path).text
        assert '<form class="site-search" action="/search"' in page, path
        assert 'href="/download/"' in page and "CC0" in page, path
        assert 'href="/def"' in page and 'href="/overview"' in page and 'href="/sparql"' in page, path


def test_graph_page(client):
    page = client.get("/graph/action-points")
    assert page.status_code == 200
    assert "https://w3id.org/nap-bhr/graph/action-points" in page.text
    for suffix in ("ttl", "jsonld", "nt", "rdf"):  # its data in every form, linked from the page
        assert f'href="/graph/action-points.{suffix}"' in page.text


GRAPHS = ["action-points", "organisations", "ontology"]


@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("media", list(RDF_TYPES))
def test_a_named_graphs_iri_gives_its_triples_to_an_rdf_client(client, project, name, media):
    """A linked-data client that dereferences a named graph's IRI gets the graph, not a page about it."""
    suffix, fmt = RDF_TYPES[media]
    expected = set(project.graphs[f"{BASE}graph/{name}"])
    assert expected
    response = client.get(f"/graph/{name}", headers={"Accept": media})
    assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == media
    assert response.headers["content-location"] == f"/graph/{name}.{suffix}"
    assert "accept" in response.headers["vary"].lower()
    served = rdflib.Graph().parse(data=response.content, format=fmt)
    assert rdflib.compare.isomorphic(served, project.graphs[f"{BASE}graph/{name}"])
    by_suffix = client.get(f"/graph/{name}.{suffix}", headers={"Accept": "text/html"})
    assert by_suffix.status_code == 200 and by_suffix.content == response.content
    etag = response.headers["etag"]
    assert client.get(f"/graph/{name}", headers={"Accept": media, "If-None-Match": etag}).status_code == 304


def test_a_named_graph_for_a_browser_and_for_nobody(client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = client.get("/graph/organisations", headers={"Accept": browser})
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-location"] == "/graph/organisations.html"
    assert client.get("/graph/organisations", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/graph/organisations.pdf").status_code == 404


# --- search ----------------------------------------------------------------------------------------------


def test_search_ignores_accents_and_case(client):
    page = client.get("/search", params={"q": "geinformeerd"}).text
    assert "<mark>geïnformeerd</mark>" in page
    assert 'href="/doc/status-assessment/2024-01"' in page  # "... is de Kamer ... geïnformeerd ..."
    page = client.get("/search", params={"q": "GEÏNFORMEERD"}).text
    assert "<mark>geïnformeerd</mark>" in page


def test_search_finds_the_csddd_first(client):
    page = client.get("/search", params={"q": "csddd"}).text
    first = re.search(r'<div class="result-title"><a href="([^"]+)"', page).group(1)
    assert first == "/doc/legal-instrument/csddd"
    assert "<mark>CSDDD</mark>" in page


def test_search_escapes_what_it_echoes(client):
    page = client.get("/search", params={"q": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_search_text_never_reaches_sparql(client):
    for q in ('"} } DROP ALL ; #', "?s ?p ?o", "' OR 1=1 --", "\\u0000", "x" * 5000):
        response = client.get("/search", params={"q": q})
        assert response.status_code == 200


def test_search_in_english(client):
    page = client.get("/search", params={"q": "labour migrants", "lang": "en"}).text
    assert '<html lang="en">' in page and 'href="/doc/action-point/nap-2022-01?lang=en"' in page


def test_pages_show_the_most_specific_type_only(client):
    """Loading adds superclass types for queries (a ministry is also an org:Organization and a
    nap:Organisation); a page names the ministry's own class, not the hierarchy. The RDF keeps them all."""
    page = client.get("/doc/organisation/szw", headers={"Accept": "text/html"}).text
    assert 'href="/def#Ministry"' in page
    assert 'href="/def#Organisation"' not in page
    turtle = client.get("/doc/organisation/szw.ttl").text
    assert "Organisation" in turtle


# --- What the web process holds ------------------------------------------------------------------------


def held(value) -> int:
    """How many items a container holds, counting those of the containers in it."""
    if isinstance(value, dict):
        return len(value) + sum(held(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return len(value) + sum(held(v) for v in value)
    return 0


def test_pages_read_the_store_and_hold_no_copy_of_it(project_store):
    """An index of every triple in the web process cost 1.4 GB and 14 s of start-up on a graph 100 times the
    NAP's (benchmarks/synthetic.py). The pages keep the list of our things and look the rest up in the store
    when a page is asked for; search keeps its texts folded, as strings."""
    store = ox.Store()
    store.extend(project_store)
    site = Site(store)
    kept = {name: held(value) for name, value in vars(site).items() if value is not store}
    assert sum(kept.values()) < len(store) / 4, kept
    index = SearchIndex(site)
    assert index.entries and all(isinstance(part, str) or part is None for entry in index.entries for part in entry)
    # Read from the store when asked: a triple added after start-up is there.
    ap = site.node("action-point", "nap-2022-02")
    note = ox.Literal("added after start-up", language="en")
    store.add(ox.Quad(ap, ox.NamedNode(RDFS + "comment"), note))
    assert note in site.objects(ap, RDFS + "comment")
