"""A response cache hit written by the HTTP protocol itself (transport.GatheringHttpProtocol asking
app.Front.replay), over real sockets to uvicorn: the same bytes as the app would send, the app never
called, and every case outside the plain one sent the usual way."""

from __future__ import annotations

import asyncio
import re
import socket

import pytest

from napkg.app import Front
from napkg.endpoint.protocol import ResponseCache
from napkg.endpoint.transport import GatheringHttpProtocol
from raw_http import Counted, elsewhere, exchange, read_response, undated

# serial: waits past keep-alive timers armed in earlier rounds; `make test` runs it after the parallel run.
pytestmark = pytest.mark.serial


class Endpoint:
    """Stands in for /sparql behind the cache: answers with the query string, with a Content-Length
    unless asked not to, and waits before answering `slow=1`."""

    def __init__(self):
        self.calls = 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        query = scope["query_string"]
        if b"slow=1" in query:
            await asyncio.sleep(0.2)
        body = b"answer to " + query
        headers = [(b"content-type", b"text/plain"), (b"etag", b'"v1"'), (b"vary", b"Accept")]
        if b"unsized=1" not in query:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def serve(cors: bool, conversation, keep_alive: float = 5, access_log: bool = False, wrap=None):
    """Runs uvicorn with the protocol and a Front over a real ResponseCache; conversation(port) is run
    in the same loop and its result returned with the counters."""
    import uvicorn

    endpoint = Endpoint()
    cache = ResponseCache(endpoint)
    outer = Counted(cache)
    front = Front(elsewhere, wrap(outer) if wrap else outer, cache, cors=cors)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        front,
        host="127.0.0.1",
        port=port,
        http=GatheringHttpProtocol,
        log_level="warning",
        lifespan="off",
        proxy_headers=False,
        timeout_keep_alive=keep_alive,
        access_log=access_log,
    )
    server = uvicorn.Server(config)

    async def main():
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            return await conversation(port)
        finally:
            server.should_exit = True
            await task

    result = asyncio.run(main())
    return result, endpoint, outer, cache


def get(path="/sparql?query=1", extra=b"", method=b"GET", version=b"HTTP/1.1") -> bytes:
    return (
        method + b" " + path.encode() + b" " + version + b"\r\nHost: test\r\nAccept: text/plain\r\n" + extra + b"\r\n"
    )


def test_a_hit_is_the_same_bytes_without_the_app():
    async def talk(port):
        return await exchange(port, get(), get(), together=False)

    (first, second), endpoint, outer, cache = serve(False, talk)
    assert undated(first) == undated(second)
    assert second.startswith(b"HTTP/1.1 200 OK\r\ndate: ") and second.endswith(b"\r\n\r\nanswer to query=1")
    assert endpoint.calls == 1 and outer.calls == 1  # the hit never reached the ASGI app
    assert cache.hits == 1


def test_head_and_a_matching_etag_are_answered_from_the_cache_too():
    async def talk(port):
        head = get(method=b"HEAD")
        revalidate = get(extra=b'If-None-Match: "v0", "v1"\r\n')
        return await exchange(port, get(), head, head, revalidate, together=False)

    (first, head1, head2, revalidated), endpoint, outer, _ = serve(False, talk)
    assert undated(head1) == undated(head2) and head2.endswith(b"content-length: 17\r\n\r\n")
    assert revalidated.startswith(b"HTTP/1.1 304 Not Modified\r\n") and b'etag: "v1"\r\n' in revalidated
    assert b"content-length" not in revalidated and b"answer" not in revalidated
    assert endpoint.calls == 2 and outer.calls == 2  # the first GET and the first HEAD


def test_pipelined_requests_are_answered_in_order():
    """A hit behind a response still being written waits its turn; hits together all go."""

    async def talk(port):
        await exchange(port, get("/sparql?query=hit"), together=False)
        behind_slow = await exchange(port, get("/sparql?query=2&slow=1"), get("/sparql?query=hit"))
        hits = await exchange(port, get("/sparql?query=hit"), get("/sparql?query=hit"), get("/sparql?query=2&slow=1"))
        return behind_slow, hits

    (behind_slow, hits), endpoint, outer, _ = serve(False, talk)
    assert behind_slow[0].endswith(b"answer to query=2&slow=1") and behind_slow[1].endswith(b"answer to query=hit")
    assert [r.endswith(b"answer to query=hit") for r in hits[:2]] == [True, True]
    assert hits[2].endswith(b"answer to query=2&slow=1")
    assert endpoint.calls == 2  # hit once, slow once


