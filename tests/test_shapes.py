"""The shapes and checks against fixtures, in the style of biolink-model's valid/invalid examples.

* fixtures/valid/base.ttl is one small, complete graph that conforms without a single finding;
* each fixtures/invalid/*.ru is a SPARQL Update that, applied to base.ttl, breaks exactly one rule (a named
  shape of shapes/ or a query of queries/checks/). Its header says which rule, on which focus node and path,
  at which severity; the test asserts the report holds exactly that one finding.

A new shape or check without an invalid fixture fails test_every_rule_has_an_invalid_fixture.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import RDF, RDFS, SH

from napkg.cli import main
from napkg.load import ONTOLOGY, LoadError, load
from napkg.namespaces import NAPSH, PREFIXES
from napkg.validate import Finding, validate

HERE = Path(__file__).parent
ROOT = HERE.parent
SHAPES = ROOT / "shapes"
CHECKS = ROOT / "queries" / "checks"
BASE = HERE / "fixtures" / "valid" / "base.ttl"
INVALID = sorted((HERE / "fixtures" / "invalid").glob("*.ru"))

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
    return {short(s) for s in shapes.subjects(SH.path, None)
            if isinstance(s, rdflib.URIRef) and str(s).startswith(str(NAPSH)) and "-" in str(s)[len(NAPSH):]}


def node_patterns(shapes: rdflib.Graph) -> set[str]:
    """Node shapes whose sh:pattern applies to the focus node itself (its IRI)."""
    return {short(s) for s in shapes.subjects(SH.pattern, None)
            if (s, RDF.type, SH.NodeShape) in shapes and isinstance(s, rdflib.URIRef)}


def warning_rules(shapes: rdflib.Graph) -> set[str]:
    return {short(s) for s in shapes.subjects(SH.severity, SH.Warning) if isinstance(s, rdflib.URIRef)}


def broken_copy(fixture: Path, directory: Path) -> Path:
    """base.ttl with the fixture's update applied, written as Turtle."""
    graph = rdflib.Graph().parse(BASE, format="turtle")
    graph.update(fixture.read_text(encoding="utf-8"))
    path = directory / f"{fixture.stem}.ttl"
    graph.serialize(path, format="turtle")
    return path


def key(finding: Finding) -> tuple[str, str, str]:
    return finding.focus, finding.path, finding.rule


# --- The valid fixture ------------------------------------------------------------------------------

def test_base_conforms_without_any_finding():
    report = validate(load([ONTOLOGY, BASE]))
    assert report.findings == []
    assert report.conforms and report.exit_code == 0


def test_base_validates_from_the_command_line(capsys):
    assert main(["validate", str(BASE)]) == 0
    assert "0 violation(s), 0 warning(s)" in capsys.readouterr().out


# --- The guard: every rule has a fixture, every target class an instance ----------------------------

def test_every_rule_has_an_invalid_fixture():
    assert len(INVALID) >= 40, f"only {len(INVALID)} invalid fixtures in {HERE / 'fixtures' / 'invalid'}"
    shapes = shapes_graph()
    rules = property_shapes(shapes) | node_patterns(shapes) | check_names()
    assert check_names(), "no queries/checks/*-violation.rq found"
    covered = {header(f).get("rule") for f in INVALID}
    assert sorted(rules - covered) == [], "rules without an invalid fixture"
    assert sorted(covered - rules) == [], "fixtures naming a rule that does not exist"


def test_every_target_class_has_an_instance_in_base_and_ontology():
    shapes = shapes_graph()
    data = load([ONTOLOGY, BASE]).union()
    missing = []
    for shape, cls in shapes.subject_objects(SH.targetClass):
        # SHACL's notion of an instance: rdf:type, then rdfs:subClassOf* in the data graph.
        if not data.query("ASK { ?x a/rdfs:subClassOf* ?class }", initNs={"rdfs": RDFS},
                          initBindings={"class": cls}).askAnswer:
            missing.append(f"{short(shape)} -> {cls}")
    assert not missing, "target classes without an instance in base.ttl + ontology/"


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
        assert PREFIXES.get(prefix) == iri, f"PREFIX {prefix}: disagrees with napkg.namespaces.PREFIXES"


# --- Every invalid fixture breaks exactly its rule ----------------------------------------------------

@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_breaks_exactly_its_rule(fixture, tmp_path, capsys):
    expected = header(fixture)
    broken = broken_copy(fixture, tmp_path)

    report = validate(load([ONTOLOGY, broken]))
    same_severity = [key(f) for f in report.findings if f.severity == expected["severity"]]
    assert same_severity == [(expected["focus"], expected["path"], expected["rule"])], "findings:\n" + (
        "\n".join(f"  {f.severity} {f.focus} {f.path} [{f.rule}]" for f in report.findings) or "  (none)")

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
ap:97 a nap:ActionPoint ;
    nap:theme <https://w3id.org/nap-bhr/id/theme/01> ;
    nap:pillar <https://w3id.org/nap-bhr/id/ungp-pillar/1> ,, .
ap:96 a nap:ActionPoint .
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


def test_broken_turtle_is_not_half_loaded(tmp_path):
    bad = tmp_path / "broken.ttl"
    bad.write_text(BROKEN_TURTLE, encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load([ONTOLOGY, BASE, bad])
    assert error.value.path == str(bad.resolve())
    assert error.value.line == BROKEN_LINE
    # All or nothing: load() returns no graph at all, not the triples before the error.
    with pytest.raises(LoadError):
        load([bad])


# --- Output formats -----------------------------------------------------------------------------------

FORMAT_FIXTURE = HERE / "fixtures" / "invalid" / "action-point-theme-missing.ru"


@pytest.fixture
def broken_file(tmp_path) -> Path:
    return broken_copy(FORMAT_FIXTURE, tmp_path)


def test_format_json(broken_file, capsys):
    expected = header(FORMAT_FIXTURE)
    assert main(["validate", "--format", "json", str(broken_file)]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["conforms"] is False
    assert [(r["focus"], r["path"], r["rule"], r["severity"]) for r in result["results"]] == \
        [(expected["focus"], expected["path"], expected["rule"], "Violation")]
    assert result["results"][0]["file"].endswith(broken_file.name) and result["results"][0]["line"] > 0


def test_format_github(broken_file, capsys):
    assert main(["validate", "--format", "github", str(broken_file)]) == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1, out
    match = re.match(r"::error file=([^,]+),line=(\d+),", errors[0])
    assert match, errors[0]
    assert Path(match[1]).name == broken_file.name and int(match[2]) > 0
    assert "napsh%3AActionPoint-theme" in errors[0]


def test_format_turtle(broken_file, capsys):
    assert main(["validate", "--format", "turtle", str(broken_file)]) == 1
    graph = rdflib.Graph().parse(data=capsys.readouterr().out, format="turtle")
    reports = list(graph.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 1
    assert graph.value(reports[0], SH.conforms) == rdflib.Literal(False)
    assert (None, SH.sourceShape, NAPSH["ActionPoint-theme"]) in graph
