"""The package on its own: a wheel built from the repository, installed in a fresh virtual environment outside
the checkout, runs every command from another folder on the ontology, shapes, data and catalogue it bundles.

The wheel test is slow (it builds, makes a venv and installs the dependencies, from PyPI or pip's cache);
the dependency test beside it is quick. With NAPKG_WHEEL_LOWEST=1 the venv gets every dependency at the lower
bound pyproject.toml gives it, so both ends of the declared ranges are tested.
"""

from __future__ import annotations

import ast
import csv
import importlib.metadata
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from napkg import __version__
from napkg.graph.load import load_project, to_store
from server import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGE = ROOT / "server" / "napkg"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SNAPSHOT = HERE / "fixtures" / "links" / "register-fixed.ttl"  # a TOOI register that agrees with data/
DUMPS = {"nap.ttl", "nap.nt", "nap.trig", "nap.jsonld"}
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
LOWEST = os.environ.get("NAPKG_WHEEL_LOWEST") == "1"


def _name(requirement: str) -> str:
    """The normalised project name of a requirement ('uvicorn[standard]>=0.55' -> 'uvicorn')."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group()).lower()


def _imported_modules() -> set[str]:
    """The top-level modules outside the standard library that napkg's code imports (at any depth)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "napkg"}


def _lower_bounds() -> dict[str, str]:
    """name -> the lower bound of each runtime dependency ('rdflib>=7.1.1,<8' -> 'rdflib': '7.1.1')."""
    bounds = {}
    for requirement in PYPROJECT["project"]["dependencies"]:
        low = re.search(r">=\s*([0-9][0-9A-Za-z.]*)", requirement)
        assert low, f"{requirement}: every dependency needs a lower bound"
        bounds[_name(requirement)] = low.group(1)
    return bounds


def test_every_imported_module_is_a_declared_dependency_and_every_dependency_is_imported():
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    # pandas is optional: only napkg.query(...).to_pandas() imports it, when it is there.
    optional = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["pandas"]}
    distributions = importlib.metadata.packages_distributions()
    providers = {m: {_name(d) for d in distributions.get(m, ())} for m in _imported_modules()}
    assert providers.get("rdflib") == {"rdflib"}, "the module scan or the metadata lookup found nothing"
    undeclared = {m: sorted(d) for m, d in providers.items() if not d & (runtime | optional)}
    assert not undeclared, f"imported by napkg but not declared in pyproject's dependencies: {undeclared}"
    used = set().union(*providers.values())
    assert runtime - used == set(), f"declared but imported nowhere in server/napkg: {sorted(runtime - used)}"


# --- The wheel in a fresh venv -----------------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    """This environment without what would point the installed napkg back at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NAPKG_QUERIES")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _call(*command: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a set-up step quietly; on failure, fail with what it said (pip's warnings stay out of the way)."""
    done = subprocess.run(command, env=_clean_env(), capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


class Installed:
    def __init__(self, venv: Path, work: Path):
        self.venv, self.work = venv, work
        self.napkg = venv / "bin" / "napkg"
        self.timings: list[tuple[str, float]] = []

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        start = time.perf_counter()
        done = subprocess.run(
            [str(self.napkg), *args],
            cwd=cwd or self.work,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.timings.append(("napkg " + " ".join(args), time.perf_counter() - start))
        return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    assert not base.resolve().is_relative_to(ROOT), "the venv must be outside the checkout"
    started = time.perf_counter()
    dist = base / "dist"
    _call(sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT), timeout=600)
    built = time.perf_counter()
    (wheel,) = dist.glob("napkg-*.whl")
    venv = base / "venv"
    _call(sys.executable, "-m", "venv", str(venv), timeout=300)
    constraints = []
    if LOWEST:
        pins = base / "lowest.txt"
        pins.write_text("".join(f"{name}=={low}\n" for name, low in _lower_bounds().items()), encoding="utf-8")
        constraints = ["--constraint", str(pins)]
    _call(str(venv / "bin" / "pip"), "install", "--quiet", *constraints, str(wheel), timeout=900)
    ready = time.perf_counter()
    if LOWEST:  # each at its lower bound, or the run tests nothing new
        script = "import importlib.metadata as m, json, sys; print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
        versions = json.loads(_call(str(venv / "bin" / "python"), "-c", script, *_lower_bounds()).stdout)
        from packaging.version import Version  # comes with build

        assert {n: Version(v) for n, v in versions.items()} == {n: Version(v) for n, v in _lower_bounds().items()}
    work = base / "work"
    work.mkdir()
    result = Installed(venv, work)
    print(
        f"\nwheel {wheel.name}: {wheel.stat().st_size / 1024:.0f} KiB; built in {built - started:.1f} s, "
        f"venv and install{' at the lower bounds' if LOWEST else ''} in {ready - built:.1f} s"
    )
    yield result
    for command, seconds in result.timings:
        print(f"  {seconds:6.1f} s  {command}")
    print(f"wheel test: {time.perf_counter() - started:.1f} s in all")


@pytest.mark.slow
def test_the_installed_package_reads_its_bundle_not_the_checkout(installed):
    done = subprocess.run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import napkg, napkg.graph.paths as p; print(napkg.__file__); print(p.CHECKOUT); print(p.ROOT)",
        ],
        cwd=installed.work,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    module, checkout, root = done.stdout.splitlines()
    assert Path(module).is_relative_to(installed.venv) and checkout == "None"
    assert Path(root).is_relative_to(installed.venv) and Path(root).name == "bundle"
    bundle = Path(root)
    # The bundle is a copy of the top-level folders: the same files, the same bytes.
    for part in ("ontology", "data", "shapes", "queries"):
        ours = {p.relative_to(ROOT / part): p.read_bytes() for p in (ROOT / part).rglob("*") if p.is_file()}
        theirs = {p.relative_to(bundle / part): p.read_bytes() for p in (bundle / part).rglob("*") if p.is_file()}
        assert theirs == ours, part
    assert (Path(module).parent / "web" / "static" / "yasgui" / "yasgui.min.js").is_file()
    assert (Path(module).parent / "web" / "templates" / "base.html").is_file()


