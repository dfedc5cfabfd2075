"""uvicorn's HTTP protocol with a response's head and body sent in one write, and the response cache's
hits and repeated queries with the caches off answered without the ASGI app.

uvicorn writes a response's status line and headers as soon as the app starts the response, and its
body in a second write, so a small answer leaves in two system calls and two TCP segments. Here the head
waits for the next write on its connection (uvicorn writes the body right after it, in the same step of
the same task) and both go in one call, the way aiohttp joins the head to the first body chunk.

Measured on the 2-core machine, /sparql with a LIMIT 10 query on the NAP graph, in alternating runs against
uvicorn's own protocol:
- with the cache off, 4,663-4,850 -> 5,101-5,294 requests a second, and p99 latency 2.5-2.8 -> 2.4-2.6 ms;
- with the cache on, 18,431 and 18,466 -> 17,891 and 18,003: the scheduled end-of-turn check costs a
  little more than the write it saves when the answer comes from the response cache.
On another machine of the same kind, later, the two were level in req/s, within a run-to-run spread
of 15%. What does not vary is the count of system calls in the web process (strace): 7.6 -> 6.6 a request
with the cache off, 3.2 -> 2.2 with it on.
A first version held every write until the end of the event loop's turn. It gave 10% more requests with
the cache off, but p99 latency rose to 38-57 ms, so nothing is now held past the write that follows a head.

A hit of the response cache (protocol.ResponseCache) is the same recorded bytes each time, yet through the
ASGI app it took a task, the app's dispatch, the middleware and uvicorn's checks of every header line:
about 0.07 ms of CPU, as much as Oxigraph's whole answer. GatheringHttpProtocol asks the cache as soon as
a request's head is read and writes a hit itself. Measured on the 2-core machine, NAP LIMIT 10, cache on,
wrk -c8, two runs each: 10,916 and 9,632 -> 17,003 and 18,626 requests a second, with Oxigraph server at
16,903-17,633 and 16,039-17,174 in the same runs.

With the caches off, a repeated GET of /sparql is sent to the worker pool from here too, once the app has
made and remembered its reading (protocol.Endpoint.answer_now), and its answer written when it comes. The
ASGI app spent a task, the middleware and uvicorn's header checks on it; this path costs about 25 us of
Python a request in the web process (measured in-process, NAP LIMIT 10). On the 2-core machine, against
the code before (alternating runs, wrk -c8, 5-6 s each; this change came with answers and jobs crossing
to the workers as pickled tuples and bytes rather than dataclasses): CPU a request in the web process
82-86 -> 62-63 us and in each worker 40-44 -> 34-36 us; requests a second 8,802 and 9,735 -> 10,852 and
10,831 for LIMIT 10 (other pairs were level or lower: 12,425, 11,518, 12,589 -> 11,582, 11,554, 9,381),
4,963-5,101 -> 6,202-6,311 for the CSDDD query and 5,424-6,166 -> 6,989-7,222 for the COUNT. The rest of
a cheap query's cost is the system's: a worker's answer that wakes the web process costs the worker about
14 us in the kernel (perf: sock_def_readable, _raw_spin_unlock_irqrestore), on a virtual machine's 2 cores.

Two limits uvicorn lacks live here too, since they are about reading requests: a client has
REQUEST_TIMEOUT to send its whole request (uvicorn would wait for ever on one that sends nothing), and a
URL longer than httptools can read gets 414 with advice rather than "Invalid HTTP request received.".
"""

from __future__ import annotations

import asyncio
import functools
import urllib.parse

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .protocol import header_lines

#: Seconds a client has to send a whole request (head and body), from its first byte, or from connecting
#: for the first one. uvicorn waits for ever: a client that connects and sends nothing, or sends a
#: request byte by byte (slowloris), holds its connection, and enough of them exhaust the server's.
REQUEST_TIMEOUT = 20.0
#: Seconds between two looks at every connection for one whose request is late.
SWEEP_INTERVAL = 1.0

# httptools.parse_url, which uvicorn too calls on every request, keeps a URL's offsets in 16 bits
# (http_parser_url), so it fails on a longer URL: a query of 22,000 characters, URL-encoded, can be one.
MAX_URL = 65_535


