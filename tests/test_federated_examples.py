"""The catalogue's federated examples: queries whose header lists the SPARQL endpoints they join our graph
with through SERVICE (Cellar, Wikidata, TOOI).

Three things are checked. The examples declare themselves (endpoints, the tag `federated`, a description
that says how to allow them), and the parser refuses a header that does not match the query's SERVICE
calls. Where the endpoints are not allowed (a default `napkg serve`, `napkg query` on the project graph,
`napkg.query`) they are refused with a message naming the endpoint and --allow-service. And the joins are
real: each example, with its SERVICE IRI pointed at a local Oxigraph server that holds a small register
of the remote one's shape (tests/fixtures/federated/), runs through our API, the query editor's example
text and `napkg query --endpoint` on a server started with --allow-service for it; a recording relay in
front of each register shows what reached it. The live registers are never called: the tests have no
network.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

import httpx
import pytest

import napkg
from napkg.catalogue import api, local
from napkg.catalogue.queries import QUERIES, CatalogueError, catalogue, parse
from napkg.cli import main
from napkg.sparql import guard
from relay import Relay
from server import running_server
from test_links import OXIGRAPH, oxigraph_register

REGISTERS = Path(__file__).resolve().parent / "fixtures" / "federated"
ID = "https://w3id.org/nap-bhr/id/"
CELLAR = "https://publications.europa.eu/webapi/rdf/sparql"
WIKIDATA = "https://query.wikidata.org/sparql"
TOOI = "https://standaarden.overheid.nl/tooi/sparql"
#: name -> (the endpoint it calls, the local stand-in for that register)
EXAMPLES = {
    "instrument-in-cellar": (CELLAR, REGISTERS / "cellar.ttl"),
    "instrument-in-wikidata": (WIKIDATA, REGISTERS / "wikidata.ttl"),
    "organisation-in-tooi": (TOOI, REGISTERS / "tooi.ttl"),
}
FEDERATED = {name: q for name, q in catalogue(QUERIES).items() if q.endpoints}
JSON = "application/sparql-results+json"

needs_oxigraph = pytest.mark.skipif(
    not OXIGRAPH.exists(),
    reason="the oxigraph CLI is not installed (pip install oxigraph, or pip install -e '.[bench]')",
)


def values(results: dict) -> list[dict]:
    """SPARQL JSON results as {variable: value}; a date is written value^^date, so its type is checked too."""
    return [
        {k: v["value"] + ("^^date" if v.get("datatype", "").endswith("#date") else "") for k, v in b.items()}
        for b in results["results"]["bindings"]
    ]


def rows(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    return values(response.json())


@contextlib.contextmanager
def environment(**settings: str):
    """Environment variables for what starts inside the block (running_server's subprocess)."""
    old = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


# --- the examples declare themselves --------------------------------------------------------------------


def test_the_examples_are_there():
    """A guard against globs that match nothing: the three examples are in the catalogue, and nothing else
    calls SERVICE."""
    assert sorted(FEDERATED) == sorted(EXAMPLES)
    for name, query in catalogue(QUERIES).items():
        if name not in EXAMPLES:
            assert not guard.inspect(query.text).services, f"{name} calls SERVICE but lists no endpoints"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_declares_its_endpoint_and_how_to_allow_it(name):
    endpoint = EXAMPLES[name][0]
    query = parse(QUERIES / f"{name}.rq")
    assert query.endpoints == (endpoint,)
    assert "federated" in query.tags
    assert set(guard.inspect(query.text).services) == {endpoint}
    description = " ".join(query.description.split())
    assert f"--allow-service {endpoint}" in description, description
    assert "network" in description and "refused" in description
    assert not (QUERIES / f"{name}.expected.json").exists()
    assert query.params and all(p.default for p in query.params), "an example runs as it is, with defaults"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_parameters_reach_the_other_register(name):
    """The engine sends a SERVICE pattern without the substitutions, so the values must travel in a VALUES
    block inside the SERVICE group; else the register would be asked for all it has."""
    query = FEDERATED[name]
    job = local.job(query, {}, (JSON,))
    assert not job.substitutions
    for endpoint in query.endpoints:
        opened = re.search(r"SERVICE\s*<" + re.escape(endpoint) + r">\s*\{\s*VALUES\s*\(([^)]*)\)", job.query)
        assert opened, job.query
        assert opened.group(1).split() == [f"?_{p.name}" for p in query.params]
    example = next(e for e in api.examples() if e["id"] == name)
    assert example["endpoints"] == list(query.endpoints)
    assert "--allow-service" in example["query"].split("SELECT")[0]  # said in the example's comment
    assert re.search(r"SERVICE\s*<[^>]+>\s*\{\s*VALUES", example["query"])


SERVICE_BODY = "SELECT ?s WHERE { ?s ?p ?o SERVICE <https://example.org/sparql> { ?s ?q ?r } }\n"


@pytest.mark.parametrize(
    "header,body,fragment",
    [
        (
            "#+ tags: [federated]\n#+ endpoints: [https://example.org/other]\n",
            SERVICE_BODY,
            "SERVICE <https://example.org/sparql> is not listed",
        ),
        ("#+ tags: [test]\n", SERVICE_BODY, "SERVICE <https://example.org/sparql> is not listed"),
        (
            "#+ tags: [federated]\n#+ endpoints: [https://example.org/sparql, https://example.org/unused]\n",
            SERVICE_BODY,
            "<https://example.org/unused> is listed",
        ),
        ("#+ tags: [test]\n#+ endpoints: [https://example.org/sparql]\n", SERVICE_BODY, "must be tagged 'federated'"),
        ("#+ tags: [federated]\n", "SELECT ?s WHERE { ?s ?p ?o }\n", "lists no 'endpoints'"),
        (
            "#+ tags: [federated]\n#+ endpoints: [https://example.org/sparql]\n",
            "SELECT ?s WHERE { ?s ?p ?e SERVICE ?e { ?s ?q ?r } SERVICE <https://example.org/sparql> {} }\n",
            "names no endpoint",
        ),
        ("#+ tags: [federated]\n#+ endpoints: [not an iri]\n", SERVICE_BODY, "not an absolute http(s) IRI"),
        ("#+ tags: [federated]\n#+ endpoints: {a: b}\n", SERVICE_BODY, "must be a list"),
    ],
)
def test_a_header_that_does_not_match_the_service_calls_is_refused(tmp_path, header, body, fragment):
    path = tmp_path / "bad-query.rq"
    path.write_text("#+ summary: s\n#+ summary_nl: s nl\n#+ description: d\n" + header + body, encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        parse(path)
    assert "bad-query.rq" in str(caught.value) and fragment in str(caught.value), str(caught.value)


def test_a_prefixed_service_iri_counts_as_written_out(tmp_path):
    path = tmp_path / "good-query.rq"
    path.write_text(
        "#+ summary: s\n#+ summary_nl: s nl\n#+ description: d\n#+ tags: [federated]\n"
        "#+ endpoints: [https://example.org/sparql]\nPREFIX ex: <https://example.org/>\n"
        "SELECT ?s WHERE { SERVICE ex:sparql { ?s ?p ?o } }\n",
        encoding="utf-8",
    )
    assert parse(path).endpoints == ("https://example.org/sparql",)


# --- refused where the endpoints are not allowed ------------------------------------------------------


@pytest.fixture(scope="module")
def refusing():
    with running_server("--workers", "1") as s:
        yield s


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_default_server_refuses_the_example_naming_the_endpoint(refusing, name):
    endpoint = EXAMPLES[name][0]
    r = httpx.get(f"{refusing.url}/api/queries/{name}", timeout=30)
    assert r.status_code == 400, r.text
    assert f"Query '{name}'" in r.text and endpoint in r.text and f"--allow-service {endpoint}" in r.text, r.text
    assert "allowed endpoints: none" in r.text
    # The editor's example of it, sent to /sparql as a user would: the guard's refusal names it too.
    config = httpx.get(refusing.url + "/editor-config.json", timeout=30).json()
    example = next(e for e in config["examples"] if e["id"] == name)
    assert example["endpoints"] == [endpoint]
    r = httpx.post(refusing.sparql, data={"query": example["query"]}, timeout=30)
    assert r.status_code == 400 and f"<{endpoint}>" in r.text and "--allow-service" in r.text, r.text


def test_the_listing_and_the_openapi_say_which_endpoints(refusing):
    listed = {q["name"]: q for q in httpx.get(refusing.url + "/api/queries", timeout=30).json()}
    for name, (endpoint, _) in EXAMPLES.items():
        assert listed[name]["endpoints"] == [endpoint]
    assert listed["delayed-action-points"]["endpoints"] == []
    operations = httpx.get(refusing.url + "/openapi.json", timeout=30).json()["paths"]
    for name, (endpoint, _) in EXAMPLES.items():
        operation = operations[f"/api/queries/{name}"]["get"]
        assert endpoint in operation["responses"]["400"]["description"]
        assert "--allow-service" in operation["description"]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_napkg_query_refuses_it_on_the_project_graph(capsys, monkeypatch, name):
    """Exit 1 and a message naming the endpoint, before any engine runs (so nothing is called)."""

    def no_engine():
        raise AssertionError("the engine was asked to run a federated query")

    monkeypatch.setattr(local, "engine", no_engine)
    monkeypatch.delenv("NAPKG_QUERIES", raising=False)
    endpoint = EXAMPLES[name][0]
    assert main(["query", name]) == 1
    err = capsys.readouterr().err
    assert endpoint in err and f"napkg serve --allow-service {endpoint}" in err and "--endpoint" in err, err
    with pytest.raises(local.ServiceNotAllowed, match=re.escape(f"--allow-service {endpoint}")):
        napkg.query(name)


def test_napkg_query_refuses_a_query_file_that_calls_service(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(local, "engine", lambda: pytest.fail("the engine was asked to run it"))
    path = tmp_path / "mine.rq"
    path.write_text("SELECT * WHERE { SERVICE <https://example.org/sparql> { ?s ?p ?o } }\n", encoding="utf-8")
    assert main(["query", "--file", str(path)]) == 1
    assert "<https://example.org/sparql>" in capsys.readouterr().err


# --- the joins, against local registers of the same shape ----------------------------------------------


@pytest.fixture(scope="module")
def registers(tmp_path_factory):
    """name -> (the local register's SPARQL URL, behind a relay; the relay)."""
    with contextlib.ExitStack() as stack:
        made = {}
        for name, (_, fixture) in EXAMPLES.items():
            url = stack.enter_context(oxigraph_register(fixture, tmp_path_factory.mktemp(name)))
            relay = Relay(url.removesuffix("/query"))
            stack.callback(relay.close)
            made[name] = (relay.url + "/query", relay)
        yield made


@pytest.fixture(scope="module")
def local_catalogue(registers, tmp_path_factory):
    """The examples with their endpoint replaced by the local register's URL (in the header and in
    SERVICE), plus the Cellar example as published, under another name."""
    folder = tmp_path_factory.mktemp("federated-queries")
    for name, (endpoint, _) in EXAMPLES.items():
        text = (QUERIES / f"{name}.rq").read_text(encoding="utf-8")
        assert text.count(endpoint) >= 2  # the header's endpoints and the SERVICE
        (folder / f"{name}.rq").write_text(text.replace(endpoint, registers[name][0]), encoding="utf-8")
    (folder / "as-published.rq").write_text(
        (QUERIES / "instrument-in-cellar.rq").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert sorted(q.name for q in catalogue(folder).values() if q.endpoints) == sorted([*EXAMPLES, "as-published"])
    return folder


@pytest.fixture(scope="module")
def allowing(registers, local_catalogue):
    allow = [a for url, _ in registers.values() for a in ("--allow-service", url.removesuffix("query"))]
    with contextlib.ExitStack() as stack:
        with environment(NAPKG_QUERIES=str(local_catalogue)):
            server = stack.enter_context(running_server("--workers", "1", *allow))
        yield server


def run(server, name: str, **params) -> list[dict]:
    return rows(httpx.get(f"{server.url}/api/queries/{name}", params=params, timeout=60, headers={"Accept": JSON}))


def last_request(registers, name: str) -> dict:
    relay = registers[name][1]
    assert relay.requests, f"no request reached the {name} register"
    return relay.requests[-1]


@needs_oxigraph
def test_our_csddd_joined_with_its_cellar_work(allowing, registers):
    assert run(allowing, "instrument-in-cellar") == [
        {
            "_celex": "32024L1760",
            "instrument": ID + "legal-instrument/csddd",
            "label_nl": "Richtlijn (EU) 2024/1760 inzake passende zorgvuldigheid in het bedrijfsleven op het gebied "
            "van duurzaamheid",
            "eli": "http://data.europa.eu/eli/dir/2024/1760/oj",
            "work": "https://example.org/cellar/work/1",
            "date_document": "2001-02-03^^date",
            "title_nl": "Testtitel van werk 1 (Nederlands)",  # the Dutch expression's, not the English one's
        }
    ]
    request = last_request(registers, "instrument-in-cellar")
    # The query reaches the register as a form (the POST every endpoint takes), with its VALUES block.
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert re.search(r'VALUES\s*\(\s*\?_celex\s*\)\s*\{\s*\(\s*"32024L1760"\s*\)', request["query"]), request
    assert "STRDT" in request["query"]  # the typed literal Cellar's store needs is made there
    assert request["user_agent"].startswith("napkg/")


@needs_oxigraph
def test_a_celex_number_the_register_has_but_we_do_not_joins_nothing(allowing, registers):
    assert run(allowing, "instrument-in-cellar", celex="39999L9999") == []
    assert run(allowing, "instrument-in-wikidata", celex="39999L9999") == []


@needs_oxigraph
def test_our_csddd_joined_with_its_wikidata_item_by_celex_number(allowing, registers):
    assert run(allowing, "instrument-in-wikidata") == [
        {
            "_celex": "32024L1760",
            "instrument": ID + "legal-instrument/csddd",
            "label_nl": "Richtlijn (EU) 2024/1760 inzake passende zorgvuldigheid in het bedrijfsleven op het gebied "
            "van duurzaamheid",
            "item": "https://example.org/wikidata/item/1",
            "item_label_nl": "Testlabel van item 1",
            "item_label_en": "Test label of item 1",
        }
    ]
    assert '"32024L1760"' in last_request(registers, "instrument-in-wikidata")["query"]


@needs_oxigraph
def test_our_organisations_joined_with_their_tooi_records(allowing, registers):
    tooimin = "https://identifier.overheid.nl/tooi/id/ministerie/"
    assert run(allowing, "organisation-in-tooi") == [
        {
            "_tooi": tooimin + "mnre1073",
            "organisation": ID + "organisation/szw",
            "label_nl": "Ministerie van Sociale Zaken en Werkgelegenheid",
            "tooi_label": "ministerie van Sociale Zaken en Werkgelegenheid (test)",
            "official_name": "ministerie van Sociale Zaken en Werkgelegenheid (testnaam)",
            "abbreviation": "SZW-test",
            "start_date": "2001-02-03^^date",
        }
    ]
    assert f"<{tooimin}mnre1073>" in last_request(registers, "organisation-in-tooi")["query"]
    # A value other than the default reaches the register too. EZ is owl:sameAs mnre1045; EZK only
    # rdfs:seeAlso, so it does not join. Fields the record lacks stay unbound.
    assert run(allowing, "organisation-in-tooi", tooi="tooimin:mnre1045") == [
        {
            "_tooi": tooimin + "mnre1045",
            "organisation": ID + "organisation/ez",
            "label_nl": "Ministerie van Economische Zaken",
            "tooi_label": "ministerie van Economische Zaken (test)",
            "end_date": "2099-12-31^^date",
        }
    ]
    assert f"<{tooimin}mnre1045>" in last_request(registers, "organisation-in-tooi")["query"]


@needs_oxigraph
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_editor_example_and_napkg_query_endpoint_give_the_same_rows(allowing, local_catalogue, capsys, name):
    expected = run(allowing, name)
    assert expected
    example = next(e for e in api.examples(local_catalogue) if e["id"] == name)
    assert (
        rows(httpx.post(allowing.sparql, data={"query": example["query"]}, timeout=60, headers={"Accept": JSON}))
        == expected
    )
    capsys.readouterr()
    assert (
        main(["query", name, "--queries", str(local_catalogue), "--endpoint", allowing.sparql, "--format", "json"]) == 0
    )
    assert values(json.loads(capsys.readouterr().out)) == expected


@needs_oxigraph
def test_a_server_that_allows_other_endpoints_still_refuses_the_published_one(allowing, registers):
    before = sum(len(relay.requests) for _, relay in registers.values())
    r = httpx.get(f"{allowing.url}/api/queries/as-published", timeout=30)
    assert r.status_code == 400, r.text
    assert f"--allow-service {CELLAR}" in r.text and "allowed endpoints: http://127.0.0.1:" in r.text, r.text
    assert sum(len(relay.requests) for _, relay in registers.values()) == before
