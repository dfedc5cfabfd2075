"""The shapes and checks against fixtures, in the style of biolink-model's valid/invalid examples.

* fixtures/valid/base.trig is one small, complete dataset that conforms without a single finding. Its named
  graphs are the project's graphs (graph/report-2099, graph/editorial, graph/translations ...), since some
  rules are about which graph says what;
* each fixtures/invalid/*.ru is a SPARQL Update that, applied to base.trig, breaks exactly one rule (a named
  shape of shapes/ or a query of queries/checks/). Its header says which rule, on which focus node and path,
  at which severity; the test asserts the report holds exactly that one finding.

An update sees the dataset as napkg serve has it, with the ontology as graph/ontology and the union of all
graphs as its default graph. What it deletes from the default graph is deleted from every graph; what it
inserts there goes to the graph that already describes the triple's subject (the translations graph aside),
or to graph/inserted for a new subject. GRAPH <...> { } puts a triple in a graph of one's choice.

The loader names a graph by the folder of its file (data/X/... -> graph/X), so each graph of the result is
written to data/<name>.ttl in a temporary folder, whose files the loader then names as the project's.

A new shape or check without an invalid fixture fails test_every_rule_has_an_invalid_fixture.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import RDF, RDFS, SH

from napkg.cli import main
from napkg.graph.load import ONTOLOGY, LoadError, load, rdf_files
from napkg.graph.namespaces import GRAPH, NAPSH, PREFIXES
from napkg.graph.validate import Finding, validate

HERE = Path(__file__).parent
ROOT = HERE.parent
SHAPES = ROOT / "shapes"
CHECKS = ROOT / "queries" / "checks"
BASE = HERE / "fixtures" / "valid" / "base.trig"
INVALID = sorted((HERE / "fixtures" / "invalid").glob("*.ru"))

ONTOLOGY_GRAPH = GRAPH + "ontology"
TRANSLATIONS_GRAPH = GRAPH + "translations"
INSERTED_GRAPH = GRAPH + "inserted"

HEADER = re.compile(r"^# (focus|path|rule|severity):[ \t]*(.*?)\s*$")
PREFIX_DECLARATION = re.compile(r"^PREFIX\s+([\w-]*):\s*<([^>]*)>", re.MULTILINE)


def header(fixture: Path) -> dict[str, str]:
    """The focus, path, rule and severity that a fixture's opening comment lines declare."""
    found: dict[str, str] = {}
    for line in fixture.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if match := HEADER.match(line):
            found[match[1]] = match[2]
    return found


@functools.cache
def shapes_graph() -> rdflib.Graph:
    graph = rdflib.Graph()
    for path in sorted(SHAPES.glob("*.ttl")):
        graph.parse(path)
    return graph


def short(term: rdflib.term.Node) -> str:
    return "napsh:" + str(term).removeprefix(str(NAPSH))


def check_names() -> set[str]:
    return {f"queries/checks/{p.name}" for p in CHECKS.glob("*-violation.rq")}


def property_shapes(shapes: rdflib.Graph) -> set[str]:
    """Named property shapes: napsh:<Class>-<property> with an sh:path."""
    return {
        short(s)
        for s in shapes.subjects(SH.path, None)
        if isinstance(s, rdflib.URIRef) and str(s).startswith(str(NAPSH)) and "-" in str(s)[len(NAPSH) :]
    }


def node_patterns(shapes: rdflib.Graph) -> set[str]:
    """Node shapes whose sh:pattern applies to the focus node itself (its IRI)."""
    return {
        short(s)
        for s in shapes.subjects(SH.pattern, None)
        if (s, RDF.type, SH.NodeShape) in shapes and isinstance(s, rdflib.URIRef)
    }


def warning_rules(shapes: rdflib.Graph) -> set[str]:
    return {short(s) for s in shapes.subjects(SH.severity, SH.Warning) if isinstance(s, rdflib.URIRef)}


# --- The fixture dataset: base.trig, an update, and the data/ folder the loader reads -----------------


@functools.cache
def ontology_triples() -> frozenset[ox.Triple]:
    return frozenset(
        q.triple for path in rdf_files(ONTOLOGY) for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
    )


