"""The catalogue's REST API (/api/queries) against a real `napkg serve` whose catalogue is the test one in
tests/fixtures/queries (NAPKG_QUERIES): listing, running, negotiation, paging, errors, parameter injection,
the OpenAPI description, and schemathesis over that description."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import uuid
from pathlib import Path

import httpx
import pytest
import rdflib
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from napkg.catalogue import api
from napkg.catalogue.queries import catalogue
from napkg.endpoint.context import Context
from napkg.endpoint.protocol import Settings
from server import running_server

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "queries"
JSON = "application/sparql-results+json"
AP = "https://w3id.org/nap-bhr/id/action-point/nap-2022-"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
MAX_ROWS = 500


@contextlib.contextmanager
def environment(**values: str):
    """Set environment variables for what starts inside the block (running_server's subprocess)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def server():
    with contextlib.ExitStack() as stack:
        with environment(NAPKG_QUERIES=str(FIXTURES)):
            s = stack.enter_context(running_server("--max-rows", str(MAX_ROWS)))
        yield s


@pytest.fixture(scope="module")
def fixtures():
    return catalogue(FIXTURES)


def get(server, name: str, params=None, **kwargs) -> httpx.Response:
    return httpx.get(f"{server.url}/api/queries/{name}", params=params, timeout=30, **kwargs)


def bindings(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    return response.json()["results"]["bindings"]


def triple_count(server) -> int:
    # A new comment each time: a new text, so the result cache cannot answer.
    r = httpx.post(
        server.sparql, data={"query": f"# {uuid.uuid4()}\n{COUNT_ALL}"}, headers={"Accept": JSON}, timeout=30
    )
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


# --- listing ---


def test_listing_describes_every_query(server, fixtures):
    r = httpx.get(server.url + "/api/queries", timeout=30)
    assert r.status_code == 200
    listed = {q["name"]: q for q in r.json()}
    assert sorted(listed) == sorted(fixtures)
    for name, query in fixtures.items():
        entry = listed[name]
        assert entry["url"] == f"{server.url}/api/queries/{name}"
        assert (entry["summary"], entry["summary_nl"], entry["description"]) == (
            query.summary,
            query.summary_nl,
            query.description,
        )
        assert entry["tags"] == list(query.tags) and entry["operation"] == query.operation
        assert [p["name"] for p in entry["parameters"]] == [p.name for p in query.params]
    titles = listed["titles"]["parameters"][0]
    assert titles == {
        "name": "lang",
        "type": "language",
        "description": "The language of the titles.",
        "default": "nl",
        "enum": ["nl", "en"],
        "required": False,
    }
    assert {p["name"]: p["type"] for p in listed["echo"]["parameters"]} == {
        "text": "string",
        "iri": "iri",
        "n": "integer",
        "year": "year",
        "lang": "language",
    }
    assert [p["required"] for p in listed["started-in"]["parameters"]] == [True, False]
    assert listed["titles"]["listable"] and not listed["first-three"]["listable"]
    assert listed["title-graph"]["operation"] == "CONSTRUCT" and listed["has-title"]["operation"] == "ASK"


# --- running ---


def test_run_a_select_with_defaults_and_values(server):
    rows = bindings(get(server, "titles"))
    assert len(rows) == 33
    assert [r["notation"]["value"] for r in rows] == [f"{n:02d}" for n in range(1, 34)]
    assert {r["title"]["xml:lang"] for r in rows} == {"nl"} and rows[0]["_lang"]["value"] == "nl"
    english = bindings(get(server, "titles", {"lang": "en"}))
    assert {r["title"]["xml:lang"] for r in english} == {"en"} and len(english) == 33

    started = bindings(get(server, "started-in", {"year": "2022", "minimum": "30"}))
    assert [r["notation"]["value"] for r in started] == ["31", "32", "33"]
    assert started[0]["_year"] == {
        "type": "literal",
        "value": "2022",
        "datatype": "http://www.w3.org/2001/XMLSchema#gYear",
    }
    assert started[0]["_minimum"]["datatype"] == "http://www.w3.org/2001/XMLSchema#integer"


def test_ask_and_construct(server):
    yes = get(server, "has-title", {"resource": AP + "17"})
    assert yes.status_code == 200 and yes.json()["boolean"] is True
    assert get(server, "has-title", {"resource": "https://example.org/nothing"}).json()["boolean"] is False
    r = get(server, "title-graph", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=r.text, format="turtle")
    assert {(str(s), str(p)) for s, p, _ in graph} == {(AP + "17", "http://purl.org/dc/terms/title")}
    assert len(graph) == 2
    other = rdflib.Graph().parse(
        data=get(server, "title-graph", {"action_point": AP + "03", "format": "nt"}).text, format="nt"
    )
    assert {str(s) for s in other.subjects()} == {AP + "03"}


@pytest.mark.parametrize(
    "accept, format_, media",
    [
        ("text/csv", None, "text/csv"),
        (None, "tsv", "text/tab-separated-values"),
        ("application/sparql-results+xml", None, "application/sparql-results+xml"),
        (None, "xml", "application/sparql-results+xml"),
        ("text/csv;q=0.5, application/sparql-results+json", None, JSON),
        (None, None, JSON),
    ],
)
def test_negotiation_of_a_select(server, accept, format_, media):
    headers = {"Accept": accept} if accept else {}
    r = get(server, "titles", {"format": format_} if format_ else None, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    assert "Accept" in r.headers["vary"] and r.headers["etag"]
    if media == "text/csv":
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == ["action_point", "notation", "title", "_lang"] and len(rows) == 34


@pytest.mark.parametrize(
    "accept, format_, media",
    [
        ("text/turtle", None, "text/turtle"),
        (None, "nt", "application/n-triples"),
        (None, "jsonld", "application/ld+json"),
        ("application/rdf+xml", None, "application/rdf+xml"),
        (None, "xml", "application/rdf+xml"),
        ("application/json", None, "application/ld+json"),
    ],
)
def test_negotiation_of_a_construct(server, accept, format_, media):
    headers = {"Accept": accept} if accept else {}
    r = get(server, "title-graph", {"format": format_} if format_ else None, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    rdf_format = {
        "text/turtle": "turtle",
        "application/n-triples": "nt",
        "application/ld+json": "json-ld",
        "application/rdf+xml": "xml",
    }[media]
    assert len(rdflib.Graph().parse(data=r.text, format=rdf_format)) == 2


def test_not_acceptable(server):
    r = get(server, "titles", headers={"Accept": "text/turtle"})
    assert r.status_code == 406 and "text/csv" in r.text
    assert get(server, "title-graph", headers={"Accept": JSON}).status_code == 406


def test_head_etag_and_not_modified(server):
    r = get(server, "titles", {"lang": "en"})
    head = httpx.head(f"{server.url}/api/queries/titles", params={"lang": "en"}, timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == r.headers["etag"]
    again = get(server, "titles", {"lang": "en"}, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert get(server, "titles", {"lang": "nl"}).headers["etag"] != r.headers["etag"]


# --- paging ---


def test_pages_follow_each_other(server):
    everything = bindings(get(server, "titles"))
    page1 = bindings(get(server, "titles", {"limit": "10"}))
    page2 = bindings(get(server, "titles", {"limit": "10", "offset": "10"}))
    last = bindings(get(server, "titles", {"limit": "10", "offset": "30"}))
    assert page1 == everything[:10] and page2 == everything[10:20] and last == everything[30:]
    assert page2[0]["notation"]["value"] == "11"
    assert bindings(get(server, "titles", {"limit": "0"})) == []
    assert bindings(get(server, "titles", {"offset": "40"})) == []


@pytest.mark.parametrize(
    "name, params, named",
    [
        ("titles", {"limit": "-1"}, "limit"),
        ("titles", {"limit": str(MAX_ROWS + 1)}, "limit"),
        ("titles", {"limit": "ten"}, "limit"),
        ("titles", {"limit": "1.5"}, "limit"),
        ("titles", {"offset": "-3"}, "offset"),
        ("titles", {"offset": "1e3"}, "offset"),
        ("first-three", {"limit": "1"}, "limit"),
        ("title-graph", {"offset": "1"}, "offset"),
    ],
)
def test_bad_paging_is_refused_naming_the_parameter(server, name, params, named):
    r = get(server, name, params)
    assert r.status_code == 422, r.text
    assert f"parameter '{named}'" in r.text


# --- errors ---


def test_unknown_query_is_404(server):
    r = get(server, "no-such-query")
    assert r.status_code == 404
    assert "no-such-query" in r.text and "titles" in r.text


@pytest.mark.parametrize(
    "name, params, named",
    [
        ("echo", {"n": "12x"}, "n"),
        ("echo", {"n": "1 } ; DROP ALL #"}, "n"),
        ("echo", {"n": "1" * 30}, "n"),
        ("echo", {"year": "20245"}, "year"),
        ("echo", {"year": '2024"^^<x> } #'}, "year"),
        ("echo", {"iri": "not an iri"}, "iri"),
        ("echo", {"lang": "en } #"}, "lang"),
        ("echo", {"text": "x" * 1001}, "text"),
        ("titles", {"lang": "fr"}, "lang"),
        ("titles", {"colour": "red"}, "colour"),
        ("started-in", {}, "year"),
        ("started-in", {"year": ""}, "year"),
        ("has-title", {"resource": "https://example.org/a b"}, "resource"),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(server, name, params, named):
    r = get(server, name, params)
    assert r.status_code == 422, r.text
    assert f"parameter '{named}'" in r.text


def test_a_parameter_given_twice_is_refused(server):
    r = httpx.get(f"{server.url}/api/queries/echo?text=a&text=b", timeout=30)
    assert r.status_code == 422 and "parameter 'text'" in r.text


# --- injection ---

STRINGS = [
    '" } ; DROP ALL #',
    "' } ; DROP ALL #",
    '""" } ; DROP ALL #',
    '\\" } ; DROP ALL #',
    "\\u0022 } ; DROP ALL #",
    "\\u003e } ; DROP ALL #",
    "x\n} ; DROP ALL #",
    "x\r\n} INSERT DATA { <urn:a> <urn:b> <urn:c> } #",
    "?_other",
    "$_iri",
    "} UNION { ?s ?p ?o",
    "<http://example.org/> } ; DROP ALL #",
    "\\",
    "# just a comment",
    "ünïcödé ✓ 🚀",
    "",
]
IRIS_REFUSED = [
    "http://x> } ; DROP ALL #",
    "http://x\\u003e } ; DROP ALL #",
    "http://x>\n} ; DROP ALL",
    'http://x" } #',
    "http://x/{?_other}",
    "http://x/a b",
    "x",
]
IRIS_ACCEPTED = ["http://x/?_other", "urn:x:DROP:ALL", "https://example.org/a#b;c=d&e"]


def test_string_parameters_come_back_as_the_very_same_literal(server):
    before = triple_count(server)
    for text in STRINGS:
        rows = bindings(get(server, "echo", {"text": text} if text else {"text": ""}))
        assert len(rows) == 1, text
        if text == "":  # empty: the parameter is left unbound
            assert rows[0] == {}
            continue
        assert rows[0] == {"_text": {"type": "literal", "value": text}}, text
    assert triple_count(server) == before


def test_iri_parameters_are_iris_or_refused(server):
    before = triple_count(server)
    for iri in IRIS_REFUSED:
        r = get(server, "echo", {"iri": iri})
        assert r.status_code == 422 and "parameter 'iri'" in r.text, iri
    for iri in IRIS_ACCEPTED:
        assert bindings(get(server, "echo", {"iri": iri})) == [{"_iri": {"type": "uri", "value": iri}}]
    # The other types never get past their check either.
    for params in ({"n": "1 } ; DROP ALL #"}, {"year": "2024 } #"}, {"lang": "nl } ; DROP ALL #"}):
        assert get(server, "echo", params).status_code == 422
    assert triple_count(server) == before


# --- OpenAPI ---


def operations(document: dict) -> dict[str, dict]:
    return {op["operationId"]: op for path in document["paths"].values() for op in path.values()}


def test_openapi_has_one_typed_operation_per_query(server, fixtures):
    document = httpx.get(server.url + "/openapi.json", timeout=30).json()
    ops = operations(document)
    for name, query in fixtures.items():
        assert f"/api/queries/{name}" in document["paths"]
        op = ops[name]
        assert op["tags"] == list(query.tags) and op["summary"] == query.summary
        assert query.description in op["description"]
    params = {op: {p["name"]: p for p in ops[op]["parameters"]} for op in fixtures}
    echo = params["echo"]
    assert echo["text"]["schema"] == {"type": "string", "maxLength": 1000}
    assert echo["iri"]["schema"] == {"type": "string", "format": "uri"}
    assert echo["n"]["schema"]["type"] == "integer"
    assert echo["year"]["schema"] == {"type": "string", "pattern": "^[0-9]{4}$"}
    assert echo["text"]["description"] == "Any text." and not echo["text"]["required"]
    assert params["titles"]["lang"]["schema"] == {"type": "string", "enum": ["nl", "en"], "default": "nl"}
    assert params["started-in"]["year"]["required"] is True
    assert params["started-in"]["minimum"]["schema"]["default"] == 0
    assert params["titles"]["limit"]["schema"] == {"type": "integer", "minimum": 0, "maximum": MAX_ROWS}
    assert "limit" not in params["first-three"] and "offset" not in params["title-graph"]
    assert params["titles"]["format"]["schema"]["enum"] == ["json", "xml", "csv", "tsv"]
    assert params["title-graph"]["format"]["schema"]["enum"] == ["ttl", "nt", "jsonld", "rdf"]
    assert set(ops["title-graph"]["responses"]["200"]["content"]) >= {"text/turtle", "application/ld+json"}
    assert "list_queries" in ops
    docs = httpx.get(server.url + "/docs", timeout=30)
    assert docs.status_code == 200 and "openapi.json" in docs.text


def test_the_docs_page_loads_only_the_servers_own_files(server):
    """FastAPI's own /docs loads Swagger UI from cdn.jsdelivr.net: ours works offline (tests/test_browser.py
    runs it in Chromium)."""
    page = httpx.get(server.url + "/docs", timeout=30).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    assert not re.search(r"https?://", page), re.findall(r"https?://[^'\"\s]+", page)
    for asset in assets:
        assert httpx.get(server.url + asset, timeout=30).status_code == 200, asset
    # ReDoc would fetch its logo from cdn.redoc.ly whatever it is given: no /redoc.
    assert httpx.get(server.url + "/redoc", timeout=30).status_code == 404


def test_openapi_of_the_project_catalogue_has_every_query():
    """Whatever queries/ holds: each is an operation, named after it (no server needed for the document)."""
    context = Context(pool=None, settings=Settings(), store=None, union_default_graph=True, fingerprint="")
    app = FastAPI()
    app.include_router(api.make_router(context, api.QUERIES))
    ops = operations(app.openapi())
    for name, query in catalogue().items():
        assert name in ops, name
        declared = {p["name"] for p in ops[name]["parameters"]}
        assert {p.name for p in query.params} <= declared


def test_editor_examples_come_from_the_catalogue(server, fixtures):
    config = httpx.get(server.url + "/editor-config.json", timeout=30).json()
    assert [e["id"] for e in config["examples"]] == list(fixtures)
    assert [e["name"] for e in config["examples"]] == [q.summary for q in fixtures.values()]
    for example in config["examples"]:
        assert "#+" not in example["query"]
        r = httpx.post(
            server.sparql,
            data={"query": example["query"]},
            timeout=30,
            headers={"Accept": "application/sparql-results+json, text/turtle;q=0.9"},
        )
        assert r.status_code == 200, (example["id"], r.text)
    titles = next(e for e in config["examples"] if e["id"] == "titles")
    assert 'VALUES (?_lang) { ("nl") }' in titles["query"]


# --- property-based: schemathesis over the OpenAPI description ---
# schemathesis's pytest plugin (schema.parametrize with from_fixture) fails under pytest 9 in schemathesis
# 4.32 ('Function' object has no attribute '_nodeid'), so each operation's strategy is used with @given here.

OPERATIONS = ["/api/queries"] + [f"/api/queries/{name}" for name in catalogue(FIXTURES)]


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


CASES = [
    pytest.param(path, "GET", mode, id=f"{path}-{mode.value}")
    for path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if path != "/api/queries" or mode == GenerationMode.POSITIVE
]  # the listing takes no input to get wrong
# The endpoint and the graph store, described beside the catalogue (protocol.openapi_path, graphstore.py).
CASES += [
    pytest.param(path, method, mode, id=f"{method} {path}-{mode.value}")
    for path, method in (("/sparql", "GET"), ("/sparql", "POST"), ("/store", "GET"))
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
]


def test_the_endpoint_and_the_graph_store_are_described(api_schema):
    assert api_schema["/sparql"]["GET"] and api_schema["/sparql"]["POST"] and api_schema["/store"]["GET"]


@pytest.mark.parametrize("path, method, mode", CASES)
def test_no_input_makes_a_server_error(api_schema, server, path, method, mode):
    operation = api_schema[path][method]
    seen = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate(base_url=server.url, checks=[not_a_server_error])
        seen.append(response.status_code)

    run()
    assert seen and all(status < 500 for status in seen)
