"""A query that uses a prefix it does not declare, the commonest mistake in a hand-written query, gets a
message that names the prefix and gives its PREFIX line, not pyoxigraph's list of the characters a name
may hold (or, for xsd:integer(...), "expected ENCODE_FOR_URI"). Every other syntax error keeps the parser's
own message and position, except a LIMIT or OFFSET too large for the engine, which gets a plain one."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from napkg.sparql.engine import LARGEST_COUNT, Job, LocalEngine
from napkg.sparql.guard import undeclared_prefixes

JSON = ("application/sparql-results+json",)


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine(ox.Store(), prefixes={"nap": "https://w3id.org/nap-bhr/def#"})


def error(engine: LocalEngine, query: str) -> str:
    answer = engine.run(Job(query, JSON))
    assert answer.status == 400, answer
    return answer.error


@pytest.mark.parametrize(
    "query, missing",
    [
        ("SELECT * { ?s foo:bar ?o }", ["foo:bar"]),
        ("SELECT * { ?s :p ?o }", [":p"]),
        ("PREFIX a: <x:> SELECT * { ?s a:p ?o ; b:q ?o ; b:r ?o ; c:s ?o }", ["b:q", "c:s"]),
        ('SELECT * { ?s ?p "x"^^xsd:string }', ["xsd:string"]),
        # Declared (also the empty prefix), in strings, IRIs or comments, blank nodes and variables: not missing.
        ("PREFIX : <x:> PREFIX a: <y:> SELECT * { ?s :p ?o ; a:q _:b }", []),
        ('SELECT * { ?s <a:b> "c:d" . # e:f\n ?s ?p ?o }', []),
        # An IRI with a character no IRI may hold is the error, not an undeclared http: prefix.
        ("ASK { <http://a b> ?p ?o }", []),
        ("ASK { <http://a\x00b> ?p ?o }", []),
        # \\u escapes are resolved before reading, as SPARQL does.
        ("PREFIX a: <x:> SELECT * { ?s \\u0061:p ?o }", []),
    ],
)
def test_undeclared_prefixes_are_found(query, missing):
    assert [tok.text for tok in undeclared_prefixes(query)] == missing


def test_an_unknown_prefix_is_named_at_its_position(engine):
    message = error(engine, "SELECT *\nWHERE { ?s foo:bar ?o }")
    assert message.startswith("Syntax error in the query: error at 2:12: the prefix foo: is used but not declared")
    assert "PREFIX foo: <its namespace IRI>" in message
    assert "Prefix not found" not in message and "\\u{" not in message


def test_a_known_prefix_gets_its_declaration(engine):
    # pyoxigraph says "expected ENCODE_FOR_URI" here, five characters past the name.
    message = error(engine, "SELECT * { ?s ?p ?o } ORDER BY xsd:integer(?o)")
    assert "error at 1:32: the prefix xsd: is used" in message
    assert "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>" in message
    assert "ENCODE_FOR_URI" not in message


def test_the_graphs_own_prefixes_are_offered(engine):
    message = error(engine, "SELECT * { ?ap nap:title ?t ; dct:title ?u }")
    assert "the prefixes nap:, dct: are used but not declared" in message
    assert "PREFIX nap: <https://w3id.org/nap-bhr/def#>\nPREFIX dct: <http://purl.org/dc/terms/>" in message


def parsers_message(query: str) -> str:
    with pytest.raises(SyntaxError) as raised:
        ox.Store().query(query)
    return str(raised.value)


def test_an_earlier_error_comes_first(engine):
    query = "SELEC * { ?s dct:title ?o }"
    first, also = error(engine, query).split("\nAlso, ")
    assert first == f"Syntax error in the query: {parsers_message(query)}"
    assert also.startswith("the prefix dct: is used but not declared")


def test_other_errors_keep_the_parsers_message(engine):
    query = "PREFIX dct: <http://purl.org/dc/terms/>\nSELECT * { ?s dct:title }"
    assert error(engine, query) == f"Syntax error in the query: {parsers_message(query)}"


def test_a_declared_prefix_runs(engine):
    assert (
        engine.run(
            Job("PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> ASK { FILTER(xsd:integer('1') = 1) }", JSON)
        ).status
        == 200
    )


@pytest.mark.parametrize("keyword", ["LIMIT", "OFFSET"])
def test_a_count_too_large_for_the_engine_is_explained(engine, keyword):
    # pyoxigraph says "expected one of The query limit should be a non negative integer, ['0'..='9']".
    query = f"SELECT * WHERE {{ ?s ?p ?o }} {keyword} {LARGEST_COUNT + 1}"
    assert "should be a non negative integer" in parsers_message(query)
    message = error(engine, query)
    column = query.index(keyword) + len(keyword) + 2  # at the number
    assert message == (
        f"Syntax error in the query: error at 1:{column}: {keyword} takes a whole number from 0 to "
        f"18,446,744,073,709,551,615, the largest the engine can count to"
    )
    # The largest it reads still runs, and other prefix or parser messages are left as they were.
    assert engine.run(Job(f"SELECT * WHERE {{ ?s ?p ?o }} {keyword} {LARGEST_COUNT}", JSON)).status == 200
    assert "should be" not in error(engine, f"SELECT * WHERE {{ ?s foo:p ?o }} {keyword} {LARGEST_COUNT + 1}")
    on_a_line_of_its_own = error(engine, f"SELECT *\nWHERE {{ ?s ?p ?o }}\n{keyword}\n  {10**30}")
    assert on_a_line_of_its_own.startswith(f"Syntax error in the query: error at 4:3: {keyword} takes")
