"""The endpoint's remembered readings of GET requests (protocol.Endpoint), driven as plain ASGI.

A repeated GET skips the guard, the negotiation and the ETag, but never the engine: with the result cache
off every request must still run its query. The engine here records the Jobs it is given.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from napkg.endpoint.protocol import Endpoint, Settings
from napkg.sparql.engine import Answer

ASK = b"query=" + quote("ASK { ?s ?p ?o }").encode()


class Recording:
    def __init__(self):
        self.jobs = []

    async def run(self, job):
        self.jobs.append(job)
        return Answer(200, b'{"boolean": true}', job.media_types[0], rows=1)


def endpoint(cache_size: int = 0) -> tuple[Endpoint, Recording]:
    engine = Recording()
    return Endpoint(engine, Settings(cache_size=cache_size), description=None, fingerprint="graph-1"), engine


def request(app, query=ASK, headers=(), method="GET", host=b"127.0.0.1:8000"):
    messages = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "method": method,
        "scheme": "http",
        "path": "/sparql",
        "root_path": "",
        "query_string": query,
        "server": ("127.0.0.1", 8000),
        "headers": [(b"host", host)] + list(headers),
    }
    asyncio.run(app(scope, receive, send))
    return messages[0]["status"], dict(messages[0]["headers"]), b"".join(m.get("body", b"") for m in messages[1:])


def test_a_repeated_get_runs_its_query_every_time():
    app, engine = endpoint()
    first, second = request(app), request(app)
    assert first == second and first[0] == 200
    assert len(engine.jobs) == 2
    assert engine.jobs[0] is engine.jobs[1]  # the same reading, remembered
    assert len(app._plans) == 1


def test_the_reading_depends_on_accept_and_host():
    app, engine = endpoint()
    request(app, headers=[(b"accept", b"text/csv")])
    request(app, headers=[(b"accept", b"application/sparql-results+xml")])
    request(app, host=b"nap.example.org")
    assert [job.media_types[0] for job in engine.jobs] == [
        "text/csv",
        "application/sparql-results+xml",
        "application/sparql-results+json",
    ]
    assert engine.jobs[2].base_iri == "http://nap.example.org/sparql"
    assert engine.jobs[0].base_iri == "http://127.0.0.1:8000/sparql"
    assert (
        len(
            {
                request(app, headers=[(b"accept", b"text/csv")])[1][b"etag"],
                request(app, headers=[(b"accept", b"application/sparql-results+xml")])[1][b"etag"],
            }
        )
        == 2
    )


def test_a_repeated_accept_header_is_read_as_the_reading_reads_it():
    """Two Accept fields: the first decides, in the reading and in what it is remembered under."""
    app, engine = endpoint()
    request(app, headers=[(b"accept", b"text/csv"), (b"accept", b"application/sparql-results+xml")])
    request(app, headers=[(b"accept", b"text/tab-separated-values"), (b"accept", b"application/sparql-results+xml")])
    assert [job.media_types[0] for job in engine.jobs] == ["text/csv", "text/tab-separated-values"]


def test_a_remembered_reading_still_answers_304_to_its_etag():
    app, engine = endpoint()
    status, headers, _ = request(app)
    again = request(app, headers=[(b"if-none-match", headers[b"etag"])])
    assert (status, again[0], again[2]) == (200, 304, b"")
    assert len(engine.jobs) == 1  # a 304 needs no query
    other = request(app, headers=[(b"if-none-match", b'"something-else"')])
    assert other[0] == 200 and len(engine.jobs) == 2


def test_head_gets_the_headers_of_the_get_without_its_body():
    app, _ = endpoint()
    get, head = request(app), request(app, method="HEAD")
    assert head[0] == 200 and head[2] == b""
    assert head[1][b"content-length"] == str(len(get[2])).encode()
    assert head[1][b"etag"] == get[1][b"etag"]


def test_refused_requests_are_not_remembered():
    app, engine = endpoint()
    update = b"query=" + quote("INSERT DATA { <a:b> <a:c> <a:d> }").encode()
    assert request(app, query=update)[0] == 403  # read-only
    assert request(app, query=update)[0] == 403
    assert request(app, headers=[(b"accept", b"image/png")])[0] == 406
    assert app._plans == {} and engine.jobs == []


def test_the_memory_is_bounded_and_long_query_strings_are_read_afresh():
    app, engine = endpoint()
    app.PLANS = 3
    for i in range(5):
        request(app, query=ASK + f"%23{i}".encode())  # a comment makes each text distinct
    assert len(app._plans) == 3
    long = b"query=" + quote("ASK { ?s ?p ?o } #" + "x" * Endpoint.PLAN_QUERY_STRING).encode()
    assert request(app, query=long)[0] == 200
    assert len(app._plans) == 3 and len(engine.jobs) == 6


def test_posts_are_read_afresh():
    app, engine = endpoint()
    messages = []
    body = b"query=" + quote("ASK {}").encode()

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/sparql",
        "root_path": "",
        "query_string": b"",
        "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/x-www-form-urlencoded")],
    }
    asyncio.run(app(scope, receive, send))
    assert messages[0]["status"] == 200 and len(engine.jobs) == 1 and app._plans == {}