@functools.cache
def base_quads() -> tuple[ox.Quad, ...]:
    quads = list(ox.parse(path=str(BASE), format=ox.RdfFormat.TRIG))
    assert all(isinstance(q.graph_name, ox.NamedNode) for q in quads), "base.trig puts every triple in a named graph"
    return tuple(quads) + tuple(
        ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(ONTOLOGY_GRAPH)) for t in ontology_triples()
    )


def updated_graphs(update: str | None = None) -> dict[str, set[ox.Triple]]:
    """base.trig and the ontology, graph by graph, after the update (see the module's docstring)."""
    store = ox.Store()
    store.extend(base_quads())
    store.extend(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in base_quads())

    def union() -> set[ox.Triple]:
        return {q.triple for q in store.quads_for_pattern(None, None, None, ox.DefaultGraph())}

    before = union()
    if update:
        store.update(update)
    after = union()
    graphs: dict[str, set[ox.Triple]] = {}
    for quad in store:
        if isinstance(quad.graph_name, ox.NamedNode):
            graphs.setdefault(quad.graph_name.value, set()).add(quad.triple)
    for triple in before - after:
        for triples in graphs.values():
            triples.discard(triple)
    homes: dict[object, str] = {}
    for name in sorted(graphs, reverse=True):
        if name != TRANSLATIONS_GRAPH:
            homes.update((t.subject, name) for t in graphs[name])
    for triple in after - before:
        graphs.setdefault(homes.get(triple.subject, INSERTED_GRAPH), set()).add(triple)
    return graphs


def write_data(graphs: dict[str, set[ox.Triple]], directory: Path) -> Path:
    """Each graph as data/<name>.ttl under directory; for the ontology only what the update added to it
    (the real ontology/ is loaded beside it). Returns the data folder."""
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, triples in graphs.items():
        local = name.removeprefix(GRAPH)
        assert name.startswith(GRAPH) and re.fullmatch(r"[a-z0-9-]+", local), f"not a project graph: {name}"
        if name == ONTOLOGY_GRAPH:
            assert ontology_triples() <= triples, "a fixture may add to the ontology, not remove from it"
            triples = triples - ontology_triples()
        if triples:
            ox.serialize(sorted(triples, key=str), str(data / f"{local}.ttl"), ox.RdfFormat.TURTLE, prefixes=PREFIXES)
    return data


@pytest.fixture
def layout(tmp_path):
    """layout(update) -> the data/ folder of base.trig after the update: one file a named graph, data/X.ttl,
    which the loader puts in graph/X as it does the project's data/."""

    def make(update: str | None = None, name: str = "fixture") -> Path:
        return write_data(updated_graphs(update), tmp_path / name).resolve()

    return make


def broken_copy(fixture: Path, layout) -> Path:
    """base.trig with the fixture's update applied, as a data/ folder."""
    return layout(fixture.read_text(encoding="utf-8"), fixture.stem)


def key(finding: Finding) -> tuple[str, str, str]:
    return finding.focus, finding.path, finding.rule


# --- The valid fixture ------------------------------------------------------------------------------


def test_base_conforms_without_any_finding(layout):
    report = validate(load([ONTOLOGY, layout()]))
    assert report.findings == []
    assert report.conforms and report.exit_code == 0


def test_base_validates_from_the_command_line(layout, capsys):
    assert main(["validate", str(layout())]) == 0
    assert "0 violation(s), 0 warning(s)" in capsys.readouterr().out


def test_base_has_the_graphs_the_rules_are_about(layout):
    names = set(load([ONTOLOGY, layout()]).graphs)
    wanted = ("ontology", "action-points", "report-2099", "editorial", "translations", "dataset")
    assert {GRAPH + g for g in wanted} <= names
    assert INSERTED_GRAPH not in names


