from __future__ import annotations

import inspect
import types
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from napkg.graph.load import load_project


@pytest.fixture(scope="session")
def project():
    """The ontology and the project's data, parsed once."""
    return load_project()


@pytest.fixture(scope="session")
def graph(project) -> rdflib.Graph:
    return project.union()


@pytest.fixture(scope="session")
def project_store(project) -> ox.Store:
    """The project's graphs in an Oxigraph store, each its own named graph, as napkg serve loads them.
    Shared by the tests of a session: a test that changes the data works on a copy."""
    store = ox.Store()
    for name, named in project.graphs.items():
        store.load(
            named.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(name)
        )
    return store


# --- Test tiers -----------------------------------------------------------------------------------------
# `make test-fast` runs `-m "not slow and not server and not browser"`. Rather than a decorator on every
# test, a test is marked by what it reaches: the test function, the fixtures it uses, and the module-level
# helpers (of tests/) they call, followed through their code objects. One that starts a server (napkg serve,
# Oxigraph, uvicorn or a local HTTP listener) gets `server`; one that drives Chromium gets `browser`.
# Explicit marks (`slow`, `serial`) stay as written.
SERVER_NAMES = {"running_server", "servers", "Canary", "Relay", "HTTPServer", "ThreadingHTTPServer", "Server"}
SERVER_ARGS = {"serve", "serve-read-only", "--port"}
BROWSER_NAMES = {"chromium", "sync_playwright"}
TESTS = Path(__file__).resolve().parent


def _reaches(function, seen: set) -> tuple[set[str], set[object]]:
    """The global and attribute names and the constants used by function and by the functions of tests/ it
    calls, transitively."""
    names: set[str] = set()
    constants: set[object] = set()
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if code is None or code in seen:
        return names, constants
    seen.add(code)
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        for constant in current.co_consts:
            if isinstance(constant, types.CodeType):
                stack.append(constant)
            elif isinstance(constant, str):
                constants.add(constant)
    for name in list(names):
        target = getattr(function, "__globals__", {}).get(name)
        if isinstance(target, types.FunctionType):
            target = inspect.unwrap(target)  # contextmanager and functools.wraps decorators
        if isinstance(target, types.FunctionType) and Path(target.__code__.co_filename).parent == TESTS:
            more_names, more_constants = _reaches(target, seen)
            names |= more_names
            constants |= more_constants
        elif inspect.isclass(target) and Path(inspect.getfile(target)).parent == TESTS:
            for member in vars(target).values():
                if isinstance(member, types.FunctionType):
                    more_names, more_constants = _reaches(member, seen)
                    names |= more_names
                    constants |= more_constants
    return names, constants


def _starts(item) -> tuple[bool, bool]:
    """(starts a server, drives a browser) for a collected test."""
    functions = [item.function]
    for name in item.fixturenames:
        for definition in item._fixtureinfo.name2fixturedefs.get(name, ()):
            functions.append(definition.func)
    if "getfixturevalue" in item.function.__code__.co_names:
        # A fixture chosen at run time: count every fixture defined in the test's module.
        for value in vars(item.module).values():
            if type(value).__name__ == "FixtureFunctionDefinition":
                functions.append(inspect.unwrap(value))
    names: set[str] = set()
    constants: set[object] = set()
    seen: set = set()
    for function in functions:
        more_names, more_constants = _reaches(function, seen)
        names |= more_names
        constants |= more_constants
    browser = bool(names & BROWSER_NAMES)
    # "serve" and "--port" only count where a process is started with them.
    server = bool(names & SERVER_NAMES) or (bool(constants & SERVER_ARGS) and "Popen" in names)
    return server or browser, browser


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        server, browser = _starts(item)
        if server and not item.get_closest_marker("server"):
            item.add_marker(pytest.mark.server)
        if browser and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
