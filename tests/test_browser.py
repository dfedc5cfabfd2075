"""The query editor at / in a real headless Chromium (Debian's, never a downloaded one), against a real server.

Checks what a person would do: open the page, pick an example, press run, read the table, download the
results; run a catalogue query from the API's /docs page; and that no page fetches anything from any host
but the server's own.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from browser import browser, require, server  # noqa: F401 (fixtures)

require()
from playwright.sync_api import expect  # noqa: E402 (after the skip)

QUERIES = Path(__file__).resolve().parents[1] / "queries"
LOCAL_HOSTS = {"127.0.0.1"}
ACTIVE = ".tabPanel.active"
ROWS = f"{ACTIVE} .yasr table.dataTable tbody tr"
TIMEOUT = 30_000  # ms, for anything that waits on the server


class Visit:
    """One fresh browser context (no localStorage from other tests) that records every request."""

    def __init__(self, browser, server):
        self.server = server
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
        self.context.set_default_timeout(TIMEOUT)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        # Nothing may leave the machine: a request to any other host is recorded above and refused here.
        self.context.route(lambda url: not _local(url), lambda route: route.abort())
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self):
        self.page.goto(self.server.url + "/")
        self.page.wait_for_selector("html[data-editor=ready]")
        expect(self.page.locator(f"{ACTIVE} .CodeMirror")).to_be_visible()
        return self.page

    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if not _local(u)]

    def close(self):
        self.context.close()


def _local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in LOCAL_HOSTS


@pytest.fixture
def visit(browser, server):
    v = Visit(browser, server)
    yield v
    v.close()


def select(server, query: str) -> dict:
    """The server's own answer to a query, as SPARQL JSON."""
    r = httpx.post(
        server.sparql, data={"query": query}, headers={"Accept": "application/sparql-results+json"}, timeout=30
    )
    assert r.status_code == 200, r.text
    return r.json()


def examples(page) -> list[dict]:
    return page.evaluate("() => window.napEditor.examples")


