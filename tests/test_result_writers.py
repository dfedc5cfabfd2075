"""SELECT results take one of two writers: ours in Python (counts rows, cuts at the row limit) or pyoxigraph's
native one, used when the query's own top-level LIMIT is within the row limit (guard reads that LIMIT), or
when a SELECT without a LIMIT was given one of max_rows + 1 (at the place guard found for it) and its
native result turned out to be within the limit. Both must say the same thing in every format, the guard
must never read a LIMIT that is not the outermost one, and a result over the limit must always be cut."""

from __future__ import annotations

import csv
import io

import pyoxigraph as ox
import pytest

from napkg.sparql import guard
from napkg.sparql.engine import Job, LocalEngine
from napkg.sparql.results import NATIVE_TABLE_FORMATS, TABLE_TYPES, more_rows_than

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


@pytest.mark.parametrize(
    "query, limit",
    [
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
    ],
)
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


def capped(query: str, media: str, max_rows: int = 10_000) -> Job:
    found = guard.inspect(query)
    return Job(query, (media,), max_rows=max_rows, limit=found.limit, limit_at=found.limit_at)


@pytest.mark.parametrize(
    "query, where",
    [
        ("SELECT * { ?s ?p ?o }", "end"),
        ("SELECT * { ?s ?p ?o } ORDER BY ?s OFFSET 2", "end"),
        ("SELECT * { ?s ?p ?o } # a comment to the end", "end"),
        ("SELECT * { ?s ?p ?o VALUES ?s { <http://e/a> } }", "end"),  # inside the pattern
        ("SELECT * { ?s ?p ?o } VALUES ?s { <http://e/a> }", "VALUES"),
        ("SELECT * { ?s ?p ?o } values (?s) { (<http://e/a>) }", "values"),
        ("SELECT * { { SELECT * { ?s ?p ?o } LIMIT 5 } }", "end"),
    ],
)
def test_the_guard_finds_where_a_limit_can_go(query, where):
    assert guard.inspect(query).limit_at == (len(query) if where == "end" else query.index(where))


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * { ?s ?p ?o } LIMIT 3",  # has its own
        "ASK { ?s ?p ?o }",
        "CONSTRUCT WHERE { ?s ?p ?o }",
        "DESCRIBE <http://e/a>",
        'SELECT * { ?s ?p "\\u0041" }',  # offsets would be of the text with its escapes resolved
    ],
)
def test_no_place_for_a_limit(query):
    assert guard.inspect(query).limit_at is None


@pytest.mark.parametrize("media", list(TABLE_TYPES))
def test_a_capped_select_is_written_natively_and_agrees(engine, media):
    python = engine.run(Job(QUERY, (media,)))
    native = engine.run(capped(QUERY, media))
    assert native.status == 200 and native.rows == -1 and not native.truncated
    assert read(native.body, media) == read(python.body, media)


@pytest.mark.parametrize("media", list(TABLE_TYPES))
@pytest.mark.parametrize("max_rows, truncated", [(9, False), (8, True), (1, True)])
def test_a_capped_select_over_the_row_limit_is_cut(engine, media, max_rows, truncated):
    """QUERY has 9 rows: at a limit of 9 it fits, at 8 it is cut to 8, as the Python writer cuts it."""
    answer = engine.run(capped(QUERY, media, max_rows=max_rows))
    assert answer.truncated is truncated
    assert len(read(answer.body, media)) - 1 == min(9, max_rows)
    expected = engine.run(Job(QUERY, (media,), max_rows=max_rows))
    assert read(answer.body, media) == read(expected.body, media)


def test_a_capped_select_with_a_closing_values_clause(engine):
    query = "SELECT ?p ?o { ?s ?p ?o } ORDER BY ?o VALUES ?s { <http://example.org/b> }"
    answer = engine.run(capped(query, "text/csv"))
    assert answer.status == 200 and answer.rows == -1
    assert answer.body == b"p,o\r\nhttp://example.org/label,<tag> & 'quote'\r\n"


@pytest.mark.parametrize(
    "query", ["SELECT * { ?s ?p ?o } ORDER BY", "SELECT * { ?s ?p ?o ", "SELECT * { ?s ?p ?o } GROUP"]
)
def test_a_syntax_error_is_reported_on_the_clients_own_text(engine, query):
    answer = engine.run(capped(query, "text/csv"))
    assert guard.inspect(query).limit_at is not None
    assert answer.status == 400
    assert answer.error == engine.run(Job(query, ("text/csv",))).error  # its positions, not the capped text's


def rows_body(media: str, rows: int, value: str = "v") -> bytes:
    store = ox.Store()
    for i in range(rows):
        store.add(ox.Quad(ox.NamedNode(f"http://e/{i}"), ox.NamedNode("http://e/p"), ox.Literal(value)))
    return store.query("SELECT ?o { ?s ?p ?o }").serialize(format=NATIVE_TABLE_FORMATS[media])


@pytest.mark.parametrize("media", list(TABLE_TYPES))
@pytest.mark.parametrize("value", ["v", 'two\nlines, "quoted" <result>', ""])
def test_rows_are_counted_exactly_at_the_limit(media, value):
    for rows in (0, 1, 50):
        body = rows_body(media, rows, value)
        assert more_rows_than(body, media, rows) is False
        assert more_rows_than(body, media, rows + 1) is False
        if rows:
            assert more_rows_than(body, media, rows - 1) is True


@pytest.mark.parametrize("field", ["default_graphs", "named_graphs"])
def test_a_dataset_graph_name_that_is_no_iri_is_refused_by_the_engine_too(engine, field):
    """protocol.py refuses it first; a Job made elsewhere (the Python API, a test) gets a 400, not an exception."""
    answer = engine.run(Job("ASK {}", ("application/sparql-results+json",), **{field: ("not an iri",)}))
    assert answer.status == 400 and "not an absolute IRI" in answer.error, answer
