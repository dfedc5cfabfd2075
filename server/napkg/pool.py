"""Worker processes that run queries where a runaway or a crash can be ended.

pyoxigraph cannot cancel a query, crashes its process on some inputs, and its result iterators must be
read on the thread that ran the query (facts.md). So every query runs in a worker process that loads
the data itself; the server waits for the answer with a deadline, and when the deadline passes (or the
worker dies) it kills that worker, which frees its CPU at once, and starts a fresh one in its place.
Other queries keep running on the other workers meanwhile.
"""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import pickle
import signal
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .engine import Answer, Job

_CONTEXT = mp.get_context("spawn")  # no fork: the parent may hold pyoxigraph state and threads


@dataclass(frozen=True)
class PoolSettings:
    data: Path  # an N-Quads file every worker loads
    workers: int = 2
    timeout: float = 30.0
    queue: int = 16  # requests that may wait for a worker before the pool answers 503
    union_default_graph: bool = False
    memory_limit: int = 0  # bytes of address space per worker; 0: no limit
    prefixes: tuple[tuple[str, str], ...] = ()


class Overloaded(Exception):
    """Every worker is busy and the waiting line is full."""


class TimedOut(Exception):
    """The query ran past the time limit; its worker was killed."""


class Crashed(Exception):
    """The worker died while running the query."""


WORKER_STACK = 512 * 1024 * 1024


def _worker_main(conn, settings: PoolSettings) -> None:
    # The parent decides when a worker dies; Ctrl-C in a terminal must not kill workers mid-answer.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The engine recurses over the query's algebra on the calling thread's stack; a long chain of MINUS
    # or OPTIONAL overflows the main thread's 8 MiB. So the whole loop (query and reading its results
    # must share one thread) runs on a thread with a large stack, reserved but only used as needed.
    threading.stack_size(WORKER_STACK)
    thread = threading.Thread(target=_worker_loop, args=(conn, settings), name="napkg-query")
    thread.start()
    thread.join()


def _worker_loop(conn, settings: PoolSettings) -> None:
    if settings.memory_limit:
        import resource
        limit = settings.memory_limit + WORKER_STACK
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from .engine import LocalEngine

    engine = LocalEngine.from_nquads(settings.data, union_default_graph=settings.union_default_graph,
                                     prefixes=dict(settings.prefixes))
    # The socket under the Connection, read and written directly: one recv a message instead of two,
    # and no Connection layer (the framing is the same, so the server may still use either).
    sock = socket.socket(fileno=os.dup(conn.fileno()))
    conn.close()
    _send(sock, ("ready", None))
    buffer = bytearray()
    while True:
        try:
            kind, payload = _receive(sock, buffer)
        except (EOFError, OSError):
            return
        try:
            if kind == "query":
                reply = ("answer", engine.run(payload))
            elif kind == "statistics":
                reply = ("statistics", engine.statistics())
            else:
                continue
        except MemoryError:
            reply = ("answer", Answer(500, b"", "", error="The query needed more memory than a worker may use."))
        _send(sock, reply)


def frame(message) -> tuple[bytes, bytes]:
    """A message as multiprocessing.Connection frames it: a 4-byte signed big-endian length (or -1 and an
    8-byte length), then a pickle. Returned as (head, pickle), so a large answer is never copied to join them."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return (_SIZE.pack(len(data)) if len(data) <= 0x7FFFFFFF else _SIZE.pack(-1) + _LONG_SIZE.pack(len(data))), data


def _send(sock: socket.socket, message) -> None:
    head, data = frame(message)
    if len(data) < 65536:
        sock.sendall(head + data)  # one write
    else:
        sock.sendall(head)
        sock.sendall(data)


_INCOMPLETE = object()
_SIZE, _LONG_SIZE = struct.Struct("!i"), struct.Struct("!Q")


def unframe(buffer: bytearray):
    """The first whole message in buffer, removed from it, or _INCOMPLETE."""
    if len(buffer) < 4:
        return _INCOMPLETE
    size, head = _SIZE.unpack_from(buffer)[0], 4
    if size == -1:
        if len(buffer) < 12:
            return _INCOMPLETE
        size, head = _LONG_SIZE.unpack_from(buffer, 4)[0], 12
    if len(buffer) < head + size:
        return _INCOMPLETE
    message = pickle.loads(buffer[head:head + size])
    del buffer[:head + size]
    return message


def _receive(sock: socket.socket, buffer: bytearray):
    while True:
        message = unframe(buffer)
        if message is not _INCOMPLETE:
            return message
        chunk = sock.recv(65536)  # below malloc's mmap threshold: no mmap and munmap per call
        if not chunk:
            raise EOFError()
        buffer += chunk


class Channel(asyncio.Protocol):
    """The server's end of a worker's pipe, read and written by the event loop's own transport (no thread,
    no blocking read), in the framing of frame(). Measured: the loop's transport cut the server's cost of
    a round trip from ~120 us (a reader callback around Connection.recv) to ~40 us.
    handler(message, failure) gets each message, or (None, Crashed()) when the worker's end closes."""

    def __init__(self):
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handler = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            message = unframe(self.buffer)
            if message is _INCOMPLETE:
                return
            if self.handler is not None:
                self.handler(message[1], None)

    def connection_lost(self, exc) -> None:
        if self.handler is not None:
            self.handler(None, Crashed())

    def send(self, message) -> None:
        self.transport.writelines(frame(message))

    def close(self) -> None:
        self.handler = None
        if self.transport is not None:
            self.transport.abort()