def test_a_connection_kept_alive_through_hits_is_closed_only_when_idle():
    """Each hit re-arms uvicorn's keep-alive timer; none is left behind to close a busy connection."""

    async def talk(port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(get())  # the miss that fills the cache
        answers = [await read_response(reader)]
        for _ in range(3):
            writer.write(get() + get())  # two hits armed in one read
            answers += [await read_response(reader), await read_response(reader)]
            await asyncio.sleep(0.6)  # past a timer armed by the earlier rounds, within the latest one's
        idle = await asyncio.wait_for(reader.read(), 5)  # the server closes the idle connection
        writer.close()
        return answers, idle

    (answers, idle), endpoint, _, _ = serve(False, talk, keep_alive=1)
    assert len(answers) == 7 and all(a.endswith(b"answer to query=1") for a in answers)
    assert idle == b""
    assert endpoint.calls == 1
    # The rounds span more than a second, and a hit carries uvicorn's current date, not a remembered one.
    assert len({re.search(rb"date: ([^\r]*)", a).group(1) for a in answers[1:]}) > 1


@pytest.mark.parametrize(
    "request_, why",
    [
        (get(version=b"HTTP/1.0"), "HTTP/1.0: uvicorn closes the connection"),
        (get(extra=b"Connection: close\r\n"), "the client closes the connection"),
        (get(extra=b"Content-Length: 0\r\n"), "a body"),
        (get(extra=b"Origin: https://example.org\r\n"), "CORS would add to the answer"),
        (get("/sparql?query=1&unsized=1"), "no length: uvicorn chunks it"),
        (get("/other?query=1"), "not /sparql"),
    ],
)
def test_the_other_cases_go_through_the_app(request_, why):
    async def talk(port):
        first = await exchange(port, request_, together=False)
        second = await exchange(port, request_, together=False)
        return first + second

    (first, second), endpoint, outer, _ = serve(True, talk)
    assert outer.calls == 2 if b"/other" not in request_ else outer.calls == 0, why
    assert undated(first) == undated(second), why
    if b"/other" in request_:
        assert second.startswith(b"HTTP/1.1 404 ") and second.endswith(b"not here.")
    else:
        assert second.endswith(b"answer to query=1" + (b"&unsized=1" if b"unsized" in request_ else b"")), why
        if b"Connection: close" in request_ or b"HTTP/1.0" in request_:
            assert b"connection: close\r\n" in second, why


def test_a_forwarded_scheme_is_a_different_entry():
    """From a local proxy, X-Forwarded-Proto: https names the endpoint with https, as Front reads it."""

    async def talk(port):
        https = get(extra=b"X-Forwarded-Proto: https\r\n")
        return await exchange(port, get(), https, https, together=False)

    _, endpoint, outer, cache = serve(False, talk)
    assert endpoint.calls == 2 and outer.calls == 2 and cache.hits == 1


def test_with_the_access_log_on_a_hit_goes_through_the_app_and_is_logged():
    async def talk(port):
        return await exchange(port, get(), get(), together=False)

    (first, second), endpoint, outer, _ = serve(False, talk, access_log=True)
    assert undated(first) == undated(second)
    assert endpoint.calls == 1 and outer.calls == 2


def test_the_protocol_asks_only_a_front_with_its_cache_on_that_uvicorn_does_not_wrap():
    """With the cache off there is nothing to ask, so no request pays for asking; a wrapped app (uvicorn's
    proxy-header middleware here) must see every request."""
    import uvicorn
    from uvicorn.server import ServerState

    def protocol(cache, **options):
        config = uvicorn.Config(
            Front(elsewhere, Counted(cache or Endpoint()), cache),
            http=GatheringHttpProtocol,
            lifespan="off",
            access_log=False,
            **options,
        )

        async def make():
            return GatheringHttpProtocol(config=config, server_state=ServerState(), app_state={})

        return asyncio.run(make())

    assert protocol(ResponseCache(Endpoint()), proxy_headers=False)._replay is not None
    assert protocol(None, proxy_headers=False)._replay is None
    assert protocol(ResponseCache(Endpoint()), proxy_headers=True)._replay is None


@pytest.mark.parametrize(
    "headers",
    [
        [(b"etag", b'"v1"'), (b"vary", b"Accept"), (b"content-length", b"3")],
        [(b"vary", b"Accept"), (b"content-type", b"text/plain"), (b"vary", b"Accept-Encoding")],
        [(b"content-type", b"text/plain"), (b"content-length", b"3")],
    ],
)
def test_vary_origin_says_what_the_cors_middleware_says_without_an_origin(headers):
    """app.vary_origin, which the protocol applies to what it writes itself when CORS is on, against
    Starlette's CORSMiddleware on the same headers."""
    from starlette.middleware.cors import CORSMiddleware

    from napkg.app import vary_origin
    from napkg.endpoint.protocol import header_lines

    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b"abc"})

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/sparql", "headers": [(b"host", b"test")], "query_string": b""}
    asyncio.run(CORSMiddleware(inner, allow_origins=["https://example.org"])(scope, None, send))
    assert vary_origin(header_lines(headers)) == header_lines(sent[0]["headers"])


def test_with_cors_on_a_hit_says_what_the_cors_middleware_would():
    """The cache records inside the CORS middleware, which then adds Origin to Vary on the way out; a hit
    the protocol writes itself must carry the same Vary (seen: "Accept" against "Accept, Origin")."""
    from starlette.middleware.cors import CORSMiddleware

    async def talk(port):
        return await exchange(port, get(), get(), together=False)

    (first, second), endpoint, outer, cache = serve(
        True, talk, wrap=lambda app: CORSMiddleware(app, allow_origins=["https://example.org"])
    )
    assert cache.hits == 1 and outer.calls == 1  # the second from the protocol
    assert b"vary: Accept, Origin\r\n" in first and undated(first) == undated(second)
