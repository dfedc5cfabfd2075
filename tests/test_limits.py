"""Every limit of a public endpoint, against real `napkg serve` processes: runaway queries, deep nesting,
long queries, SERVICE (a canary listener records any request the server makes), updates and LOAD, body
size, a full waiting line, the row limit, a query that crashes the engine, and clients that connect and
never finish sending their request."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import urllib.parse
import uuid

import httpx
import pytest
import rdflib

from endpoint_support import (
    JSON,
    PREFIXES,
    Canary,
    alive,
    count,
    cpu_ticks,
    healthz,
    select,
    servers,
    wait_until,
    worker_pids,
)

# serial: asserts timeouts and the request-timeout sweep in seconds; `make test` runs it after the parallel run.
pytestmark = pytest.mark.serial

TIMEOUT = 2  # --timeout of the main server
REQUEST_TIMEOUT = 1  # --request-timeout of the main server: under TIMEOUT, so answering slowly is not sending slowly
MAX_ROWS = 5
MAX_BODY = 60_000
MAX_LENGTH = 40_000
MAX_DEPTH = 64  # the default
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
COUNT_APS = PREFIXES + "SELECT (COUNT(DISTINCT ?ap) AS ?n) WHERE { ?ap a nap:ActionPoint }"


def fresh(query: str) -> str:
    """The query with a new comment: a new text, so the server's result cache cannot answer it."""
    return f"# {uuid.uuid4()}\n{query}"


@pytest.fixture(scope="module")
def canary():
    with Canary() as c:
        yield c


@pytest.fixture(scope="module")
def started(canary):
    with servers(
        (
            "--workers",
            "2",
            "--timeout",
            str(TIMEOUT),
            "--max-rows",
            str(MAX_ROWS),
            "--max-body",
            str(MAX_BODY),
            "--max-query-length",
            str(MAX_LENGTH),
            "--request-timeout",
            str(REQUEST_TIMEOUT),
        ),
        ("--allow-service", canary.url),
        ("--workers", "1", "--queue", "0", "--timeout", "3"),
    ) as all_three:
        yield all_three


@pytest.fixture(scope="module")
def main(started):
    """The public endpoint: no SERVICE allowed, small limits."""
    return started[0]


@pytest.fixture(scope="module")
def federating(started):
    return started[1]


@pytest.fixture(scope="module")
def single(started):
    return started[2]


@pytest.fixture(scope="module")
def expected_aps(project) -> int:
    return int(next(iter(project.union().query(COUNT_APS)))[0])


def answers(server, expected_aps: int) -> None:
    """The server still runs queries, and right (bounded wait for a replacement worker)."""
    assert count(server, fresh(COUNT_APS)) == expected_aps


# --- a runaway query ---


