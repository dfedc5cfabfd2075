"""Benchmark `napkg serve` against rdflib-endpoint and the Oxigraph server, side by side, in one run.

    python benchmarks/run.py [--duration 10] [--warmup 2] [--connections 8]

Sets up what it needs (the bench extra, wrk), builds the NAP graph, generates the synthetic graph,
validates a 10x synthetic graph, then starts each server in turn on 127.0.0.1 with the same triples in
its default graph and drives the same queries at it with a fixed number of concurrent connections.
Prints a Markdown report and writes it into benchmarks/README.md, between its RESULTS markers (or to
--out). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


# --- Set-up ---------------------------------------------------------------------------------------

SERVER_KEYS = ("ours", "ours-cache", "ours-inline", "oxigraph", "rdflib-endpoint")
PEERS = ("oxigraph", "rdflib-endpoint")  # the peers' server keys, which are also the commands they run


def ensure_venv(servers: list[str]) -> None:
    """Run inside the project's venv (re-exec with it), with the bench extra installed if a peer is measured."""
    try:
        import napkg  # noqa: F401
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.executable).resolve() != VENV_PYTHON.resolve():
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
        sys.exit("napkg is not installed: run `make install` (or pip install -e '.[bench]') first")
    bindir = Path(sys.executable).parent
    if any(not (bindir / key).exists() for key in servers if key in PEERS):
        log("installing the bench extra (rdflib-endpoint, oxigraph) ...")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[bench]"], check=True)


def ensure_wrk(choice: str) -> str | None:
    """The wrk binary, installing Debian's package when we are root; None: use the Python load generator."""
    if choice == "python":
        return None
    found = shutil.which("wrk")
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk with apt-get ...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        if choice == "wrk":
            sys.exit("wrk is not installed and could not be installed")
        log("wrk not available: falling back to the Python load generator (weaker: it shares the GIL)")
    return found


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bin_path(name: str) -> str:
    return str(Path(sys.executable).parent / name)


#: How napkg is run: `python -m napkg.cli`, from the snapshot that take_snapshot() puts on PYTHONPATH.
NAPKG = [sys.executable, "-m", "napkg.cli"]
SNAPSHOT_PARTS = ["server/napkg", "ontology", "data", "shapes", "queries"]


