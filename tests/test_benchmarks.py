"""benchmarks/: the parts its figures rest on. A whole run takes minutes and the peers (`make bench`); these
test what it builds and how it reads and judges what it measures: the synthetic graph passes the shapes,
wrk's report is read right, the servers' answers are compared fairly, and each target is judged as the
issue words it."""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from napkg.graph.validate import validate_paths
from server import free_port

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"napkg_bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


bench = _module("run")
synthetic = _module("synthetic")

ID = "https://w3id.org/nap-bhr/id/"


# --- The synthetic graph -----------------------------------------------------------------------------

GRAPH = "https://w3id.org/nap-bhr/graph/"
ACTION_POINT = ox.NamedNode("https://w3id.org/nap-bhr/def#ActionPoint")
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


@pytest.fixture(scope="module")
def source(project, tmp_path_factory) -> Path:
    """The NAP graph as `napkg build` writes nap.trig: the ontology and the data, each part its named graph."""
    quads = [
        ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(name))
        for name, graph in project.graphs.items()
        for q in ox.parse(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    ]
    path = tmp_path_factory.mktemp("bench") / "nap.nq"
    synthetic.write(quads, path)
    return path


def _graphs(quads, subject: str) -> set[str]:
    return {q.graph_name.value for q in quads if q.subject.value == ID + subject}


def _editorial(real, kind: str) -> str:
    """The first editorial link of this kind in the real graph, as its copy onto plan nap-2025 is named."""
    first = min(
        q.subject.value
        for q in real
        if q.graph_name.value == GRAPH + "editorial" and q.subject.value.startswith(f"{ID}{kind}/nap-2022-")
    )
    return first.replace("/nap-2022-", "/nap-2025-").removeprefix(ID)


@pytest.mark.slow
def test_synthetic_graph_passes_the_shapes_and_checks(source, tmp_path):
    real = synthetic.read(source)
    quads = synthetic.generate(real, 3)
    path = tmp_path / "nap-3x.nq"
    synthetic.write(quads, path)

    report = validate_paths([path])
    assert report.conforms, [f"{f.focus}: {f.message}" for f in report.findings][:5]
    # The run states what the validated graph is: this size, made of copies, the real graph untouched in it.
    assert 3 * len(real) <= len(quads) < 4 * len(real)
    assert set(real) <= set(quads)
    # Each copy is the NAP moved on 3 years: a plan of its own with its 33 action points, and its report.
    action_points = {q.subject.value for q in quads if q.predicate == RDF_TYPE and q.object == ACTION_POINT}
    plans = {ap.rsplit("-", 1)[0] for ap in action_points}
    assert {ID + "action-point/nap-2022", ID + "action-point/nap-2025", ID + "action-point/nap-2028"} <= plans
    assert len(action_points) == 33 * len(plans)
    subjects = {q.subject.value for q in quads}
    reports = {s for s in subjects if s.startswith(ID + "report/")}
    assert len(reports) == len(plans) and {ID + "report/2024", ID + "report/2027", ID + "report/2030"} <= reports
    # Each copied statement in the copy's graph: an entry, a stated link and a responsibility in its report's
    # graph, an editorial link and an instrument relation in the editorial one, their English in translations.
    assert _graphs(quads, "status-assessment/2027-19") == {GRAPH + "report-2027", GRAPH + "translations"}
    assert _graphs(quads, "framework-link/2027-26-ungp-31") == {GRAPH + "report-2027", GRAPH + "translations"}
    assert _graphs(quads, "responsibility/2027-01-szw") == {GRAPH + "report-2027"}
    for kind in ("framework-link", "instrument-relation"):
        assert _graphs(quads, _editorial(real, kind)) == {GRAPH + "editorial", GRAPH + "translations"}
    # An invented report has no page: an outbound link needs a source that confirms it.
    page = ox.NamedNode("http://xmlns.com/foaf/0.1/page")
    assert not [q for q in quads if q.predicate == page and q.subject.value in reports - {ID + "report/2024"}]
    # As N-Triples (what the benchmark serves): the same triples, all in the default graph.
    synthetic.write(quads, tmp_path / "nap-3x.nt")
    served = synthetic.read(tmp_path / "nap-3x.nt")
    assert {q.graph_name for q in served} == {ox.DefaultGraph()}
    assert {q.triple for q in served} == {q.triple for q in quads}


