"""The query catalogue refuses what it must: malformed headers (CatalogueError, naming the file and the
problem) and bad parameter values (ParameterError, naming the parameter); and a value is always bound as an
RDF term, never pasted into the query text, so no value can change what a query does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import napkg
from napkg.catalogue import local
from napkg.catalogue.queries import CatalogueError, NamedQuery, ParameterError, catalogue, parse

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "queries"
ID = "https://w3id.org/nap-bhr/id/"
INJECTION = '" } ; DROP ALL #'
IRI_INJECTION = "http://x> } ; DROP ALL #"

GOOD_HEADER = """\
#+ summary: Objects of one subject
#+ summary_nl: Objecten van één onderwerp
#+ description: >-
#+   Every object of the subject.
#+ tags: [test]
#+ params:
#+   subject:
#+     type: iri
#+     default: https://w3id.org/nap-bhr/id/action-point/nap-2022-17
#+     description: The subject.
#+   limit:
#+     type: integer
#+     default: 3
#+     description: A number.
#+   year:
#+     type: year
#+     default: 2024
#+     description: A year.
#+   lang:
#+     type: language
#+     default: nl
#+     description: A language.
#+   colour:
#+     type: string
#+     enum: [red, green]
#+     description: A colour.
"""
GOOD_BODY = "SELECT ?_subject ?_limit ?_year ?_lang ?_colour ?o WHERE { ?_subject ?p ?o }\n"


def write(tmp_path: Path, text: str, name: str = "bad-query.rq") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str, *fragments: str) -> CatalogueError:
    path = write(tmp_path, text)
    with pytest.raises(CatalogueError) as caught:
        parse(path)
    message = str(caught.value)
    assert "bad-query.rq" in message, f"the error does not name the file: {message}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return caught.value


@pytest.fixture
def good(tmp_path) -> NamedQuery:
    return parse(write(tmp_path, GOOD_HEADER + GOOD_BODY, "good-query.rq"))


# --- Headers -------------------------------------------------------------------------------------------


def test_a_good_header_parses(good):
    assert good.name == "good-query"
    assert good.summary == "Objects of one subject" and good.summary_nl == "Objecten van één onderwerp"
    assert good.description == "Every object of the subject."
    assert good.tags == ("test",)
    assert [(p.name, p.type) for p in good.params] == [
        ("subject", "iri"),
        ("limit", "integer"),
        ("year", "year"),
        ("lang", "language"),
        ("colour", "string"),
    ]
    assert good.operation == "SELECT"


@pytest.mark.parametrize("key", ["summary", "summary_nl", "description"])
def test_a_missing_key_is_refused(tmp_path, key):
    text = re.sub(rf"^#\+ {key}:.*\n(#\+   .*\n)*", "", GOOD_HEADER, flags=re.M)
    assert not re.search(rf"^#\+ {key}:", text, re.M) and text != GOOD_HEADER
    refused(tmp_path, text + GOOD_BODY, f"'{key}'")


@pytest.mark.parametrize("key", ["summary", "summary_nl", "description"])
def test_an_empty_key_is_refused(tmp_path, key):
    text = re.sub(rf"^#\+ {key}:.*\n(#\+   .*\n)*", f'#+ {key}: "  "\n', GOOD_HEADER, flags=re.M)
    refused(tmp_path, text + GOOD_BODY, f"'{key}'")


def test_invalid_yaml_is_refused(tmp_path):
    refused(
        tmp_path, "#+ summary: [not closed\n#+ summary_nl: x\n#+ description: x\nSELECT * WHERE {}\n", "not valid YAML"
    )


def test_a_header_that_is_not_a_mapping_is_refused(tmp_path):
    refused(tmp_path, "#+ - just\n#+ - a list\nSELECT * WHERE {}\n", "key: value")


def test_a_parameter_not_used_in_the_query_is_refused(tmp_path):
    body = GOOD_BODY.replace("?_colour ", "")
    refused(tmp_path, GOOD_HEADER + body, "'colour'", "?_colour")


def test_an_unknown_type_is_refused(tmp_path):
    refused(tmp_path, GOOD_HEADER.replace("type: integer", "type: float") + GOOD_BODY, "'limit'", "'float'")


@pytest.mark.parametrize(
    "old,new,param",
    [
        ("default: 3", "default: abc", "limit"),
        ("default: 2024", "default: 20x4", "year"),
        ("default: https://w3id.org/nap-bhr/id/action-point/nap-2022-17", "default: not an iri", "subject"),
        ("default: nl", "default: nl_NL!", "lang"),
    ],
)
def test_a_bad_default_is_refused(tmp_path, old, new, param):
    refused(tmp_path, GOOD_HEADER.replace(old, new) + GOOD_BODY, "default", f"'{param}'")


def test_a_default_outside_the_enum_is_refused(tmp_path):
    text = GOOD_HEADER.replace("    enum: [red, green]\n", "    enum: [red, green]\n#+     default: blue\n")
    refused(tmp_path, text + GOOD_BODY, "default", "'colour'", "'blue'")


@pytest.mark.parametrize("bad", ["Subject", "my-subject", "1st", "sub ject"])
def test_a_bad_parameter_name_is_refused(tmp_path, bad):
    text = GOOD_HEADER.replace("#+   subject:", f"#+   '{bad}':") + GOOD_BODY.replace("?_subject", f"?_{bad}")
    refused(tmp_path, text, "parameter name", repr(bad))


def test_catalogue_stops_at_a_bad_file(tmp_path):
    write(tmp_path, GOOD_HEADER + GOOD_BODY, "good-query.rq")
    assert list(catalogue(tmp_path)) == ["good-query"]
    write(tmp_path, "#+ summary: only a summary\nSELECT * WHERE {}\n")
    with pytest.raises(CatalogueError, match="bad-query.rq"):
        catalogue(tmp_path)


# --- Parameter values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "param,value",
    [
        ("limit", "abc"),
        ("limit", "1.5"),
        ("limit", "1e3"),
        ("year", "20x4"),
        ("year", "24"),
        ("year", "2024-01-01"),
        ("subject", "not an iri"),
        ("subject", "action-point/nap-2022-17"),
        ("subject", "http://example.org/a>b"),
        ("subject", "http://example.org/<a>"),
        ("subject", 'http://example.org/"a"'),
        ("subject", IRI_INJECTION),
        ("lang", "nl_NL!"),
        ("lang", 'nl" } #'),
        ("colour", "blue"),
        ("colour", INJECTION),
    ],
)
def test_a_bad_value_is_refused_naming_the_parameter(good, param, value):
    with pytest.raises(ParameterError) as caught:
        good.substitutions({param: value})
    assert caught.value.name == param
    assert f"'{param}'" in str(caught.value)


def test_an_unknown_parameter_is_refused(good):
    with pytest.raises(ParameterError) as caught:
        good.substitutions({"subjct": ID + "action-point/nap-2022-17"})
    assert caught.value.name == "subjct"
    assert "unknown parameter" in str(caught.value) and "subject" in str(caught.value)


def test_a_too_long_string_is_refused(good):
    with pytest.raises(ParameterError, match="'colour'"):
        good.params[-1].term("x" * 1001)


def test_a_required_parameter_cannot_be_empty():
    search = catalogue()["search"]
    with pytest.raises(ParameterError) as caught:
        search.substitutions({"word": ""})
    assert caught.value.name == "word"


def test_values_are_bound_as_typed_terms(good):
    bound = {v.value: str(t) for v, t in good.substitutions({"limit": "007", "colour": "red"}).items()}
    assert bound == {
        "_subject": f"<{ID}action-point/nap-2022-17>",
        "_limit": '"7"^^<http://www.w3.org/2001/XMLSchema#integer>',
        "_year": '"2024"^^<http://www.w3.org/2001/XMLSchema#gYear>',
        "_lang": '"nl"',
        "_colour": '"red"',
    }


def test_napkg_query_refuses_bad_values_too():
    with pytest.raises(ParameterError, match="'year'"):
        napkg.query("overdue-action-points", year="20x4")
    with pytest.raises(ParameterError, match="'status'"):
        napkg.query("action-points-by-status", status=ID + "status/unknown")
    with pytest.raises(ParameterError, match="'statuss'"):
        napkg.query("action-points-by-status", statuss=ID + "status/delayed")
    with pytest.raises(KeyError, match="no query named"):
        napkg.query("no-such-query")


# --- Injection -----------------------------------------------------------------------------------------


def triples() -> int:
    return len(local.engine().store)


def rows_of(name: str, **params) -> list:
    query = catalogue()[name]
    job = local.job(query, params, ("application/sparql-results+json",))
    assert job.query == query.text, "a value was pasted into the query text"
    answer = local.engine().run(job)
    assert answer.status == 200, answer.error
    return json.loads(answer.body)["results"]["bindings"]


@pytest.mark.parametrize(
    "value",
    [
        INJECTION,
        '"} INSERT DATA { <urn:a> <urn:b> <urn:c> } #',
        '\\" } ; DROP ALL #',
        "') } ; CLEAR DEFAULT ; #",
        "?o } UNION { ?s ?p ?o",
        "x\n} ; DROP ALL\n#",
    ],
)
def test_a_string_cannot_change_the_query(value):
    before = triples()
    assert rows_of("search", word=value) == []
    assert napkg.query("search", word=value) == []
    assert triples() == before
    assert triples() > 1000


def test_the_string_is_bound_as_one_literal():
    query = catalogue()["search"]
    job = local.job(query, {"word": INJECTION}, ("application/sparql-results+json",))
    assert "DROP" not in job.query
    assert dict(job.substitutions) == {"_word": '"\\" } ; DROP ALL #"'}


@pytest.mark.parametrize(
    "name,param",
    [
        ("action-point", "action_point"),
        ("action-point-neighbourhood", "action_point"),
        ("action-points-mentioning-instrument", "instrument"),
        ("organisation-involvement", "organisation"),
        ("status-counts", "report"),
        ("overdue-action-points", "year"),
    ],
)
def test_an_injected_iri_is_refused(name, param):
    before = triples()
    with pytest.raises(ParameterError) as caught:
        local.job(catalogue()[name], {param: IRI_INJECTION}, ("application/sparql-results+json",))
    assert caught.value.name == param
    with pytest.raises(ParameterError):
        napkg.query(name, **{param: IRI_INJECTION})
    assert triples() == before


def test_an_unknown_but_valid_iri_finds_nothing():
    assert rows_of("action-point", action_point="http://x/%3E%20%7D%20;%20DROP%20ALL") == []
    assert all(r["action_points"] == 0 for r in napkg.query("status-counts", report="urn:x:DROP-ALL"))


# --- Empty values and prefixed names ------------------------------------------------------------------


def test_an_empty_value_falls_back_to_the_default():
    """An empty form field must not leave ?_action_point free (it would match everything)."""
    assert len(napkg.query("action-point", action_point="")) == len(napkg.query("action-point"))


def test_a_prefixed_name_of_ours_is_expanded():
    """'report:2024' means our report, not an IRI with the scheme 'report'."""
    bound = catalogue()["status-counts"].substitutions({"report": "report:2024"})
    assert [t.value for t in bound.values()] == ["https://w3id.org/nap-bhr/id/report/2024"]
    assert napkg.query("status-counts", report="report:2024") == napkg.query("status-counts")


def test_an_unknown_prefix_is_not_expanded():
    with pytest.raises(ParameterError):
        catalogue()["status-counts"].substitutions({"report": "nosuch prefix:2024"})