def test_runaway_is_stopped_and_its_worker_killed(main, expected_aps):
    before = healthz(main)
    workers = wait_until(lambda: len(worker_pids(main.process.pid)) == 2 and worker_pids(main.process.pid), 30)
    assert workers, "the server should have two workers"
    outcome: dict = {}
    query = fresh(RUNAWAY)

    def run():
        started = time.monotonic()
        outcome["response"] = httpx.post(main.sparql, data={"query": query}, timeout=TIMEOUT + 30)
        outcome["seconds"], outcome["done"] = time.monotonic() - started, time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert wait_until(lambda: healthz(main)["busy"] >= 1, 5), "the runaway never reached a worker"

    # Which worker runs it: the one burning CPU.
    ticks = {pid: cpu_ticks(pid) or 0 for pid in workers}
    time.sleep(0.3)
    burnt = {pid: (cpu_ticks(pid) or 0) - ticks[pid] for pid in workers}
    runaway_pid = max(burnt, key=burnt.get)
    assert burnt[runaway_pid] > 0

    # Meanwhile the server answers: the health check, and a query on the other worker.
    during = healthz(main)
    assert during["status"] == "ok" and during["busy"] >= 1
    answers(main, expected_aps)
    answered = time.monotonic()

    thread.join(TIMEOUT + 30)
    assert not thread.is_alive()
    response = outcome["response"]
    assert response.status_code == 504
    assert f"{TIMEOUT} s" in response.text and "limit" in response.text, response.text
    assert outcome["seconds"] < TIMEOUT + 10
    assert answered < outcome["done"], "the simple query should have been answered while the runaway ran"

    # Its worker is gone, so its CPU is free; a new one took its place.
    assert wait_until(lambda: not alive(runaway_pid), 5), f"worker {runaway_pid} still exists"
    after = healthz(main)
    assert after["restarts"] == before["restarts"] + 1
    assert (after["timeouts"], after["crashes"]) == (before["timeouts"] + 1, before["crashes"])
    answers(main, expected_aps)
    assert wait_until(lambda: len(worker_pids(main.process.pid)) == 2, 30)
    assert runaway_pid not in worker_pids(main.process.pid)
    # The operator hears of it: the limit, the worker and the query (on one line), never the client's address.
    told = (
        f"A query ran past its limit of {TIMEOUT:g} s; worker {runaway_pid} was killed and is being replaced. "
        f"The query: {' '.join(query.split())}"
    )
    assert wait_until(lambda: told in main.log(), 5), main.log()[-2000:]
    assert not [line for line in main.log().splitlines() if "napkg.pool" in line and "127.0.0.1" in line]


# --- nesting depth and query length ---

DEEP = {
    "braces": "SELECT * WHERE " + "{" * 3000 + "}" * 3000,
    "parentheses-in-filter": "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * 3000 + "?o" + ")" * 3000 + ") }",
    "brackets": "SELECT * WHERE { ?s ?p " + "[ ?p " * 3000 + "?o" + " ]" * 3000 + " }",
    # The same, hidden from a lexer that ends comments only at \n: SPARQL ends them at \r too.
    "braces-after-cr-comment": "# a comment\rSELECT * WHERE " + "{" * 3000 + "}" * 3000,
    # Parentheses inside what looks like an IRI but is `1 < (((...2...))) > 0` to the SPARQL parser.
    "parentheses-inside-less-than": "SELECT * WHERE { FILTER((1<" + "(" * 10000 + "2" + ")" * 10001 + ">0) }",
}


@pytest.mark.parametrize("how", ["GET", "POST"])
@pytest.mark.parametrize("name", list(DEEP))
def test_deep_nesting_is_refused_before_the_engine(main, expected_aps, name, how):
    query = DEEP[name]
    assert len(query) < MAX_LENGTH
    restarts = healthz(main)["restarts"]
    if how == "GET":
        response = httpx.get(main.sparql, params={"query": query}, timeout=30)
    else:
        response = httpx.post(
            main.sparql, content=query, headers={"Content-Type": "application/sparql-query"}, timeout=30
        )
    assert response.status_code == 400, response.text[:300]
    assert "nested" in response.text and "deep" in response.text and str(MAX_DEPTH) in response.text
    answers(main, expected_aps)
    assert healthz(main)["restarts"] == restarts, "the engine saw the query: a worker died"


