"""Raw HTTP/1.1 over one asyncio connection, for tests that must see a response's exact bytes, send
requests pipelined, or hang up before the answer; and the ASGI stand-ins around the endpoint they use."""

from __future__ import annotations

import asyncio
import re


async def exchange(port, *requests: bytes, together=True) -> list[bytes]:
    """Sends the requests on one connection (in one write when together) and reads their responses."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    responses = []
    try:
        if together:
            writer.write(b"".join(requests))
            responses = [await read_response(reader, r.startswith(b"HEAD")) for r in requests]
        else:
            for r in requests:
                writer.write(r)
                responses.append(await read_response(reader, r.startswith(b"HEAD")))
    finally:
        writer.close()
    return responses


async def read_response(reader, head_only: bool = False) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    if b"transfer-encoding: chunked" in head:
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            body += chunk[:-2]
            if size == 0:
                return head + body
    length = re.search(rb"content-length: (\d+)", head)
    if length and not head_only:
        return head + await reader.readexactly(int(length.group(1)))
    return head


def undated(response: bytes) -> bytes:
    return re.sub(rb"date: [^\r]*\r\n", b"", response)


class Counted:
    """The ASGI app Front sends /sparql to: counts what reaches it."""

    def __init__(self, app):
        self.app, self.calls = app, 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await self.app(scope, receive, send)


async def elsewhere(scope, receive, send):
    """The rest of the site."""
    await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"9")]})
    await send({"type": "http.response.body", "body": b"not here."})
