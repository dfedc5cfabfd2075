"""Worker processes that run queries where a runaway or a crash can be ended.

pyoxigraph cannot cancel a query, crashes its process on some inputs, and its result iterators must be
read on the thread that ran the query (tests/test_limits.py shows each). So every query runs in a worker
process that loads the data itself; the server waits for the answer with a deadline, and when the deadline
passes (or the worker dies) it kills that worker, which frees its CPU at once, and starts a fresh one in its
place. Other queries keep running on the other workers meanwhile.

When every worker is busy, each may also hold one job behind the one it runs, so that it starts that job
as soon as it sends its answer: a worker that sleeps until its next job arrives must be woken for each
one, and for a cheap query that wake-up is most of the cost (benchmarks/README.md has the figures). A job
behind a long one is not stuck there: until its worker starts it, it can be taken back (Worker.take_back)
and run on a worker that frees up first, and when its worker is killed it goes back to the front of the
line.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import multiprocessing as mp
import os
import pickle
import signal
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Lock
from pathlib import Path
from typing import Any, cast

from ..sparql.engine import Answer, Job

_CONTEXT = mp.get_context("spawn")  # no fork: the parent may hold pyoxigraph state and threads

# What an operator must hear of: queries killed at the time limit, workers that die, requests refused for
# want of a worker. Never a client's address: the query says what happened, the address says who.
log = logging.getLogger("napkg.pool")
#: Seconds between two messages about 503s, which come in bursts under load.
OVERLOAD_LOG_INTERVAL = 60.0


def one_line(query: str, limit: int = 300) -> str:
    """A query for a log line: on one line, cut at limit characters."""
    text = " ".join(query.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Workers run this much nicer than the web process. When the CPUs are busy, the process that reads
#: requests, hands out queries and writes answers then runs as soon as it has work, and does not wait
#: behind queries it has already handed out; and a heavy query cannot slow the health check or the answers
#: from the cache (benchmarks/README.md has the measurements). Not higher, because on a machine shared with
#: other work a worker's share of a busy CPU falls with its nice value while its time limit runs on the clock.
WORKER_NICE = 5


@dataclass(frozen=True)
class PoolSettings:
    data: Path  # an N-Quads file every worker loads
    workers: int = 2
    timeout: float = 30.0
    queue: int = 16  # requests that may wait for a worker before the pool answers 503
    union_default_graph: bool = False
    memory_limit: int = 0  # bytes of address space per worker; 0: no limit
    nice: int = WORKER_NICE  # added to the workers' nice value: the web process comes first
    prefixes: tuple[tuple[str, str], ...] = ()


class Overloaded(Exception):
    """Every worker is busy and the waiting line is full."""


class TimedOut(Exception):
    """The query ran past the time limit; its worker was killed."""


class Crashed(Exception):
    """The worker died while running the query."""


WORKER_STACK = 512 * 1024 * 1024
#: Jobs kept pickled by the server and unpickled by a worker, per process: the readings of repeated GETs
#: (protocol.Endpoint.PLANS) send the same Job again and again. Only small ones (WIRE_CACHE_SIZE bytes
#: pickled, as a GET's query is), so the caches stay under 8 MiB each whatever clients send.
WIRE_CACHE = 1024
WIRE_CACHE_SIZE = 8192


def _worker_main(conn: Connection, settings: PoolSettings, claim_lock: Lock, claimed: ctypes.c_longlong) -> None:
    # The parent decides when a worker dies; Ctrl-C in a terminal must not kill workers mid-answer.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if settings.nice:
        os.nice(settings.nice)  # before the query thread starts: a new thread takes its creator's value
    # The engine recurses over the query's algebra on the calling thread's stack; a long chain of MINUS
    # or OPTIONAL overflows the main thread's 8 MiB. So the whole loop (query and reading its results
    # must share one thread) runs on a thread with a large stack, reserved but only used as needed.
    threading.stack_size(WORKER_STACK)
    thread = threading.Thread(target=_worker_loop, args=(conn, settings, claim_lock, claimed), name="napkg-query")
    thread.start()
    thread.join()


def _worker_loop(conn: Connection, settings: PoolSettings, claim_lock: Lock, claimed: ctypes.c_longlong) -> None:
    if settings.memory_limit:
        import resource

        limit = settings.memory_limit + WORKER_STACK
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from ..sparql.engine import LocalEngine

    engine = LocalEngine.from_nquads(
        settings.data, union_default_graph=settings.union_default_graph, prefixes=dict(settings.prefixes)
    )
    # The socket under the Connection, read and written directly: one recv a message instead of two,
    # and no Connection layer (the framing is the same, so the server may still use either).
    sock = socket.socket(fileno=os.dup(conn.fileno()))
    conn.close()
    _send(sock, ("ready", None))
    buffer = bytearray()
    jobs: dict[bytes, Job] = {}  # a repeated query comes as the same bytes: unpickled once
    while True:
        try:
            kind, payload = _receive(sock, buffer)
        except (EOFError, OSError):
            return
        if kind == "statistics":
            _send(sock, ("statistics", engine.statistics()))
            continue
        if kind != "query":
            continue
        number, wire = payload
        job = jobs.get(wire)
        if job is None:
            job = pickle.loads(wire)
            if len(wire) <= WIRE_CACHE_SIZE:
                if len(jobs) >= WIRE_CACHE:
                    jobs.clear()
                jobs[wire] = job
        with claim_lock:
            if claimed.value >= number:
                continue  # the server took it back to run elsewhere: it expects no answer
            claimed.value = number
        try:
            answer = engine.run(job)
        except MemoryError:
            answer = Answer(500, b"", "", error="The query needed more memory than a worker may use.")
        except Exception as error:  # a bug of ours, not a crash: answer it, and keep a worker that is sound
            answer = Answer(500, b"", "", error=f"The query failed in the engine ({type(error).__name__}: {error}).")
        # A tuple, not the dataclass: pickled and read back in a third of the time.
        _send(
            sock,
            (
                "answer",
                (number, (answer.status, answer.body, answer.media_type, answer.rows, answer.truncated, answer.error)),
            ),
        )


def frame(message: object) -> tuple[bytes, bytes]:
    """A message as multiprocessing.Connection frames it: a 4-byte signed big-endian length (or -1 and an
    8-byte length), then a pickle. Returned as (head, pickle), so a large answer is never copied to join them."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return (_SIZE.pack(len(data)) if len(data) <= 0x7FFFFFFF else _SIZE.pack(-1) + _LONG_SIZE.pack(len(data))), data