def test_query_longer_than_the_limit(main):
    padding = "#" + "x" * MAX_LENGTH + "\n"
    query = padding + "ASK {}"
    assert MAX_LENGTH < len(query) < MAX_BODY
    response = httpx.post(main.sparql, content=query, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 400
    assert str(len(query)) in response.text and str(MAX_LENGTH) in response.text


def test_query_at_the_length_limit_runs(main):
    query = "ASK {}\n#"
    query += "x" * (MAX_LENGTH - len(query))
    assert len(query) == MAX_LENGTH
    response = httpx.post(
        main.sparql, content=query, headers={"Content-Type": "application/sparql-query", "Accept": JSON}
    )
    assert response.status_code == 200
    assert response.json()["boolean"] is True


# --- SERVICE: the server never calls out, unless allowed ---


def _escaped_iri(url: str) -> str:
    """The IRI with each digit of its host written as a \\u codepoint escape."""
    host = "127.0.0.1"
    return url.replace(host, "".join(f"\\u{ord(c):04X}" if c.isdigit() else c for c in host))


SERVICE_QUERIES = {
    "iri": "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "silent": "SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "prefixed-name": "PREFIX c: <{base}>\nSELECT * WHERE {{ SERVICE c:{token} {{ ?s ?p ?o }} }}",
    "empty-prefix": "PREFIX : <{base}>\nSELECT * WHERE {{ SERVICE :{token} {{ ?s ?p ?o }} }}",
    "variable": "SELECT * WHERE {{ VALUES ?x {{ <{url}> }} SERVICE ?x {{ ?s ?p ?o }} }}",
    "escaped-keyword": "SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
    "escaped-iri": "SELECT * WHERE {{ SERVICE <{escaped_url}> {{ ?s ?p ?o }} }}",
    "lower-case": "select * where {{ service <{url}> {{ ?s ?p ?o }} }}",
    "relative-to-base": "BASE <{base}>\nSELECT * WHERE {{ SERVICE <{token}> {{ ?s ?p ?o }} }}",
    "in-exists": "SELECT * WHERE {{ ?s ?p ?o FILTER EXISTS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} LIMIT 1",
    "in-subquery": "SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
    # A comment ends at \r in SPARQL; a lexer that waits for \n does not see the SERVICE.
    "after-cr-comment": "# a comment\rSELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    # \' is an escape inside a prefixed name (PN_LOCAL_ESC); a lexer that takes it for a string start
    # does not see the SERVICE that follows.
    "after-escaped-quote-in-prefixed-name": "PREFIX ex: <http://example.org/>\n"
    "SELECT * WHERE {{ {{ ?s ex:a\\' ?o }} UNION "
    "{{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} VALUES ?z {{ 'x' }}",
}
DATASET_QUERIES = {
    "from": ("SELECT * WHERE {{ ?s ?p ?o }} LIMIT 1", "FROM <{url}>"),
    "from-named": ("SELECT * WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT 1", "FROM NAMED <{url}>"),
    "named-graph-uri": ("SELECT * WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT 1", "named-graph-uri"),
    "default-graph-uri": ("SELECT * WHERE {{ ?s ?p ?o }} LIMIT 1", "default-graph-uri"),
}


@pytest.fixture(scope="module")
def outbound(main, canary):
    """Every SERVICE and dataset probe sent to the main server, then one wait for late requests:
    name -> (response, the canary's requests for that probe)."""
    responses = {}
    for name, template in SERVICE_QUERIES.items():
        token = f"{name}-{uuid.uuid4().hex[:8]}"
        url = canary.url + token
        query = template.format(url=url, base=canary.url, token=token, escaped_url=_escaped_iri(url))
        responses[name] = (token, httpx.post(main.sparql, data={"query": query}, timeout=30))
    for name, (template, clause) in DATASET_QUERIES.items():
        token = f"{name}-{uuid.uuid4().hex[:8]}"
        url = canary.url + token
        if clause.endswith("-uri"):
            response = httpx.post(main.sparql, data={"query": template.format(), clause: url}, timeout=30)
        else:
            query = template.format().replace("WHERE", clause.format(url=url) + " WHERE", 1)
            response = httpx.post(main.sparql, data={"query": query}, timeout=30)
        responses[name] = (token, response)
    time.sleep(1.0)
    return {name: (response, canary.seen(token, wait=0)) for name, (token, response) in responses.items()}


@pytest.mark.parametrize("name", list(SERVICE_QUERIES))
def test_service_is_refused_and_never_called(outbound, name):
    response, requests = outbound[name]
    assert requests == [], f"the server called the canary: {requests}"
    assert response.status_code == 400, response.text
    assert "SERVICE" in response.text and "not allowed" in response.text


@pytest.mark.parametrize("name", list(DATASET_QUERIES))
def test_dataset_iris_are_never_fetched(outbound, name):
    response, requests = outbound[name]
    assert requests == [], f"the server fetched from the canary: {requests}"
    assert response.status_code < 500


def test_allowed_service_is_called(federating, canary):
    token = f"allowed-{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        federating.sparql,
        data={"query": f"SELECT * WHERE {{ SERVICE <{canary.url}{token}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": JSON},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"] == []  # what the canary answered
    assert len(canary.seen(token, wait=0)) >= 1


@pytest.mark.parametrize("which", ["main", "federating"])
def test_the_service_description_states_the_allow_list(request, canary, which):
    server = request.getfixturevalue(which)
    graph = rdflib.Graph().parse(data=httpx.get(server.sparql, headers={"Accept": "text/turtle"}).text, format="turtle")
    comment = str(graph.value(rdflib.URIRef(server.sparql), rdflib.RDFS.comment))
    expected = "SERVICE is not allowed." if which == "main" else f"SERVICE may call only endpoints under: {canary.url}."
    assert expected in comment, comment
    assert f"Queries run at most {TIMEOUT:g} s; results are cut at {MAX_ROWS} rows" in comment or which != "main"


def test_allow_list_is_a_prefix_of_the_iri(federating, canary):
    """localhost is the same machine as 127.0.0.1, but not the IRI prefix the operator allowed."""
    token = f"not-allowed-{uuid.uuid4().hex[:8]}"
    other = canary.url.replace("127.0.0.1", "localhost") + token
    response = httpx.post(
        federating.sparql, data={"query": f"SELECT * WHERE {{ SERVICE <{other}> {{ ?s ?p ?o }} }}"}, timeout=30
    )
    assert response.status_code == 400
    assert canary.seen(token) == []


# --- updates and LOAD ---


def _updates(canary_url: str) -> dict[str, str]:
    return {
        "insert-data": 'INSERT DATA { <http://example.org/s> <http://example.org/p> "inserted" }',
        "delete-where": "DELETE WHERE { ?s ?p ?o }",
        "load": f"LOAD <{canary_url}load-{uuid.uuid4().hex[:8]}>",
        "drop-all": "DROP ALL",
        "clear-default": "CLEAR DEFAULT",
    }


@pytest.fixture(scope="module")
def update_attempts(main, canary):
    """Every update sent every way, with the triple count before and after: (before, after, results)."""
    before = count(main, fresh(COUNT_ALL))
    results = {}
    for name, update in _updates(canary.url).items():
        results[name, "query-param"] = httpx.get(main.sparql, params={"query": update})
        results[name, "form-update"] = httpx.post(main.sparql, data={"update": update})
        results[name, "sparql-update"] = httpx.post(
            main.sparql, content=update, headers={"Content-Type": "application/sparql-update"}
        )
        results[name, "sparql-query-body"] = httpx.post(
            main.sparql, content=update, headers={"Content-Type": "application/sparql-query"}
        )
    seen = canary.seen("load-", wait=1.0)
    after = count(main, fresh(COUNT_ALL))
    inserted = select(main, fresh('ASK { ?s ?p "inserted" }')).json()["boolean"]
    return before, after, inserted, seen, results


@pytest.mark.parametrize("how", ["query-param", "form-update", "sparql-update", "sparql-query-body"])
@pytest.mark.parametrize("name", ["insert-data", "delete-where", "load", "drop-all", "clear-default"])
def test_update_is_refused(update_attempts, name, how):
    response = update_attempts[4][name, how]
    assert 400 <= response.status_code < 500, response.text


def test_updates_change_nothing_and_load_fetches_nothing(update_attempts):
    before, after, inserted, seen, _ = update_attempts
    assert before > 0
    assert after == before
    assert not inserted
    assert seen == []


# --- request body ---


def test_body_over_the_limit(main):
    query = "ASK {}" + " " * MAX_BODY
    response = httpx.post(main.sparql, content=query, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413
    form = httpx.post(main.sparql, data={"query": query})
    assert form.status_code == 413


def test_body_under_the_limit(main):
    query = "ASK {}" + " " * (MAX_LENGTH - 10)
    response = httpx.post(main.sparql, content=query, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 200


# --- a full waiting line ---


def test_queue_full_gives_503(single):
    """--workers 1 --queue 0: while the one worker runs a query, the next request is not queued."""
    outcome: dict = {}

    def run():
        outcome["slow"] = httpx.post(single.sparql, data={"query": fresh(RUNAWAY)}, timeout=30)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: healthz(single)["busy"] == 1, 5), "the slow query never reached the worker"
        second = httpx.post(single.sparql, data={"query": fresh("ASK {}")}, timeout=30)
        assert healthz(single)["status"] == "ok"
        assert second.status_code == 503, f"{second.status_code}: {second.text[:200]}"
        assert int(second.headers["retry-after"]) > 0
    finally:
        thread.join(30)
    assert outcome["slow"].status_code == 504
    health = healthz(single)
    assert health["status"] == "ok" and health["overloaded"] == 1 and health["timeouts"] == 1
    assert (
        "WARNING napkg.pool: Every query worker is busy and the waiting line (0) is full: 1 request(s) answered 503"
        in single.log()
    ), single.log()[-2000:]


# --- the row limit ---


@pytest.mark.parametrize("accept", [JSON, "text/csv"])
def test_rows_are_cut_at_max_rows(main, accept):
    response = httpx.get(main.sparql, params={"query": "SELECT * WHERE { ?s ?p ?o }"}, headers={"Accept": accept})
    assert response.status_code == 200
    rows = response.json()["results"]["bindings"] if accept == JSON else response.text.splitlines()[1:]
    assert len(rows) == MAX_ROWS
    assert response.headers["x-result-truncated"] == "true"
    assert response.headers["x-result-max-rows"] == str(MAX_ROWS)


@pytest.mark.parametrize("limit", [MAX_ROWS - 2, MAX_ROWS])
def test_no_truncation_header_when_all_rows_fit(main, limit):
    response = httpx.get(
        main.sparql, params={"query": f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {limit}"}, headers={"Accept": JSON}
    )
    assert response.status_code == 200
    assert len(response.json()["results"]["bindings"]) == limit
    assert "x-result-truncated" not in response.headers
    assert "x-result-max-rows" not in response.headers


def test_construct_is_cut_at_max_rows(main):
    response = httpx.get(
        main.sparql, params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"}, headers={"Accept": "application/n-triples"}
    )
    assert response.status_code == 200
    assert len([line for line in response.text.splitlines() if line.strip()]) == MAX_ROWS
    assert response.headers["x-result-truncated"] == "true"
    assert response.headers["x-result-max-rows"] == str(MAX_ROWS)


# --- a crash is contained ---


def test_long_minus_chain_runs_on_the_large_worker_stack(main, expected_aps):
    """A long flat chain of MINUS (depth 2, 35 KB) overflowed pyoxigraph's stack on an 8 MiB thread
    (SIGSEGV). Workers run queries on a thread with a large stack, so it is now simply answered."""
    query = "SELECT * WHERE { ?s ?p ?o " + "MINUS{}" * 5000 + " } LIMIT 1"
    assert len(query) < MAX_LENGTH
    restarts = healthz(main)["restarts"]
    response = httpx.post(
        main.sparql, content=query, headers={"Content-Type": "application/sparql-query"}, timeout=TIMEOUT + 30
    )
    assert response.status_code == 200, response.text
    assert healthz(main)["restarts"] == restarts


def test_a_worker_that_dies_mid_query_is_contained(main, expected_aps):
    """Whatever kills a worker (a crash in the engine, the OOM killer), the client gets 500, the worker is
    replaced and the server goes on. The death is caused from outside: SIGKILL on the busy worker."""
    workers = wait_until(lambda: len(worker_pids(main.process.pid)) == 2 and worker_pids(main.process.pid), 30)
    assert workers
    before = healthz(main)
    restarts = before["restarts"]
    outcome: dict = {}
    query = fresh(RUNAWAY)

    def run():
        outcome["response"] = httpx.post(main.sparql, data={"query": query}, timeout=TIMEOUT + 30)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert wait_until(lambda: healthz(main)["busy"] >= 1, 5)
    ticks = {pid: cpu_ticks(pid) or 0 for pid in workers}
    time.sleep(0.3)
    busy_pid = max(workers, key=lambda pid: (cpu_ticks(pid) or 0) - ticks[pid])
    os.kill(busy_pid, signal.SIGKILL)
    thread.join(TIMEOUT + 30)
    response = outcome["response"]
    assert response.status_code == 500
    assert "crashed" in response.text
    after = healthz(main)
    assert after["restarts"] == restarts + 1
    assert (after["crashes"], after["timeouts"]) == (before["crashes"] + 1, before["timeouts"])
    answers(main, expected_aps)
    assert wait_until(lambda: len(worker_pids(main.process.pid)) == 2, 30)
    told = (
        f"ERROR napkg.pool: Worker {busy_pid} died running a query (its client gets 500); it is being replaced. "
        f"The query: {' '.join(query.split())}"
    )
    assert wait_until(lambda: told in main.log(), 5), main.log()[-2000:]


# --- a request that does not arrive (slowloris) ---


def raw(server, data: bytes, pause: float = 0.0, more: bytes = b"") -> tuple[bytes, float]:
    """Send data (then, after pause, more) on a new connection; (all the server sent until it closed, seconds)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=REQUEST_TIMEOUT + 10) as sock:
        started = time.monotonic()
        sock.sendall(data)
        if more:
            time.sleep(pause)
            sock.sendall(more)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            if more and b"\r\n\r\n" in received and not received.startswith(b"HTTP/1.1 408"):
                break  # answered; the connection stays open for the next request
        return received, time.monotonic() - started


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connected, sent nothing
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",  # a head that stops
        b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nContent-Length: "
        b"100\r\n\r\nASK",  # a body that stops
    ],
    ids=["nothing", "head", "body"],
)
def test_a_request_that_does_not_arrive_is_ended(main, sent):
    received, seconds = raw(main, sent)
    assert received == b"", received[:200]  # closed without a word, as a proxy's client_header_timeout does
    assert REQUEST_TIMEOUT - 0.1 <= seconds < REQUEST_TIMEOUT + 5  # swept once a second
    assert healthz(main)["status"] == "ok"
    assert "Exception in ASGI application" not in main.log() and "Traceback" not in main.log()


def test_a_query_that_takes_longer_than_the_request_timeout_is_still_answered(main):
    """The time limit is on receiving the request, not on answering it: a GET, and a POST whose body came
    whole, each answered (504, at TIMEOUT) long after REQUEST_TIMEOUT, on the connection that asked."""
    for method in ("GET", "POST"):
        query = urllib.parse.quote(fresh(RUNAWAY))
        if method == "GET":
            sent = f"GET /sparql?query={query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        else:
            body = f"query={query}".encode()
            sent = (
                b"POST /sparql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
        received, seconds = raw(main, sent)
        assert received.startswith(b"HTTP/1.1 504"), (method, received[:200])
        assert seconds >= TIMEOUT - 0.1 > REQUEST_TIMEOUT


def test_a_slow_request_in_time_is_answered(main):
    received, _ = raw(main, b"GET /healthz HTTP/1.1\r\n", pause=REQUEST_TIMEOUT / 2, more=b"Host: x\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 200 OK"), received[:200]