@pytest.mark.slow
def test_validate_the_bundled_data_a_copy_and_a_broken_copy(installed):
    done = installed.run("validate")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "Conforms: 0 violation(s), 0 warning(s)."

    copy = installed.work / "my-data"
    shutil.copytree(ROOT / "data", copy)
    done = installed.run("validate", str(copy))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "Conforms: 0 violation(s), 0 warning(s)."

    # Every status of one report's pillar 3 replaced by a theme: what the shapes and checks must refuse.
    broken = installed.work / "broken-data"
    shutil.copytree(ROOT / "data", broken)
    pillar = broken / "report-2024" / "pillar-3.ttl"
    text = pillar.read_text(encoding="utf-8")
    assert "nap:status status:" in text
    pillar.write_text(text.replace("nap:status status:", "nap:status theme:"), encoding="utf-8")
    done = installed.run("validate", str(broken), "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    violations = [f for f in report["results"] if f["severity"] == "Violation"]
    assert report["conforms"] is False
    assert violations and all(f["file"].endswith("pillar-3.ttl") for f in violations), violations[:3]


@pytest.mark.slow
def test_query_finds_the_bundled_catalogue(installed):
    done = installed.run("query", "action-points", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == 33
    assert {r["action_point"] for r in rows} == {
        f"https://w3id.org/nap-bhr/id/action-point/nap-2022-{n:02d}" for n in range(1, 34)
    }
    listing = installed.run("query", "--list")
    assert listing.returncode == 0 and re.search(r"^action-points\s+SELECT\s", listing.stdout, re.M), listing.stdout


@pytest.mark.slow
def test_links_check_offline_and_against_a_snapshot(installed):
    # No register given: nothing is fetched; every link of the bundled data is counted as not checked.
    done = installed.run("links", "check")
    assert done.returncode == 0, done.stderr
    for register in ("tooi", "eli", "wetten", "obk"):
        assert re.search(rf"^no register given for {register}: [1-9]\d* link\(s\) not checked$", done.stdout, re.M)
    assert done.stdout.strip().splitlines()[-1].startswith("No link checked")
    # Offline against a snapshot of the TOOI register (a test fixture that agrees with data/).
    done = installed.run("links", "check", "--snapshot", str(SNAPSHOT), "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    tooi = json.loads(done.stdout)["registers"]["tooi"]
    assert tooi["fine"] == tooi["checked"] == tooi["links"] > 0


@pytest.mark.slow
def test_build_writes_the_four_dumps_and_defaults_to_the_current_folder(installed):
    union = load_project().union()
    out = installed.work / "out"
    done = installed.run("build", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir() if p.is_file()} == DUMPS
    assert len((out / "nap.nt").read_text(encoding="utf-8").splitlines()) == len(union)
    assert (out / "docs" / "def.html").is_file()
    # Without --out, outside a checkout: build/ in the current folder.
    here = installed.work / "elsewhere"
    here.mkdir()
    done = installed.run("build", cwd=here)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in (here / "build").iterdir() if p.is_file()} == DUMPS


@pytest.mark.slow
def test_serve_answers_with_the_bundled_graph(installed):
    expected = len(to_store(load_project()))
    port = free_port()
    log = installed.work / "serve.log"
    start = time.perf_counter()
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [str(installed.napkg), "serve", "--port", str(port)],
            cwd=installed.work,
            env=_clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                health = httpx.get(url + "/healthz", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "napkg serve did not answer /healthz in 120 s"
            time.sleep(0.25)
        installed.timings.append(("napkg serve (until /healthz answers)", time.perf_counter() - start))
        assert health.json()["status"] == "ok" and health.json()["version"] == __version__
        answer = httpx.get(
            url + "/sparql", params={"query": COUNT}, headers={"Accept": "application/sparql-results+json"}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) == expected
        editor = httpx.get(url + "/", timeout=10)  # the query editor, from the package's static files
        assert editor.status_code == 200 and "yasgui" in editor.text.lower()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