def run_example(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_function("name => window.napEditor.yasgui.getTab().getName() === name", arg=name)
    page.locator(f"{ACTIVE} .yasqe_queryButton").click()


def test_page_is_accessible_and_points_at_this_server(visit, server):
    page = visit.open()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "NAP knowledge graph" in page.title()
    expect(page.get_by_role("heading", level=1)).to_contain_text("NAP knowledge graph")
    expect(page.locator("header")).to_contain_text("National Action Plan on Business and Human Rights")
    expect(page.locator("main .intro")).to_contain_text("SPARQL")
    link = page.locator("#endpoint-link")
    assert link.get_attribute("href") == server.sparql
    assert page.evaluate("() => window.napEditor.endpoint") == server.sparql
    # The service description behind that link answers a browser with HTML.
    r = httpx.get(server.sparql, headers={"Accept": "text/html"}, timeout=30)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    # The default query declares every prefix of the graph, from /editor-config.json.
    prefixes = httpx.get(server.url + "/editor-config.json", timeout=30).json()["prefixes"]
    query = page.evaluate("() => window.napEditor.yasgui.getTab().getQuery()")
    for prefix, iri in prefixes.items():
        assert f"PREFIX {prefix}: <{iri}>" in query
    # Syntax highlighting: CodeMirror's SPARQL mode marks keywords and prefixed names.
    expect(page.locator(f"{ACTIVE} .CodeMirror .cm-keyword").first).to_be_visible()
    assert not visit.errors, visit.errors
    assert not visit.foreign_requests(), visit.foreign_requests()


def test_every_example_runs_on_the_server(visit, server):
    page = visit.open()
    found = examples(page)
    assert len(found) >= 3
    names = [e["name"] for e in found]
    expect(page.locator("#examples button")).to_have_text(names)
    for example in found:
        r = httpx.post(
            server.sparql,
            data={"query": example["query"]},
            timeout=30,
            headers={"Accept": "application/sparql-results+json, text/turtle;q=0.9"},
        )
        if example.get("endpoints"):
            # A federated example needs endpoints this server does not allow: refused, naming them.
            assert r.status_code == 400, f"{example['name']}: {r.status_code} {r.text}"
            assert all(e in r.text for e in example["endpoints"]) and "--allow-service" in r.text, r.text
            continue
        assert r.status_code == 200, f"{example['name']}: {r.text}"
        if "json" in r.headers["content-type"]:
            # An answer may be empty only where the catalogue's recorded answer is (a quality check that
            # finds nothing, such as texts without English).
            recorded = json.loads((QUERIES / f"{example['id']}.expected.json").read_text(encoding="utf-8"))
            expect_rows = bool(recorded["cases"][0]["result"].get("results", {}).get("bindings", True))
            assert bool(r.json()["results"]["bindings"]) == expect_rows, (
                f"{example['name']}: {len(r.json()['results']['bindings'])} rows"
            )
        else:
            assert r.text.strip(), f"{example['name']} has no triples"


def test_run_example_shows_the_action_points(visit, server):
    page = visit.open()
    example = next(e for e in examples(page) if "status" in e["name"] and "2024" in e["name"])
    answer = select(server, example["query"])
    bindings = answer["results"]["bindings"]
    count = select(
        server,
        "PREFIX nap: <https://w3id.org/nap-bhr/def#> "
        "SELECT (COUNT(DISTINCT ?ap) AS ?n) WHERE { ?ap a nap:ActionPoint }",
    )
    assert len(bindings) == int(count["results"]["bindings"][0]["n"]["value"]) == 33

    run_example(page, example["name"])
    expect(page.locator(ROWS)).to_have_count(len(bindings))
    table = page.locator(f"{ACTIVE} .yasr table.dataTable")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert headers[1:] == answer["head"]["vars"]
    # The first and last titles the server gives are in the table, in that order.
    first, last = bindings[0]["title"]["value"], bindings[-1]["title"]["value"]
    expect(page.locator(ROWS).first).to_contain_text(first)
    expect(page.locator(ROWS).last).to_contain_text(last)
    expect(page.locator(f"{ACTIVE} .yasr")).to_contain_text(f"{len(bindings)} results")
    # IRIs are shown with the graph's prefixes.
    expect(page.locator(ROWS).first).to_contain_text("ap:nap-2022-" + bindings[0]["notation"]["value"])
    assert not visit.errors, visit.errors
    assert not visit.foreign_requests(), visit.foreign_requests()


def test_download_csv_and_json(visit, server):
    page = visit.open()
    example = next(e for e in examples(page) if "per status" in e["name"])
    answer = select(server, example["query"])
    variables = answer["head"]["vars"]
    expected = [[b.get(v, {}).get("value", "") for v in variables] for b in answer["results"]["bindings"]]

    run_example(page, example["name"])
    expect(page.locator(ROWS)).to_have_count(len(expected))

    # Table view: the download icon saves the table as CSV.
    with page.expect_download() as info:
        page.locator(f"{ACTIVE} .yasr_downloadIcon").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0] == variables
    assert rows[1:] == expected

    # Response view: the same icon saves the endpoint's JSON as it came.
    page.locator(f"{ACTIVE} .yasr .select_response").click()
    with page.expect_download() as info:
        page.locator(f"{ACTIVE} .yasr_downloadIcon").click()
    download = info.value
    assert download.suggested_filename.endswith(".json")
    saved = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert saved["head"]["vars"] == variables
    assert len(saved["results"]["bindings"]) == len(expected)
    assert not visit.foreign_requests(), visit.foreign_requests()


