"""Federation with an allow-list: SERVICE to an allowed endpoint joins graphs, within a time and size limit.

The second SPARQL server is a real Oxigraph server (from PyPI), started here on 127.0.0.1 with a small
graph of its own, behind a recording relay so the test can see whether any request reached it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from relay import Relay
from server import free_port, running_server

OXIGRAPH = shutil.which("oxigraph") or str(Path(os.sys.executable).parent / "oxigraph")
AP17 = "https://w3id.org/nap-bhr/id/action-point/nap-2022-17"
REMOTE = f'<{AP17}> <http://example.org/note> "noted in the second register" .\n'

pytestmark = pytest.mark.skipif(
    not Path(OXIGRAPH).exists(), reason="the oxigraph server (pip install oxigraph) is not installed"
)


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    """A real Oxigraph server in memory with one triple about our action point 17."""
    port = free_port()
    process = subprocess.Popen(
        [OXIGRAPH, "serve", "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.post(
                    url + "/store?default", content=REMOTE, headers={"Content-Type": "application/n-triples"}, timeout=2
                ).status_code in (200, 201, 204):
                    break
            assert time.time() < deadline, "oxigraph did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def relays(oxigraph):
    made = {"relay": Relay(oxigraph), "hang": Relay(behaviour="hang"), "huge": Relay(behaviour="huge")}
    yield made
    for relay in made.values():
        relay.close()


@pytest.fixture(scope="module")
def allowing(relays):
    with running_server(
        "--workers",
        "2",
        "--timeout",
        "20",
        "--service-timeout",
        "2",
        "--service-max-bytes",
        str(1024 * 1024),
        *[a for r in relays.values() for a in ("--allow-service", r.url + "/")],
    ) as s:
        yield s


@pytest.fixture(scope="module")
def refusing():
    with running_server("--workers", "1") as s:
        yield s


def federated(remote: str) -> str:
    return f"""SELECT ?note ?title WHERE {{
      SERVICE <{remote}/query> {{ ?ap <http://example.org/note> ?note }}
      ?entry <https://w3id.org/nap-bhr/def#assessedActionPoint> ?ap ; <http://purl.org/dc/terms/title> ?title .
      FILTER(lang(?title) = "nl")
    }}"""


def test_allowed_service_joins_both_graphs(allowing, relays):
    before = len(relays["relay"].requests)
    response = httpx.get(allowing.sparql, params={"query": federated(relays["relay"].url)}, timeout=30)
    assert response.status_code == 200, response.text
    rows = response.json()["results"]["bindings"]
    assert [r["note"]["value"] for r in rows] == ["noted in the second register"]
    assert rows[0]["title"]["value"].startswith("Onderhandelen binnen vastgestelde kaders")
    assert len(relays["relay"].requests) > before


def test_service_not_allowed_is_refused_and_never_called(refusing, relays):
    before = len(relays["relay"].requests)
    response = httpx.get(refusing.sparql, params={"query": federated(relays["relay"].url)}, timeout=30)
    assert response.status_code == 400
    assert "SERVICE" in response.text and "not allowed" in response.text
    time.sleep(1)
    assert len(relays["relay"].requests) == before


def test_hanging_service_is_cut_at_its_time_limit(allowing, relays):
    outcome = {}

    def run():
        started = time.monotonic()
        outcome["response"] = httpx.get(allowing.sparql, params={"query": federated(relays["hang"].url)}, timeout=40)
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.5)
    assert httpx.get(allowing.url + "/healthz", timeout=5).status_code == 200
    assert httpx.get(allowing.sparql, params={"query": "ASK { ?s ?p ?o }"}, timeout=10).json()["boolean"] is True
    thread.join(40)
    response = outcome["response"]
    assert response.status_code >= 400
    assert "did not answer within 2 s" in response.text
    assert outcome["seconds"] < 15  # the service limit (2 s), not the query limit (20 s)
    assert relays["hang"].requests


def test_huge_service_answer_is_cut_at_its_size_limit(allowing, relays):
    restarts = httpx.get(allowing.url + "/healthz", timeout=5).json()["restarts"]
    response = httpx.get(allowing.sparql, params={"query": federated(relays["huge"].url)}, timeout=40)
    assert response.status_code >= 400
    assert "more than 1048576 bytes" in response.text
    # The worker was not harmed: no restart, and the endpoint answers.
    health = httpx.get(allowing.url + "/healthz", timeout=5).json()
    assert health["restarts"] == restarts
    assert httpx.get(allowing.sparql, params={"query": "ASK { ?s ?p ?o }"}, timeout=10).json()["boolean"] is True


def test_forwarder_is_not_an_open_proxy(allowing, relays):
    """The forwarder route needs the per-start secret: a guessed URL gets 404 and reaches nobody."""
    before = len(relays["relay"].requests)
    response = httpx.get(allowing.url + "/_service/guess/0", params={"query": "ASK {}"}, timeout=10)
    assert response.status_code == 404
    assert len(relays["relay"].requests) == before