def test_what_the_shapes_and_checks_refuse_in_a_synthetic_copy(source, tmp_path):
    """Why the generator copies whole plans, each in the right graphs: the shapes still refuse a 100th action
    point of one plan (.../nap-YYYY-NN), and the checks an editorial link outside the editorial graph. So
    the test above would fail if the generator grew a plan past 99 or mixed up the graphs."""
    real = synthetic.read(source)
    quads = synthetic.generate(real, 1.2)  # the real graph and one copy, plan nap-2025
    hundredth = [
        ox.Quad(ox.NamedNode(ID + "action-point/nap-2025-100"), q.predicate, q.object, q.graph_name)
        for q in quads
        if q.subject.value == ID + "action-point/nap-2025-33"
    ]
    link = ID + _editorial(real, "framework-link")
    moved = [
        ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(GRAPH + "report-2027"))
        if q.subject.value == link and q.graph_name.value == GRAPH + "editorial"
        else q
        for q in quads
    ]
    path = tmp_path / "broken.nq"
    synthetic.write(moved + hundredth, path)
    report = validate_paths([path])
    assert not report.conforms
    refused = {(f.focus, f.rule) for f in report.findings}
    assert (ID + "action-point/nap-2025-100", "napsh:ActionPointShape") in refused
    assert (link, "queries/checks/link-graph-violation.rq") in refused


def test_synthetic_refuses_a_source_that_is_not_the_nap_graph(source, capsys):
    real = synthetic.read(source)
    without_one = [q for q in real if q.subject.value != ID + "action-point/nap-2022-07"]
    with pytest.raises(SystemExit) as stop:
        synthetic.generate(without_one, 2)
    assert "expected 33 action points in the source, found 32" in str(stop.value)


# --- Reading wrk ---------------------------------------------------------------------------------------

# Reports of wrk 4.1.0 (Debian), recorded on the 2-core machine: napkg with the cache off (`wrk -t1 -c8 -d3s
# --latency`, NAP LIMIT 10), Python's http.server on a missing path, and a listener that closes each connection.
WRK_NAPKG = """\
Running 3s test @ http://127.0.0.1:8765/sparql?query=SELECT%20%3Fs%20%3Fp%20%3Fo%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20LIMIT%2010
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   683.36us  364.88us   5.68ms   85.88%
    Req/Sec    12.11k     3.23k   17.02k    58.06%
  Latency Distribution
     50%  546.00us
     75%  848.00us
     90%    1.12ms
     99%    1.86ms
  37308 requests in 3.10s, 93.18MB read
Requests/sec:  12035.16
Transfer/sec:     30.06MB
"""
WRK_404 = """\
Running 1s test @ http://127.0.0.1:8799/nothing
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.88ms  396.10us   7.22ms   82.64%
    Req/Sec     2.22k    87.74     2.29k    90.00%
  Latency Distribution
     50%  837.00us
     75%    1.02ms
     90%    1.26ms
     99%    1.96ms
  2211 requests in 1.00s, 1.10MB read
  Non-2xx or 3xx responses: 2211
Requests/sec:   2210.66
Transfer/sec:      1.10MB
"""
WRK_RESET = """\
Running 1s test @ http://127.0.0.1:8798/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.00us    0.00us   0.00us    -nan%
    Req/Sec     0.00      0.00     0.00      -nan%
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  0 requests in 1.10s, 0.00B read
  Socket errors: connect 0, read 32146, write 0, timeout 0
Requests/sec:      0.00
Transfer/sec:       0.00B
"""


def test_wrk_report_of_a_napkg_run():
    load = bench.parse_wrk(WRK_NAPKG)
    assert (load.requests, load.seconds, load.errors) == (37308, 3.1, 0)
    # wrk's own Requests/sec line divides by the unrounded time: the same rate within the rounding.
    assert load.rps == pytest.approx(12035.16, rel=1e-3)
    assert load.p50 == pytest.approx(546e-6) and load.p99 == pytest.approx(1.86e-3)


def test_wrk_counts_non_2xx_answers_as_errors():
    load = bench.parse_wrk(WRK_404)
    assert (load.requests, load.errors) == (2211, 2211)


def test_wrk_counts_socket_errors_and_no_latency_without_requests():
    load = bench.parse_wrk(WRK_RESET)
    assert (load.requests, load.rps, load.errors) == (0, 0.0, 32146)
    assert load.p50 is None and load.p99 is None  # wrk prints 0.00us; that is not a latency


@pytest.mark.parametrize(
    "text, seconds", [("546.00us", 546e-6), ("1.85ms", 1.85e-3), ("2.31s", 2.31), ("1.50m", 90.0), ("8.00s", 8.0)]
)
def test_wrk_durations(text, seconds):
    assert bench._duration(text) == pytest.approx(seconds)


# --- The Python load generator (when there is no wrk) -------------------------------------------------


@pytest.fixture
def little_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the load generator's connections are

        def do_GET(self):
            status = 200 if self.path.startswith("/ok?") else 500
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_python_load_generator_counts_answers(little_server):
    load = bench.run_python(little_server, "/ok", "SELECT * {}", connections=2, seconds=0.5, timeout=5)
    assert load.requests > 0 and load.errors == 0
    assert load.rps == pytest.approx(load.requests / 0.5)
    assert 0 < load.p50 <= load.p99


