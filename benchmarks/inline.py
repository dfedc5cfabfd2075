"""`napkg serve --data FILE --no-cache` with each query run by the web process itself: a measurement of
what the worker processes cost, never a way to serve.

    python benchmarks/inline.py --port 8000 --data nap.nt [--processes 2]

The server runs every query in a worker process because pyoxigraph cannot cancel one and crashes on some
(tests/test_limits.py): only a process can be killed at the time limit. Handing a query to a worker and reading its
answer costs both processes CPU, mostly the kernel waking the other side. This script builds the same
app (the same HTTP protocol, endpoint and engine) with the pool swapped for the engine in the web process,
so run.py can show, in the same run, what the cheap queries would reach without that hand-off. Here
nothing stops a runaway query and a crash ends the web process: --timeout does not apply.

With --processes N, N web processes serve the port, so all the cores run queries, as they do for Oxigraph
server's threads and for napkg's workers.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import uvicorn

from napkg import app as napkg_app
from napkg.endpoint.connections import Deadlines
from napkg.sparql.engine import LocalEngine


class InlinePool:
    """Stands in for pool.WorkerPool: the same calls, answered by a LocalEngine in this process."""

    def __init__(self, settings):
        self.settings, self.engine = settings, None
        # What /healthz reports of a pool: nothing is ever killed, restarted or refused here.
        self.started, self.restarts, self.timeouts, self.crashes, self.overloads = time.time(), 0, 0, 0, 0

    def spawn(self) -> None:
        pass  # no worker to start early: start() loads the engine here

    def start(self) -> None:
        self.engine = LocalEngine.from_nquads(
            self.settings.data,
            union_default_graph=self.settings.union_default_graph,
            prefixes=dict(self.settings.prefixes),
        )

    def statistics(self) -> dict:
        return self.engine.statistics()

    async def run(self, job, timeout: float | None = None):
        return self.engine.run(job)

    def busy(self) -> int:
        return 0

    def pids(self) -> list[int]:
        return []

    def close(self) -> None:
        self.engine = None


def listening(port: int) -> socket.socket:
    """A socket of its own for each process, on the same port: the kernel spreads new connections over them
    evenly (SO_REUSEPORT). One shared socket, as uvicorn's --workers has, left all eight of the load
    generator's connections with one process in one run of four."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def serve(port: int, data: Path, before_listening) -> None:
    napkg_app.WorkerPool = InlinePool
    front = napkg_app.create_app(napkg_app.ServerConfig(data=[data], cache=False))
    before_listening()
    uvicorn.Server(
        uvicorn.Config(front, log_level="warning", access_log=False, proxy_headers=False, http=Deadlines())
    ).run(sockets=[listening(port)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--further", action="store_true", help=argparse.SUPPRESS)  # started by the first
    args = parser.parse_args()
    if args.further:

        def ready() -> None:  # say so, and wait for the first process to let every process listen at once
            print("ready", flush=True)
            sys.stdin.readline()

        serve(args.port, args.data, ready)
        return
    others = [
        subprocess.Popen(
            [sys.executable, __file__, "--port", str(args.port), "--data", str(args.data), "--further"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(args.processes - 1)
    ]

    def all_ready() -> None:
        for other in others:
            if other.stdout.readline().strip() != "ready":
                sys.exit(f"a further web process exited with {other.wait()}")
        for other in others:
            other.stdin.write("go\n")
            other.stdin.flush()

    try:
        serve(args.port, args.data, all_ready)
    finally:
        for other in others:
            other.terminate()


if __name__ == "__main__":
    main()