class Worker:
    def __init__(self, settings: PoolSettings):
        self.settings = settings
        self.channel: Channel | None = None  # set on first use from the event loop; before it, conn is used
        self.conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_worker_main, args=(child, settings), daemon=True)
        self.process.start()
        child.close()

    def wait_ready(self, timeout: float = 300.0) -> None:
        if not self.conn.poll(timeout):
            self.kill()
            raise RuntimeError("a query worker did not start in time")
        kind, _ = self.conn.recv()
        assert kind == "ready"

    def call(self, kind: str, payload, timeout: float):
        self.conn.send((kind, payload))
        if not self.conn.poll(timeout):
            self.kill()
            raise TimedOut()
        try:
            _, result = self.conn.recv()
        except (EOFError, OSError):
            self.kill()
            raise Crashed() from None
        return result

    def signal_kill(self) -> None:
        if self.process.is_alive():
            try:
                os.kill(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.signal_kill()
        self.process.join(5)
        self.conn.close()

    @property
    def pid(self) -> int | None:
        return self.process.pid


class WorkerPool:
    """Runs Jobs on worker processes; async, for the web app."""

    def __init__(self, settings: PoolSettings):
        self.settings = settings
        self._idle: asyncio.Queue[Worker] | None = None
        self._waiting = 0
        self._executor = ThreadPoolExecutor(max_workers=settings.workers + 2, thread_name_prefix="napkg-pool")
        self._all: set[Worker] = set()
        self._lock = threading.Lock()
        self.restarts = 0
        self.started = 0.0

    def start(self) -> None:
        """Start the workers and wait until each has loaded the data."""
        workers = [Worker(self.settings) for _ in range(self.settings.workers)]
        for worker in workers:
            worker.wait_ready()
        self._all = set(workers)
        self._idle = asyncio.Queue()
        for worker in workers:
            self._idle.put_nowait(worker)
        self.started = time.time()

    def statistics(self) -> dict:
        worker = next(iter(self._all))
        return worker.call("statistics", None, timeout=600)

    def _replace(self, dead: Worker, loop: asyncio.AbstractEventLoop) -> None:
        """Start a new worker in a thread; it joins the idle line when it has loaded the data."""
        with self._lock:
            self._all.discard(dead)
            self.restarts += 1

        def start():
            worker = Worker(self.settings)
            worker.wait_ready()
            with self._lock:
                self._all.add(worker)
            loop.call_soon_threadsafe(self._idle.put_nowait, worker)

        self._executor.submit(start)

    async def run(self, job: Job, timeout: float | None = None) -> Answer:
        if self._idle.empty() and self._waiting >= self.settings.queue:
            raise Overloaded()
        self._waiting += 1
        try:
            worker = await self._idle.get()
        finally:
            self._waiting -= 1
        loop = asyncio.get_running_loop()
        await self._channel(worker, loop)
        return await self._dispatch(worker, job, timeout or self.settings.timeout, loop)

    async def _channel(self, worker: Worker, loop: asyncio.AbstractEventLoop) -> "Channel":
        if worker.channel is None:
            sock = socket.socket(fileno=os.dup(worker.conn.fileno()))
            _, worker.channel = await loop.connect_accepted_socket(Channel, sock=sock)
        return worker.channel

    def _dispatch(self, worker: Worker, job: Job, timeout: float, loop: asyncio.AbstractEventLoop) -> asyncio.Future:
        """Send the job through the worker's channel and resolve when its answer arrives, with a timer for
        the deadline. The worker goes back to the line (or is replaced) here, not in the task that awaits
        the answer, so a client that hangs up mid-query cannot lose a worker."""
        future = loop.create_future()
        channel = worker.channel

        def finish(answer: Answer | None, failure: Exception | None) -> None:
            channel.handler = None
            timer.cancel()
            if failure is None:
                self._idle.put_nowait(worker)
            else:
                # SIGKILL now frees the CPU at once; reaping the process may wait, so a thread does it.
                worker.signal_kill()
                channel.close()
                self._executor.submit(worker.kill)
                self._replace(worker, loop)
            if not future.done():
                future.set_exception(failure) if failure else future.set_result(answer)

        channel.handler = finish
        timer = loop.call_later(timeout, finish, None, TimedOut())
        channel.send(("query", job))
        return future

    def busy(self) -> int:
        return self.settings.workers - (self._idle.qsize() if self._idle else 0)

    def pids(self) -> list[int]:
        return [w.pid for w in self._all]

    def close(self) -> None:
        for worker in list(self._all):
            worker.kill()
        self._executor.shutdown(wait=False, cancel_futures=True)
