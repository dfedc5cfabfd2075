"""Random protocol requests against a real `napkg serve`: whatever a client sends, the answer is never a 5xx,
and no worker is lost (a worker that dies costs every client a second while the data reloads).

Hypothesis builds requests from pieces of SPARQL and of the protocol: query texts, dataset parameters,
formats, Host and Accept headers, percent-encoded bytes that may not be UTF-8. It is derandomized, so a run
is the same run each time; a failure prints the request that made it. `?default-graph-uri=foo` crashed a
worker until 2026-11-29; this test would have found it.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from endpoint_support import healthz
from server import running_server

PIECES = [
    "SELECT",
    "*",
    "{",
    "}",
    "?s",
    "?p",
    "?o",
    "ASK",
    "CONSTRUCT",
    "DESCRIBE",
    "WHERE",
    "FILTER(",
    ")",
    "(",
    "<",
    ">",
    "<http://example.org/x>",
    "<x y>",
    '"',
    "'",
    '"""',
    "#",
    "\n",
    "\r",
    "\\u0041",
    "\\",
    "PREFIX",
    "a:",
    ":b",
    "_:b",
    "[",
    "]",
    ";",
    ",",
    ".",
    "LIMIT",
    "OFFSET",
    "99999999999999999999",
    "-1",
    "GRAPH",
    "FROM",
    "FROM NAMED",
    "BIND(",
    "AS",
    "VALUES",
    "UNDEF",
    "@en",
    "^^",
    "OPTIONAL",
    "MINUS",
    "UNION",
    "GROUP BY",
    "ORDER BY",
    "COUNT(*)",
    "é",
    "𝔸",
    "%",
    "REGEX(",
    "xsd:integer(",
    "LANG(",
    "STR(",
    "BASE",
    "INSERT",
    "LOAD",
]
IRIS = [
    "http://example.org/g",
    "https://w3id.org/nap-bhr/graph/ontology",
    "foo",
    "foo bar",
    "é",
    "<x>",
    "",
    "%zz",
    "http://[::1]/",
    "urn:x",
    "http://a b/",
]
RAW = [b"%FF", b"%C3%A9", b"%00", b"%", b"%2", b"+", b"&", b"=", b"%E2%82", b"%F0%9D%94%B8"]


@pytest.fixture(scope="module", params=[(), ("--no-cache",)], ids=["cache-on", "cache-off"])
def server(request):
    """With the caches off, a repeated GET is answered by the HTTP protocol's own path to the workers."""
    with running_server("--workers", "2", "--timeout", "5", "--max-rows", "50", *request.param) as s:
        yield s


queries = st.lists(st.sampled_from(PIECES), min_size=1, max_size=20).map(" ".join)
extras = st.lists(
    st.tuples(
        st.sampled_from(["default-graph-uri", "named-graph-uri", "format", "query", "update", "x"]),
        st.sampled_from(IRIS + ["json", "csv", "ttl", "bogus"]),
    ),
    max_size=3,
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Accept": st.sampled_from(["*/*", "text/csv", "text/turtle", "application/json", "x/y;q=bad", "", "text/html"]),
        "Host": st.sampled_from([b"example.org", b"%zz", b"a b", b"[::1]:80", "é.org".encode()]),
        "If-None-Match": st.sampled_from(["*", 'W/"x"', '"', "W/"]),
    },
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    query=queries,
    extra=extras,
    raw=st.lists(st.sampled_from(RAW), max_size=2),
    header=headers,
    how=st.sampled_from(["get", "form", "direct"]),
)
def test_no_request_gets_a_5xx_or_costs_a_worker(server, query, extra, raw, header, how):
    params = [("query", query)] + extra
    encoded = httpx.QueryParams(params)
    tail = b"".join(raw)
    with httpx.Client(timeout=30) as client:
        if how == "get":
            # Twice, without gzip: the second is a repeat, answered from the reading remembered of the first.
            url = httpx.URL(server.sparql)
            url = url.copy_with(raw_path=url.raw_path + b"?" + str(encoded).encode() + tail)
            header = {**header, "Accept-Encoding": "identity"}
            first, response = client.get(url, headers=header), client.get(url, headers=header)
            if first.status_code != 504 and response.status_code != 504:
                assert (response.status_code, response.content) == (first.status_code, first.content)
        elif how == "form":
            response = client.post(
                server.sparql,
                content=str(encoded).encode() + tail,
                headers={**header, "Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            response = client.post(
                server.sparql,
                content=query.encode() + tail,
                headers={**header, "Content-Type": "application/sparql-query"},
            )
    # 504 is the time limit doing its work on a query that runs long: not a failure.
    assert response.status_code < 500 or response.status_code == 504, (response.status_code, response.text[:300])


def test_no_worker_was_lost(server):
    """Runs after the random requests (pytest keeps the order of a module's tests)."""
    health = healthz(server)
    assert health["crashes"] == 0, health
    assert "Traceback" not in server.log(), server.log()[-3000:]
