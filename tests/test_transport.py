"""transport.GatheringTransport: what a connection writes in one turn of the event loop leaves in one write,
in order; close() sends what is kept before closing, abort() drops it; a real server answers through it."""
from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from napkg.transport import GatheringHttpProtocol, GatheringTransport


class Recording:
    """A transport that records its calls."""

    def __init__(self):
        self.calls: list = []
        self.closing = False

    def write(self, data):
        self.calls.append(("write", data))

    def close(self):
        self.calls.append(("close",))
        self.closing = True

    def abort(self):
        self.calls.append(("abort",))
        self.closing = True

    def is_closing(self):
        return self.closing

    def get_write_buffer_size(self):
        return 7

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 5)}.get(name, default)


def run(steps):
    async def main():
        transport = Recording()
        gathering = GatheringTransport(transport, asyncio.get_running_loop())
        await steps(gathering)
        await asyncio.sleep(0)  # one more turn: what is kept is sent
        return transport.calls
    return asyncio.run(main())


def test_the_writes_of_one_turn_leave_in_one_write_in_order():
    async def steps(t):
        t.write(b"HTTP/1.1 200 OK\r\n\r\n")
        t.write(bytearray(b"body"))
        t.writelines([b"-", b"more"])
        assert t.get_write_buffer_size() == 7 + len(b"HTTP/1.1 200 OK\r\n\r\nbody-more")  # the real one's and what is kept
        await asyncio.sleep(0)
        t.write(b"next turn")
    assert run(steps) == [("write", b"HTTP/1.1 200 OK\r\n\r\nbody-more"), ("write", b"next turn")]


def test_large_writes_are_sent_at_once():
    """Past the limit the kept bytes go at once, so the transport's flow control sees them in time."""
    big = b"x" * GatheringTransport.LIMIT

    async def steps(t):
        t.write(b"head")
        t.write(big)
        assert t.get_write_buffer_size() == 7  # nothing kept
        t.write(b"tail")
    assert run(steps) == [("write", b"head" + big), ("write", b"tail")]


def test_close_sends_what_is_kept_first_and_abort_drops_it():
    async def closing(t):
        t.write(b"last words")
        t.close()
    assert run(closing) == [("write", b"last words"), ("close",)]

    async def aborting(t):
        t.write(b"never sent")
        t.abort()
    assert run(aborting) == [("abort",)]


def test_nothing_is_written_to_a_closed_transport_and_the_rest_is_passed_on():
    async def steps(t):
        t.write(b"")  # nothing to send: no turn is asked for
        t.write(b"late")
        t._transport.closing = True
        assert t.get_extra_info("peername") == ("127.0.0.1", 5)
    assert run(steps) == []


@pytest.mark.parametrize("size", [10, 300_000])
def test_a_server_answers_through_it(size):
    """uvicorn with the protocol, a small and a large answer, HEAD and keep-alive."""
    import uvicorn

    body = b"x" * size

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(size).encode())]})
        await send({"type": "http.response.body", "body": body})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=GatheringHttpProtocol, log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)

    async def main():
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            answers = [await client.get("/") for _ in range(3)]  # one connection, kept alive
            head = await client.head("/")
        server.should_exit = True
        await task
        return answers, head

    answers, head = asyncio.run(main())
    assert all(a.status_code == 200 and a.content == body for a in answers)
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(size)