def _send(sock: socket.socket, message: object) -> None:
    head, data = frame(message)
    if len(data) < 65536:
        sock.sendall(head + data)  # one write
    else:
        sock.sendall(head)
        sock.sendall(data)


_INCOMPLETE = object()
_SIZE, _LONG_SIZE = struct.Struct("!i"), struct.Struct("!Q")


def unframe(buffer: bytearray) -> Any:
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
    message = pickle.loads(buffer[head : head + size])
    del buffer[: head + size]
    return message


def unframe_all(data: bytes | bytearray) -> tuple[list[Any], int]:
    """The whole messages at the start of data, and the offset where the rest begins."""
    messages, at, end = [], 0, len(data)
    view = memoryview(data)
    try:
        while end - at >= 4:
            size, head = _SIZE.unpack_from(data, at)[0], 4
            if size == -1:
                if end - at < 12:
                    break
                size, head = _LONG_SIZE.unpack_from(data, at + 4)[0], 12
            if end - at < head + size:
                break
            messages.append(pickle.loads(view[at + head : at + head + size]))
            at += head + size
    finally:
        view.release()  # data may be a bytearray that grows later
    return messages, at


def _receive(sock: socket.socket, buffer: bytearray) -> tuple[str, Any]:
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
    no blocking read), in the framing of frame(): a third of the cost of a reader callback around
    Connection.recv.
    handler(message, failure) gets each message, or (None, Crashed()) when the worker's end closes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handler: Callable[[Any, Exception | None], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A socket's transport; uvloop's are no asyncio.Transport subclasses, so it is not checked with isinstance.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes | bytearray) -> None:
        if not self.buffer and len(data) >= 4:
            size = _SIZE.unpack_from(data)[0]
            if len(data) == size + 4 and self.handler is not None:  # the usual read: one whole answer
                self.handler(pickle.loads(memoryview(data)[4:])[1], None)
                return
        if self.buffer:
            self.buffer += data
            data = self.buffer
        # Most reads hold whole messages: read them where they lie, and keep only a partial one.
        messages, used = unframe_all(data)
        self.buffer = bytearray(data[used:]) if used < len(data) else bytearray()
        for message in messages:
            if self.handler is not None:
                self.handler(message[1], None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.handler is not None:
            self.handler(None, Crashed())

    def send(self, message: object) -> None:
        assert self.transport is not None, "the pool sends only on a channel the loop has connected"
        self.transport.writelines(frame(message))

    def close(self) -> None:
        self.handler = None
        if self.transport is not None:
            self.transport.abort()


@dataclass(eq=False, slots=True)
class Ticket:
    """A job on its way to an answer: in the server's line, or sent to a worker."""

    job: Job
    future: asyncio.Future[Answer]
    timeout: float
    asked: float  # the loop's time when it was asked for
    number: int = 0  # its number on the worker it was last sent to
    moved: bool = False  # taken over by a busy worker (WorkerPool.TAKE_OVER_AFTER)


class Worker:
    def __init__(self, settings: PoolSettings):
        self.settings = settings
        self.channel: Channel | None = None  # set on first use from the event loop; before it, conn is used
        self.conn, child = _CONTEXT.Pipe()
        # A job sent behind the running one belongs to whichever side claims its number first: the worker,
        # to run it, or the server, to take it back (take_back). Numbers only grow, so one value will do.
        self.claim_lock = _CONTEXT.Lock()
        self.claimed: ctypes.c_longlong = _CONTEXT.RawValue("q", 0)
        self.process = _CONTEXT.Process(
            target=_worker_main, args=(child, settings, self.claim_lock, self.claimed), daemon=True
        )
        self.process.start()
        child.close()
        # The server's view, kept by WorkerPool in its event loop.
        self.sent = 0  # the number of the last job sent
        self.running: Ticket | None = None  # the job it runs (or is about to): its clock is ticking
        self.waiting: Ticket | None = None  # the job sent behind it
        self.since = 0.0  # the loop's time when the running job was started
        self.timer: asyncio.TimerHandle | None = None

    def wait_ready(self, timeout: float = 300.0) -> None:
        if not self.conn.poll(timeout):
            self.kill()
            raise RuntimeError("a query worker did not start in time")
        kind, _ = self.conn.recv()
        assert kind == "ready"

    def call(self, kind: str, payload: object, timeout: float) -> Any:
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

    def take_back(self, number: int) -> bool:
        """Claim job `number` for the server if the worker has started the job before it but not this one;
        the worker will then skip it. Not before the worker started the one before: it would skip that too.
        Never waits: if the worker holds the lock this moment (it is claiming a job), the answer is no."""
        if not self.claim_lock.acquire(False):
            return False
        try:
            if self.claimed.value != number - 1:
                return False
            self.claimed.value = number
            return True
        finally:
            self.claim_lock.release()

    def signal_kill(self) -> None:
        if self.process.is_alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.signal_kill()
        self.process.join(5)
        self.conn.close()

    @property
    def pid(self) -> int:
        pid = self.process.pid
        assert pid is not None, "the process is started in __init__"
        return pid


class WorkerPool:
    """Runs Jobs on worker processes; async, for the web app.

    The line: a job goes to an idle worker if there is one, else behind the running job of a busy worker
    that holds none yet (the one whose job started last), else it waits in the server, first come first
    served. Jobs behind a running one count towards `queue` as those in the server do."""

    #: A busy worker with room for a job takes over one held behind another worker's job only when that
    #: job has run this long (an idle worker takes it over at once), and a job is moved so at most once.
    #: Queries of the same cost then stay where they are: moved behind a job that has just started, a job
    #: would wait longer, and moved back and forth it would wait for ever (measured with a 5 ms rule on the
    #: job's own age: p99 2.2 s against 0.3 s on the benchmark's heaviest query).
    TAKE_OVER_AFTER = 1.0

    def __init__(self, settings: PoolSettings):
        self.settings = settings
        self._ready: list[Worker] = []  # workers that take jobs
        self._wire: dict[Job, bytes] = {}  # jobs pickled, as sent to workers
        self._line: deque[Ticket] = deque()  # jobs not sent to any worker yet
        self._closed = False
        self._attached = False  # the first workers get their channels in the event loop, on first use
        self._loop: asyncio.AbstractEventLoop | None = None  # the event loop the channels are read in
        self._attaching = asyncio.Lock()
        self._joining: set[asyncio.Task] = set()
        self._executor = ThreadPoolExecutor(max_workers=settings.workers + 2, thread_name_prefix="napkg-pool")
        self._all: set[Worker] = set()
        self._spawned: list[Worker] = []  # the first workers, from spawn()
        self._lock = threading.Lock()
        self.restarts = 0
        self.started = 0.0
        # Since start, for /healthz: queries killed at the time limit, workers that died, requests refused.
        self.timeouts = self.crashes = self.overloads = 0
        self._overloads = 0  # 503s not yet told in the log
        self._overload_logged = -OVERLOAD_LOG_INTERVAL

    def spawn(self) -> None:
        """Start the workers loading the data, without waiting for them: start() waits."""
        if not self._spawned:
            self._spawned = [Worker(self.settings) for _ in range(self.settings.workers)]
            with self._lock:
                self._all.update(self._spawned)  # close() ends them even if start() never comes

    def start(self) -> None:
        """Start the workers (unless spawn() has) and wait until each has loaded the data."""
        self.spawn()
        for worker in self._spawned:
            worker.wait_ready()
        self._ready = list(self._spawned)
        self.started = time.time()

    def statistics(self) -> dict:
        worker = next(iter(self._all))
        return worker.call("statistics", None, timeout=600)

    async def run(self, job: Job, timeout: float | None = None) -> Answer:
        if not self._attached:
            async with self._attaching:  # one channel a worker, however many requests come first
                for worker in self._ready:
                    await self._channel(worker)
                # Kept: on Python 3.11 asyncio.get_running_loop() makes a getpid() system call each time.
                self._loop = asyncio.get_running_loop()
                self._attached = True
        loop = self._loop
        assert loop is not None, "set with the channels, above"
        ticket = self._ask(job, loop.create_future(), timeout, loop.time())
        try:
            return await ticket.future
        except asyncio.CancelledError:
            if ticket in self._line:  # nobody waits for it any more
                self._line.remove(ticket)
            raise

    def _ask(self, job: Job, future: asyncio.Future[Answer], timeout: float | None, now: float) -> Ticket:
        waiting, idle = len(self._line), False
        for w in self._ready:  # a loop, not sum() and all(): this runs for every query
            waiting += w.waiting is not None
            idle = idle or w.running is None
        if waiting >= self.settings.queue and not idle:
            self.overloads += 1
            self._overloads += 1
            now = time.monotonic()
            if now - self._overload_logged >= OVERLOAD_LOG_INTERVAL:
                log.warning(
                    "Every query worker is busy and the waiting line (%d) is full: %d request(s) answered 503 "
                    "since the last such message.",
                    self.settings.queue,
                    self._overloads,
                )
                self._overloads, self._overload_logged = 0, now
            raise Overloaded()
        ticket = Ticket(job, future, timeout or self.settings.timeout, now)
        self._line.append(ticket)
        self._assign()
        return ticket

    async def _channel(self, worker: Worker) -> Channel:
        if worker.channel is None:
            sock = socket.socket(fileno=os.dup(worker.conn.fileno()))
            _, worker.channel = await asyncio.get_running_loop().connect_accepted_socket(Channel, sock=sock)
            worker.channel.handler = functools.partial(self._received, worker)
        return worker.channel

    def _assign(self) -> None:
        """Send jobs from the line to idle workers, then behind busy ones."""
        while self._line:
            worker = None
            for w in self._ready:
                if w.running is None:
                    worker = w
                    break
            if worker is None:
                free = [w for w in self._ready if w.waiting is None]
                if not free:
                    return
                worker = max(free, key=lambda w: w.since)
            self._send(worker, self._line.popleft())

    def _send(self, worker: Worker, ticket: Ticket) -> None:
        worker.sent += 1
        ticket.number = worker.sent
        if worker.running is None:
            worker.running = ticket
            self._start_clock(worker)
        else:
            worker.waiting = ticket
        wire = self._wire.get(ticket.job)
        if wire is None:
            wire = pickle.dumps(ticket.job, protocol=pickle.HIGHEST_PROTOCOL)
            if len(wire) <= WIRE_CACHE_SIZE:
                if len(self._wire) >= WIRE_CACHE:
                    self._wire.clear()
                self._wire[ticket.job] = wire
        assert worker.channel is not None, "a ready worker gets its channel before its first job"
        worker.channel.send(("query", (ticket.number, wire)))

    def _start_clock(self, worker: Worker) -> None:
        loop, ticket = self._loop, worker.running
        assert loop is not None and ticket is not None, "called once the pool runs, for a worker's running job"
        worker.since = loop.time()
        worker.timer = loop.call_later(ticket.timeout, self._expire, worker, ticket)

    def _received(self, worker: Worker, message: Any, failure: Exception | None) -> None:
        """An answer from a worker (or its end: failure). The job behind starts; the worker's room is filled."""
        if failure is not None:
            self._lose(worker, failure)
            return
        number, fields = message
        answer = Answer(*fields)
        ticket = worker.running
        if ticket is None or ticket.number != number:  # out of step with the server: start afresh
            self._lose(worker, Crashed())
            return
        assert worker.timer is not None, "started with its running job (_start_clock)"
        worker.timer.cancel()
        if not ticket.future.done():
            ticket.future.set_result(answer)
        worker.running, worker.waiting = worker.waiting, None
        if worker.running is not None:
            self._start_clock(worker)  # the worker started it as it sent the answer
        self._take_over(worker)
        self._assign()

    def _take_over(self, worker: Worker) -> None:
        """Move to this worker, which has room, the job that has waited longest behind another's running
        job: at once if this one is idle, else as TAKE_OVER_AFTER says. Jobs behind running ones were
        asked for before any in the server's line, so they go first."""
        if worker.waiting is not None:
            return
        behind = [(w, w.waiting) for w in self._ready if w is not worker and w.waiting is not None]
        if not behind:  # the common case, on every answer: nothing to read the clock for
            return
        assert self._loop is not None, "answers come once the pool runs"
        now = self._loop.time()
        for other, ticket in sorted(behind, key=lambda pair: pair[1].asked):
            if worker.running is not None and (ticket.moved or now - other.since < self.TAKE_OVER_AFTER):
                continue
            if other.take_back(ticket.number):
                other.waiting = None
                ticket.moved = worker.running is not None
                self._send(worker, ticket)
                return

    def _expire(self, worker: Worker, ticket: Ticket) -> None:
        if worker.running is ticket:
            self._lose(worker, TimedOut())

    def _lose(self, worker: Worker, failure: Exception) -> None:
        """Kill the worker and start a new one. Its running job fails. The job held behind it goes back to the
        front of the line, unless its client has hung up: it is not the cause (the answer before it would have
        arrived first), and a read may safely run twice should the worker have started it just before the kill.
        This runs here, not in the task that awaits the answer, so a client that hangs up mid-query cannot
        lose a worker."""
        if self._closed or worker not in self._ready:
            return
        if isinstance(failure, TimedOut):
            assert worker.running is not None, "only a running job times out (_expire)"
            self.timeouts += 1
            log.warning(
                "A query ran past its limit of %g s; worker %s was killed and is being replaced. The query: %s",
                worker.running.timeout,
                worker.pid,
                one_line(worker.running.job.query),
            )
        elif worker.running is not None:
            self.crashes += 1
            log.error(
                "Worker %s died running a query (its client gets 500); it is being replaced. The query: %s",
                worker.pid,
                one_line(worker.running.job.query),
            )
        else:
            self.crashes += 1
            log.error("Worker %s died while idle; it is being replaced.", worker.pid)
        self._ready.remove(worker)
        if worker.timer is not None:
            worker.timer.cancel()
        # SIGKILL now frees the CPU at once; reaping the process may wait, so a thread does it.
        worker.signal_kill()
        assert worker.channel is not None, "a ready worker gets its channel before its first job"
        worker.channel.close()
        self._executor.submit(worker.kill)
        self._replace(worker)
        running, waiting, worker.running, worker.waiting = worker.running, worker.waiting, None, None
        if running is not None and not running.future.done():
            running.future.set_exception(failure)
        if waiting is not None and not waiting.future.done():  # done: its client hung up, nobody wants it
            self._line.appendleft(waiting)
        self._assign()

    def _replace(self, dead: Worker) -> None:
        """Start a new worker in a thread; it takes jobs once it has loaded the data."""
        with self._lock:
            self._all.discard(dead)
            self.restarts += 1
        loop = asyncio.get_running_loop()

        def start() -> None:
            worker = Worker(self.settings)
            worker.wait_ready()
            log.info("Worker %s took the place of worker %s.", worker.pid, dead.pid)
            with self._lock:
                self._all.add(worker)
            loop.call_soon_threadsafe(self._join, worker)

        self._executor.submit(start)

    def _join(self, worker: Worker) -> None:
        async def join() -> None:
            await self._channel(worker)
            self._ready.append(worker)
            self._take_over(worker)  # a job put back in line may have gone behind another worker's
            self._assign()

        task = asyncio.get_running_loop().create_task(join())
        self._joining.add(task)
        task.add_done_callback(self._joining.discard)

    def busy(self) -> int:
        """Workers running a job, and those being replaced."""
        return self.settings.workers - sum(w.running is None for w in self._ready)

    def pids(self) -> list[int]:
        return [w.pid for w in self._all]

    def close(self) -> None:
        self._closed = True
        for worker in self._ready:
            if worker.channel is not None:
                worker.channel.close()  # their ends close next: not a crash
        for worker in list(self._all):
            worker.kill()
        self._executor.shutdown(wait=False, cancel_futures=True)
