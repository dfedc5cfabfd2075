"""The SPARQL endpoint against real clients: SPARQLWrapper, raw HTTP (httpx) and a second SPARQL engine
(pyoxigraph) that federates into it. Every expected value is computed from the project's data
(napkg.graph.load.load_project), never written down here."""

from __future__ import annotations

import csv
import gzip
import http.client
import io
import json
import re
import urllib.parse
import uuid

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import RDF, RDFS
from SPARQLWrapper import CSV, JSON, JSONLD, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from endpoint_support import AP, GRAPH, NAP, PREFIXES, Canary, count, healthz, select, servers
from napkg.app import forwarded

MAX_BODY = 200_000
ORIGIN = "https://example.org"
ONTOLOGY = GRAPH + "ontology"
AP17 = AP + "nap-2022-17"
DCT_TITLE = rdflib.URIRef("http://purl.org/dc/terms/title")

SELECT_APS = PREFIXES + "SELECT ?ap WHERE { ?ap a nap:ActionPoint }"
# Titles are what a report says: on the report's entry, constructed here onto the action point.
CONSTRUCT_TITLES = (
    PREFIXES + "CONSTRUCT { ?ap dct:title ?t } WHERE { ?entry nap:assessedActionPoint ?ap ; dct:title ?t }"
)
DESCRIBE_AP17 = f"DESCRIBE <{AP17}>"


@pytest.fixture(scope="module")
def canary():
    with Canary() as c:
        yield c


@pytest.fixture(scope="module")
def started():
    with servers(("--cors", ORIGIN, "--max-body", str(MAX_BODY)), ("--no-cache",)) as both:
        yield both


@pytest.fixture(scope="module")
def server(started):
    return started[0]


@pytest.fixture(scope="module")
def nocache(started):
    return started[1]


@pytest.fixture(scope="module")
def union(project) -> rdflib.Graph:
    return project.union()


@pytest.fixture(scope="module")
def action_points(union) -> set[str]:
    found = {str(row[0]) for row in union.query(SELECT_APS)}
    assert found, "the project's data has no nap:ActionPoint"
    return found


def unique(query: str) -> str:
    """The same query with a comment that makes its text (and so its cache key) new."""
    return f"# {uuid.uuid4()}\n{query}"


# --- SPARQLWrapper ---

# SPARQLWrapper as shipped (onlyConneg=False) also sends format=/output=/results= parameters; with
# onlyConneg=True it negotiates with the Accept header alone. Both are ordinary ways to use it.
MODES = [pytest.param(False, id="sparqlwrapper-default"), pytest.param(True, id="only-conneg")]


def sparqlwrapper(server, query: str, return_format=None, only_conneg=False, accept=None):
    client = SPARQLWrapper(server.sparql)
    client.setQuery(query)
    client.setTimeout(30)
    if return_format is not None:
        client.setReturnFormat(return_format)
    client.setOnlyConneg(only_conneg)
    if accept:
        client.addCustomHttpHeader("Accept", accept)
    return client.query()


def table_column(result, fmt, variable: str) -> list[str]:
    """The values of one variable in a converted SELECT result, whatever the format."""
    converted = result.convert()
    if fmt in (None, XML):
        values = []
        for binding in converted.getElementsByTagName("binding"):
            if binding.getAttribute("name") == variable:
                node = next(n for n in binding.childNodes if n.nodeType == n.ELEMENT_NODE)
                values.append("".join(t.data for t in node.childNodes if t.nodeType == t.TEXT_NODE))
        return values
    if fmt == JSON:
        return [b[variable]["value"] for b in converted["results"]["bindings"]]
    text = converted.decode("utf-8") if isinstance(converted, bytes) else converted
    if fmt == CSV:
        rows = list(csv.reader(io.StringIO(text)))
        column = rows[0].index(variable)
        return [row[column] for row in rows[1:]]
    lines = [line for line in text.splitlines() if line]
    column = lines[0].split("\t").index("?" + variable)
    return [line.split("\t")[column].removeprefix("<").removesuffix(">") for line in lines[1:]]


def boolean(result, fmt) -> bool:
    converted = result.convert()
    if fmt in (None, XML):
        node = converted.getElementsByTagName("boolean")[0]
        return node.firstChild.data.strip() == "true"
    if fmt == JSON:
        return converted["boolean"]
    text = converted.decode("utf-8") if isinstance(converted, bytes) else converted
    value = [line for line in text.splitlines() if line.strip()][-1].strip()
    assert value in ("true", "false"), text
    return value == "true"