def take_snapshot(target: Path) -> Path:
    """Copy napkg's code and the project's data, so every server of the run runs the same version even if
    the working tree changes meanwhile; returns the folder to put on PYTHONPATH (its napkg finds the
    copied ontology/, data/, shapes/ and queries/ next to it, as load.ROOT is relative to the package)."""
    if target.exists():
        shutil.rmtree(target)
    for part in SNAPSHOT_PARTS:
        if (ROOT / part).exists():
            shutil.copytree(ROOT / part, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    server = target / "server"
    os.environ["PYTHONPATH"] = os.pathsep.join([str(server), *filter(None, [os.environ.get("PYTHONPATH")])])
    found = subprocess.run(
        [sys.executable, "-c", "import napkg; print(napkg.__file__)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not found.startswith(str(server)):
        sys.exit(f"the snapshot is not what python imports as napkg ({found})")
    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Queries ----------------------------------------------------------------------------------------

QUERIES = {
    # cheap first, heavy last: after the last query the server is stopped, so a slow server's backlog of
    # in-flight requests never has to be waited for.
    "limit10": "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10",
    "csddd": """PREFIX nap: <https://w3id.org/nap-bhr/def#>
PREFIX dct: <http://purl.org/dc/terms/>
SELECT ?ap ?title ?status WHERE {
  ?ap nap:mentions <https://w3id.org/nap-bhr/id/legal-instrument/csddd> ; dct:title ?title .
  FILTER (lang(?title) = "nl")
  ?sa nap:assessedActionPoint ?ap ; nap:inReport <https://w3id.org/nap-bhr/id/report/2024> ; nap:status ?status .
} ORDER BY ?ap""",
    "count": "SELECT ?status (COUNT(?ap) AS ?n) WHERE { ?sa <https://w3id.org/nap-bhr/def#assessedActionPoint> ?ap ; "
    "<https://w3id.org/nap-bhr/def#status> ?status } GROUP BY ?status",
}
QUERY_TITLES = {
    "count": "GROUP BY count (action points per status)",
    "limit10": "10-row SELECT (`?s ?p ?o LIMIT 10`)",
    "csddd": "CSDDD action points: Dutch title and 2024 status (join + FILTER + ORDER BY)",
}
ACCEPT = "application/sparql-results+json"


def normalise(body: bytes, query: str):
    """A comparable form of a JSON result: the multiset of rows (LIMIT 10 without ORDER BY: the row count)."""
    rows = json.loads(body)["results"]["bindings"]
    if query == "limit10":
        return len(rows)
    # Terms compared by type and value (datatypes of integers differ in spelling between servers: no).
    return sorted(tuple(sorted((k, v["type"], v["value"]) for k, v in row.items())) for row in rows)


# --- Processes: memory and CPU of a server's whole process tree ------------------------------------

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def group_pids(pgid: int) -> list[int]:
    """Every process in the process group the server leads (it and its workers: process_group=0)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state ppid pgrp session ...
            pids.append(int(entry))
    return pids


def tree_rss(sid: int) -> int:
    total = 0
    for pid in group_pids(sid):
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
    return total


def pid_cpu(sid: int) -> dict[int, float]:
    """CPU seconds (user + system) so far of each process in the server's process group."""
    out = {}
    for pid in group_pids(sid):
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / TICK  # utime stime
    return out


def tree_cpu(sid: int) -> float:
    return sum(pid_cpu(sid).values())


class MemorySampler(threading.Thread):
    def __init__(self, sid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.sid, self.interval, self.peak = sid, interval, 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, tree_rss(self.sid))
            self._halt.wait(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, tree_rss(self.sid))
        return self.peak


def cpu_busy(seconds: float = 1.0) -> float:
    """Fraction of all cores busy over `seconds` (from /proc/stat): what else is running on the machine."""

    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_idle(sid: int, limit: float = 120.0) -> float:
    """Wait until the server's tree uses under 5% of a core (its backlog done); returns seconds waited."""
    started = time.perf_counter()
    last = tree_cpu(sid)
    while time.perf_counter() - started < limit:
        time.sleep(0.3)
        now = tree_cpu(sid)
        if now - last < 0.015:
            break
        last = now
    return time.perf_counter() - started


# --- Servers ----------------------------------------------------------------------------------------


def get(port: int, path: str, query: str, timeout: float = 300.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path + "?" + urllib.parse.urlencode({"query": query}), headers={"Accept": ACCEPT})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Server:
    key: str
    label: str
    path: str  # where SPARQL queries go
    port: int = 0
    process: subprocess.Popen | None = None
    sampler: MemorySampler | None = None
    startup: float = 0.0
    ready_rss: int = 0
    peak_rss: int = 0
    note: str = ""

    def command(self, data: Path) -> list[str]:
        raise NotImplementedError

    def after_listening(self, data: Path) -> None:
        """Anything to do once the server answers HTTP, before it can answer queries."""

    def start(self, data: Path, workdir: Path, timeout: float = 600.0) -> None:
        self.port = free_port()
        self.stderr = open(workdir / f"{self.key}-{data.stem}.log", "wb")
        started = time.perf_counter()
        # A process group of its own (to find and stop the server's whole tree), not a session: with the
        # kernel's autogroup scheduling (sched_autogroup_enabled) a new session is a scheduling group of its
        # own, which the kernel gives an equal share of the cores against the load generator's group. Measured,
        # that held Oxigraph server's two threads to 35k requests a second where it answers 45k started from
        # a shell; in one session every thread competes on its own, as when a user starts a server.
        self.process = subprocess.Popen(
            self.command(data),
            cwd=workdir,
            stdout=self.stderr,
            stderr=self.stderr,
            stdin=subprocess.DEVNULL,
            process_group=0,
        )
        self.sampler = MemorySampler(self.process.pid)
        self.sampler.start()
        probe = "ASK {}"
        listening = False
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.process.returncode}; see {self.stderr.name}")
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{self.label} did not start in {timeout:.0f} s")
            try:
                status, _ = get(self.port, self.path, probe, timeout=5)
            except OSError:
                status = 0
            if status == 200 and not listening:
                listening = True
                self.after_listening(data)
                probe = QUERIES["limit10"]
                continue
            if status == 200:
                break
            time.sleep(0.05)
        self.startup = time.perf_counter() - started
        self.ready_rss = tree_rss(self.process.pid)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            self.peak_rss = self.sampler.stop()
        finally:  # the whole process group, whatever happens: the server and its workers
            self._kill()

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:  # e.g. rdflib-endpoint still busy with a backlog of slow queries
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.stderr.close()
        self.process = None


class Ours(Server):
    def __init__(self, cache: bool, workers: int):
        key = "ours-cache" if cache else "ours"
        label = f"napkg serve (cache {'on' if cache else 'off'}, {workers} workers)"
        super().__init__(key, label, "/sparql")
        self.cache, self.workers = cache, workers

    def command(self, data: Path) -> list[str]:
        return [
            *NAPKG,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data",
            str(data),
            "--workers",
            str(self.workers),
            *([] if self.cache else ["--no-cache"]),
        ]


class OursNap(Ours):
    """No data options: the validated NAP graph (validation at start-up), its union as default graph."""

    def __init__(self, workers: int):
        super().__init__(cache=False, workers=workers)
        self.key, self.label = "ours-nap-mode", f"napkg serve, no data options (validates first; {workers} workers)"

    def command(self, data: Path) -> list[str]:
        return [
            *NAPKG,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-cache",
        ]


class OursInline(Server):
    """Not a way to serve: napkg with each query run by its web processes, where nothing can stop it
    (benchmarks/inline.py). It shows what the cheap queries would reach without the hand-off to a worker."""

    def __init__(self, processes: int):
        super().__init__(
            "ours-inline",
            f"napkg, cache off, queries in {processes} web processes, no workers (unsafe: for comparison)",
            "/sparql",
        )
        self.processes = processes

    def command(self, data: Path) -> list[str]:
        return [
            sys.executable,
            str(HERE / "inline.py"),
            "--port",
            str(self.port),
            "--data",
            str(data),
            "--processes",
            str(self.processes),
        ]


class RdflibEndpoint(Server):
    def __init__(self):
        # Its CLI serves the endpoint at / (its --help says /sparql: that path answers 404).
        super().__init__("rdflib-endpoint", "rdflib-endpoint 0.6.3", "/")

    def command(self, data: Path) -> list[str]:
        return [bin_path("rdflib-endpoint"), "serve", str(data), "--host", "127.0.0.1", "--port", str(self.port)]


class Oxigraph(Server):
    """`oxigraph serve` without --location is in memory; the data goes in over the Graph Store Protocol."""

    def __init__(self):
        super().__init__("oxigraph", "Oxigraph server 0.5.13 (in memory)", "/query")

    def command(self, data: Path) -> list[str]:
        return [bin_path("oxigraph"), "serve", "--bind", f"127.0.0.1:{self.port}"]

    def after_listening(self, data: Path) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            with open(data, "rb") as body:
                conn.request(
                    "POST",
                    "/store?default",
                    body=body,
                    headers={"Content-Type": "application/n-triples", "Content-Length": str(data.stat().st_size)},
                )
            response = conn.getresponse()
            response.read()
            if response.status not in (200, 201, 204):
                raise RuntimeError(f"loading into Oxigraph answered {response.status}")
        finally:
            conn.close()


# --- Load generators ----------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50: float | None = None  # seconds
    p99: float | None = None
    errors: int = 0  # non-2xx answers, socket errors and timeouts
    tool: str = ""


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(text: str) -> float:
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(wrk: str, url: str, connections: int, seconds: float, timeout: float) -> Load:
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            f"{int(timeout)}s",
            "--latency",
            "-H",
            f"Accept: {ACCEPT}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> Load:
    """The figures of wrk's report (run with --latency)."""
    load = Load(tool="wrk")
    if m := re.search(r"(\d+) requests in ([0-9.]+\w+),", out):
        load.requests, load.seconds = int(m.group(1)), _duration(m.group(2))
    load.rps = load.requests / load.seconds if load.seconds else 0.0
    if load.requests:
        if m := re.search(r"^\s+50%\s+(\S+)", out, re.M):
            load.p50 = _duration(m.group(1))
        if m := re.search(r"^\s+99%\s+(\S+)", out, re.M):
            load.p99 = _duration(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        load.errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        load.errors += sum(int(x) for x in m.groups())
    return load


def run_python(port: int, path: str, query: str, connections: int, seconds: float, timeout: float) -> Load:
    """Closed loop: `connections` threads, each with one keep-alive connection, for `seconds`."""
    target = path + "?" + urllib.parse.urlencode({"query": query})
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        mine, bad = [], 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", target, headers={"Accept": ACCEPT})
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 400
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            finished = time.perf_counter()
            if finished > deadline:
                break  # like wrk: what finishes after the end does not count
            if ok:
                mine.append(finished - started)
            else:
                bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout)
    load = Load(
        tool="python", requests=len(latencies), seconds=min(seconds, time.perf_counter() - started), errors=errors[0]
    )
    load.rps = load.requests / seconds
    if latencies:
        latencies.sort()
        load.p50 = latencies[len(latencies) // 2]
        load.p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return load


# --- The run ---------------------------------------------------------------------------------------


@dataclass
class Cell:
    dataset: str
    query: str
    server: str
    load: Load
    single: float  # one request on its own, after the warm-up (seconds)
    answer: object = None
    note: str = ""
    cpu: float = 0.0  # CPU seconds of the server's process tree during the measured window
    cpu_web: float = 0.0  # of which the process that was started (napkg: the web process)

    connections: int = 8

    @property
    def cpu_per_request(self) -> float | None:
        # Requests in flight when the window closes cost CPU but are not in n: with few completions that
        # would swamp the figure, so give it only where the error is at most 1/8.
        if self.load.requests < 8 * self.connections:
            return None
        return self.cpu / self.load.requests


@dataclass
class Run:
    cells: list[Cell] = field(default_factory=list)
    servers: dict[tuple[str, str], Server] = field(default_factory=dict)  # (dataset, server key)
    background: list[float] = field(default_factory=list)  # CPU busy before each server start (nothing of ours running)
    notes: list[str] = field(default_factory=list)


def measure(server: Server, dataset: str, args, wrk: str | None, run: Run) -> None:
    sid = server.process.pid
    for name, query in QUERIES.items():
        url = f"http://127.0.0.1:{server.port}{server.path}?" + urllib.parse.urlencode({"query": query})
        started = time.perf_counter()
        status, body = get(server.port, server.path, query)
        first = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"{server.label} answered {status} to {name}: {body[:300]!r}")
        answer = normalise(body, name)
        # Warm-up: a few seconds of the same load, unless one request already takes that long (then the
        # check request above was the warm-up: the backlog of a slow server would eat the time budget).
        if first < args.warmup:
            if wrk:
                run_wrk(wrk, url, args.connections, args.warmup, args.timeout)
            else:
                run_python(server.port, server.path, query, args.connections, args.warmup, args.timeout)
            wait_idle(sid)
        started = time.perf_counter()
        get(server.port, server.path, query)
        single = time.perf_counter() - started
        before = pid_cpu(sid)
        if wrk:
            load = run_wrk(wrk, url, args.connections, args.duration, args.timeout)
        else:
            load = run_python(server.port, server.path, query, args.connections, args.duration, args.timeout)
        after = pid_cpu(sid)
        cpu = sum(after.values()) - sum(v for pid, v in before.items() if pid in after)
        cpu_web = after.get(sid, 0.0) - before.get(sid, 0.0)
        note = ""
        if name != list(QUERIES)[-1]:
            waited = wait_idle(sid)
            if waited > 5:
                note = f"backlog drained in {waited:.0f} s"
        cell = Cell(dataset, name, server.key, load, single, answer, note, cpu, cpu_web, args.connections)
        run.cells.append(cell)
        p50 = f"{load.p50 * 1000:.1f}" if load.p50 is not None else "-"
        per = f"{cell.cpu_per_request * 1000:.2f}" if cell.cpu_per_request else "-"
        log(
            f"  {dataset:9} {name:8} {server.key:16} {load.rps:9.1f} req/s  p50 {p50} ms  "
            f"n={load.requests} errors={load.errors}  single {single * 1000:.1f} ms  cpu/req {per} ms"
        )


def fmt_rps(load: Load, duration: float) -> str:
    if load.requests == 0:
        return f"< {1 / duration:.2g}"
    return f"{load.rps:,.0f}" if load.rps >= 100 else f"{load.rps:.1f}" if load.rps >= 1 else f"{load.rps:.2f}"


def fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1000
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 1 else f"{ms:.2f}"


@dataclass
class Ratio:
    value: float
    lower_bound: bool = False  # the peer completed nothing: value is mine / (1 / peer's single latency)


def ratio(a: Cell | None, b: Cell | None) -> Ratio | None:
    if a is None or b is None or not a.load.requests:
        return None
    if not b.load.requests:
        # Nothing finished in the window. Only rdflib-endpoint gets here: it answers one request at a time
        # (its queries run on the event loop), so its rate is at most 1 / its single-request latency.
        return Ratio(a.load.rps * b.single, lower_bound=True) if b.server == "rdflib-endpoint" else None
    return Ratio(a.load.rps / b.load.rps)


def fmt_ratio(r: Ratio | None) -> str:
    if r is None:
        return "-"
    text = f"{r.value:,.1f}×" if r.value >= 10 else f"{r.value:.2f}×"
    return ("≥ " + text) if r.lower_bound else text


@dataclass
class Target:
    dataset: str
    query: str
    title: str
    ratio: Ratio | None
    met: bool


#: The issue's targets: (title, napkg's server key, the peer's, the ratio needed, whether it must be exceeded).
TARGETS = [
    ("≥ 10× rdflib-endpoint (cache off)", "ours", "rdflib-endpoint", 10.0, False),
    ("≥ 10× rdflib-endpoint (cache on)", "ours-cache", "rdflib-endpoint", 10.0, False),
    ("≥ 0.5× Oxigraph (cache off)", "ours", "oxigraph", 0.5, False),
    ("> 1× Oxigraph (cache on)", "ours-cache", "oxigraph", 1.0, True),  # "ahead of it"
]


def targets(cells: list[Cell], datasets: list[str]) -> list[Target]:
    """Each target on each dataset and query where both servers were measured."""
    by_key = {(c.dataset, c.query, c.server): c for c in cells}
    verdicts = []
    for dataset in datasets:
        for query in QUERIES:
            for title, mine, peer, needed, strictly in TARGETS:
                a, b = by_key.get((dataset, query, mine)), by_key.get((dataset, query, peer))
                if a is None or b is None:
                    continue
                r = ratio(a, b)
                met = r is not None and (r.value > needed if strictly else r.value >= needed)
                verdicts.append(Target(dataset, query, title, r, met))
    return verdicts


def report(run: Run, args, meta: dict) -> str:
    order = ["ours", "ours-cache", "ours-inline", "oxigraph", "rdflib-endpoint"]
    labels = {
        "ours": "napkg, cache off",
        "ours-cache": "napkg, cache on",
        "ours-inline": f"napkg, cache off, no workers ({args.workers} web processes; unsafe)",
        "oxigraph": "Oxigraph server",
        "rdflib-endpoint": "rdflib-endpoint",
    }
    cells = {(c.dataset, c.query, c.server): c for c in run.cells}
    lines = [
        "# Benchmark: napkg serve vs rdflib-endpoint vs Oxigraph server",
        "",
        f"Generated by `python benchmarks/run.py` on {meta['date']}: {meta['machine']}. "
        f"{args.connections} concurrent keep-alive connections per cell ({meta['tool']}), "
        f"{args.warmup:g} s warm-up, {args.duration:g} s measured; one server at a time on 127.0.0.1, "
        f"the load generator on the same {os.cpu_count()} cores. "
        f"napkg with {args.workers} query workers. Total run time {meta['total']}. Code measured: {meta['code']}.",
        "",
        "Datasets (the same triples in every server's default graph):",
        "",
    ]
    for name, info in meta["datasets"].items():
        lines.append(f"- **{name}**: {info}")
    lines += ["", "Queries (GET, `Accept: application/sparql-results+json`):", ""]
    for name in QUERIES:
        lines.append(f"- **{name}**: {QUERY_TITLES[name]}")
    lines += [
        "",
        "req/s: completed requests / measured seconds; p50, p99: latency per request under that load (closed "
        "loop, so a serial server's latency includes waiting behind the other connections); single: one "
        "request alone; n: requests completed; err: non-2xx, socket errors and timeouts. Start-up: process "
        "start until the first query answers (Oxigraph: including loading the data over HTTP). Peak RSS: "
        "the server's whole process tree (napkg: the web process and its workers), sampled every 0.1 s from "
        "/proc over its whole life. CPU ms/req: CPU time (user + system) of the server's process tree during the "
        "measured window / n; it is less disturbed by other load on the machine than req/s (requests still in "
        "flight at the end count in the CPU but not in n, so it is left out where n < 8 × connections). ×rdflib / "
        "×Oxigraph: req/s relative to that server "
        "on the same cell; `≥` where rdflib-endpoint completed no request in the window: it answers one request "
        "at a time, so its rate is at most 1 / its single latency. napkg, no workers: benchmarks/inline.py, the "
        "same app with each query run by its web processes (as many as napkg has workers), where nothing can "
        "stop a query; not a way to serve, but what handing each query to a worker costs. No target counts it.",
        "",
        "| dataset | query | server | req/s | p50 ms | p99 ms | single ms | n | err | CPU ms/req | ×rdflib "
        "| ×Oxigraph | start-up s | peak RSS MiB |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for dataset in meta["datasets"]:
        for query in QUERIES:
            base = cells.get((dataset, query, "rdflib-endpoint"))
            oxi = cells.get((dataset, query, "oxigraph"))
            for key in order:
                c = cells.get((dataset, query, key))
                if c is None:
                    continue
                server = run.servers[(dataset, key)]
                vs_rdflib = "" if key == "rdflib-endpoint" else fmt_ratio(ratio(c, base))
                vs_oxi = "" if key == "oxigraph" else fmt_ratio(ratio(c, oxi))
                note = f" ({c.note})" if c.note else ""
                lines.append(
                    f"| {dataset} | {query} | {labels[key]}{note} | {fmt_rps(c.load, args.duration)} | "
                    f"{fmt_ms(c.load.p50)} | {fmt_ms(c.load.p99)} | {fmt_ms(c.single)} | {c.load.requests} | "
                    f"{c.load.errors} | {fmt_ms(c.cpu_per_request)} | {vs_rdflib} | {vs_oxi} | {server.startup:.1f} | "
                    f"{server.peak_rss / 2**20:,.0f} |"
                )
    # Start-up and memory per server.
    lines += [
        "",
        "## Servers: start-up and memory",
        "",
        "| dataset | server | start-up s | RSS when ready MiB | peak RSS MiB |",
        "|---|---|--:|--:|--:|",
    ]
    for (dataset, _key), server in run.servers.items():
        lines.append(
            f"| {dataset} | {server.label} | {server.startup:.1f} | {server.ready_rss / 2**20:,.0f} | "
            f"{server.peak_rss / 2**20:,.0f} |"
        )
    # Where napkg's CPU goes: the web process (HTTP, FastAPI, the cache, the hand-off to the pool) and the
    # query workers (query, result writing, the pipe), against Oxigraph's whole process.
    lines += [
        "",
        "## CPU per request: napkg's web process and workers, Oxigraph",
        "",
        "CPU ms per completed request in the measured window.",
        "",
        "| dataset | query | napkg cache off: web + workers | napkg cache on: web + workers | Oxigraph |",
        "|---|---|--:|--:|--:|",
    ]
    for dataset in meta["datasets"]:
        for query in QUERIES:

            def split(key, dataset=dataset, query=query):  # called within this iteration
                c = cells.get((dataset, query, key))
                if c is None or c.cpu_per_request is None:
                    return "-"
                n = c.load.requests
                return f"{max(0.0, c.cpu_web) / n * 1000:.2f} + {max(0.0, c.cpu - c.cpu_web) / n * 1000:.2f}"

            oxi = cells.get((dataset, query, "oxigraph"))
            lines.append(
                f"| {dataset} | {query} | {split('ours')} | {split('ours-cache')} | "
                f"{fmt_ms(oxi.cpu_per_request) if oxi else '-'} |"
            )
    lines += ["", "## Targets", ""]
    verdicts = targets(run.cells, list(meta["datasets"]))
    for t in verdicts:
        lines.append(f"- {'MET   ' if t.met else 'MISSED'} {t.dataset} / {t.query}: {t.title}: {fmt_ratio(t.ratio)}")
    if verdicts:
        lines += ["", f"{sum(t.met for t in verdicts)} of {len(verdicts)} targets met."]
    if run.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in run.notes]
    return "\n".join(lines) + "\n"


def code_version() -> tuple[str, Path]:
    """A digest of napkg's source and its most recently modified file."""
    import hashlib

    sources = sorted((ROOT / "server" / "napkg").rglob("*.py"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:12]
    return digest, max(sources, key=lambda p: p.stat().st_mtime)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per cell (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per cell (default 2)")
    p.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    p.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before a request counts as timed out (default 60)"
    )
    p.add_argument(
        "--workers", type=int, default=2, help="napkg serve --workers, and the web processes of ours-inline (default 2)"
    )
    p.add_argument(
        "--scale", type=float, default=100, help="size of the synthetic graph, x the NAP graph (default 100)"
    )
    p.add_argument(
        "--validate-scale",
        type=float,
        default=10,
        help="validate a synthetic graph of this scale with `napkg validate` (0: skip; default 10)",
    )
    p.add_argument("--datasets", default="nap,synthetic", help="comma-separated: nap, synthetic")
    p.add_argument(
        "--servers",
        default="ours,ours-cache,ours-inline,oxigraph,rdflib-endpoint",
        help="comma-separated: ours, ours-cache, ours-inline (queries in the web processes, unsafe: "
        "what the workers cost), oxigraph, rdflib-endpoint",
    )
    p.add_argument("--load-generator", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument(
        "--no-snapshot",
        dest="snapshot",
        action="store_false",
        help="run napkg from the working tree instead of a copy taken at the start of the run",
    )
    p.add_argument("--workdir", type=Path, help="where data and server logs go (default: a temporary folder)")
    p.add_argument(
        "--out",
        type=Path,
        default=HERE / "README.md",
        help="Markdown file to write: between its RESULTS markers if it has them, else the whole file "
        "(default benchmarks/README.md)",
    )
    args = p.parse_args(argv)
    unknown = sorted(set(args.servers.split(",")) - set(SERVER_KEYS))
    if unknown:
        p.error(f"unknown server {', '.join(unknown)}: choose from {', '.join(SERVER_KEYS)}")
    run_started = time.perf_counter()
    ensure_venv(args.servers.split(","))
    code_at_start, _ = code_version()
    wrk = ensure_wrk(args.load_generator)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kgbench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.snapshot:
        log(f"snapshot of napkg and the project's data in {workdir / 'code'} (code {code_at_start})")
        take_snapshot(workdir / "code")
    run = Run()

    # Data: the NAP graph as napkg build writes it, and the synthetic graph made from it.
    log(f"building the NAP graph into {workdir} ...")
    subprocess.run([*NAPKG, "build", "--out", str(workdir / "nap")], check=True, capture_output=True)
    nap = workdir / "nap" / "nap.nt"
    datasets = {"nap": nap}
    meta_datasets = {}
    n_nap = sum(1 for line in open(nap, "rb") if line.strip())
    meta_datasets["nap"] = f"`napkg build` → nap.nt, {n_nap:,} triples"
    wanted = args.datasets.split(",")
    if "synthetic" in wanted:
        # Made from nap.trig (napkg build writes it too), whose named graphs the copies keep; served as nap.nt is.
        trig = nap.with_suffix(".trig")
        synthetic = workdir / f"nap-{args.scale:g}x.nt"
        log(f"generating the {args.scale:g}x synthetic graph ...")
        out = subprocess.run(
            [
                sys.executable,
                str(HERE / "synthetic.py"),
                str(trig),
                "--scale",
                str(args.scale),
                "--out",
                str(synthetic),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        log(out)
        n_syn = sum(1 for line in open(synthetic, "rb") if line.strip())
        validated = "not validated in this run"
        if args.validate_scale:
            # N-Quads: the checks on graphs (links in their graph, English in translations) need the graphs.
            small = workdir / f"nap-{args.validate_scale:g}x.nq"
            subprocess.run(
                [
                    sys.executable,
                    str(HERE / "synthetic.py"),
                    str(trig),
                    "--scale",
                    str(args.validate_scale),
                    "--out",
                    str(small),
                ],
                check=True,
                capture_output=True,
            )
            log(f"validating the {args.validate_scale:g}x synthetic graph with napkg validate ...")
            started = time.perf_counter()
            check = subprocess.run([*NAPKG, "validate", str(small)], capture_output=True, text=True)
            took = time.perf_counter() - started
            verdict = check.stdout.strip().splitlines()[-1] if check.stdout.strip() else check.stderr.strip()[-300:]
            log(f"  {verdict} ({took:.0f} s)")
            if check.returncode != 0:
                sys.exit(
                    f"the {args.validate_scale:g}x synthetic graph does not pass napkg "
                    f"validate:\n{check.stdout[-3000:]}"
                )
            n_small = sum(1 for line in open(small, "rb") if line.strip())
            validated = (
                f"the {args.validate_scale:g}x graph ({n_small:,} triples) made by the same code passed "
                f"`napkg validate` in this run ({verdict} {took:.0f} s)"
            )
        datasets["synthetic"] = synthetic
        meta_datasets["synthetic"] = (
            f"benchmarks/synthetic.py --scale {args.scale:g} → {n_syn:,} triples ({n_syn / n_nap:.0f}x); {validated}"
        )
    datasets = {k: v for k, v in datasets.items() if k in wanted}

    factories = {
        "ours": lambda: Ours(False, args.workers),
        "ours-cache": lambda: Ours(True, args.workers),
        "ours-inline": lambda: OursInline(args.workers),
        "oxigraph": Oxigraph,
        "rdflib-endpoint": RdflibEndpoint,
    }
    for dataset, path in datasets.items():
        for key in args.servers.split(","):
            server = factories[key]()
            run.background.append(cpu_busy())
            log(f"{dataset}: starting {server.label} ... (machine {run.background[-1]:.0%} busy before)")
            try:
                server.start(path, workdir)
                log(f"  ready in {server.startup:.1f} s, RSS {server.ready_rss / 2**20:.0f} MiB")
                measure(server, dataset, args, wrk, run)
            finally:
                server.stop()
            run.servers[(dataset, key)] = server
            log(f"  peak RSS {server.peak_rss / 2**20:.0f} MiB")
    if "nap" in datasets and "ours" in args.servers.split(","):
        # The no-arguments mode validates the graph before it serves: its start-up is worth knowing.
        server = OursNap(args.workers)
        log(f"nap: starting {server.label} (start-up only) ...")
        try:
            server.start(nap, workdir)
            status, body = get(server.port, server.path, QUERIES["count"])
            same = status == 200 and normalise(body, "count") == next(
                (c.answer for c in run.cells if c.dataset == "nap" and c.query == "count" and c.server == "ours"), None
            )
            run.notes.append(
                f"`napkg serve` with no data options (validates with pySHACL, then serves the union of "
                f"the named graphs) starts in {server.startup:.1f} s; its count answer "
                f"{'equals' if same else 'DIFFERS from'} the one with `--data nap.nt`."
            )
        finally:
            server.stop()
        run.servers[("nap", server.key)] = server

    # Same answers everywhere?
    for dataset in datasets:
        for query in QUERIES:
            answers = {c.server: c.answer for c in run.cells if c.dataset == dataset and c.query == query}
            if len({json.dumps(a) for a in answers.values()}) > 1:
                run.notes.append(
                    f"ANSWERS DIFFER on {dataset}/{query}: "
                    + "; ".join(f"{k}: {json.dumps(v)[:200]}" for k, v in answers.items())
                )
    if not any(n.startswith("ANSWERS DIFFER") for n in run.notes):
        run.notes.append(
            "Every server gave the same answer to every query on every dataset "
            "(limit10: 10 rows each; the rows differ, as LIMIT without ORDER BY allows)."
        )
    if run.background:
        worst = max(run.background)
        run.notes.append(
            f"Other load on the machine, sampled for 1 s before each server start while none of ours ran: "
            f"{min(run.background):.0%} to {worst:.0%} of the {os.cpu_count()} cores busy"
            + (" -- the machine was NOT quiet: treat the numbers with care." if worst > 0.1 else ".")
        )
    run.notes.append(f"Server logs and data: {workdir}")

    total = time.perf_counter() - run_started
    digest, _ = code_version()
    if digest != code_at_start:
        run.notes.append(
            f"The working tree's server/napkg changed during the run (sha256 {code_at_start} at the start, "
            f"{digest} at the end)"
            + (
                ": the run measured the snapshot taken at the start."
                if args.snapshot
                else ": SERVERS STARTED AT DIFFERENT TIMES MAY HAVE RUN DIFFERENT CODE."
            )
        )
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "total": f"{total / 60:.1f} min",
        "code": f"server/napkg/*.py sha256 {code_at_start}"
        + (" (a snapshot taken at the start)" if args.snapshot else ""),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "tool": f"wrk -t1 -c{args.connections}" if wrk else "Python threaded http.client closed loop",
        "datasets": meta_datasets,
    }
    text = report(run, args, meta)
    write_report(args.out, text)
    print(text)
    log(f"wrote {args.out} (total {total:.0f} s)")
    return 0


RESULTS_BEGIN = "<!-- RESULTS: written by `make bench` (benchmarks/run.py); do not edit by hand -->"
RESULTS_END = "<!-- END OF RESULTS -->"


def write_report(path: Path, text: str) -> None:
    """The report into path: between its RESULTS markers, with headings two levels down, if it has them
    (benchmarks/README.md: the figures are generated, the prose around them is not); else as the file."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = old.find(RESULTS_BEGIN), old.find(RESULTS_END)
    if begin < 0 or end < begin:
        path.write_text(text, encoding="utf-8")
        return
    section = re.sub(r"^#", "###", text.strip(), flags=re.MULTILINE)
    path.write_text(old[: begin + len(RESULTS_BEGIN)] + "\n\n" + section + "\n\n" + old[end:], encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
