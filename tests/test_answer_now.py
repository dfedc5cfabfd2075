"""A repeated GET of /sparql with the caches off, sent to the worker pool by the HTTP protocol itself
(transport.GatheringHttpProtocol asking app.Front.answer_now), over real sockets to uvicorn: the same bytes
as the ASGI app sends for every kind of answer and failure, the app never called, pipelined requests in
order, a client that leaves withdrawn, and every case outside the plain one sent the usual way."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import quote

import pytest
from starlette.middleware.cors import CORSMiddleware

from napkg.app import Front, compressed
from napkg.endpoint.pool import Crashed, Overloaded, TimedOut
from napkg.endpoint.protocol import Endpoint, Settings
from napkg.endpoint.transport import GatheringHttpProtocol, Waiting
from napkg.sparql.engine import Answer
from raw_http import Counted, elsewhere, exchange, read_response, undated

# serial: waits for answers that come after the client left; `make test` runs it after the parallel run.
pytestmark = pytest.mark.serial

ROW = b'{"s":{"type":"literal","value":"x"}}'
ROWS = b'{"head":{"vars":["s"]},"results":{"bindings":[' + b",".join([ROW] * 60) + b"]}}"


class Pool:
    """Stands in for pool.WorkerPool: run() for the ASGI app, submit() for the protocol's own path (which
    answers after `delay`), each with `answer` or failing with `failure`; records what it is asked.
    tell_apart: run() answers "run N" instead, so a test sees which path answered."""

    def __init__(self):
        self.answer = Answer(200, ROWS, "application/sparql-results+json", rows=-1)
        self.failure: Exception | None = None
        self.delay = 0.0
        self.tell_apart = False
        self.runs, self.submitted, self.withdrawn = [], [], []

    async def run(self, job):
        self.runs.append(job)
        await asyncio.sleep(0)
        if self.failure is not None:
            raise self.failure
        if self.tell_apart:
            return Answer(200, b"run %d" % len(self.runs), self.answer.media_type, rows=-1)
        return self.answer

    def submit(self, job, done):
        if isinstance(self.failure, Overloaded):
            raise self.failure
        ticket = object()
        self.submitted.append((job, ticket))
        answer, failure = self.answer, self.failure
        asyncio.get_running_loop().call_later(
            self.delay, lambda: ticket in self.withdrawn or done(None if failure else answer, failure)
        )
        return ticket

    def withdraw(self, ticket):
        self.withdrawn.append(ticket)


def serve(conversation, cors: bool = False, max_rows: int = 10_000):
    """uvicorn with the protocol and a Front wired as app.py wires it with the caches off (the endpoint
    behind gzip), over a Pool; conversation(port, pool, server) runs in the same loop."""
    import uvicorn

    pool = Pool()
    endpoint = Endpoint(pool, Settings(cache_size=0, max_rows=max_rows, timeout=30.0), None, "graph-1")
    outer = Counted(compressed(endpoint))
    sparql = CORSMiddleware(outer, allow_origins=["https://example.org"]) if cors else outer
    front = Front(elsewhere, sparql, None, cors=cors, endpoint=endpoint)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            front,
            host="127.0.0.1",
            port=port,
            http=GatheringHttpProtocol,
            log_level="warning",
            lifespan="off",
            proxy_headers=False,
            access_log=False,
        )
    )

    async def main():
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            return await conversation(port, pool, server)
        finally:
            server.should_exit = True
            await task

    return asyncio.run(main()), pool, outer


QUERY = "/sparql?query=" + quote("SELECT ?s WHERE { ?s ?p ?o } LIMIT 60")


def get(path=QUERY, extra=b"", method=b"GET", accept=b"application/sparql-results+json") -> bytes:
    return method + b" " + path.encode() + b" HTTP/1.1\r\nHost: test\r\nAccept: " + accept + b"\r\n" + extra + b"\r\n"


#: Goes through the ASGI app with the same reading: the forwarding header is not part of the reading's key,
#: and from a client that is not a proxy it changes nothing.
THROUGH_APP = b"X-Forwarded-For: 10.0.0.1\r\n"


@pytest.mark.parametrize("case", ["json", "csv", "head", "truncated", "engine-error"])
def test_a_repeated_get_is_answered_without_the_app_with_the_apps_bytes(case):
    async def conversation(port, pool, server):
        method = b"HEAD" if case == "head" else b"GET"
        accept = b"text/csv" if case == "csv" else b"application/sparql-results+json"
        if case == "csv":
            pool.answer = Answer(200, b"s\r\nx\r\n", "text/csv", rows=-1)
        elif case == "truncated":
            pool.answer = Answer(200, ROWS, "application/sparql-results+json", rows=3, truncated=True)
        elif case == "engine-error":
            pool.answer = Answer(400, b"", "", error="Syntax error in the query: nothing to see.")
        first = await exchange(port, get(method=method, accept=accept))  # makes the reading
        ours = await exchange(port, get(method=method, accept=accept))
        apps = await exchange(port, get(method=method, accept=accept, extra=THROUGH_APP))
        return first + ours + apps

    (first, ours, apps), pool, outer = serve(conversation, max_rows=3)
    assert outer.calls == 2 and len(pool.runs) == 2 and len(pool.submitted) == 1  # the second one did not
    assert undated(ours) == undated(apps) == undated(first)
    status = {"truncated": b"200", "engine-error": b"400"}.get(case, b"200")
    assert ours.startswith(b"HTTP/1.1 " + status)
    if case == "head":
        assert ours.endswith(b"\r\n\r\n") and b"content-length: %d" % len(ROWS) in ours
    if case == "truncated":
        assert b"x-result-truncated: true\r\nx-result-max-rows: 3\r\n" in ours
    if case == "csv":
        assert b"content-type: text/csv; charset=utf-8" in ours


@pytest.mark.parametrize("failure, status", [(TimedOut(), b"504"), (Crashed(), b"500"), (Overloaded(), b"503")])
def test_a_pool_that_does_not_answer_gets_the_apps_error(failure, status):
    async def conversation(port, pool, server):
        first = await exchange(port, get())
        pool.failure = failure
        return first + await exchange(port, get()) + await exchange(port, get(extra=THROUGH_APP))

    (first, ours, apps), pool, outer = serve(conversation)
    assert first.startswith(b"HTTP/1.1 200") and outer.calls == 2
    assert ours.startswith(b"HTTP/1.1 " + status) and undated(ours) == undated(apps)
    if status == b"503":
        assert b"retry-after: " in ours and not pool.submitted  # refused at once, nothing waits


@pytest.mark.parametrize("failure", [None, TimedOut()])
def test_with_cors_on_the_protocol_says_what_the_cors_middleware_would(failure):
    """Starlette's CORS middleware adds Origin to Vary even for a request without an Origin (the answer to
    one with it differs); the protocol's own answer must too."""

    async def conversation(port, pool, server):
        first = await exchange(port, get())
        pool.failure = failure
        return first + await exchange(port, get()) + await exchange(port, get(extra=THROUGH_APP))

    (first, ours, apps), pool, outer = serve(conversation, cors=True)
    assert len(pool.submitted) == 1 and outer.calls == 2
    assert undated(ours) == undated(apps)
    assert (b"vary: Accept, Origin\r\n" if failure is None else b"vary: Origin\r\n") in ours


