"""A synthetic NAP graph N times larger than the real one, made of copies of the real data, that passes
the same shapes and checks (`napkg validate FILE`).

    python benchmarks/synthetic.py build/nap.trig --scale 100 --out /tmp/nap-100x.nt
    python benchmarks/synthetic.py build/nap.trig --scale 10 --out /tmp/nap-10x.nq && napkg validate /tmp/nap-10x.nq

Why it grows the way it does. Action point IRIs are scoped to their plan (the shapes pin them to
`.../action-point/nap-[0-9]{4}-[0-9]{2}$`: at most 99 per plan, but any number of plans), and a report's
entries, responsibilities and footnotes to its year (`sa:YYYY-NN`, `resp:YYYY-NN-org`, `fn:YYYY-n`). So the
graph grows by whole copies of the NAP moved on in time, until it has N times the source's quads: copy k has
every plan and report year in these IRIs shifted by 3k years (3: the years the source spans, 2022-2024, so no
two copies share one), i.e. plan:nap-2025 with ap:nap-2025-01..33 and report:2027 with sa:2027-NN, then
nap-2028 with 2030, ... A copy takes every statement about a subject it renames, in that statement's graph
renamed alike (report-2024's in report-2027; editorial links and relations in editorial, their English in
translations). Texts stay as they are, so quotes are still found in their entries and every Dutch text has
its English; the plan's label says it is a copy; the report gets an invented identifier (kst-99999-k) and no
foaf:page (an outbound link needs a confirmed source). Registries, concept schemes and ontology are shared.

Reads N-Quads or TriG (as `napkg build` writes nap.trig), or N-Triples (all in the default graph). Writes
N-Quads when --out ends in .nq, graphs kept (what `napkg validate` needs for the checks on graphs);
otherwise N-Triples, all in the default graph, as the servers in the benchmark load it.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import pyoxigraph as ox

ID = "https://w3id.org/nap-bhr/id/"
GRAPH = "https://w3id.org/nap-bhr/graph/"
NAP = "https://w3id.org/nap-bhr/def#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
DCT_IDENTIFIER = ox.NamedNode("http://purl.org/dc/terms/identifier")
DCT_IS_PART_OF = ox.NamedNode("http://purl.org/dc/terms/isPartOf")
FOAF_PAGE = ox.NamedNode("http://xmlns.com/foaf/0.1/page")
REPORTS_ON = ox.NamedNode(NAP + "reportsOn")
ACTION_POINT = ox.NamedNode(NAP + "ActionPoint")
GYEAR = ox.NamedNode("http://www.w3.org/2001/XMLSchema#gYear")

ACTION_POINTS = 33  # the real plan's: a source without them is not the NAP graph

_FORMATS = {".nq": ox.RdfFormat.N_QUADS, ".trig": ox.RdfFormat.TRIG, ".nt": ox.RdfFormat.N_TRIPLES}
_AP = re.compile(re.escape(ID) + r"action-point/nap-[0-9]{4}-[0-9]{2}$")
# The IRIs a copy renames: (prefix, year, rest), the year being a plan's ("nap-2022...") or a report's.
_PLAN_YEAR = re.compile(
    "(" + re.escape(ID) + r"(?:action-plan|action-point|framework-link|instrument-relation)/nap-)"
    r"([0-9]{4})(-.*|)$"
)
_REPORT_YEAR = re.compile(
    "(" + re.escape(ID) + r"(?:report|status-assessment|responsibility|footnote|framework-link)/"
    "|" + re.escape(GRAPH) + r"report-)([0-9]{4})(-.*|)$"
)


def read(path: Path) -> list[ox.Quad]:
    """The source's quads; N-Triples (or any other suffix) in the default graph."""
    fmt = _FORMATS.get(path.suffix, ox.RdfFormat.N_TRIPLES)
    return list(ox.parse(path=str(path), format=fmt))


class Copier:
    """Renames the IRIs of one copy: every plan year and report year in them shifted by `shift` years."""

    def __init__(self, shift: int, plan_years: set[str], report_years: set[str]):
        self.shift, self.plan_years, self.report_years = shift, plan_years, report_years

    def split(self, value: str) -> tuple[str, str, str] | None:
        """(prefix, year, rest) of an IRI this copy renames, else None."""
        for pattern, years in ((_PLAN_YEAR, self.plan_years), (_REPORT_YEAR, self.report_years)):
            if (m := pattern.match(value)) and m.group(2) in years:
                return m.groups()
        return None

    def year(self, year: str) -> str:
        return f"{int(year) + self.shift:04d}"

    def iri(self, value: str) -> str:
        parts = self.split(value)
        return value if parts is None else parts[0] + self.year(parts[1]) + parts[2]

    def term(self, term):
        return ox.NamedNode(self.iri(term.value)) if isinstance(term, ox.NamedNode) else term

    def quad(self, q: ox.Quad) -> ox.Quad:
        return ox.Quad(self.term(q.subject), q.predicate, self.term(q.object), self.term(q.graph_name))


