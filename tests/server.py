"""Start a real `napkg serve` on 127.0.0.1 for a test, and stop it afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
NAPKG = [sys.executable, "-m", "napkg.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path):
        self.process, self.port, self.log_path = process, port, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.sparql = self.url + "/sparql"

    def log(self) -> str:
        """What the server has written to stderr so far (its log)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def running_server(*args: str, start_timeout: float = 120.0, env: dict[str, str] | None = None):
    """napkg serve with these extra arguments (and this environment); yields a Server once /healthz answers."""
    port = free_port()
    out = open(os.devnull, "w")
    # stderr to a file, not a pipe: a pipe nobody reads fills up and then blocks the server's writes.
    folder = tempfile.TemporaryDirectory(prefix="napkg-serve-")
    log_path = Path(folder.name) / "stderr.log"
    err = open(log_path, "wb")
    process = subprocess.Popen(
        [*NAPKG, "serve", "--port", str(port), *args], cwd=ROOT, stdout=out, stderr=err, start_new_session=True, env=env
    )
    server = Server(process, port, log_path)
    try:
        deadline = time.time() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"napkg serve exited with {process.returncode}: {server.log()[-2000:]}")
            try:
                if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError("napkg serve did not start in time")
            time.sleep(0.2)
        yield server
    finally:
        # The whole process group: the server and its query workers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        out.close()
        err.close()
        folder.cleanup()