class GatheringTransport:
    """Stands in for a connection's transport. A write is kept until the next one, which takes it along
    in one call; a write with no other after it in the same turn of the event loop goes at the end of
    that turn. close() sends what is kept first, abort() drops it. Everything else goes to the real
    transport."""

    #: A following write this long goes on its own rather than be copied to join what is kept.
    JOIN_LIMIT = 64 * 1024

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport, self._loop = transport, loop
        self._kept: bytes | None = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._kept is None:
            self._kept = bytes(data)
            self._loop.call_soon(self.flush)
            return
        kept, self._kept = self._kept, None
        if self._transport.is_closing():
            return
        if len(data) < self.JOIN_LIMIT:
            self._transport.write(kept + data)
        else:
            self._transport.write(kept)
            self._transport.write(data)

    def write_now(self, data: bytes) -> None:
        """data after what is kept, in one call now: a whole response."""
        kept, self._kept = self._kept, None
        if not self._transport.is_closing():
            self._transport.write(data if kept is None else kept + data)

    def writelines(self, chunks) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None and not self._transport.is_closing():
            self._transport.write(kept)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._kept = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._kept or b"")

    def __getattr__(self, name):
        return getattr(self._transport, name)


class GatheringHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a GatheringTransport (cli.py passes it to uvicorn as http=),
    which writes the response cache's hits itself.

    A repeated GET of /sparql is answered by the response cache with the bytes it recorded. Through the
    ASGI app that still costs a task, the app's dispatch and uvicorn's checks of every header line; here
    the app's replay() (app.Front) is asked as soon as the request's head is read, and a hit is written in
    one call with uvicorn's default headers (the date) before the recorded ones. Anything out of the
    plain case goes the usual way: a request with a body, HTTP/1.0 or Connection: close, Expect,
    an upgrade, a response still being written on this connection (pipelining), a client not reading
    (flow control), the access log on (debug), or a concurrency limit."""

    def __init__(self, *args, request_timeout: float = REQUEST_TIMEOUT, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout
        # When the request being read began (or the connection opened); None between requests. A sweep once
        # a second, not a timer a request, watches it: arming and cancelling a timer cost every request.
        self._since: float | None = None
        self._reading_head = False
        # app.Front with its response cache on; not when the cache is off (nothing to ask, so no request
        # pays for asking), nor when uvicorn wraps the app (trace logging).
        front = self.app
        self._replay = front.replay if getattr(front, "responses", None) is not None else None
        self._now = front.answer_now if getattr(front, "endpoint", None) is not None and self._replay is None else None
        self._withdraw = getattr(front, "withdraw", None)
        self._answered = False
        self._defaults: list | None = None  # uvicorn's default headers (a new list each second: the date)
        self._default_lines = b""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(GatheringTransport(transport, self.loop))  # type: ignore[arg-type]
        self._since = self.loop.time()
        if not getattr(self.server_state, "napkg_swept", False):
            self.server_state.napkg_swept = True  # one sweep for all of this server's connections
            self.loop.call_later(SWEEP_INTERVAL, _sweep, self.loop, self.connections)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._since is None:
            self._since = self.loop.time()
        self._reading_head = True

    def request_late(self) -> None:
        """The request has not arrived in request_timeout: 408 if its head is still coming, and close."""
        if self.transport.is_closing():
            return
        if self.flow.read_paused or (
            self._reading_head and self.cycle is not None and not self.cycle.response_complete
        ):
            # This server stopped reading (pipelining, an app slow to take the body) or still answers the
            # request before: the wait is not the client's.
            self._since = self.loop.time()
            return
        self.logger.info("Closed a connection whose request did not arrive within %g s.", self.request_timeout)
        if self._reading_head:
            self._close_with(408, f"The request did not arrive within {self.request_timeout:g} s.")
        else:
            self.transport.close()  # nothing sent yet, or an answer under way to a body that stopped coming

    def on_headers_complete(self) -> None:
        self._reading_head = False
        if len(self.url) > MAX_URL:
            self._refuse_long_url()
            self._answered = True
            return
        if self._replay is not None and self._answer_from_cache():
            self._answered = True
            return
        if self._now is not None and self._answer_from_workers():
            self._answered = True
            return
        super().on_headers_complete()

    def _refuse_long_url(self) -> None:
        """414 for a URL httptools cannot read, where uvicorn would say "Invalid HTTP request received."."""
        self.logger.info("414: a request URL of %d bytes", len(self.url))
        self._close_with(
            414,
            f"The request URL is {len(self.url):,} bytes long; this server reads URLs of up to "
            f"{MAX_URL:,}. Send a long query with POST, form-encoded or as application/sparql-query.",
        )

    def _close_with(self, status: int, message: str) -> None:
        body = message.encode()
        self.transport.write(
            b"".join(
                (
                    STATUS_LINE[status],
                    header_lines(self.server_state.default_headers),
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body),
                    body,
                )
            )
        )
        self.transport.close()

    def on_body(self, body: bytes) -> None:
        if not self._answered:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._since = None
        if self._answered:
            self._answered = False
            return
        super().on_message_complete()

    def _plain(self) -> tuple[str, str, bytes] | None:
        """(method, path, query string) of a request this protocol may answer itself: a GET or HEAD on a
        kept-alive HTTP/1.1 connection with nothing else going on; None for anything out of that case."""
        cycle, parser = self.cycle, self.parser
        if (
            (cycle is not None and not cycle.response_complete)
            or self.pipeline
            or self.flow.write_paused
            or self.access_log
            or self.limit_concurrency is not None
            or self.expect_100_continue
        ):
            return None
        method = parser.get_method()
        if (
            method not in (b"GET", b"HEAD")
            or parser.get_http_version() != "1.1"
            or not parser.should_keep_alive()
            or parser.should_upgrade()
        ):
            return None
        url = self.url
        if url[:1] == b"/" and b"#" not in url:  # origin-form, as clients send it: split, not parsed
            raw, _, query = url.partition(b"?")
        else:
            parsed = httptools.parse_url(url)
            raw, query = parsed.path, parsed.query or b""
        path = raw.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        return method.decode("ascii"), self.root_path + path, query

    def _head_lines(self, status: int) -> bytes:
        """The status line and uvicorn's default headers (a new list each second: the date)."""
        defaults = self.server_state.default_headers
        if defaults is not self._defaults:
            self._defaults, self._default_lines = defaults, header_lines(defaults)
        return STATUS_LINE[status] + self._default_lines

    def _answer_from_cache(self) -> bool:
        request = self._plain()
        if request is None:
            return False
        method, path, query = request
        hit = self._replay(method, self.scheme, self.client, self.root_path, path, query, self.headers)
        if hit is None:
            return False
        status, head, body = hit
        self.transport.write_now(b"".join((self._head_lines(status), head, b"\r\n", body)))
        self.on_response_complete()
        return True

    def _answer_from_workers(self) -> bool:
        """A repeated GET of /sparql with the caches off, sent to the worker pool without the ASGI app
        (app.Front.answer_now). While the answer is awaited, a stand-in cycle (Waiting) tells uvicorn a
        response is under way, so it queues a pipelined request behind it."""
        request = self._plain()
        if request is None:
            return False
        method, path, query = request
        waiting = Waiting()
        self.cycle = waiting  # type: ignore[assignment]
        taken = self._now(
            method,
            self.scheme,
            self.server,
            self.root_path,
            path,
            query,
            self.headers,
            functools.partial(self._write_answer, waiting),
        )
        if taken is None:
            self.cycle = None  # type: ignore[assignment]
            return False
        if not waiting.response_complete:
            waiting.ticket = taken
        return True

    def _write_answer(self, waiting: Waiting, status: int, lines: bytes, body: bytes) -> None:
        if waiting.response_complete:
            return
        waiting.response_complete = True
        if self.transport.is_closing():
            return
        self.transport.write_now(b"".join((self._head_lines(status), lines, b"\r\n", body)))
        if not waiting.keep_alive:  # the server is shutting down (uvicorn's shutdown())
            self.transport.close()
            return
        self.on_response_complete()

    def connection_lost(self, exc) -> None:
        waiting = self.cycle
        if isinstance(waiting, Waiting) and not waiting.response_complete and waiting.ticket is not None:
            self._withdraw(waiting.ticket)  # nobody to answer: a job not yet sent to a worker never is
        super().connection_lost(exc)


class Waiting:
    """Stands in for uvicorn's RequestResponseCycle while a request answered by the protocol itself awaits
    its answer: uvicorn reads response_complete (to queue a pipelined request), keep_alive (set False at
    shutdown), disconnected and message_event (when the connection is lost)."""

    __slots__ = ("response_complete", "keep_alive", "disconnected", "ticket")

    def __init__(self):
        self.response_complete, self.keep_alive, self.disconnected = False, True, False
        self.ticket = None  # what the pool gave for the request, to withdraw if the client leaves

    class message_event:  # noqa: N801 - read as an attribute by uvicorn
        @staticmethod
        def set() -> None:
            pass


def _sweep(loop: asyncio.AbstractEventLoop, connections: set) -> None:
    """Once a second: end the connections whose request is late (GatheringHttpProtocol.request_late)."""
    now = loop.time()
    for protocol in list(connections):
        since = getattr(protocol, "_since", None)
        if since is not None and now - since > protocol.request_timeout:
            protocol.request_late()
    loop.call_later(SWEEP_INTERVAL, _sweep, loop, connections)
