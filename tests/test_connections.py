"""connections.py, around uvicorn's protocol: a real uvicorn server answers through Deadlines, small and
large answers, HEAD and keep-alive; with a small limit, only the time to send a request counts. The limit
on the served endpoint: tests/test_limits.py."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from napkg.endpoint.connections import Deadlines


@pytest.mark.parametrize("size", [10, 300_000])
def test_a_server_answers_through_it(size):
    """uvicorn with the wrapped protocol, a small and a large answer, HEAD and keep-alive."""
    import uvicorn

    body = b"x" * size

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(size).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=Deadlines(), log_level="warning", lifespan="off")
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


@pytest.mark.serial  # asserts times to within a second; `make test` runs it after the parallel run
def test_only_the_time_to_send_a_request_counts(monkeypatch):
    """With a limit of 0.5 s: a connection that sends nothing, and a POST whose body stops, are closed; a
    GET that takes 1.2 s to answer, and a second request after an idle pause on a kept-alive connection,
    are answered. The app tells the connection when a request has arrived (connections.arriving), as
    app.Front does."""
    import uvicorn

    from napkg.endpoint import connections

    monkeypatch.setattr(connections, "SWEEP_INTERVAL", 0.1)

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        connection, receive = connections.arriving(scope, receive)
        try:
            if scope["method"] == "POST":
                while (await receive()).get("more_body"):
                    pass
            else:
                await asyncio.sleep(1.2)  # answering slowly is not sending slowly
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            if connection is not None:
                connection.answered()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=Deadlines(0.5), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)

    async def exchange(*parts: bytes, pause: float = 0.0) -> tuple[bytes, float]:
        """Send parts (pause s apart) on a new connection; what came back until it closed or 3 s passed."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = asyncio.get_running_loop().time()
        for part in parts:
            writer.write(part)
            await asyncio.sleep(pause)
        received = b""
        try:
            while chunk := await asyncio.wait_for(reader.read(65536), 3):
                received += chunk
        except TimeoutError:
            pass
        writer.close()
        return received, asyncio.get_running_loop().time() - started

    get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"  # answered, then closed

    async def main():
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        outcomes = await asyncio.gather(
            exchange(b""),
            exchange(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"),
            exchange(last),
            exchange(get, last, pause=1.6),  # the second after 0.4 s of idling: within uvicorn's keep-alive
        )
        server.should_exit = True
        await task
        return outcomes

    (nothing, t1), (body, t2), (slow, _), (twice, _) = asyncio.run(main())
    assert nothing == b"" and 0.5 <= t1 < 1.5
    assert body == b"" and 0.5 <= t2 < 1.5
    assert slow.startswith(b"HTTP/1.1 200") and slow.endswith(b"ok")
    assert twice.count(b"HTTP/1.1 200") == 2
