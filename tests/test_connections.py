"""connections.py, around uvicorn's protocol: a real uvicorn server answers through Deadlines, small and
large answers, HEAD and keep-alive. The time limit itself is tested on the served endpoint
(tests/test_limits.py)."""

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
