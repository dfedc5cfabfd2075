from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib

from napkg.load import load_project


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
        store.load(named.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES,
                   to_graph=ox.NamedNode(name))
    return store
