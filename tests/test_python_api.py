"""napkg.query(name, **params) from Python: rows as dictionaries of Python values, and a DataFrame.

The named queries are the test catalogue's (tests/fixtures/queries), run on the project graph."""

from __future__ import annotations

from pathlib import Path

import pytest

import napkg
from napkg.catalogue import local
from napkg.catalogue.queries import QUERIES, ParameterError, catalogue

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "queries"
AP = "https://w3id.org/nap-bhr/id/action-point/nap-2022-"


@pytest.fixture(autouse=True)
def test_catalogue(monkeypatch):
    monkeypatch.setattr(local, "catalogue", lambda: catalogue(FIXTURES))


def test_rows_are_dictionaries_of_python_values():
    rows = napkg.query("titles")
    assert isinstance(rows, list) and len(rows) == 33
    assert rows.variables == ["action_point", "notation", "title", "_lang"]
    assert all(list(row) == rows.variables for row in rows)
    assert rows[16] == {
        "action_point": AP + "17",
        "notation": "17",
        "_lang": "nl",
        "title": "Onderhandelen binnen vastgestelde kaders over ambitieuze gepaste "
        "zorgvuldigheidswetgeving op EU-niveau.",
    }
    started = napkg.query("started-in", year=2022, minimum=30)
    assert [r["notation"] for r in started] == ["31", "32", "33"]
    assert started[0]["_year"] == 2022 and started[0]["_minimum"] == 30  # gYear and integer as int
    assert napkg.query("started-count") == [{"_year": 2022, "started": 23, "all": 26}]
    assert napkg.query("echo", text='" } ; DROP ALL #', n=-4) == [
        {"_text": '" } ; DROP ALL #', "_iri": None, "_n": -4, "_year": None, "_lang": None}
    ]


def test_ask_and_construct():
    assert napkg.query("has-title", resource=AP + "17") == [{"result": True}]
    triples = napkg.query("title-graph", action_point=AP + "03")
    assert triples.variables == ["subject", "predicate", "object"] and len(triples) == 2
    assert {t["subject"] for t in triples} == {AP + "03"}


def test_bad_parameters_and_unknown_queries():
    with pytest.raises(ParameterError, match="parameter 'lang'"):
        napkg.query("titles", lang="fr")
    with pytest.raises(ParameterError, match="parameter 'year'"):
        napkg.query("started-in")
    with pytest.raises(ParameterError, match="parameter 'colour'"):
        napkg.query("titles", colour="red")
    with pytest.raises(KeyError, match="no-such-query"):
        napkg.query("no-such-query")


def test_to_pandas_has_the_same_columns():
    pandas = pytest.importorskip("pandas")
    rows = napkg.query("titles", lang="en")
    frame = rows.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == rows.variables and len(frame) == 33
    assert frame["notation"].tolist() == [r["notation"] for r in rows]
    assert frame.iloc[16]["title"] == rows[16]["title"]
    empty = napkg.query("started-in", year=1900).to_pandas()
    assert list(empty.columns) == ["_year", "_minimum", "action_point", "notation"] and len(empty) == 0


@pytest.mark.parametrize("name", sorted(catalogue(QUERIES)))
def test_every_catalogue_query_runs_with_every_parameter_given(name, monkeypatch):
    """Whatever the project's catalogue holds: with a value for every parameter each runs (pyoxigraph
    refuses a substitution for a variable a SELECT does not project, and an API request would get 500)."""
    monkeypatch.setattr(local, "catalogue", lambda: catalogue(QUERIES))
    query = catalogue(QUERIES)[name]
    samples = {"iri": AP + "17", "year": "2024", "integer": "1", "string": "x", "language": "en"}
    values = {p.name: p.default or (p.enum[0] if p.enum else samples[p.type]) for p in query.params}
    if query.endpoints:
        # A federated example calls no endpoint from this process: it is refused, naming the endpoint.
        with pytest.raises(local.ServiceNotAllowed) as refused:
            napkg.query(name, **values)
        assert all(e in str(refused.value) for e in query.endpoints) and "--allow-service" in str(refused.value)
        return
    assert isinstance(napkg.query(name, **values), list)
