"""The W3C SPARQL 1.1 Protocol and Service Description tests, against a real `napkg serve`.

The manifests are vendored in tests/w3c-sparql11/ (see w3c_manifest.py); without them the module fails.
Each protocol test replays its ht:Requests in order against one server that serves the manifest's data
(ut:graphData: each file as the named graph its rdfs:label gives; no default graph data) and checks
mf:expectedStatus, mf:expectedFormat and mf:expectedBoolean.

The endpoint is read-only by design: the update_* tests, which expect SPARQL Update to succeed, are
KNOWN_DEVIATIONS. They still run, and assert the documented behaviour instead: the update gets
403 Forbidden, and the ASK that follows finds that nothing was written.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import httpx
import pytest
import rdflib

from server import running_server
from w3c_manifest import W3C, dataset, entry_names, protocol_tests

PROTOCOL = W3C / "protocol" / "manifest.ttl"
SERVICE_DESCRIPTION = W3C / "service-description" / "manifest.ttl"
PROTOCOL_TESTS = protocol_tests(PROTOCOL)
SD_TESTS = entry_names(SERVICE_DESCRIPTION)
PROTOCOL_ENTRIES = 34

_READ_ONLY = (
    "napkg serve is a read-only SPARQL 1.1 Query endpoint: every SPARQL Update request is refused "
    "with 403 Forbidden (protocol.py, guard.py), so the update does not happen and the ASK after it "
    "answers false"
)
KNOWN_DEVIATIONS = {
    "update_dataset_default_graph": _READ_ONLY,
    "update_dataset_default_graphs": _READ_ONLY,
    "update_dataset_named_graphs": _READ_ONLY,
    "update_dataset_full": _READ_ONLY,
    "update_post_form": _READ_ONLY,
    "update_post_direct": _READ_ONLY,
    "update_base_uri": _READ_ONLY,
}
READ_ONLY_STATUS = 403

#: test name -> "started", then "pass" or "deviation" when it completes; the guard tests check that
#: every manifest entry ran (a failing test reports itself; a skipped or deselected one fails the guard).
PROTOCOL_RAN: dict[str, str] = {}
SD_RAN: dict[str, set] = {}

SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
XSD = rdflib.Namespace("http://www.w3.org/2001/XMLSchema#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-quads": "nquads",
    "application/trig": "trig",
}
TABLE_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}


# --- servers -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def w3c_server():
    """One server for every protocol test: the union of the manifest's ut:graphData (and ut:data, if any)."""
    graphs, default = dataset(PROTOCOL_TESTS)
    args = [a for name, path in sorted(graphs.items()) for a in ("--graph", f"{name}={path}")]
    args += [a for path in default for a in ("--data", str(path))]
    with running_server(*args) as server:
        server.graphs, server.default = graphs, default
        yield server


@pytest.fixture(scope="module")
def nap_server():
    with running_server() as server:
        yield server


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=30) as c:
        yield c


# --- response checks ---------------------------------------------------------------------------------------


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_boolean(response: httpx.Response) -> bool:
    """A SPARQL boolean result in JSON or XML (the formats the Results specs define for ASK)."""
    media = media_type(response)
    if media == "application/sparql-results+json":
        doc = json.loads(response.content)
        assert "head" in doc and isinstance(doc.get("boolean"), bool), f"not a JSON boolean result: {doc}"
        return doc["boolean"]
    if media == "application/sparql-results+xml":
        root = ET.fromstring(response.content)
        assert root.tag == RESULTS_NS + "sparql", f"not a SPARQL XML result: <{root.tag}>"
        found = root.find(RESULTS_NS + "boolean")
        assert found is not None and found.text in ("true", "false"), "no <boolean>true|false</boolean>"
        return found.text == "true"
    pytest.fail(f"a boolean result must be SPARQL JSON or XML, got Content-Type {media!r}")


def parse_table(response: httpx.Response) -> tuple[list[str], list]:
    """A SPARQL results table in JSON, XML, CSV or TSV: (variables, rows)."""
    media = media_type(response)
    assert media in TABLE_TYPES, f"not a SPARQL results table: Content-Type {media!r}"
    kind = TABLE_TYPES[media]
    if kind == "csv":
        # rdflib's CSV parser turns every value into a literal; the format itself is just RFC 4180 CSV.
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
        assert rows and rows[0], "a CSV result needs a header row"
        assert all(len(r) == len(rows[0]) for r in rows), "CSV rows of unequal length"
        return rows[0], rows[1:]
    result = rdflib.query.Result.parse(io.BytesIO(response.content), format=kind)
    assert result.type == "SELECT", f"expected a results table, got a {result.type} result"
    return [str(v) for v in result.vars], list(result)