def test_python_load_generator_counts_errors_not_requests(little_server):
    load = bench.run_python(little_server, "/bad", "SELECT * {}", connections=2, seconds=0.5, timeout=5)
    assert load.requests == 0 and load.errors > 0 and load.p50 is None


# --- Comparing answers ---------------------------------------------------------------------------------


def _answer(*rows) -> bytes:
    return json.dumps({"head": {"vars": ["ap", "n"]}, "results": {"bindings": list(rows)}}).encode()


ROW_A = {
    "ap": {"type": "uri", "value": ID + "action-point/nap-2022-01"},
    "n": {"type": "literal", "value": "3", "datatype": "http://www.w3.org/2001/XMLSchema#integer"},
}
ROW_B = {
    "ap": {"type": "uri", "value": ID + "action-point/nap-2022-02"},
    "n": {"type": "literal", "value": "5", "datatype": "http://www.w3.org/2001/XMLSchema#integer"},
}


def test_answers_compare_as_multisets_of_rows():
    assert bench.normalise(_answer(ROW_A, ROW_B), "count") == bench.normalise(_answer(ROW_B, ROW_A), "count")
    # Servers spell an integer's datatype differently (rdflib-endpoint omits it): that is the same answer.
    plain = {"ap": ROW_A["ap"], "n": {"type": "literal", "value": "3"}}
    assert bench.normalise(_answer(plain, ROW_B), "count") == bench.normalise(_answer(ROW_A, ROW_B), "count")
    changed = {"ap": ROW_A["ap"], "n": {"type": "literal", "value": "4"}}
    assert bench.normalise(_answer(changed, ROW_B), "count") != bench.normalise(_answer(ROW_A, ROW_B), "count")
    assert bench.normalise(_answer(ROW_A), "count") != bench.normalise(_answer(ROW_A, ROW_A), "count")


def test_limit_10_answers_compare_by_their_number_of_rows():
    """Without ORDER BY, each server may return any ten triples."""
    assert bench.normalise(_answer(ROW_A, ROW_B), "limit10") == bench.normalise(_answer(ROW_B, ROW_B), "limit10") == 2


# --- Judging the targets -------------------------------------------------------------------------------


def _cell(server: str, rps: float, query: str = "limit10", single: float = 0.001) -> bench.Cell:
    requests = int(rps * 10)
    return bench.Cell("nap", query, server, bench.Load(requests=requests, seconds=10.0, rps=requests / 10), single)


def _verdicts(*cells) -> dict[str, bool]:
    return {t.title: t.met for t in bench.targets(list(cells), ["nap"])}


def test_ten_times_rdflib_endpoint_is_met_at_ten_and_missed_below():
    assert _verdicts(_cell("ours", 1000), _cell("rdflib-endpoint", 100))["≥ 10× rdflib-endpoint (cache off)"]
    assert not _verdicts(_cell("ours", 999.9), _cell("rdflib-endpoint", 100))["≥ 10× rdflib-endpoint (cache off)"]


def test_half_of_oxigraph_with_the_cache_off():
    assert _verdicts(_cell("ours", 500), _cell("oxigraph", 1000))["≥ 0.5× Oxigraph (cache off)"]
    assert not _verdicts(_cell("ours", 499.9), _cell("oxigraph", 1000))["≥ 0.5× Oxigraph (cache off)"]


def test_ahead_of_oxigraph_with_the_cache_on_means_strictly_ahead():
    assert not _verdicts(_cell("ours-cache", 1000), _cell("oxigraph", 1000))["> 1× Oxigraph (cache on)"]
    assert _verdicts(_cell("ours-cache", 1000.1), _cell("oxigraph", 1000))["> 1× Oxigraph (cache on)"]


def test_a_peer_that_completed_nothing_gives_a_lower_bound():
    """rdflib-endpoint answers one request at a time: with none done in the window, its rate is at most
    1 / its single latency, so ours x that latency is the least the ratio can be."""
    peer = _cell("rdflib-endpoint", 0, single=0.5)
    (verdict,) = [t for t in bench.targets([_cell("ours", 30), peer], ["nap"])]
    assert verdict.ratio.lower_bound and verdict.ratio.value == pytest.approx(15.0) and verdict.met
    (verdict,) = [t for t in bench.targets([_cell("ours", 10), peer], ["nap"])]
    assert verdict.ratio.value == pytest.approx(5.0) and not verdict.met


