"""Graphs to a verdict: SHACL shapes plus the SPARQL checks SHACL cannot say, as one report.

The shapes see the union of the loaded graphs; the checks see the named graphs too (GRAPH ?g), with the
union as their default graph. Exit codes follow pySHACL: 0 conforms, 1 violations, 2 an error (a file that
does not parse).
Warnings are reported but do not fail validation.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import rdflib
from rdflib.namespace import SH

from .load import CHECKS, SHAPES, Loaded, load, rdf_files, to_store
from .namespaces import PREFIXES


@dataclass(frozen=True)
class Finding:
    severity: str  # "Violation" or "Warning"
    focus: str
    path: str
    message: str
    rule: str  # the shape or check that found it
    file: str = ""
    line: int = 0

    @property
    def is_violation(self) -> bool:
        return self.severity == "Violation"


@dataclass
class Report:
    findings: list[Finding]
    shacl_graph: rdflib.Graph

    @property
    def conforms(self) -> bool:
        return not any(f.is_violation for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 0 if self.conforms else 1


@functools.cache
def shapes_graph() -> rdflib.Graph:
    """The shapes, parsed once per process (they do not change while it runs)."""
    graph = rdflib.Graph()
    for path in rdf_files(SHAPES):
        graph.parse(path)
    return graph


@functools.cache
def check_queries() -> dict[str, str]:
    """name -> text of every queries/checks/*-violation.rq."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(CHECKS.glob("*-violation.rq"))}


def short(term: rdflib.term.Node | None) -> str:
    """A prefixed name where one of our prefixes fits, else the IRI or literal as is."""
    if term is None:
        return ""
    text = str(term)
    for prefix, iri in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
        if text.startswith(iri) and re.fullmatch(r"[\w.-]*", text[len(iri) :]):
            return f"{prefix}:{text[len(iri) :]}"
    return text


def _message(results: rdflib.Graph, result: rdflib.term.Node, lang: str) -> str:
    messages = list(results.objects(result, SH.resultMessage))
    for wanted in (lang, "en", None):
        for m in messages:
            if getattr(m, "language", None) == wanted:
                return str(m)
    return str(messages[0]) if messages else ""


def where_described(loaded: Loaded, focus: rdflib.term.Node) -> tuple[str, int]:
    """The file that describes a focus node and the line where its description starts."""
    files = loaded.subject_files.get(focus)
    if not files:
        return "", 0
    path = files[0]
    names = {str(focus), short(focus)}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if any(stripped.startswith(n + " ") or stripped.startswith(f"<{n}>") for n in names):
            return str(path), number
    return str(path), 1


def run_checks(loaded: Loaded, lang: str) -> list[Finding]:
    """Each check over the loaded named graphs, with their union as the default graph (as napkg serve has
    them): a check reads the union, and GRAPH ?g where the rule is about which graph says what (the English in
    the translations graph, editorial links in the editorial graph). Oxigraph runs them: rdflib's engine took
    minutes on a 10x graph."""
    store = to_store(loaded)
    findings = []
    for name, text in check_queries().items():
        solutions = store.query(text, use_default_graph_as_union=True)
        assert isinstance(solutions, ox.QuerySolutions), f"{name} is a SELECT query"
        variables = [v.value for v in solutions.variables]
        for row in solutions:
            values = {v: row[v].value for v in variables if row[v] is not None}
            focus = values.get("focus", "")
            message = values.get(f"message_{lang}") or values.get("message") or values.get("message_en") or name
            file, line = where_described(loaded, rdflib.URIRef(focus))
            findings.append(
                Finding(
                    values.get("severity", "Violation"),
                    focus,
                    values.get("path", ""),
                    message,
                    f"queries/checks/{name}.rq",
                    file,
                    line,
                )
            )
    return findings


def validate(loaded: Loaded, lang: str = "en") -> Report:
    data = loaded.union()
    conforms, results, _ = pyshacl.validate(
        data, shacl_graph=shapes_graph(), inference="none", allow_warnings=True, advanced=True
    )
    findings = []
    # Only the report's own results: pySHACL also lists the nested results of sh:node as sh:detail.
    for result in results.objects(None, SH.result):
        focus = results.value(result, SH.focusNode)
        severity = results.value(result, SH.resultSeverity)
        file, line = where_described(loaded, focus)
        findings.append(
            Finding(
                severity=str(severity).rsplit("#", 1)[-1],
                focus=str(focus),
                path=str(results.value(result, SH.resultPath) or ""),
                message=_message(results, result, lang),
                rule=short(results.value(result, SH.sourceShape)),
                file=file,
                line=line,
            )
        )
    findings += run_checks(loaded, lang)
    findings.sort(key=lambda f: (f.severity != "Violation", f.file, f.line, f.focus, f.path))
    return Report(findings, results)


# --- Output formats -----------------------------------------------------------------------------


def relative_path(file: str) -> str:
    try:
        return str(Path(file).relative_to(Path.cwd()))
    except ValueError:
        return file


def as_text(report: Report) -> str:
    lines = []
    for f in report.findings:
        where = f"{relative_path(f.file)}:{f.line}: " if f.file else ""
        path = f" {short(rdflib.URIRef(f.path))}" if f.path else ""
        lines.append(f"{where}{f.severity}: {short(rdflib.URIRef(f.focus))}{path}: {f.message} [{f.rule}]")
    violations = sum(f.is_violation for f in report.findings)
    warnings = len(report.findings) - violations
    lines.append(
        f"{'Conforms' if report.conforms else 'Does not conform'}: {violations} violation(s), {warnings} warning(s)."
    )
    return "\n".join(lines)


def as_json(report: Report) -> str:
    return json.dumps(
        {
            "conforms": report.conforms,
            "results": [asdict(f) | {"file": relative_path(f.file)} for f in report.findings],
        },
        indent=2,
        ensure_ascii=False,
    )


def as_turtle(report: Report) -> str:
    return report.shacl_graph.serialize(format="turtle")


def as_github(report: Report) -> str:
    """GitHub Actions workflow commands: each finding shows on its file and line in the pull request."""

    def escape(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    lines = []
    for f in report.findings:
        level = "error" if f.is_violation else "warning"
        where = f" file={relative_path(f.file)},line={f.line}," if f.file else " "
        title = f"title={f.rule}".replace(",", "%2C").replace(":", "%3A")
        lines.append(f"::{level}{where}{title}::{escape(short(rdflib.URIRef(f.focus)) + ': ' + f.message)}")
    lines.append(
        as_text(Report([], report.shacl_graph)).splitlines()[-1]
        if report.conforms
        else f"Does not conform: {sum(f.is_violation for f in report.findings)} violation(s)."
    )
    return "\n".join(lines)


FORMATS = {"text": as_text, "json": as_json, "turtle": as_turtle, "github": as_github}


def validate_paths(paths: list[Path]) -> Report:
    return validate(load(paths))
