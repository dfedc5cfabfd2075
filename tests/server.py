"""Start a real `napkg serve` on 127.0.0.1 for a test, and stop it afterwards."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
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
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port
        self.url = f"http://127.0.0.1:{port}"
        self.sparql = self.url + "/sparql"


@contextlib.contextmanager
def running_server(*args: str, start_timeout: float = 120.0, env: dict[str, str] | None = None):
    """napkg serve with these extra arguments (and this environment); yields a Server once /healthz answers."""
    port = free_port()
    log = open(os.devnull, "w")
    process = subprocess.Popen([*NAPKG, "serve", "--port", str(port), *args], cwd=ROOT, stdout=log,
                               stderr=subprocess.PIPE, start_new_session=True, env=env)
    server = Server(process, port)
    try:
        deadline = time.time() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"napkg serve exited with {process.returncode}: {process.stderr.read().decode()[-2000:]}")
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
        log.close()