RDFLIB_FORMATS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}


def triples(result) -> set:
    converted = result.convert()
    if isinstance(converted, rdflib.Graph):
        return set(converted.triples((None, None, None)))
    media = result.info()["content-type"].split(";")[0].strip()
    graph = rdflib.Graph().parse(data=converted, format=RDFLIB_FORMATS[media])
    return set(graph)


@pytest.mark.parametrize("only_conneg", MODES)
@pytest.mark.parametrize("fmt", [None, JSON, XML, CSV, TSV], ids=["default", "json", "xml", "csv", "tsv"])
def test_sparqlwrapper_select(server, action_points, fmt, only_conneg):
    result = sparqlwrapper(server, SELECT_APS, fmt, only_conneg)
    found = table_column(result, fmt, "ap")
    assert len(found) == len(action_points)
    assert set(found) == action_points


@pytest.mark.parametrize("only_conneg", MODES)
@pytest.mark.parametrize("fmt", [None, JSON, XML, CSV, TSV], ids=["default", "json", "xml", "csv", "tsv"])
def test_sparqlwrapper_ask(server, union, fmt, only_conneg):
    assert (rdflib.URIRef(AP17), RDF.type, rdflib.URIRef(NAP + "ActionPoint")) in union
    assert boolean(sparqlwrapper(server, PREFIXES + f"ASK {{ <{AP17}> a nap:ActionPoint }}", fmt, only_conneg), fmt)
    assert not boolean(
        sparqlwrapper(server, PREFIXES + f"ASK {{ <{AP}no-such-point> a nap:ActionPoint }}", fmt, only_conneg), fmt
    )


GRAPH_FORMATS = [
    pytest.param(None, None, id="default"),
    pytest.param(TURTLE, None, id="turtle"),
    pytest.param(N3, None, id="n3"),
    pytest.param(JSONLD, None, id="jsonld"),
    pytest.param(RDFXML, None, id="rdfxml"),
    pytest.param(None, "application/n-triples", id="ntriples-accept"),
]


@pytest.mark.parametrize("only_conneg", MODES)
@pytest.mark.parametrize("fmt, accept", GRAPH_FORMATS)
def test_sparqlwrapper_construct(server, union, fmt, accept, only_conneg):
    expected = set(union.query(CONSTRUCT_TITLES))
    assert expected
    assert triples(sparqlwrapper(server, CONSTRUCT_TITLES, fmt, only_conneg, accept)) == expected


@pytest.mark.parametrize("only_conneg", MODES)
@pytest.mark.parametrize("fmt, accept", GRAPH_FORMATS)
def test_sparqlwrapper_describe(server, union, fmt, accept, only_conneg):
    expected = set(union.triples((rdflib.URIRef(AP17), None, None)))
    assert expected
    found = triples(sparqlwrapper(server, DESCRIBE_AP17, fmt, only_conneg, accept))
    assert expected <= found
    assert {s for s, _, _ in found} == {rdflib.URIRef(AP17)}