def test_completion_uses_the_graphs_prefixes_and_terms(visit, server):
    page = visit.open()
    page.evaluate("() => window.napEditor.yasgui.addTab(true, {name: 'Completion', yasqe: {value: ''}})")
    editor = page.locator(f"{ACTIVE} .CodeMirror")
    editor.click()
    page.keyboard.type("PREFIX na")
    hints = page.locator(".CodeMirror-hints li")
    expect(hints.first).to_be_visible()
    assert "nap: <https://w3id.org/nap-bhr/def#>" in hints.all_inner_texts()
    page.keyboard.press("Escape")

    page.evaluate("() => window.napEditor.yasgui.getTab().getYasqe().setValue('')")
    editor.click()
    page.keyboard.type("SELECT * WHERE { ?ap a nap:ActionPo")
    # Typing a known prefix declares it.
    query = page.evaluate("() => window.napEditor.yasgui.getTab().getQuery()")
    assert "PREFIX nap: <https://w3id.org/nap-bhr/def#>" in query
    page.keyboard.press("Control+Space")
    expect(hints.first).to_be_visible()
    assert "nap:ActionPoint" in hints.all_inner_texts()
    assert not visit.foreign_requests(), visit.foreign_requests()


def test_examples_come_from_the_config_when_it_has_them(visit, server):
    config = httpx.get(server.url + "/editor-config.json", timeout=30).json()
    config["examples"] = [{"name": "Count the triples", "query": "SELECT (COUNT(*) AS ?triples) WHERE { ?s ?p ?o }"}]
    visit.page.route("**/editor-config.json", lambda route: route.fulfill(json=config))
    page = visit.open()
    expect(page.locator("#examples button")).to_have_text(["Count the triples"])
    expected = select(server, config["examples"][0]["query"])["results"]["bindings"][0]["triples"]["value"]
    run_example(page, "Count the triples")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(ROWS).first).to_contain_text(expected)


def test_api_docs_work_offline_and_run_a_query(visit, server):
    """/docs (Swagger UI) from the package's own files: it lists the catalogue and runs a query."""
    page = visit.page
    page.goto(server.url + "/docs")
    # The query is listed under each of its tags; the first will do.
    operation = (
        page.locator(".opblock").filter(has=page.locator('[data-path="/api/queries/delayed-action-points"]')).first
    )
    expect(operation).to_be_visible()
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    expect(status).to_have_text("200")
    expected = select(
        server,
        (Path(__file__).resolve().parent.parent / "queries" / "delayed-action-points.rq").read_text(encoding="utf-8"),
    )["results"]["bindings"]
    assert expected
    body = operation.locator(".live-responses-table tr.response .response-col_description pre").first.inner_text()
    assert expected[0]["action_point"]["value"] in body
    assert not visit.foreign_requests(), visit.foreign_requests()
    assert not visit.errors, visit.errors


def test_api_docs_run_a_sparql_query(visit, server):
    """/sparql is described beside the catalogue, so it too can be tried from /docs."""
    page = visit.page
    page.goto(server.url + "/docs")
    operation = page.locator("#operations-SPARQL-sparql_get")
    expect(operation).to_be_visible()
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator('tr[data-param-name="query"] input').fill("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    operation.locator(".execute").click()
    expect(operation.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    expected = select(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")["results"]["bindings"][0]["n"]["value"]
    assert (
        expected
        in operation.locator(".live-responses-table tr.response .response-col_description pre").first.inner_text()
    )
    assert not visit.foreign_requests(), visit.foreign_requests()


def test_a_query_error_is_shown_with_the_servers_message(visit, server):
    """A pasted query without its PREFIX lines: the editor shows the server's 400, which names the prefix and
    gives the line to add."""
    page = visit.open()
    page.evaluate(
        "() => window.napEditor.yasgui.getTab().getYasqe().setValue('SELECT ?t WHERE { ?ap dct:title ?t } LIMIT 1')"
    )
    page.locator(f"{ACTIVE} .yasqe_queryButton").click()
    error = page.locator(f"{ACTIVE} .yasr")
    expect(error).to_contain_text("the prefix dct: is used but not declared")
    expect(error).to_contain_text("PREFIX dct: <http://purl.org/dc/terms/>")
    assert not visit.foreign_requests(), visit.foreign_requests()