def parse_rdf(response: httpx.Response) -> rdflib.Graph:
    media = media_type(response)
    assert media in RDF_TYPES, f"not an RDF graph: Content-Type {media!r}"
    g = rdflib.Graph()
    g.parse(data=response.content, format=RDF_TYPES[media], publicID=str(response.url))
    return g


def check_response(request, response: httpx.Response, expected_boolean: bool | None) -> None:
    assert request.expects(response.status_code), (
        f"{request.method} {request.path}: status {response.status_code}, manifest expects "
        f"{' or '.join(request.expected_status)}; body: {response.text[:300]!r}"
    )
    if request.expected_format == "boolean":
        value = parse_boolean(response)
        if expected_boolean is not None:
            assert value is expected_boolean, f"ASK answered {value}, expected {expected_boolean}"
    elif request.expected_format == "tabular":
        parse_table(response)
    elif request.expected_format == "RDF":
        parse_rdf(response)
    elif request.expected_format is not None:
        pytest.fail(f"unknown mf:expectedFormat {request.expected_format!r}")


# --- the protocol tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("test", PROTOCOL_TESTS, ids=[t.name for t in PROTOCOL_TESTS])
def test_protocol(test, w3c_server, client):
    PROTOCOL_RAN[test.name] = "started"
    deviation = test.name in KNOWN_DEVIATIONS
    endpoint_path = httpx.URL(w3c_server.sparql).path
    update_refused = False
    for request in test.requests:
        url = w3c_server.url + request.path_on(endpoint_path)
        response = client.request(request.method, url, headers=list(request.headers), content=request.body)
        if deviation and request.is_update:
            # The documented behaviour in place of the 2xx the manifest expects.
            assert request.expects(200), f"{test.name} is listed as a known deviation but expects no 2xx"
            assert response.status_code == READ_ONLY_STATUS, (
                f"read-only endpoint: an update must get {READ_ONLY_STATUS}, got {response.status_code} "
                f"({response.text[:200]!r})"
            )
            update_refused = True
            continue
        expected = request.expected_boolean
        if update_refused and expected is not None:
            expected = not expected  # the ASK checks the refused update's effect: there must be none
        check_response(request, response, expected)
    if deviation:
        assert update_refused, f"{test.name} is a known deviation but sent no update request"
    PROTOCOL_RAN[test.name] = "deviation" if deviation else "pass"


