"""SELECT results take one of two writers: ours in Python (counts rows, cuts at the row limit) or pyoxigraph's
native one, used when the query's own top-level LIMIT is within the row limit (guard reads that LIMIT).
Both must say the same thing in every format, and the guard must never read a LIMIT that is not the
outermost one, or a result could pass the row limit uncut."""
from __future__ import annotations

import csv
import io

import pyoxigraph as ox
import pytest

from napkg import guard
from napkg.engine import Job, LocalEngine
from napkg.results import NATIVE_TABLE_FORMATS, TABLE_TYPES

DATA = """
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:a ex:label "plain" , "Nederlands"@nl , "regel\\n\\"twee\\", tab\\tén"@en ;
     ex:number 42 , "2024"^^xsd:gYear ; ex:link ex:b ; ex:node [ ex:label "blank" ] .
ex:b ex:label "<tag> & 'quote'" .
"""
QUERY = """SELECT ?s ?p ?o ?missing WHERE { ?s ?p ?o OPTIONAL { ?o <http://example.org/none> ?missing } }
ORDER BY ?s ?p ?o"""


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    store = ox.Store()
    store.load(DATA, format=ox.RdfFormat.TURTLE)
    return LocalEngine(store)


def read(body: bytes, media: str) -> list:
    """Rows as comparable tuples; blank nodes by position (their labels are the writer's choice)."""
    if media == "text/csv":
        rows = list(csv.reader(io.StringIO(body.decode())))
        return [tuple("_:" if v.startswith("_:") else v for v in row) for row in rows]
    results = ox.parse_query_results(body, format=NATIVE_TABLE_FORMATS[media])
    variables = [v.value for v in results.variables]

    def term(t):
        return "_:" if isinstance(t, ox.BlankNode) else None if t is None else str(t)

    return [tuple(variables)] + [tuple(term(row[v]) for v in variables) for row in results]


@pytest.mark.parametrize("media", list(TABLE_TYPES))
def test_native_and_python_writers_agree(engine, media):
    python = engine.run(Job(QUERY, (media,)))  # no LIMIT: our writer
    native = engine.run(Job(QUERY + " LIMIT 100", (media,), limit=100))
    assert python.status == native.status == 200
    assert python.rows == 9 and native.rows == -1  # -1: written natively, not counted
    assert read(native.body, media) == read(python.body, media)
    assert len(read(python.body, media)) == 10


def test_a_limit_over_the_row_limit_is_still_cut(engine):
    answer = engine.run(Job(QUERY + " LIMIT 100", ("application/sparql-results+json",), max_rows=3, limit=100))
    assert answer.truncated and answer.rows == 3


@pytest.mark.parametrize("query, limit", [
    ("SELECT * { ?s ?p ?o } LIMIT 10", 10),
    ("SELECT * { ?s ?p ?o } ORDER BY ?s LIMIT\n  7 OFFSET 3", 7),
    ("SELECT * { ?s ?p ?o } OFFSET 3 LIMIT 2", 2),
    ("SELECT * { FILTER (?a < 3) } LIMIT 5", 5),
    ("SELECT * { { SELECT * { ?s ?p ?o } LIMIT 5 } }", None),  # a subquery's LIMIT bounds nothing outside
    ("SELECT * { ?s ?p ?o } # LIMIT 5", None),
    ('SELECT * { ?s ?p "LIMIT 5" }', None),
    ("SELECT ?LIMIT { ?LIMIT ?p ?o }", None),
    ("PREFIX LIMIT: <http://e/> SELECT * { ?s LIMIT:p ?o }", None),
    ("SELECT * { ?s ?p ?o }", None),
    ("SELECT * { ?s ?p ?o } LIMIT ?x", None),
    ("SELECT * { ?s ?p ?o } \\u004CIMIT 4", 4),  # \\u escapes are resolved first, as the engine does
])
def test_the_guard_reads_only_the_outermost_limit(query, limit):
    assert guard.inspect(query).limit == limit


def test_the_guard_remembers_a_reading_but_checks_every_time():
    limits = guard.Limits(max_depth=3)
    deep = "SELECT * { { { { ?s ?p ?o } } } }"
    with pytest.raises(guard.Refused):
        guard.check(deep, limits)
    assert guard.check(deep, guard.Limits()).depth == 4  # remembered reading, other limits
    with pytest.raises(guard.Refused):
        guard.check(deep, limits)