def test_construct_as_json_ld_is_compacted_with_the_graphs_prefixes(server, union):
    response = httpx.get(server.sparql, params={"query": CONSTRUCT_TITLES}, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/ld+json"
    document = response.json()
    assert set(document["@context"]) == {"ap", "dct"}
    assert all(node["@id"].startswith("ap:") and "dct:title" in node for node in document["@graph"])
    served = set(rdflib.Graph().parse(data=response.content, format="json-ld"))
    assert served == set(union.query(CONSTRUCT_TITLES))


# --- raw HTTP: each status code the endpoint promises ---


def test_200_select_counts_the_data(server, action_points):
    query = PREFIXES + "SELECT (COUNT(DISTINCT ?ap) AS ?n) WHERE { ?ap a nap:ActionPoint }"
    response = httpx.get(server.sparql, params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/sparql-results+json")
    assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == len(action_points)


def test_304_with_etag(server):
    params = {"query": PREFIXES + "SELECT ?ap WHERE { ?ap a nap:ActionPoint } LIMIT 3"}
    first = httpx.get(server.sparql, params=params, headers={"Accept": "text/csv"})
    assert first.status_code == 200
    etag = first.headers["etag"]
    again = httpx.get(server.sparql, params=params, headers={"Accept": "text/csv", "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # Another format is another representation: no 304 for it.
    other = httpx.get(
        server.sparql, params=params, headers={"Accept": "application/sparql-results+xml", "If-None-Match": etag}
    )
    assert other.status_code == 200


@pytest.mark.parametrize("which", ["server", "nocache"])
def test_etags_are_weak_and_compared_weakly(request, which):
    """One answer goes out gzipped or not, so its ETag is weak (a strong one may stand for one byte sequence
    only), and If-None-Match compares weakly (RFC 9110, 13.1.2): with or without W/, in a list, or *."""
    endpoint = request.getfixturevalue(which)
    params = {"query": PREFIXES + "SELECT ?ap ?t WHERE { ?entry nap:assessedActionPoint ?ap ; dct:title ?t }"}
    plain = httpx.get(endpoint.sparql, params=params, headers={"Accept": "text/csv", "Accept-Encoding": "identity"})
    zipped = httpx.get(endpoint.sparql, params=params, headers={"Accept": "text/csv", "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    etag = plain.headers["etag"]
    assert etag.startswith('W/"') and zipped.headers["etag"] == etag
    for tags in (etag, etag[2:], f'"other", {etag[2:]}', "*"):
        for encoding in ("identity", "gzip"):
            again = httpx.get(
                endpoint.sparql,
                params=params,
                headers={"Accept": "text/csv", "Accept-Encoding": encoding, "If-None-Match": tags},
            )
            assert again.status_code == 304 and again.headers["etag"] == etag, (tags, encoding)
    other = httpx.get(endpoint.sparql, params=params, headers={"Accept": "text/csv", "If-None-Match": 'W/"other"'})
    assert other.status_code == 200


def test_400_syntax_error_names_the_position(server):
    response = httpx.get(server.sparql, params={"query": "SELECT *\nWHERE { ?s ?p }"})
    assert response.status_code == 400
    assert re.search(r"\b2:\d+\b", response.text), response.text  # line 2, some column


def test_400_undeclared_prefix_is_named_with_its_declaration(server):
    response = httpx.get(server.sparql, params={"query": "SELECT ?t WHERE { ?ap dct:title ?t }"})
    assert response.status_code == 400
    assert "error at 1:23: the prefix dct: is used but not declared" in response.text, response.text
    assert "PREFIX dct: <http://purl.org/dc/terms/>" in response.text


@pytest.mark.parametrize("name", ["default-graph-uri", "named-graph-uri"])
@pytest.mark.parametrize("value", ["foo", "foo bar", "é", "<http://example.org/g>"])
def test_400_dataset_iri_that_is_not_an_iri(server, name, value):
    """It crashed the worker that ran the query (500, and a second to reload the data) until 2026-11-29."""
    before = healthz(server)
    response = httpx.get(server.sparql, params={"query": "ASK {}", name: value})
    assert response.status_code == 400, response.text
    assert response.text.startswith(f"{name} must be an absolute IRI") and repr(value) in response.text
    after = healthz(server)
    assert (after["restarts"], after["crashes"]) == (before["restarts"], before["crashes"])


def test_400_percent_encoded_bytes_that_are_not_utf8(server):
    """Not a U+FFFD in the query, which then failed as a syntax error somewhere else."""
    url = httpx.URL(server.sparql)
    response = httpx.get(url.copy_with(raw_path=url.raw_path + b"?query=ASK%20%7B%7D%23%FF"))
    assert response.status_code == 400 and "query string is not valid UTF-8 once percent-decoded" in response.text
    response = httpx.post(
        server.sparql,
        content=b"query=ASK%20%7B%7D%23%FF",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and "form body is not valid UTF-8 once percent-decoded" in response.text
    # A comment with é, percent-encoded as UTF-8, is fine.
    ok = httpx.get(
        url.copy_with(raw_path=url.raw_path + b"?query=ASK%20%7B%7D%23%C3%A9"),
        headers={"Accept": "application/sparql-results+json"},
    )
    assert ok.status_code == 200 and ok.json()["boolean"] is True


def test_400_host_header_that_makes_no_base_iri(server):
    """The endpoint's URL, built from the Host header, is the base IRI of queries: a Host that makes it no
    IRI is the client's error, not a 500 from the engine."""
    response = httpx.get(server.sparql, params={"query": "ASK {}"}, headers={"Host": "%zz"})
    assert response.status_code == 400 and "The Host header '%zz'" in response.text, response.text
    assert httpx.get(server.sparql, params={"query": "ASK {}"}, headers={"Host": "example.org:8000"}).status_code == 200


def test_400_two_query_parameters(server):
    response = httpx.get(server.sparql, params=[("query", "ASK {}"), ("query", "ASK { ?s ?p ?o }")])
    assert response.status_code == 400
    assert "query" in response.text


@pytest.mark.parametrize("how", ["form-update", "sparql-update", "query-param"])
def test_403_update(server, how):
    update = 'INSERT DATA { <http://example.org/s> <http://example.org/p> "o" }'
    if how == "form-update":
        response = httpx.post(server.sparql, data={"update": update})
    elif how == "sparql-update":
        response = httpx.post(server.sparql, content=update, headers={"Content-Type": "application/sparql-update"})
    else:
        response = httpx.get(server.sparql, params={"query": update})
    assert response.status_code == 403
    assert "read-only" in response.text


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_405_with_allow(server, method):
    response = httpx.request(method, server.sparql, content=b"")
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert method not in allowed


def test_406_image_png(server):
    response = httpx.get(server.sparql, params={"query": "ASK {}"}, headers={"Accept": "image/png"})
    assert response.status_code == 406


def test_plain_json_is_sparql_json_for_a_table_and_json_ld_for_a_graph(server, union):
    headers = {"Accept": "application/json"}
    table = httpx.get(server.sparql, params={"query": "ASK {}"}, headers=headers)
    assert table.headers["content-type"].startswith("application/sparql-results+json") and table.json()["boolean"]
    graph = httpx.get(server.sparql, params={"query": CONSTRUCT_TITLES}, headers=headers)
    assert graph.status_code == 200 and graph.headers["content-type"].startswith("application/ld+json")
    assert set(rdflib.Graph().parse(data=graph.text, format="json-ld")) == set(union.query(CONSTRUCT_TITLES))


def test_406_construct_as_csv(server):
    response = httpx.get(server.sparql, params={"query": CONSTRUCT_TITLES}, headers={"Accept": "text/csv"})
    assert response.status_code == 406


def test_413_declared_body(server):
    query = "ASK {}" + " " * MAX_BODY
    response = httpx.post(server.sparql, content=query, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413


def test_413_streamed_body(server):
    """No Content-Length (chunked): the server counts what it reads."""

    def chunks():
        yield b"ASK {}"
        for _ in range(MAX_BODY // 10_000 + 2):
            yield b" " * 10_000

    response = httpx.post(server.sparql, content=chunks(), headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413


@pytest.mark.parametrize("which", ["server", "nocache"])
def test_a_url_too_long_to_read_is_refused_and_the_same_query_by_post_answered(request, which):
    """httptools cannot read a URL over 65,535 bytes: uvicorn answers 400 "Invalid HTTP request received."
    (docs/endpoint.md says so, and to POST a long query), and the server goes on."""
    endpoint = request.getfixturevalue(which)
    query = "ASK {}#" + "é" * 15_000  # 90,000 bytes URL-encoded (%C3%A9), a query well under the length limit
    url = httpx.URL(endpoint.sparql)

    def get(target: str) -> tuple[int, str]:
        # http.client, since httpx itself refuses a query string this long.
        connection = http.client.HTTPConnection(url.host, url.port, timeout=10)
        connection.request("GET", target, headers={"Accept": "application/sparql-results+json"})
        response = connection.getresponse()
        try:
            return response.status, response.read().decode()
        finally:
            connection.close()

    status, text = get(f"{url.path}?{urllib.parse.urlencode({'query': query})}")
    assert status == 400 and "Invalid HTTP request" in text
    # The same query by POST is answered, and so is a GET just under the URL limit.
    assert httpx.post(
        endpoint.sparql, data={"query": query}, headers={"Accept": "application/sparql-results+json"}
    ).json()["boolean"]
    under = f"{url.path}?query=ASK%7B%7D%23" + "x" * (65_535 - len(url.path) - 19)
    assert len(under) == 65_535
    status, text = get(under)
    assert status == 200 and json.loads(text)["boolean"] is True


def test_415_text_plain(server):
    response = httpx.post(server.sparql, content=b"ASK {}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_415_no_content_type(server):
    request = httpx.Request("POST", server.sparql, content=b"ASK {}")
    assert "content-type" not in request.headers
    with httpx.Client() as client:
        response = client.send(request)
    assert response.status_code == 415


def test_format_parameter(server, action_points):
    response = httpx.get(
        server.sparql,
        params={"query": SELECT_APS, "format": "csv"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["ap"]
    assert {row[0] for row in rows[1:]} == action_points


def test_q_values(server):
    response = httpx.get(
        server.sparql, params={"query": "ASK {}"}, headers={"Accept": "text/csv;q=0.5, application/sparql-results+xml"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/sparql-results+xml")
    assert "<boolean>true</boolean>" in response.text


def test_head_query(server):
    params, headers = {"query": SELECT_APS}, {"Accept": "text/csv", "Accept-Encoding": "identity"}
    get = httpx.get(server.sparql, params=params, headers=headers)
    head = httpx.head(server.sparql, params=params, headers=headers)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["etag"] == get.headers["etag"]
    assert int(head.headers["content-length"]) == len(get.content)


def test_head_service_description(server):
    headers = {"Accept": "text/turtle", "Accept-Encoding": "identity"}
    get = httpx.get(server.sparql, headers=headers)
    head = httpx.head(server.sparql, headers=headers)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    # A HEAD that sends Content-Length must send the GET's (RFC 9110 §9.3.2, §8.6).
    if "content-length" in head.headers:
        assert int(head.headers["content-length"]) == len(get.content)


def test_gzip_large_result(server, union):
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 500"
    with httpx.Client() as client:
        response = client.get(
            server.sparql,
            params={"query": query},
            headers={"Accept": "application/sparql-results+json", "Accept-Encoding": "gzip"},
        )
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == "gzip"
    assert len(response.json()["results"]["bindings"]) == min(500, len(union))  # httpx decoded it


def test_gzip_not_for_tiny_result(server):
    raw = httpx.get(server.sparql, params={"query": "ASK {}"}, headers={"Accept-Encoding": "gzip"})
    assert raw.status_code == 200
    assert "content-encoding" not in raw.headers
    assert json.loads(raw.content) == {"head": {}, "boolean": True}


def test_gzip_body_really_is_gzip(server):
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 500"
    with (
        httpx.Client() as client,
        client.stream(
            "GET", server.sparql, params={"query": query}, headers={"Accept": "text/csv", "Accept-Encoding": "gzip"}
        ) as r,
    ):
        raw = b"".join(r.iter_raw())
    assert r.headers.get("content-encoding") == "gzip"
    assert gzip.decompress(raw).count(b"\r\n") == 501  # the header and 500 rows


def test_cors_allowed_origin(server):
    response = httpx.get(server.sparql, params={"query": "ASK {}"}, headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == ORIGIN
    assert "access-control-allow-credentials" not in response.headers


def test_cors_preflight(server):
    response = httpx.options(
        server.sparql,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == ORIGIN
    assert "access-control-allow-credentials" not in response.headers


def test_cors_other_origin(server):
    response = httpx.get(server.sparql, params={"query": "ASK {}"}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


def test_cors_on_a_cached_answer_is_what_the_first_answer_said(server):
    """The response cache sits inside the CORS middleware: a repeated GET, answered from the cache, gets the
    same CORS headers for the same Origin, none for another, and Vary names Origin either way."""
    query = unique("ASK {}")
    seen = {}
    for origin in (ORIGIN, ORIGIN, "https://evil.example", None):
        headers = {"Origin": origin} if origin else {}
        response = httpx.get(server.sparql, params={"query": query}, headers=headers)
        assert response.status_code == 200 and "Origin" in response.headers.get("vary", "")
        seen.setdefault(origin, []).append(response.headers.get("access-control-allow-origin"))
    assert seen == {ORIGIN: [ORIGIN, ORIGIN], "https://evil.example": [None], None: [None]}


# --- the dataset ---


def test_default_dataset_is_the_union(server, project, union):
    """One ASK, without GRAPH, over a triple that is in exactly one named graph, for every named graph."""
    patterns = []
    for _name, graph in sorted(project.graphs.items()):
        triple = next(t for t in sorted(graph) if sum(t in g for g in project.graphs.values()) == 1)
        patterns.append(" ".join(term.n3() for term in triple) + " .")
    assert len(patterns) >= 2
    response = httpx.get(server.sparql, params={"query": "ASK { " + "\n".join(patterns) + " }"})
    assert response.status_code == 200
    assert response.json()["boolean"] is True
    assert count(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }") == len(union)


def test_default_graph_uri_selects_a_local_graph(server, project):
    ontology = project.graphs[ONTOLOGY]
    assert count(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **{"default-graph-uri": ONTOLOGY}) == len(
        ontology
    )
    response = select(server, PREFIXES + "ASK { ?ap a nap:ActionPoint }", **{"default-graph-uri": ONTOLOGY})
    assert response.status_code == 200 and response.json()["boolean"] is False


def test_named_graph_uri_selects_a_local_graph(server, project):
    response = select(
        server,
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
        **{"named-graph-uri": ONTOLOGY},
    )
    assert response.status_code == 200
    rows = {b["g"]["value"]: int(b["n"]["value"]) for b in response.json()["results"]["bindings"]}
    assert rows == {ONTOLOGY: len(project.graphs[ONTOLOGY])}


def test_from_selects_a_local_graph(server, project):
    """FROM in the query text defines the default graph (SPARQL 1.1 Query §13.2), union mode or not."""
    query = f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY}> WHERE {{ ?s ?p ?o }}"
    assert count(server, query) == len(project.graphs[ONTOLOGY])


@pytest.mark.parametrize("parameter", ["named-graph-uri", "default-graph-uri"])
def test_graph_uri_of_a_url_is_never_fetched(server, canary, parameter):
    token = f"{parameter}-{uuid.uuid4().hex[:8]}"
    response = select(
        server,
        "SELECT * WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } } LIMIT 5",
        **{parameter: canary.url + token},
    )
    assert canary.seen(token) == []
    if response.status_code == 200:
        assert response.json()["results"]["bindings"] == []


def test_service_description_turtle(server, union):
    response = httpx.get(server.sparql, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    void = rdflib.Namespace("http://rdfs.org/ns/void#")
    service = rdflib.URIRef(server.sparql)
    assert (service, RDF.type, sd.Service) in graph
    assert (service, sd.endpoint, service) in graph
    assert (service, sd.feature, sd.UnionDefaultGraph) in graph
    dataset = graph.value(service, sd.defaultDataset)
    assert int(graph.value(dataset, void.triples)) == len(union)


def test_behind_a_local_tls_proxy_the_endpoint_is_https(server):
    """A reverse proxy on this machine says the client came over https: the endpoint's own URL (here in
    the service description, and the base IRI of queries) follows."""
    https = server.sparql.replace("http://", "https://", 1)
    response = httpx.get(server.sparql, headers={"Accept": "text/turtle", "X-Forwarded-Proto": "https"})
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (rdflib.URIRef(https), sd.endpoint, rdflib.URIRef(https)) in graph

    def base(proto: str) -> str:
        response = httpx.post(
            server.sparql,
            data={"query": unique("SELECT (<x> AS ?iri) WHERE {}")},
            headers={"Accept": "application/sparql-results+json", "X-Forwarded-Proto": proto},
        )
        return response.json()["results"]["bindings"][0]["iri"]["value"]

    assert base("https") == https.rsplit("/", 1)[0] + "/x"
    assert base("gopher").startswith("http://")  # not a scheme a proxy may set


@pytest.mark.parametrize(
    "header, client",
    [
        (b"203.0.113.9", "203.0.113.9"),
        (b"203.0.113.9, 198.51.100.2", "198.51.100.2"),  # the nearest hop is the client the proxy saw
        (b"203.0.113.9, 127.0.0.1", "203.0.113.9"),  # a proxy in front of our proxy is skipped
    ],
)
def test_forwarded_for_names_the_client(header, client):
    scope = {"scheme": "http", "client": ("127.0.0.1", 5000), "headers": [(b"x-forwarded-for", header)]}
    forwarded(scope)
    assert scope["client"] == (client, 0) and scope["scheme"] == "http"


def test_service_description_html_for_a_browser(server):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
    response = httpx.get(server.sparql, headers={"Accept": browser})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text and server.sparql in response.text
    # Each named graph links to itself in the graph store.
    link = re.search(r'href="(/store\?graph=[^"]+)"', response.text)
    assert link, response.text[:500]
    graph = httpx.get(server.url + link.group(1), headers={"Accept": "application/n-triples"})
    assert graph.status_code == 200 and graph.text.count(" .\n") > 0


# --- federation into us ---


def test_federation_from_another_engine(server, union):
    """pyoxigraph, in this process, joins its own triples with ours through SERVICE."""
    store = ox.Store()
    note = ox.NamedNode("http://example.org/note")
    points = [AP + "nap-2022-17", AP + "nap-2022-05"]
    for i, iri in enumerate(points):
        store.add(ox.Quad(ox.NamedNode(iri), note, ox.Literal(f"note {i}")))
    store.add(ox.Quad(ox.NamedNode("http://example.org/not-ours"), note, ox.Literal("stray")))
    query = (
        "SELECT ?ap ?n ?title WHERE { ?ap <http://example.org/note> ?n . "
        f"SERVICE <{server.sparql}> {{ ?ap <http://www.w3.org/2000/01/rdf-schema#label> ?title }} }}"
    )
    found = {(s["ap"].value, s["title"].value, s["title"].language) for s in store.query(query)}
    expected = {(iri, str(t), t.language) for iri in points for t in union.objects(rdflib.URIRef(iri), RDFS.label)}
    assert expected
    assert found == expected


# --- the result cache ---


def test_healthz_reports_version_uptime_and_counters(server):
    from napkg import __version__

    health = healthz(server)
    assert health["status"] == "ok" and health["version"] == __version__ and health["uptime_s"] >= 0
    assert {"workers", "busy", "restarts", "timeouts", "crashes", "overloaded", "cache_hits"} <= set(health)
    assert health["timeouts"] == health["crashes"] == health["overloaded"] == 0


def test_cache_hits_increase(server):
    query = unique("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    first = select(server, query)
    before = healthz(server)["cache_hits"]
    second = select(server, query)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert healthz(server)["cache_hits"] > before


def test_no_cache(nocache):
    query = unique("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    before = healthz(nocache)["cache_hits"]
    for _ in range(3):
        assert select(nocache, query).status_code == 200
    assert healthz(nocache)["cache_hits"] == before == 0


@pytest.mark.parametrize(
    "method, accept, encoding",
    [
        ("GET", "application/sparql-results+json", None),
        ("GET", "text/csv", None),
        ("HEAD", "text/csv", None),
        ("GET", "application/sparql-results+xml", "gzip"),
    ],
)
def test_without_the_caches_a_repeated_get_gets_the_same_answer(nocache, method, accept, encoding):
    """The first GET of a query is read in full, and its reading remembered; with the caches off a repeat
    skips the reading but runs the query again. The client must not see the difference: the same status,
    headers and body, on one kept-alive connection."""
    url = "/sparql?query=" + urllib.parse.quote(unique(SELECT_APS))
    headers = {"Accept": accept, **({"Accept-Encoding": encoding} if encoding else {})}
    connection = http.client.HTTPConnection("127.0.0.1", nocache.port, timeout=30)
    seen = []
    try:
        for _ in range(3):
            connection.request(method, url, headers=headers)
            response = connection.getresponse()
            body = response.read()
            seen.append((response.status, [(k, v) for k, v in response.getheaders() if k != "date"], body))
    finally:
        connection.close()
    assert seen[0][0] == 200 and seen[0] == seen[1] == seen[2]
    if method == "GET":
        assert len(seen[0][2]) == int(dict(seen[0][1])["content-length"]) > 0
        rows = gzip.decompress(seen[0][2]) if encoding else seen[0][2]
        assert rows.count(b"action-point/") == 33


def test_the_query_workers_run_nicer_than_the_web_process(server):
    """By default (--worker-nice 5), so the web process comes first when the CPUs are busy (pool.py)."""
    import os

    def stat(pid) -> list[str]:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()

    web = server.process.pid
    workers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if int(stat(pid)[1]) == web and b"spawn_main" in open(f"/proc/{pid}/cmdline", "rb").read():
                workers.append(int(pid))
        except OSError:
            continue  # gone meanwhile
    assert len(workers) == 2, workers
    assert {int(stat(pid)[16]) for pid in workers} == {min(int(stat(web)[16]) + 5, 19)}