@pytest.mark.parametrize("target", ["http://test" + QUERY, QUERY.replace("/sparql", "/%73parql")])
def test_other_forms_of_the_same_request_target_are_answered_the_same(target):
    """The protocol splits a plain origin-form target itself; an absolute-form one is parsed, and a
    percent-encoded path decoded, as uvicorn does for the app."""

    async def conversation(port, pool, server):
        first = await exchange(port, get())
        return (
            first + await exchange(port, get(path=target)) + await exchange(port, get(path=target, extra=THROUGH_APP))
        )

    (first, ours, apps), pool, outer = serve(conversation)
    assert len(pool.submitted) == 1 and outer.calls == 2
    assert undated(ours) == undated(apps) == undated(first)


def test_a_matching_etag_is_answered_without_the_app_or_the_pool():
    async def conversation(port, pool, server):
        first = (await exchange(port, get()))[0]
        etag = first.split(b"etag: ", 1)[1].split(b"\r\n", 1)[0]
        revalidate = b"If-None-Match: " + etag + b"\r\n"
        return await exchange(port, get(extra=revalidate)) + await exchange(port, get(extra=revalidate + THROUGH_APP))

    (ours, apps), pool, outer = serve(conversation)
    assert ours.startswith(b"HTTP/1.1 304") and outer.calls == 2 and not pool.submitted
    assert undated(ours) == undated(apps)