def test_an_update_without_graph_acts_on_the_union():
    """DELETE removes a triple from every graph; INSERT adds to the graph of the subject, or graph/inserted."""
    graphs = updated_graphs("""
        PREFIX sa: <https://w3id.org/nap-bhr/id/status-assessment/>
        PREFIX dct: <http://purl.org/dc/terms/>
        DELETE WHERE { sa:2099-98 dct:title ?title } ;
        INSERT DATA { sa:2099-98 dct:title "Nieuwe titel"@nl . sa:2099-97 dct:title "Een nieuwe rij"@nl }""")
    entry = ox.NamedNode("https://w3id.org/nap-bhr/id/status-assessment/2099-98")
    titles = {
        name: {t.object.value for t in triples if t.subject == entry and t.predicate.value.endswith("/title")}
        for name, triples in graphs.items()
    }
    assert titles[GRAPH + "report-2099"] == {"Nieuwe titel"} and titles[TRANSLATIONS_GRAPH] == set()
    new_entry = "https://w3id.org/nap-bhr/id/status-assessment/2099-97"
    assert {t.subject.value for t in graphs[INSERTED_GRAPH]} == {new_entry}


# --- The guard: every rule has a fixture, every target class an instance ----------------------------


def test_every_rule_has_an_invalid_fixture():
    assert len(INVALID) >= 40, f"only {len(INVALID)} invalid fixtures in {HERE / 'fixtures' / 'invalid'}"
    shapes = shapes_graph()
    rules = property_shapes(shapes) | node_patterns(shapes) | check_names()
    assert check_names(), "no queries/checks/*-violation.rq found"
    covered = {header(f).get("rule") for f in INVALID}
    assert sorted(rules - covered) == [], "rules without an invalid fixture"
    assert sorted(covered - rules) == [], "fixtures naming a rule that does not exist"


def test_every_target_class_has_an_instance_in_base_and_ontology(layout):
    shapes = shapes_graph()
    data = load([ONTOLOGY, layout()]).union()
    missing = []
    for shape, cls in shapes.subject_objects(SH.targetClass):
        # SHACL's notion of an instance: rdf:type, then rdfs:subClassOf* in the data graph.
        if not data.query(
            "ASK { ?x a/rdfs:subClassOf* ?class }", initNs={"rdfs": RDFS}, initBindings={"class": cls}
        ).askAnswer:
            missing.append(f"{short(shape)} -> {cls}")
    assert not missing, "target classes without an instance in base.trig + ontology/"


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_header_is_consistent(fixture):
    found = header(fixture)
    assert set(found) == {"focus", "path", "rule", "severity"}, f"{fixture.name}: header incomplete"
    lines = fixture.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(f"# Breaks {found['rule']}: "), "the first line says which rule breaks, and how"
    shapes = shapes_graph()
    rule = found["rule"]
    assert found["severity"] == ("Warning" if rule in warning_rules(shapes) else "Violation")
    if rule in node_patterns(shapes):
        assert found["path"] == "", "a node-level pattern has no path"
    else:
        assert found["path"].startswith("http"), "a property rule names its full path IRI"
    assert found["focus"].startswith("http"), "the focus is a full IRI"
    for prefix, iri in PREFIX_DECLARATION.findall("\n".join(lines)):
        assert PREFIXES.get(prefix) == iri, f"PREFIX {prefix}: disagrees with napkg.graph.namespaces.PREFIXES"


# --- Every invalid fixture breaks exactly its rule ----------------------------------------------------


# Each validation takes about half a second (pySHACL over base.trig and the ontology), so the fast tier
# (`make test-fast`) takes every fourth fixture and the full suite all of them.
SAMPLED = [pytest.param(f, marks=() if i % 4 == 0 else pytest.mark.slow, id=f.stem) for i, f in enumerate(INVALID)]


@pytest.mark.parametrize("fixture", SAMPLED)
def test_invalid_fixture_breaks_exactly_its_rule(fixture, layout):
    expected = header(fixture)
    broken = broken_copy(fixture, layout)

    report = validate(load([ONTOLOGY, broken]))
    same_severity = [key(f) for f in report.findings if f.severity == expected["severity"]]
    assert same_severity == [(expected["focus"], expected["path"], expected["rule"])], "findings:\n" + (
        "\n".join(f"  {f.severity} {f.focus} {f.path} [{f.rule}]" for f in report.findings) or "  (none)"
    )


