from __future__ import annotations

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