def _years(quads: list[ox.Quad]) -> tuple[set[str], set[str]]:
    """The years of the plans that have action points, and of the reports on those plans."""
    plans = {q.object.value for q in quads if q.predicate == DCT_IS_PART_OF and _AP.match(q.subject.value)}
    reports = {q.subject.value for q in quads if q.predicate == REPORTS_ON and q.object.value in plans}
    plan_years = {m.group(2) for p in plans if (m := _PLAN_YEAR.match(p))}
    report_years = {m.group(2) for r in reports if (m := _REPORT_YEAR.match(r))}
    return plan_years, report_years


def generate(quads: list[ox.Quad], scale: float) -> list[ox.Quad]:
    """The source's quads followed by as many time-shifted copies as make `scale` times as many."""
    action_points = {q.subject.value for q in quads if q.predicate == RDF_TYPE and q.object == ACTION_POINT}
    if len(action_points) != ACTION_POINTS:
        sys.exit(f"expected {ACTION_POINTS} action points in the source, found {len(action_points)}")
    plan_years, report_years = _years(quads)
    years = [int(y) for y in plan_years | report_years]
    step = max(years) - min(years) + 1
    plans = {ID + "action-plan/nap-" + y for y in plan_years}
    reports = {ID + "report/" + y for y in report_years}
    # What a copy copies: every statement about a subject it renames, in that statement's graph.
    probe = Copier(step, plan_years, report_years)
    template = [q for q in quads if isinstance(q.subject, ox.NamedNode) and probe.split(q.subject.value)]
    if not plan_years or not template:
        sys.exit("found no plan with action points under .../id/action-point/nap-YYYY-NN in the source")
    target = int(scale * len(quads))
    out = list(quads)
    number = 0
    while len(out) < target:
        number += 1
        copier = Copier(step * number, plan_years, report_years)
        if int(copier.year(str(max(years)))) > 9999:
            sys.exit("out of four-digit years: ask for a smaller scale")
        renamed: dict[str, ox.NamedNode] = {}  # each IRI renamed once per copy

        def term(t, renamed=renamed, copier=copier):  # called within this iteration
            if not isinstance(t, ox.NamedNode):
                return t
            if (new := renamed.get(t.value)) is None:
                new = renamed[t.value] = copier.term(t)
            return new

        for q in template:
            subject, obj = q.subject.value, q.object
            if subject in plans or subject in reports:
                if q.predicate == FOAF_PAGE:
                    # An invented publication has no page to link to: an outbound link needs a link record
                    # naming a source that confirms it (queries/checks/link-source-violation.rq).
                    continue
                if isinstance(obj, ox.Literal) and obj.datatype == GYEAR:
                    obj = ox.Literal(copier.year(obj.value), datatype=GYEAR)
                elif q.predicate == DCT_IDENTIFIER:
                    obj = ox.Literal(f"kst-99999-{number}")
                elif q.predicate == RDFS_LABEL and isinstance(obj, ox.Literal):
                    if subject in plans:
                        copy = "synthetische kopie" if obj.language == "nl" else "synthetic copy"
                        obj = ox.Literal(f"{obj.value} ({copy} {number})", language=obj.language)
                    else:
                        year = subject.rsplit("/", 1)[1]
                        obj = ox.Literal(obj.value.replace(year, copier.year(year)), language=obj.language)
            out.append(ox.Quad(term(q.subject), q.predicate, term(obj), term(q.graph_name)))
    return out


def write(quads: list[ox.Quad], path: Path) -> None:
    """N-Quads (graphs kept) if path ends in .nq, else N-Triples (all in the default graph)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        if path.suffix == ".nq":
            ox.serialize(quads, f, ox.RdfFormat.N_QUADS)
        else:
            triples = dict.fromkeys(ox.Triple(q.subject, q.predicate, q.object) for q in quads)
            ox.serialize(list(triples), f, ox.RdfFormat.N_TRIPLES)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "source",
        type=Path,
        help="the real graph as TriG or N-Quads (napkg build writes nap.trig); "
        "N-Triples is read into the default graph",
    )
    p.add_argument("--scale", type=float, default=100, help="size as a multiple of the source's quads (default 100)")
    p.add_argument(
        "--out", type=Path, required=True, help="file to write: N-Quads if it ends in .nq (graphs kept), else N-Triples"
    )
    args = p.parse_args(argv)
    started = time.perf_counter()
    source = read(args.source)
    quads = generate(source, args.scale)
    unique = len(set(quads))
    if unique != len(quads):
        sys.exit(f"internal error: {len(quads) - unique} duplicate quads generated")
    write(quads, args.out)
    print(
        f"wrote {args.out}: {len(quads)} statements ({len(quads) / len(source):.1f}x {len(source)}) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
