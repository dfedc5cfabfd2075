"""A time limit on receiving a request, around uvicorn's HTTP protocol.

uvicorn waits for ever for a request that does not come: a client that connects and sends nothing, or
sends its request a byte at a time (slowloris), holds a connection, and enough of them exhaust the
server's. Here a connection whose request has not wholly arrived within the limit, counted from its first
byte (or from connecting, for the first request), is closed. The time the server takes to answer does not
count.

uvicorn's protocol is wrapped, not subclassed: Deadline sees only the asyncio.Protocol calls, and the app
tells it when a request has been read (arrived), through a context variable that the request's task
inherits from the call that started it. (Sending a response's head and body in one write, as a wrapped
transport, was measured and dropped: level in requests a second; benchmarks/README.md.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from starlette.types import Message, Receive, Scope
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

#: Seconds a client has to send a whole request (head and body), by default.
REQUEST_TIMEOUT = 20.0
#: Seconds between two looks at every connection for one whose request is late.
SWEEP_INTERVAL = 1.0

log = logging.getLogger("napkg.connections")

#: The connection whose bytes are being read: set while the wrapped protocol reads them, so the task it
#: starts for a request (the app) finds its connection here.
CONNECTION: ContextVar[Deadline | None] = ContextVar("napkg_connection", default=None)


class Deadlines:
    """uvicorn's `http` protocol factory: each connection's protocol (uvicorn's own, by name as its `--http`
    option takes it) wrapped in a Deadline, and one sweep a second over them all."""

    def __init__(self, timeout: float = REQUEST_TIMEOUT, http: str = "auto"):
        self.timeout = timeout
        self.protocol: Callable[..., asyncio.Protocol] = import_from_string(HTTP_PROTOCOLS[http])
        self.open: set[Deadline] = set()
        self.sweeping = False

    def __call__(self, **kwargs: Any) -> Deadline:
        return Deadline(self.protocol(**kwargs), self)

    def sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for connection in list(self.open):
            if connection.since is not None and now - connection.since > self.timeout:
                connection.late()
        loop.call_later(SWEEP_INTERVAL, self.sweep, loop)


class Deadline(asyncio.Protocol):
    """One connection: uvicorn's protocol for it, and when the request now arriving began (since)."""

    def __init__(self, inner: asyncio.Protocol, deadlines: Deadlines):
        self.inner, self.deadlines = inner, deadlines
        self.transport: asyncio.BaseTransport | None = None
        self.loop = asyncio.get_running_loop()  # uvicorn makes protocols inside its running loop
        # The loop's time when the request now arriving began; None while none is (answering, or idle
        # between requests, which uvicorn's own keep-alive timeout bounds).
        self.since: float | None = None
        self.serving = 0  # requests read and not yet answered

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport, self.since = transport, self.loop.time()
        self.deadlines.open.add(self)
        if not self.deadlines.sweeping:
            self.deadlines.sweeping = True
            self.loop.call_later(SWEEP_INTERVAL, self.deadlines.sweep, self.loop)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.since is None and not self.serving:
            self.since = self.loop.time()
        token = CONNECTION.set(self)
        try:
            self.inner.data_received(data)
        finally:
            CONNECTION.reset(token)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.deadlines.open.discard(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def arrived(self) -> None:
        """The app has the whole request: its time no longer counts."""
        self.since = None

    def answered(self) -> None:
        """The app is done with a request; the next one's time starts with its first byte."""
        self.serving -= 1
        self.since = None

    def late(self) -> None:
        log.info("Closed a connection whose request did not arrive within %g s.", self.deadlines.timeout)
        self.since = None
        if self.transport is not None:
            self.transport.close()


def arriving(scope: Scope, receive: Receive) -> tuple[Deadline | None, Receive]:
    """For the app, at the start of a request: the connection's Deadline (None when not served through
    one), to be told answered() at its end, and the receive to use. The request has arrived now if it
    has no body, else when its last body message is received."""
    connection = CONNECTION.get()
    if connection is None:
        return None, receive
    connection.serving += 1
    if scope["method"] in ("GET", "HEAD"):
        connection.arrived()
        return connection, receive

    async def reading() -> Message:
        message = await receive()
        if not message.get("more_body", False):
            connection.arrived()
        return message

    return connection, reading
