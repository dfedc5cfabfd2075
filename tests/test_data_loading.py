"""napkg serve --data FILE and --graph IRI=FILE: every RDF format the server reads, where its triples go, and
what happens to a file it cannot read (engine.build_store, and the exit of `napkg serve`).

--data puts a file's triples in the default graph and keeps the graphs of an N-Quads or TriG file;
--graph puts everything in the file into the named graph. A file that does not parse stops the server
before it serves anything, with the file, line and column.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from napkg import cli
from napkg.graph.load import LoadError
from napkg.sparql.engine import Dataset, build_store

EX = "http://example.org/"
G = ox.NamedNode("http://example.org/g")
TARGET = ox.NamedNode("http://example.org/target")

# Each file: two triples in its default graph (one with a relative IRI), and for the quad formats one more
# in the named graph <g>.
FILES = {
    "data.ttl": '@prefix ex: <http://example.org/> .\nex:a ex:p "one" .\n<rel> ex:p "two" .\n',
    "data.nt": f'<{EX}a> <{EX}p> "one" .\n<{EX}rel> <{EX}p> "two" .\n',
    "data.rdf": (
        '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        f'xmlns:ex="{EX}">\n<rdf:Description rdf:about="{EX}a"><ex:p>one</ex:p></rdf:Description>\n'
        '<rdf:Description rdf:about="rel"><ex:p>two</ex:p></rdf:Description>\n</rdf:RDF>\n'
    ),
    "data.jsonld": (
        '{"@context": {"ex": "http://example.org/"}, "@graph": [{"@id": "ex:a", "ex:p": "one"}, '
        '{"@id": "rel", "ex:p": "two"}]}'
    ),
    "data.nq": f'<{EX}a> <{EX}p> "one" .\n<{EX}rel> <{EX}p> "two" .\n<{EX}b> <{EX}p> "three" <{EX}g> .\n',
    "data.trig": (
        '@prefix ex: <http://example.org/> .\nex:a ex:p "one" .\n<rel> ex:p "two" .\nex:g { ex:b ex:p "three" }\n'
    ),
}
QUADS = ("data.nq", "data.trig")
ABSOLUTE = ("data.nt", "data.nq")  # N-Triples and N-Quads have no relative IRIs


def two(tmp_path, name: str) -> tuple[str, str]:
    """The second triple's (subject, object): a relative IRI is resolved against the file's own location."""
    return (EX + "rel" if name in ABSOLUTE else (tmp_path / "rel").as_uri(), "two")


def written(tmp_path, name: str, text: str | None = None):
    path = tmp_path / name
    path.write_text(FILES[name] if text is None else text, encoding="utf-8")
    return path


def in_graph(store: ox.Store, graph) -> set[tuple[str, str]]:
    return {(q.subject.value, q.object.value) for q in store.quads_for_pattern(None, None, None, graph)}


@pytest.mark.parametrize("name", list(FILES))
def test_data_goes_to_the_default_graph_and_quads_keep_their_graphs(tmp_path, name):
    path = written(tmp_path, name)
    store = build_store(Dataset(default=[path]))
    assert in_graph(store, ox.DefaultGraph()) == {(EX + "a", "one"), two(tmp_path, name)}
    if name in QUADS:
        assert in_graph(store, G) == {(EX + "b", "three")}
    assert len(store) == (3 if name in QUADS else 2)


@pytest.mark.parametrize("name", list(FILES))
def test_a_named_graph_gets_everything_in_its_file(tmp_path, name):
    path = written(tmp_path, name)
    store = build_store(Dataset(named={TARGET.value: [path]}))
    expected = {(EX + "a", "one"), two(tmp_path, name)}
    if name in QUADS:
        expected.add((EX + "b", "three"))
    assert in_graph(store, TARGET) == expected
    assert len(store) == len(expected)  # nothing in the default graph or in <g>


def test_json_ld_graphs_are_merged_into_the_target(tmp_path):
    text = '{"@context": {"ex": "http://example.org/"}, "@id": "ex:g", "@graph": [{"@id": "ex:b", "ex:p": "three"}]}'
    store = build_store(Dataset(default=[written(tmp_path, "data.jsonld", text)]))
    assert in_graph(store, ox.DefaultGraph()) == {(EX + "b", "three")}


def test_several_files_and_graphs_together(tmp_path):
    ttl, nq = written(tmp_path, "data.ttl"), written(tmp_path, "data.nq")
    store = build_store(Dataset(default=[ttl, nq], named={TARGET.value: [ttl]}))
    assert len(in_graph(store, ox.DefaultGraph())) == 3  # (a, one) is in both files: once
    assert len(in_graph(store, G)) == 1 and len(in_graph(store, TARGET)) == 2


@pytest.mark.parametrize(
    "name, bad, line",
    [
        ("data.ttl", '@prefix ex: <http://example.org/> .\nex:a ex:p "one" .\nex:b ex:p .\n', 3),
        ("data.nt", f'<{EX}a> <{EX}p> "one" .\n<{EX}b> <{EX}p> oops .\n', 2),
        ("data.nq", f'<{EX}a> <{EX}p> "one" <{EX}g> .\n<{EX}b> <{EX}p> "two" <{EX}g>\n', 3),  # the dot missing
        ("data.trig", '@prefix ex: <http://example.org/> .\nex:g {\n ex:b ex:p "three" \n', None),
        (
            "data.rdf",
            '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n<oops',
            None,
        ),
    ],
)
@pytest.mark.parametrize("where", ["default", "named"])
def test_a_file_that_does_not_parse_names_itself_and_its_line(tmp_path, name, bad, line, where):
    path = written(tmp_path, name, bad)
    dataset = Dataset(default=[path]) if where == "default" else Dataset(named={TARGET.value: [path]})
    with pytest.raises(LoadError) as caught:
        build_store(dataset)
    assert str(path) in str(caught.value)
    if line is not None:
        assert f"{path}:{line}:" in str(caught.value)


def test_unknown_and_missing_files_are_refused(tmp_path):
    odd = tmp_path / "data.csv"
    odd.write_text("a,b\n")
    with pytest.raises(LoadError, match="unknown RDF file type"):
        build_store(Dataset(default=[odd]))
    with pytest.raises(LoadError, match="No such file"):
        build_store(Dataset(default=[tmp_path / "absent.ttl"]))


@pytest.mark.parametrize("option, value", [("--data", "{path}"), ("--graph", "http://example.org/target={path}")])
def test_serve_exits_with_the_error_before_serving(tmp_path, capsys, option, value):
    path = written(tmp_path, "data.nt", f"<{EX}a> <{EX}p> oops .\n")
    assert cli.main(["serve", option, value.format(path=path)]) == cli.EXIT_ERROR
    assert f"napkg serve: {path}:1:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "option, value, says",
    [
        ("--workers", "0", "at least 1"),
        ("--workers", "x", "expected a number"),
        ("--queue", "-1", "at least 0"),
        ("--max-rows", "0", "at least 1"),
        ("--max-body", "0", "at least 1"),
        ("--max-depth", "0", "at least 1"),
        ("--max-query-length", "0", "at least 1"),
        ("--memory-limit", "-1", "at least 0"),
        ("--service-max-bytes", "0", "at least 1"),
        ("--port", "65536", "port from 0 to 65535"),
        ("--timeout", "0", "above 0"),
        ("--timeout", "-5", "above 0"),
        ("--timeout", "nan", "above 0"),
        ("--timeout", "inf", "above 0"),
        ("--request-timeout", "0", "above 0"),
        ("--service-timeout", "-1", "above 0"),
        ("--worker-nice", "-1", "at least 0"),
        ("--worker-nice", "20", "from 0 to 19"),
    ],
)
def test_serve_refuses_a_limit_that_means_nothing(capsys, option, value, says):
    """--workers 0 ended in a StopIteration traceback; --timeout -5 served with no time limit that worked."""
    with pytest.raises(SystemExit) as exit:
        cli.main(["serve", option, value])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: " in err and says in err, err


@pytest.mark.parametrize(
    "option, value",
    [
        ("--workers", "1"),
        ("--queue", "0"),
        ("--timeout", "0.5"),
        ("--port", "0"),
        ("--memory-limit", "0"),
        ("--request-timeout", "1e3"),
        ("--worker-nice", "0"),
        ("--worker-nice", "19"),
    ],
)
def test_serve_accepts_the_smallest_limits_that_mean_something(option, value):
    args = cli.parser().parse_args(["serve", option, value])
    assert getattr(args, option[2:].replace("-", "_")) == (float(value) if "." in value or "e" in value else int(value))