def test_each_target_is_judged_per_query_and_only_where_both_were_measured():
    cells = [
        _cell("ours", 1000),
        _cell("ours-cache", 9000),
        _cell("oxigraph", 3000),
        _cell("rdflib-endpoint", 50),
        _cell("ours", 10, query="count"),
        _cell("oxigraph", 100, query="count"),
    ]
    verdicts = {(t.query, t.title): t.met for t in bench.targets(cells, ["nap"])}
    assert verdicts == {
        ("limit10", "≥ 10× rdflib-endpoint (cache off)"): True,
        ("limit10", "≥ 10× rdflib-endpoint (cache on)"): True,
        ("limit10", "≥ 0.5× Oxigraph (cache off)"): False,
        ("limit10", "> 1× Oxigraph (cache on)"): True,
        ("count", "≥ 0.5× Oxigraph (cache off)"): False,
    }


# --- The no-workers comparison server (benchmarks/inline.py) -------------------------------------------


def test_the_no_workers_server_serves_the_app_with_queries_in_its_web_processes(tmp_path):
    """It starts napkg's own app with the pool swapped for an engine in each web process: it must keep up
    with what create_app asks of a pool, or `make bench` stops at its rows."""
    data = tmp_path / "small.nt"
    data.write_text("".join(f"<urn:s{i}> <urn:p> <urn:o{i}> .\n" for i in range(7)))
    port = free_port()
    log = tmp_path / "inline.log"
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [
                sys.executable,
                str(BENCHMARKS / "inline.py"),
                "--port",
                str(port),
                "--data",
                str(data),
                "--processes",
                "2",
            ],
            stdout=err,
            stderr=err,
            start_new_session=True,
        )
    try:
        deadline, answer = time.time() + 120, None
        while answer is None:
            assert process.poll() is None, f"inline.py exited with {process.returncode}: {log.read_text()[-2000:]}"
            assert time.time() < deadline, "inline.py did not start in time"
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/sparql",
                    timeout=5,
                    params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
                    headers={"Accept": "application/sparql-results+json"},
                )
            except httpx.HTTPError:
                time.sleep(0.2)
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"]["bindings"][0]["n"]["value"] == "7"
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
        assert health["status"] == "ok" and health["busy"] == 0
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


@pytest.mark.slow
@pytest.mark.server  # benchmarks/run.py starts the servers
def test_a_short_run_of_our_own_servers_measures_and_writes_every_cell(tmp_path):
    """`benchmarks/run.py` end to end, as `make bench` runs it but short and without the peers (which it
    then does not install): each of our servers starts, answers every query, and gets its rows."""
    out = tmp_path / "results.md"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "run.py"),
            "--servers",
            "ours,ours-cache,ours-inline",
            "--datasets",
            "nap",
            "--validate-scale",
            "0",
            "--load-generator",
            "python",
            "--duration",
            "0.5",
            "--warmup",
            "0.2",
            "--no-snapshot",
            "--workdir",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "installing the bench extra" not in done.stderr
    text = out.read_text()
    table = text[text.index("| dataset | query | server | req/s") :].split("\n\n")[0]  # the main table
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| nap |")]
    labels = {"napkg, cache off", "napkg, cache on", "napkg, cache off, no workers (2 web processes; unsafe)"}
    assert {(row[2].strip(), row[3].strip()) for row in rows} == {(q, s) for q in bench.QUERIES for s in labels}
    for row in rows:
        rps, errors = float(row[4].replace(",", "")), int(row[9])
        assert rps > 0 and errors == 0, row
    assert "Every server gave the same answer to every query" in text


def test_an_unknown_server_is_refused_before_anything_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--servers", "ours,fuseki", "--out", str(tmp_path / "results.md")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "unknown server fuseki" in done.stderr
    assert not (tmp_path / "results.md").exists()


def test_the_report_goes_between_the_readmes_markers_and_nowhere_else(tmp_path):
    run = _module("run")
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# Benchmarks\n\nprose before\n\n{run.RESULTS_BEGIN}\nold table\n{run.RESULTS_END}\n\nprose after\n"
    )
    run.write_report(readme, "# Benchmark: a run\n\n| a |\n|---|\n\n## Targets\n")
    text = readme.read_text()
    assert "old table" not in text and "prose before" in text and text.endswith("prose after\n")
    assert "\n### Benchmark: a run" in text and "\n#### Targets" in text  # below the README's own heading
    run.write_report(readme, "# Benchmark: another\n")  # again: replaced, not appended
    assert text.count(run.RESULTS_BEGIN) == 1 and "a run" not in readme.read_text()
    other = tmp_path / "results.md"  # a file without markers is the report
    run.write_report(other, "# Benchmark: a run\n")
    assert other.read_text() == "# Benchmark: a run\n"


def test_the_benchmark_readme_has_one_place_for_the_results():
    run = _module("run")
    text = (BENCHMARKS / "README.md").read_text()
    assert text.count(run.RESULTS_BEGIN) == 1 and text.count(run.RESULTS_END) == 1
    assert text.index(run.RESULTS_BEGIN) < text.index(run.RESULTS_END)