def test_protocol_dataset_is_served(w3c_server, client):
    """The server holds exactly the manifest's graphs, so a passing dataset test cannot be an accident."""
    response = client.get(
        w3c_server.sparql,
        params={"query": "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200, response.text
    served = {b["g"]["value"]: int(b["n"]["value"]) for b in response.json()["results"]["bindings"]}
    expected = {name: len(rdflib.Graph().parse(path, format="nt")) for name, path in w3c_server.graphs.items()}
    assert served == expected


# --- the service description tests -------------------------------------------------------------------------

SD_ACCEPT = ["text/turtle", "application/rdf+xml", "application/ld+json", None]  # None: no Accept header
_descriptions: dict = {}


def fetch_description(server, client, accept: str | None) -> tuple[httpx.Response, rdflib.Graph]:
    key = (server.sparql, accept)
    if key not in _descriptions:
        headers = {"Accept": accept} if accept else {}
        request = client.build_request("GET", server.sparql, headers=headers)
        if accept is None:
            del request.headers["Accept"]
        response = client.send(request)
        assert response.status_code == 200, (
            f"GET {server.sparql} (Accept: {accept}): {response.status_code} {response.text[:300]}"
        )
        if accept:
            assert media_type(response) == accept, f"asked for {accept}, got {media_type(response)}"
        _descriptions[key] = (response, parse_rdf(response))
    return _descriptions[key]


def sd_returns_rdf(server, client, accept) -> None:
    _, g = fetch_description(server, client, accept)
    assert len(g) > 0, "the service description is an empty graph"


def sd_has_endpoint_triple(server, client, accept) -> None:
    _, g = fetch_description(server, client, accept)
    endpoint = rdflib.URIRef(server.sparql)
    assert (None, SD.endpoint, endpoint) in g, f"no ?s sd:endpoint <{endpoint}>"
    assert g.query(f"ASK {{ ?s sd:endpoint <{endpoint}> }}", initNs={"sd": SD}).askAnswer


#: (what the SD spec requires, an ASK that is true when the description breaks it)
SD_VIOLATIONS = [
    (
        "one sd:Service with sd:endpoint <the requested URL>",
        "ASK { FILTER NOT EXISTS { ?s a sd:Service ; sd:endpoint ?endpoint } }",
    ),
    ("at most one sd:Service", "ASK { ?a a sd:Service . ?b a sd:Service FILTER (?a != ?b) }"),
    (
        "the service supports SPARQL 1.1 Query",
        "ASK { ?s a sd:Service FILTER NOT EXISTS { ?s sd:supportedLanguage sd:SPARQL11Query } }",
    ),
    (
        "sd:supportedLanguage is one of the sd:Language instances",
        "ASK { ?s sd:supportedLanguage ?l FILTER (?l NOT IN (sd:SPARQL10Query, sd:SPARQL11Query, sd:SPARQL11Update)) }",
    ),
    (
        "sd:resultFormat is given, each a format IRI (http://www.w3.org/ns/formats/)",
        "ASK { { ?s a sd:Service FILTER NOT EXISTS { ?s sd:resultFormat ?f } } UNION "
        "{ ?s sd:resultFormat ?f FILTER (!isIRI(?f) || !STRSTARTS(STR(?f), 'http://www.w3.org/ns/formats/')) } }",
    ),
    ("sd:feature values are IRIs", "ASK { ?s sd:feature ?f FILTER (!isIRI(?f)) }"),
    ("sd:defaultEntailmentRegime values are IRIs", "ASK { ?s sd:defaultEntailmentRegime ?e FILTER (!isIRI(?e)) }"),
    (
        "the service has one sd:defaultDataset, a sd:Dataset",
        "ASK { { ?s a sd:Service FILTER NOT EXISTS { ?s sd:defaultDataset ?d } } UNION "
        "{ ?s sd:defaultDataset ?d FILTER NOT EXISTS { ?d a sd:Dataset } } UNION "
        "{ ?s sd:defaultDataset ?d1, ?d2 FILTER (?d1 != ?d2) } }",
    ),
    (
        "every sd:Dataset has one sd:defaultGraph, a sd:Graph",
        "ASK { { ?d a sd:Dataset FILTER NOT EXISTS { ?d sd:defaultGraph ?g } } UNION "
        "{ ?d sd:defaultGraph ?g FILTER NOT EXISTS { ?g a sd:Graph } } UNION "
        "{ ?d sd:defaultGraph ?g1, ?g2 FILTER (?g1 != ?g2) } }",
    ),
    (
        "every sd:namedGraph is a sd:NamedGraph with one IRI sd:name and one sd:graph, a sd:Graph",
        "ASK { ?d sd:namedGraph ?n . "
        "{ FILTER NOT EXISTS { ?n a sd:NamedGraph } } UNION "
        "{ FILTER NOT EXISTS { ?n sd:name ?name } } UNION { ?n sd:name ?name FILTER (!isIRI(?name)) } UNION "
        "{ ?n sd:name ?a, ?b FILTER (?a != ?b) } UNION "
        "{ FILTER NOT EXISTS { ?n sd:graph ?g } } UNION { ?n sd:graph ?g FILTER NOT EXISTS { ?g a sd:Graph } } UNION "
        "{ ?n sd:graph ?a, ?b FILTER (?a != ?b) } }",
    ),
    (
        "no two sd:namedGraph entries of a dataset share a name",
        "ASK { ?d sd:namedGraph ?a, ?b . ?a sd:name ?name . ?b sd:name ?name FILTER (?a != ?b) }",
    ),
    (
        "void:triples values are non-negative xsd:integer",
        "ASK { ?x void:triples ?n FILTER (datatype(?n) != xsd:integer || ?n < 0) }",
    ),
    (
        "the default dataset and its graphs have void:triples",
        "ASK { ?s sd:defaultDataset ?d . { ?d sd:defaultGraph ?g } UNION { ?d sd:namedGraph/sd:graph ?g } UNION "
        "{ BIND(?d AS ?g) } FILTER NOT EXISTS { ?g void:triples ?n } }",
    ),
]


def sd_conforms_to_schema(server, client, accept) -> None:
    _, g = fetch_description(server, client, accept)
    endpoint = f"<{rdflib.URIRef(server.sparql)}>"
    broken = [
        what
        for what, ask in SD_VIOLATIONS
        if g.query(ask.replace("?endpoint", endpoint), initNs={"sd": SD, "void": VOID, "xsd": XSD}).askAnswer
    ]
    assert not broken, "the service description breaks: " + "; ".join(broken)


SD_CHECKS = {
    "returns-rdf": sd_returns_rdf,
    "has-endpoint-triple": sd_has_endpoint_triple,
    "conforms-to-schema": sd_conforms_to_schema,
}
SD_CASES = [(name, which, accept) for name in SD_TESTS for which in ("w3c", "nap") for accept in SD_ACCEPT]


@pytest.mark.parametrize("name, which, accept", SD_CASES, ids=[f"{n}-{w}-{a or 'no-accept'}" for n, w, a in SD_CASES])
def test_service_description(name, which, accept, request, client):
    server = request.getfixturevalue(f"{which}_server")
    SD_RAN.setdefault(name, set()).add((which, accept))
    check = SD_CHECKS.get(name)
    assert check is not None, f"the service-description manifest has an entry {name!r} this runner has no check for"
    check(server, client, accept)


def _figures(g: rdflib.Graph) -> tuple[dict[str, int], int, int]:
    """({named graph IRI: void:triples}, default dataset triples, default graph triples) of a description."""
    named = {
        str(name): int(n)
        for name, n in g.query(
            "SELECT ?name ?n { ?s sd:defaultDataset/sd:namedGraph ?ng . ?ng sd:name ?name ; sd:graph/void:triples ?n }",
            initNs={"sd": SD, "void": VOID},
        )
    }
    ((dataset_triples, default_triples),) = g.query(
        "SELECT ?d ?g { ?s sd:defaultDataset ?ds . ?ds void:triples ?d ; sd:defaultGraph/void:triples ?g }",
        initNs={"sd": SD, "void": VOID},
    )
    return named, int(dataset_triples), int(default_triples)


def count(server, client, query: str) -> int:
    response = client.get(server.sparql, params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_service_description_of_served_files(w3c_server, client):
    """With --graph files only: the named graphs are those files, with their triple counts; the default graph
    is empty."""
    _, g = fetch_description(w3c_server, client, "text/turtle")
    named, dataset_triples, default_triples = _figures(g)
    assert named == {name: len(rdflib.Graph().parse(path, format="nt")) for name, path in w3c_server.graphs.items()}
    assert default_triples == dataset_triples == 0, "no --data was given: the default graph is empty (no union)"
    assert (None, SD.feature, SD.UnionDefaultGraph) not in g


def test_service_description_of_nap_graph(nap_server, client):
    """The NAP graph: every named graph listed with triples, the default dataset (their union) the sum of them,
    and every figure the same as the endpoint itself counts."""
    _, g = fetch_description(nap_server, client, "text/turtle")
    named, dataset_triples, default_triples = _figures(g)
    assert named, "the NAP service description lists no named graphs"
    assert all(n > 0 for n in named.values()), f"empty named graphs: {[k for k, n in named.items() if n == 0]}"
    assert (None, SD.feature, SD.UnionDefaultGraph) in g
    assert dataset_triples == sum(named.values()), (
        f"default dataset {dataset_triples} != sum of named graphs {sum(named.values())}"
    )
    assert default_triples == sum(named.values()), (
        f"default graph {default_triples} != sum of named graphs {sum(named.values())}"
    )
    served = {
        name: count(nap_server, client, f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{name}> {{ ?s ?p ?o }} }}")
        for name in named
    }
    assert served == named, "void:triples differ from what the endpoint counts"
    listed = count(nap_server, client, "SELECT (COUNT(DISTINCT ?g) AS ?n) { GRAPH ?g { ?s ?p ?o } }")
    assert listed == len(named), "the endpoint has named graphs the description does not list"
    assert count(nap_server, client, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == default_triples


# --- guards: every manifest entry ran --------------------------------------------------------------------


@pytest.mark.server  # a guard over the server tests above: it runs in their tier
def test_protocol_manifest_fully_run():
    names = entry_names(PROTOCOL)
    assert len(names) == PROTOCOL_ENTRIES, (
        f"the protocol manifest has {len(names)} entries, expected {PROTOCOL_ENTRIES}"
    )
    assert [t.name for t in PROTOCOL_TESTS] == names
    assert set(KNOWN_DEVIATIONS) <= set(names), f"deviations not in the manifest: {set(KNOWN_DEVIATIONS) - set(names)}"
    for test in PROTOCOL_TESTS:
        update_ok = test.name.startswith("update_") and any(r.is_update and r.expects(200) for r in test.requests)
        assert update_ok == (test.name in KNOWN_DEVIATIONS), (
            f"{test.name}: every update_* test that expects 2xx, and only those, is a known deviation"
        )
    missing = [n for n in names if n not in PROTOCOL_RAN]
    assert not missing, f"protocol tests that did not run (skipped or deselected): {missing}"
    assert {n for n, how in PROTOCOL_RAN.items() if how == "deviation"} <= set(KNOWN_DEVIATIONS)


@pytest.mark.server  # a guard over the server tests above: it runs in their tier
def test_service_description_manifest_fully_run():
    assert sorted(SD_TESTS) == ["conforms-to-schema", "has-endpoint-triple", "returns-rdf"]
    expected = {(w, a) for w in ("w3c", "nap") for a in SD_ACCEPT}
    missing = {
        n: sorted(map(str, expected - SD_RAN.get(n, set()))) for n in SD_TESTS if SD_RAN.get(n, set()) != expected
    }
    assert not missing, f"service description tests that did not run (skipped or deselected): {missing}"
