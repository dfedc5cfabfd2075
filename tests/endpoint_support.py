"""Helpers for test_endpoint.py and test_limits.py: servers started side by side, a canary HTTP listener
that records every request made to it, and a look at the server's worker processes through /proc."""

from __future__ import annotations

import contextlib
import http.server
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from server import running_server

NAP = "https://w3id.org/nap-bhr/def#"
AP = "https://w3id.org/nap-bhr/id/action-point/"
GRAPH = "https://w3id.org/nap-bhr/graph/"
PREFIXES = (
    f"PREFIX nap: <{NAP}>\nPREFIX dct: <http://purl.org/dc/terms/>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)
JSON = "application/sparql-results+json"


@contextlib.contextmanager
def servers(*arg_lists: tuple[str, ...]):
    """Start one `napkg serve` per argument list, all at once (each start validates the graph and loads
    the workers, a few seconds of work); yields the Servers in the same order and stops them all."""
    managers = [running_server(*args) for args in arg_lists]
    with contextlib.ExitStack() as stack:
        with ThreadPoolExecutor(len(managers)) as pool:
            futures = [pool.submit(m.__enter__) for m in managers]
            started, failure = [], None
            for manager, future in zip(managers, futures, strict=True):
                try:
                    started.append(future.result(timeout=180))
                    stack.push(manager.__exit__)
                except BaseException as error:  # stop the ones that did start, then fail
                    failure = failure or error
        if failure is not None:
            raise failure
        yield started


class Canary:
    """An HTTP listener on 127.0.0.1 that answers every request with an empty SPARQL JSON result and
    records (method, path, body) of each request."""

    def __init__(self):
        self.requests: list[tuple[str, str, bytes]] = []
        canary = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                canary.requests.append((self.command, self.path, body))
                payload = b'{"head":{"vars":[]},"results":{"bindings":[]}}'
                self.send_response(200)
                self.send_header("Content-Type", JSON)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self) -> Canary:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def seen(self, token: str = "", wait: float = 1.0) -> list[tuple[str, str, bytes]]:
        """The requests whose path contains token, after waiting `wait` seconds for late ones."""
        time.sleep(wait)
        return [r for r in self.requests if token in r[1]]


def healthz(server) -> dict:
    response = httpx.get(server.url + "/healthz", timeout=10)
    assert response.status_code == 200
    return response.json()


def select(server, query: str, **params) -> httpx.Response:
    return httpx.post(server.sparql, data={"query": query, **params}, headers={"Accept": JSON}, timeout=30)


def count(server, query: str, **params) -> int:
    response = select(server, query, **params)
    assert response.status_code == 200, response.text
    bindings = response.json()["results"]["bindings"]
    return int(bindings[0]["n"]["value"])


def wait_until(predicate, timeout: float, interval: float = 0.1):
    """Poll predicate() (bounded by timeout); returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


# --- processes, through /proc (psutil is not installed) ---


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the state (field 3) on


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def cpu_ticks(pid: int) -> int | None:
    fields = _stat(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])  # utime + stime


def worker_pids(server_pid: int) -> set[int]:
    """The query workers of a server: its multiprocessing spawn children (not the resource tracker)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if fields is None or int(fields[1]) != server_pid:
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline and fields[0] not in ("Z", "X"):
            found.add(int(entry))
    return found