# The same fixtures through `napkg validate`: the exit code by severity. Slow (a second validation of each
# fixture); the fast tier keeps the command line's own tests above and below.
@pytest.mark.slow
@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_fails_the_command_line_by_its_severity(fixture, layout, capsys):
    expected = header(fixture)
    broken = broken_copy(fixture, layout)

    code = main(["validate", str(broken)])
    out = capsys.readouterr().out
    if expected["severity"] == "Violation":
        assert code == 1
    else:
        assert code == 0, "a warning does not fail validation"
        assert "Warning: " in out and f"[{expected['rule']}]" in out


# --- Errors: a file that does not parse ---------------------------------------------------------------

BROKEN_TURTLE = """\
@prefix nap: <https://w3id.org/nap-bhr/def#> .
@prefix ap: <https://w3id.org/nap-bhr/id/action-point/> .
ap:nap-2022-97 a nap:ActionPoint ;
    nap:theme <https://w3id.org/nap-bhr/id/theme/01> ;
    nap:pillar <https://w3id.org/nap-bhr/id/ungp-pillar/1> ,, .
ap:nap-2022-96 a nap:ActionPoint .
"""
BROKEN_LINE = 5


def test_broken_turtle_exits_2_and_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "broken.ttl"
    bad.write_text(BROKEN_TURTLE, encoding="utf-8")
    assert main(["validate", str(bad)]) == 2
    captured = capsys.readouterr()
    assert f"{bad.resolve()}:{BROKEN_LINE}:" in captured.err
    assert "Conforms" not in captured.out and "violation" not in captured.out


@pytest.mark.parametrize("given", ["missing.ttl", "empty-folder", "folder-without-rdf"])
def test_nothing_to_validate_exits_2(tmp_path, capsys, given):
    """A wrong path in a user's CI must fail, not validate an empty graph that conforms."""
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "folder-without-rdf" / "sub").mkdir(parents=True)
    (tmp_path / "folder-without-rdf" / "README.md").write_text("not RDF", encoding="utf-8")
    assert main(["validate", str(tmp_path / given)]) == 2
    captured = capsys.readouterr()
    assert str(tmp_path / given) in captured.err
    assert ("no such file" if given.endswith(".ttl") else "no RDF files in this folder") in captured.err
    assert "Conforms" not in captured.out


def test_broken_turtle_is_not_half_loaded(tmp_path, layout):
    bad = tmp_path / "broken.ttl"
    bad.write_text(BROKEN_TURTLE, encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load([ONTOLOGY, layout(), bad])
    assert error.value.path == str(bad.resolve())
    assert error.value.line == BROKEN_LINE
    # All or nothing: load() returns no graph at all, not the triples before the error.
    with pytest.raises(LoadError):
        load([bad])


# --- Output formats -----------------------------------------------------------------------------------

FORMAT_FIXTURE = HERE / "fixtures" / "invalid" / "action-point-theme-missing.ru"


#: The file of the broken data that describes the focus of FORMAT_FIXTURE (the action point).
FORMAT_FILE = "action-points.ttl"


@pytest.fixture
def broken_file(layout) -> Path:
    return broken_copy(FORMAT_FIXTURE, layout)


def test_format_json(broken_file, capsys):
    expected = header(FORMAT_FIXTURE)
    assert main(["validate", "--format", "json", str(broken_file)]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["conforms"] is False
    assert [(r["focus"], r["path"], r["rule"], r["severity"]) for r in result["results"]] == [
        (expected["focus"], expected["path"], expected["rule"], "Violation")
    ]
    assert Path(result["results"][0]["file"]).name == FORMAT_FILE and result["results"][0]["line"] > 0


def test_format_github(broken_file, capsys):
    assert main(["validate", "--format", "github", str(broken_file)]) == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1, out
    match = re.match(r"::error file=([^,]+),line=(\d+),", errors[0])
    assert match, errors[0]
    assert Path(match[1]).name == FORMAT_FILE and int(match[2]) > 0
    assert "napsh%3AActionPoint-theme" in errors[0]


def test_format_turtle(broken_file, capsys):
    assert main(["validate", "--format", "turtle", str(broken_file)]) == 1
    graph = rdflib.Graph().parse(data=capsys.readouterr().out, format="turtle")
    reports = list(graph.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 1
    assert graph.value(reports[0], SH.conforms) == rdflib.Literal(False)
    assert (None, SH.sourceShape, NAPSH["ActionPoint-theme"]) in graph
