"""`napkg query`: the catalogue's named queries (here the test catalogue, tests/fixtures/queries) and query
files on the project graph, and the same against a running `napkg serve` through --endpoint, where the
parameters travel in VALUES blocks (napkg.sparql.values.with_values) instead of substitutions."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from napkg.catalogue import local
from napkg.catalogue.queries import QUERIES, catalogue
from napkg.cli import main
from napkg.sparql import values as values_blocks
from server import ROOT, free_port, running_server

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "queries"
AP = "https://w3id.org/nap-bhr/id/action-point/nap-2022-"
Q = ["--queries", str(FIXTURES)]


def napkg(capsys, *args: str) -> tuple[int, str, str]:
    """Run `napkg query ARGS` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        code = main(["query", *args])
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def server():
    with running_server("--workers", "1") as s:
        yield s


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# --- listing ---


def test_list(capsys):
    code, out, _ = napkg(capsys, "--list", *Q)
    assert code == 0
    for name, query in catalogue(FIXTURES).items():
        assert any(line.startswith(name + " ") and query.summary in line for line in out.splitlines()), name
    assert "--param lang=…  (language, enum nl|en, default nl) The language of the titles." in out
    code, out, _ = napkg(capsys, "--list", "--format", "json", *Q)
    assert code == 0
    listed = json.loads(out)
    assert [q["name"] for q in listed] == list(catalogue(FIXTURES))
    assert listed[0].keys() >= {"summary", "summary_nl", "description", "tags", "parameters", "operation"}


def test_list_defaults_to_the_project_catalogue(capsys, monkeypatch):
    monkeypatch.delenv("NAPKG_QUERIES", raising=False)
    code, out, _ = napkg(capsys, "--list")
    assert code == 0
    names = list(catalogue(QUERIES))
    assert [line.split()[0] for line in out.splitlines() if line and not line.startswith(" ")] == (names or ["(the"])
    monkeypatch.setenv("NAPKG_QUERIES", str(FIXTURES))
    code, out, _ = napkg(capsys, "--list", "--format", "json")
    assert [q["name"] for q in json.loads(out)] == list(catalogue(FIXTURES))


# --- running on the project graph ---


def test_csv_prints_the_rows(capsys):
    code, out, _ = napkg(capsys, "titles", "--format", "csv", *Q)
    assert code == 0
    rows = csv_rows(out)
    assert rows[0] == ["action_point", "notation", "title", "_lang"]
    assert [r[1] for r in rows[1:]] == [f"{n:02d}" for n in range(1, 34)]
    assert rows[17][0] == AP + "17" and {r[3] for r in rows[1:]} == {"nl"}


def test_formats(capsys):
    code, out, _ = napkg(capsys, "started-in", "-p", "year=2022", "--param", "minimum=30", "--format", "json", *Q)
    assert code == 0
    bindings = json.loads(out)["results"]["bindings"]
    assert [b["notation"]["value"] for b in bindings] == ["31", "32", "33"]
    assert bindings[0]["_year"]["datatype"] == "http://www.w3.org/2001/XMLSchema#gYear"
    code, out, _ = napkg(capsys, "titles", "--format", "tsv", "--limit", "2", *Q)
    assert out.splitlines()[0] == "?action_point\t?notation\t?title\t?_lang" and len(out.splitlines()) == 3
    code, out, _ = napkg(capsys, "has-title", "-p", f"resource={AP}17", "--format", "csv", *Q)
    assert (code, out.split()) == (0, ["_askResult", "true"])
    code, out, _ = napkg(capsys, "title-graph", "-p", f"action_point={AP}03", "--format", "nt", *Q)
    assert code == 0 and len(out.strip().splitlines()) == 2 and out.startswith(f"<{AP}03>")
    code, out, _ = napkg(capsys, "title-graph", *Q)  # a graph as a "table": Turtle
    assert code == 0 and "ap:nap-2022-17" in out and "@prefix" in out