def test_pipelined_requests_are_answered_in_order():
    """The first request's answer is slow and comes from the protocol's own path; the two pipelined behind
    it wait for it (uvicorn queues them behind the stand-in cycle) and go through the app, in order."""

    async def conversation(port, pool, server):
        await exchange(port, get())  # makes the reading
        pool.delay, pool.tell_apart = 0.2, True
        pool.answer = Answer(200, b"submitted", "application/sparql-results+json", rows=-1)
        return await exchange(port, get(), get(extra=b"X-Order: 2\r\n"), get(path="/elsewhere"))

    answers, pool, outer = serve(conversation)
    assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 2 + [b"HTTP/1.1 404 Not Found"]
    # The first from the protocol's path (slow), the second through the app (at once), yet in order.
    assert answers[0].endswith(b"submitted") and answers[1].endswith(b"run 2") and answers[2].endswith(b"not here.")
    assert len(pool.submitted) == 1 and len(pool.runs) == 2


async def waiting_for_a_slow_answer(port, pool):
    """A connection whose repeated GET the protocol has sent to the pool, which answers in 0.3 s."""
    await exchange(port, get())
    pool.delay = 0.3
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(get())
    await writer.drain()
    await asyncio.sleep(0.05)
    assert len(pool.submitted) == 1
    return reader, writer


def test_a_client_that_leaves_is_withdrawn_and_the_server_goes_on():
    async def conversation(port, pool, server):
        reader, writer = await waiting_for_a_slow_answer(port, pool)
        writer.close()
        await asyncio.sleep(0.4)  # the answer came after the client left: nothing written, nothing raised
        pool.delay = 0
        return await exchange(port, get())

    (after,), pool, outer = serve(conversation)
    assert pool.withdrawn == [pool.submitted[0][1]] and after.startswith(b"HTTP/1.1 200")


def test_at_shutdown_a_waiting_answer_is_sent_and_the_connection_closed():
    async def conversation(port, pool, server):
        reader, writer = await waiting_for_a_slow_answer(port, pool)
        server.should_exit = True
        answer = await read_response(reader)
        rest = await asyncio.wait_for(reader.read(), 5)  # b"": closed by the server
        writer.close()
        return answer, rest

    (answer, rest), pool, outer = serve(conversation)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(ROWS) and rest == b""


@pytest.mark.parametrize(
    "extra, why",
    [
        (b"Accept-Encoding: gzip\r\n", "the compression middleware would write it"),
        (b"Origin: https://example.org\r\n", "the CORS middleware would add to it"),
        (b"X-Forwarded-Proto: https\r\n", "a proxy's header changes the scope"),
        (b"Content-Length: 0\r\n", "a body"),
    ],
)
def test_the_other_cases_go_through_the_app(extra, why):
    async def conversation(port, pool, server):
        await exchange(port, get())
        return await exchange(port, get(extra=extra))

    (answer,), pool, outer = serve(conversation, cors=True)
    assert answer.startswith(b"HTTP/1.1 200"), why
    assert outer.calls == 2 and not pool.submitted, why
    if b"gzip" in extra:
        assert b"content-encoding: gzip" in answer


def test_only_a_front_with_the_response_cache_off_and_an_endpoint_is_asked():
    class Bare:
        pass

    def protocol(front, proxy_headers=False):
        import uvicorn
        from uvicorn.server import ServerState

        config = uvicorn.Config(
            front, http=GatheringHttpProtocol, lifespan="off", access_log=False, proxy_headers=proxy_headers
        )

        async def make():
            return GatheringHttpProtocol(config=config, server_state=ServerState(), app_state={})

        return asyncio.run(make())

    pool = Pool()
    endpoint = Endpoint(pool, Settings(cache_size=0), None, "graph-1")
    assert protocol(Front(elsewhere, endpoint, None, endpoint=endpoint))._now is not None
    assert protocol(Front(elsewhere, endpoint, None))._now is None
    assert protocol(Bare())._now is None
    # uvicorn's proxy-header middleware around the app must see every request.
    assert protocol(Front(elsewhere, endpoint, None, endpoint=endpoint), proxy_headers=True)._now is None
    # With the response cache on, its replay is asked instead, and misses go through the app to be recorded.
    from napkg.endpoint.protocol import ResponseCache

    assert protocol(Front(elsewhere, endpoint, ResponseCache(endpoint), endpoint=endpoint))._now is None


def test_the_stand_in_cycle_queues_what_uvicorn_would_queue():
    waiting = Waiting()
    assert waiting.response_complete is False and waiting.keep_alive is True
    waiting.message_event.set()  # what uvicorn calls on a lost connection: must not fail
