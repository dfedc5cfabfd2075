"""The cache of whole responses in front of /sparql (protocol.ResponseCache), driven as plain ASGI.

The inner app counts its calls, so each test shows whether a request reached the endpoint or was
replayed from the cache.
"""

from __future__ import annotations

import asyncio

from napkg.endpoint.protocol import ResponseCache


class Counting:
    """An ASGI app answering with the request's query string, or a chosen status."""

    def __init__(self, status: int = 200, body: bytes | None = None, chunks: int = 1):
        self.calls, self.status, self.body, self.chunks = 0, status, body, chunks

    async def __call__(self, scope, receive, send):
        self.calls += 1
        body = self.body if self.body is not None else b"answer to " + scope["query_string"]
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [(b"content-type", b"text/plain"), (b"etag", b'"v1"')],
            }
        )
        step = max(1, len(body) // self.chunks)
        parts = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})


def request(app, method="GET", query=b"query=ASK%7B%7D", headers=(), scheme="http"):
    messages = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "method": method,
        "scheme": scheme,
        "path": "/sparql",
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1")] + list(headers),
    }
    asyncio.run(app(scope, receive, send))
    start = messages[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in messages[1:])


def test_a_repeated_get_is_replayed_without_the_endpoint():
    inner = Counting()
    cache = ResponseCache(inner)
    first = request(cache)
    second = request(cache)
    assert first == second
    assert first[2] == b"answer to query=ASK%7B%7D"
    assert inner.calls == 1
    assert cache.hits == 1


def test_the_key_holds_query_accept_encoding_host_and_scheme():
    inner = Counting()
    cache = ResponseCache(inner)
    request(cache)
    request(cache, query=b"query=ASK%7B%20%7D")
    request(cache, headers=[(b"accept", b"text/csv")])
    request(cache, headers=[(b"accept-encoding", b"gzip")])
    request(cache, headers=[(b"host", b"example.org")])
    request(cache, method="HEAD")
    request(cache, scheme="https")
    assert inner.calls == 7
    assert cache.hits == 0


def test_post_and_errors_are_never_kept():
    inner = Counting()
    cache = ResponseCache(inner)
    request(cache, method="POST")
    request(cache, method="POST")
    failing = Counting(status=400)
    errors = ResponseCache(failing)
    assert request(errors)[0] == request(errors)[0] == 400
    assert inner.calls == 2 and failing.calls == 2


def test_a_matching_etag_gets_304_from_the_cache():
    inner = Counting()
    cache = ResponseCache(inner)
    request(cache)
    status, headers, body = request(cache, headers=[(b"if-none-match", b'"other", "v1"')])
    assert (status, body, headers[b"etag"]) == (304, b"", b'"v1"')
    status, _, body = request(cache, headers=[(b"if-none-match", b'"other"')])
    assert status == 200 and body.startswith(b"answer")
    assert inner.calls == 1


def test_a_replay_is_a_fresh_message_each_time():
    """Middleware outside the cache (CORS) adds headers to the message it gets: that must not stick."""
    inner = Counting()
    cache = ResponseCache(inner)

    async def add_header(scope, receive, send):
        async def sending(message):
            if message["type"] == "http.response.start":
                message["headers"].append((b"x-added", b"1"))
            await send(message)

        await cache(scope, receive, sending)

    request(add_header)
    _, headers, _ = request(cache)
    assert b"x-added" not in headers


def test_bodies_in_chunks_are_kept_whole():
    inner = Counting(body=b"abcdefghij" * 10, chunks=7)
    cache = ResponseCache(inner)
    assert request(cache)[2] == request(cache)[2] == b"abcdefghij" * 10
    assert inner.calls == 1


def test_bounded_in_entries_and_bytes():
    inner = Counting(body=b"x" * 100)
    by_count = ResponseCache(inner, entries=2)
    for q in (b"a", b"b", b"c", b"a"):
        request(by_count, query=q)
    assert inner.calls == 4  # "a" was evicted by "c"
    assert len(by_count.entries) == 2

    by_bytes = ResponseCache(Counting(body=b"x" * 100), max_bytes=250)
    for q in (b"a", b"b", b"c"):
        request(by_bytes, query=q)
    assert len(by_bytes.entries) == 2 and by_bytes.bytes == 200

    too_big = Counting(body=b"x" * 100, chunks=4)
    single = ResponseCache(too_big, max_entry=50)
    request(single)
    request(single)
    assert too_big.calls == 2 and not single.entries