def test_table_is_aligned(capsys):
    code, out, _ = napkg(capsys, "titles", "--limit", "3", "--offset", "10", *Q)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["action_point", "notation", "title", "_lang"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[-1] == "(3 rows)"
    body = lines[2:-1]
    assert [line.split()[0] for line in body] == ["ap:nap-2022-11", "ap:nap-2022-12", "ap:nap-2022-13"]
    for column in ("notation", "title", "_lang"):  # every column starts where its heading does
        start = lines[0].index(column)
        assert all(line[start - 2 : start] == "  " and line[start] != " " for line in body), column
    code, out, _ = napkg(capsys, "has-title", "-p", "resource=https://example.org/none", *Q)
    assert (code, out.strip()) == (0, "false")


def test_string_values_stay_values(capsys):
    for text in ['" } ; DROP ALL #', "x\n} ; DROP ALL #", "?_other", "\\u0022 }"]:
        code, out, _ = napkg(capsys, "echo", "-p", f"text={text}", "--format", "json", *Q)
        assert code == 0
        assert json.loads(out)["results"]["bindings"] == [{"_text": {"type": "literal", "value": text}}]


@pytest.mark.parametrize(
    "args, named",
    [
        (["titles", "-p", "lang=fr"], "parameter 'lang'"),
        (["titles", "-p", "colour=red"], "parameter 'colour'"),
        (["echo", "-p", "n=12x"], "parameter 'n'"),
        (["echo", "-p", "iri=http://x> } ; DROP ALL #"], "parameter 'iri'"),
        (["echo", "-p", "year=24"], "parameter 'year'"),
        (["echo", "-p", "text=a", "-p", "text=b"], "parameter 'text'"),
        (["started-in"], "parameter 'year'"),
        (["titles", "-p", "lang"], "--param 'lang'"),
        (["no-such-query"], "no-such-query"),
        (["titles", "--format", "ttl"], "--format ttl"),
        (["title-graph", "--format", "csv"], "--format csv"),
        (["first-three", "--limit", "1"], "--limit"),
        (["titles", "--offset", "-1"], "--offset"),
        ([], "NAME"),
        (["titles", "--file", "x.rq"], "NAME"),
        (["--file", "/nonexistent/x.rq"], "no such file"),
    ],
)
def test_usage_and_parameter_errors_exit_2(capsys, args, named):
    code, out, err = napkg(capsys, *args, *Q)
    assert code == 2, (out, err)
    assert named in err and out == ""


def test_a_query_error_exits_1(capsys, tmp_path):
    broken = tmp_path / "broken.rq"
    broken.write_text("SELECT ?x WHERE { ?x ?y }\n")
    code, _, err = napkg(capsys, "--file", str(broken))
    assert code == 1 and "Syntax error" in err


def test_exit_codes_of_the_command(tmp_path):
    """The command in a process of its own: 2 for a bad parameter, 0 for a listing."""
    bad = subprocess.run(
        [sys.executable, "-m", "napkg.cli", "query", "titles", "-p", "lang=xx", *Q],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "parameter 'lang'" in bad.stderr
    good = subprocess.run(
        [sys.executable, "-m", "napkg.cli", "query", "--list", *Q],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert good.returncode == 0 and "first-three" in good.stdout


def test_a_file_with_or_without_header(capsys, tmp_path):
    plain = tmp_path / "plain.rq"
    plain.write_text("SELECT ?_thing WHERE { }\n")
    code, out, _ = napkg(capsys, "--file", str(plain), "-p", "thing=<https://example.org/a>", "--format", "json")
    assert code == 0 and json.loads(out)["results"]["bindings"] == [
        {"_thing": {"type": "uri", "value": "https://example.org/a"}}
    ]
    code, out, _ = napkg(capsys, "--file", str(plain), "-p", "thing=https://example.org/a", "--format", "json")
    assert json.loads(out)["results"]["bindings"] == [{"_thing": {"type": "literal", "value": "https://example.org/a"}}]
    code, _, err = napkg(capsys, "--file", str(plain), "-p", "other=1")
    assert code == 2 and "parameter 'other'" in err

    typed = tmp_path / "typed.rq"
    typed.write_text("#+ params:\n#+   n:\n#+     type: integer\n#+     default: 7\nSELECT ?_n WHERE { }\n")
    code, out, _ = napkg(capsys, "--file", str(typed), "--format", "csv")
    assert (code, csv_rows(out)) == (0, [["_n"], ["7"]])
    code, _, err = napkg(capsys, "--file", str(typed), "-p", "n=seven")
    assert code == 2 and "parameter 'n'" in err


# --- against a running server: --endpoint ---


@pytest.mark.parametrize(
    "args",
    [
        ["titles"],
        ["titles", "-p", "lang=en", "--limit", "5", "--offset", "7"],
        ["started-in", "-p", "year=2022", "-p", "minimum=20"],
        ["started-count"],
        ["started-count", "-p", "year=2021"],
        ["first-three"],
        [
            "echo",
            "-p",
            'text=" } ; DROP ALL #',
            "-p",
            "iri=http://x/?_other",
            "-p",
            "n=-5",
            "-p",
            "year=1999",
            "-p",
            "lang=nl-BE",
        ],
        ["echo", "-p", "text=x\n} UNION { ?s ?p ?o } #"],
        ["echo", "-p", "text=\\u0022 } ; DROP ALL #"],
        ["has-title", "-p", f"resource={AP}17"],
    ],
)
def test_endpoint_prints_the_same_rows(capsys, server, args):
    _, local_out, _ = napkg(capsys, *args, "--format", "csv", *Q)
    code, remote_out, err = napkg(capsys, *args, "--format", "csv", "--endpoint", server.sparql, *Q)
    assert code == 0, err
    assert remote_out == local_out
    code, remote_table, _ = napkg(capsys, *args, "--endpoint", server.sparql, *Q)
    _, local_table, _ = napkg(capsys, *args, *Q)
    assert code == 0 and remote_table == local_table


def test_endpoint_graph_results(capsys, server):
    _, local_out, _ = napkg(capsys, "title-graph", "-p", f"action_point={AP}05", "--format", "nt", *Q)
    code, remote_out, _ = napkg(
        capsys, "title-graph", "-p", f"action_point={AP}05", "--format", "nt", "--endpoint", server.sparql, *Q
    )
    assert code == 0 and sorted(remote_out.splitlines()) == sorted(local_out.splitlines())
    assert len(remote_out.splitlines()) == 2


def test_endpoint_errors_exit_1(capsys, server, tmp_path):
    service = tmp_path / "service.rq"
    service.write_text("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }\n")
    code, out, err = napkg(capsys, "--file", str(service), "--endpoint", server.sparql)
    assert code == 1 and out == ""
    # The status and the endpoint's own words, not SPARQLWrapper's generic text with a repr of bytes.
    assert f"{server.sparql} answered 400 Bad Request: SERVICE <http://127.0.0.1:9/sparql> is not allowed" in err
    assert "QueryBadFormed" not in err and "b'" not in err
    code, _, err = napkg(capsys, "titles", "--endpoint", f"http://127.0.0.1:{free_port()}/sparql", *Q)
    assert code == 1 and "the query failed" in err
    # A bad parameter is still a usage error, found before anything is sent.
    code, _, err = napkg(capsys, "titles", "-p", "lang=fr", "--endpoint", server.sparql, *Q)
    assert code == 2 and "parameter 'lang'" in err


# --- VALUES blocks against substitutions ---


def canonical(result):
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        return sorted(tuple(str(s[v]) for v in variables) for s in result)
    return sorted(str(t) for t in result)


def every_query():
    for folder in (FIXTURES, QUERIES):
        for name, query in catalogue(folder).items():
            # A federated example calls another register, and there VALUES and substitutions differ on
            # purpose (only VALUES reach a SERVICE): tests/test_federated_examples.py covers it.
            if not query.endpoints:
                yield pytest.param(query, id=f"{folder.name}/{name}")


@pytest.mark.parametrize("query", list(every_query()))
def test_values_blocks_give_the_rows_of_substitutions(query):
    """For the test catalogue and whatever the project's catalogue holds: the query with its parameters
    (defaults, or a value for a required one) in VALUES blocks gives what the substitutions give."""
    samples = {"iri": AP + "17", "year": "2022", "integer": "1", "string": "x", "language": "nl"}
    values = {
        p.name: (p.enum[0] if p.enum else samples[p.type]) for p in query.params if p.required and p.default is None
    }
    bound = query.substitutions(values)
    store = local.engine().store
    expected = canonical(store.query(query.text, use_default_graph_as_union=True, substitutions=bound))
    try:
        text = values_blocks.with_values(query.text, bound)
    except ValueError:
        pytest.skip("no WHERE clause for a VALUES block")
    assert canonical(store.query(text, use_default_graph_as_union=True)) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SELECT ?_a WHERE { }", 'SELECT ?_a WHERE {\n  VALUES (?_a) { ("v") } }'),
        ("ASK { ?s ?p ?_a }", 'ASK {\n  VALUES (?_a) { ("v") } ?s ?p ?_a }'),
        (
            'SELECT * WHERE { # { in a comment\n ?s ?p "}" }',
            'SELECT * WHERE {\n  VALUES (?_a) { ("v") } # { in a comment\n ?s ?p "}" }',
        ),
        (
            "CONSTRUCT { ?_a ?p ?o } WHERE { ?_a ?p ?o }",
            'CONSTRUCT { ?_a ?p ?o } WHERE {\n  VALUES (?_a) { ("v") } ?_a ?p ?o }',
        ),
        (
            "SELECT * WHERE { ?s ?p ?o OPTIONAL { ?s ?q ?_a } }",
            'SELECT * WHERE {\n  VALUES (?_a) { ("v") } ?s ?p ?o OPTIONAL {\n  VALUES (?_a) { ("v") } ?s ?q ?_a } }',
        ),
        (
            "SELECT * WHERE { { SELECT ?s WHERE { ?s ?p ?_a } } }",  # not projected: its own ?_a
            'SELECT * WHERE {\n  VALUES (?_a) { ("v") } { SELECT ?s WHERE { ?s ?p ?_a } } }',
        ),
        ("SELECT * WHERE { VALUES ?x { 1 } }", 'SELECT * WHERE {\n  VALUES (?_a) { ("v") } VALUES ?x { 1 } }'),
    ],
)
def test_where_the_values_blocks_go(text, expected):
    assert values_blocks.with_values(text, {ox.Variable("_a"): ox.Literal("v")}) == expected


@pytest.mark.parametrize("text", ["DESCRIBE <urn:x>", "CONSTRUCT WHERE { ?_a ?p ?o }"])
def test_queries_without_room_for_values(text):
    with pytest.raises(ValueError):
        values_blocks.with_values(text, {ox.Variable("_a"): ox.Literal("v")})
