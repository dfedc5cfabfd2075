"""A synthetic NAP graph N times larger than the real one, made of copies of the real data, that passes
the same shapes and checks (`napkg validate FILE`).

    python benchmarks/synthetic.py build/nap.nt --scale 100 --out /tmp/nap-100x.nt

Why it grows the way it does. shapes/nap-shapes.ttl pins an action point's IRI to
`.../id/action-point/[0-9]{2}$`: there can never be more than 100 action points, so "100 copies of the 33
action points" cannot pass the shapes. What the shapes let grow without bound are progress reports
(`.../id/report/[0-9]{4}`), their status assessments (`.../status-assessment/YYYY-NN`) and footnotes
(`.../footnote/YYYY-n`). So the generator

1. fills the rest of the action point number space with two more *plan families*: a copy of the plan
   (`plan:nap-2022-synthetic-1`, `-2`) with a copy of the 33 action points numbered 34-66 and 67-99
   (notation, responsibilities `resp:NN-<org>` and `dct:isPartOf` renumbered/re-pointed, texts as is);
2. then adds yearly progress reports, one plan family after the other (report 2025 on nap-2022,
   2026 on synthetic-1, 2027 on synthetic-2, 2028 on nap-2022, ...), each a copy of the 2024 report with
   a copy of its 33 status assessments (texts and statuses as in 2024) and footnotes, renumbered to its
   year and family, until the graph has N times the real graph's triples. A copied report gets an invented
   identifier (kst-99999-n) and no foaf:page: outbound links must have a confirmed source.

Every action point then has exactly one assessment in every report of its plan, as
queries/checks/assessment-per-report-violation.rq requires. The registries, concept schemes and the
ontology are not copied (their IRIs are fixed): the copies reference them. The output holds the real
graph plus the copies, as N-Triples, all in the default graph.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox

ID = "https://w3id.org/nap-bhr/id/"
NAP = "https://w3id.org/nap-bhr/def#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
SKOS_NOTATION = ox.NamedNode("http://www.w3.org/2004/02/skos/core#notation")
DCT_IDENTIFIER = ox.NamedNode("http://purl.org/dc/terms/identifier")
FOAF_PAGE = ox.NamedNode("http://xmlns.com/foaf/0.1/page")
REPORTING_YEAR = ox.NamedNode(NAP + "reportingYear")
GYEAR = ox.NamedNode("http://www.w3.org/2001/XMLSchema#gYear")

PLAN = ID + "action-plan/nap-2022"
REPORT = ID + "report/2024"
FAMILY_SIZE = 33  # action points per plan family: the real plan's
FIRST_YEAR = 2025

_AP = re.compile(re.escape(ID) + r"action-point/([0-9]{2})$")
_RESP = re.compile(re.escape(ID) + r"responsibility/([0-9]{2})-([a-z0-9-]+)$")
_SA = re.compile(re.escape(ID) + r"status-assessment/2024-([0-9]{2})$")
_FN = re.compile(re.escape(ID) + r"footnote/2024-([0-9]+)$")


def read(path: Path) -> list[ox.Triple]:
    return [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)]


class Copier:
    """Rewrites IRIs of one copy: action point numbers shifted by `shift`, the plan, the report year."""

    def __init__(self, shift: int, plan: str, year: str | None = None):
        self.shift, self.plan, self.year = shift, plan, year

    def iri(self, value: str) -> str:
        if value == PLAN:
            return self.plan
        if m := _AP.match(value):
            return f"{ID}action-point/{int(m.group(1)) + self.shift:02d}"
        if m := _RESP.match(value):
            return f"{ID}responsibility/{int(m.group(1)) + self.shift:02d}-{m.group(2)}"
        if self.year:
            if value == REPORT:
                return f"{ID}report/{self.year}"
            if m := _SA.match(value):
                return f"{ID}status-assessment/{self.year}-{int(m.group(1)) + self.shift:02d}"
            if m := _FN.match(value):
                return f"{ID}footnote/{self.year}-{m.group(1)}"
        return value

    def term(self, term):
        return ox.NamedNode(self.iri(term.value)) if isinstance(term, ox.NamedNode) else term

    def triple(self, t: ox.Triple) -> ox.Triple:
        return ox.Triple(self.term(t.subject), t.predicate, self.term(t.object))


def generate(triples: list[ox.Triple], scale: float) -> list[ox.Triple]:
    by_subject: dict[str, list[ox.Triple]] = defaultdict(list)
    for t in triples:
        by_subject[t.subject.value].append(t)
    aps = sorted(s for s in by_subject if _AP.match(s))
    if len(aps) != FAMILY_SIZE:
        sys.exit(f"expected {FAMILY_SIZE} action points in the source, found {len(aps)}")
    resps = sorted(s for s in by_subject if _RESP.match(s))
    report_part = [s for s in by_subject if s == REPORT or _SA.match(s) or _FN.match(s)]
    target = int(scale * len(triples))
    out = list(triples)

    # 1. Plan families: the real one (shift 0) and copies filling action points 34..99.
    families = [(0, PLAN)]
    for f in range(1, 100 // FAMILY_SIZE):
        plan, shift = f"{PLAN}-synthetic-{f}", FAMILY_SIZE * f
        families.append((shift, plan))
        copier = Copier(shift, plan)
        for t in by_subject[PLAN]:
            if t.predicate == RDFS_LABEL and isinstance(t.object, ox.Literal):
                suffix = f" (synthetische kopie {f})" if t.object.language == "nl" else f" (synthetic copy {f})"
                t = ox.Triple(t.subject, t.predicate, ox.Literal(t.object.value + suffix, language=t.object.language))
            out.append(copier.triple(t))
        for s in aps + resps:
            for t in by_subject[s]:
                if t.predicate == SKOS_NOTATION:
                    t = ox.Triple(t.subject, t.predicate, ox.Literal(f"{int(t.object.value) + shift:02d}"))
                out.append(copier.triple(t))

    # 2. Yearly reports, round-robin over the plan families, until the target size is reached.
    year, number = FIRST_YEAR, 0
    while len(out) < target:
        if year > 9999:
            sys.exit("out of four-digit report years: ask for a smaller scale")
        shift, plan = families[number % len(families)]
        copier = Copier(shift, plan, str(year))
        for s in report_part:
            for t in by_subject[s]:
                if t.subject.value == REPORT:
                    if t.predicate == RDFS_LABEL and isinstance(t.object, ox.Literal):
                        t = ox.Triple(t.subject, t.predicate,
                                      ox.Literal(t.object.value.replace("2024", str(year)), language=t.object.language))
                    elif t.predicate == REPORTING_YEAR:
                        t = ox.Triple(t.subject, t.predicate, ox.Literal(str(year), datatype=GYEAR))
                    elif t.predicate == DCT_IDENTIFIER:
                        t = ox.Triple(t.subject, t.predicate, ox.Literal(f"kst-99999-{number + 1}"))
                    elif t.predicate == FOAF_PAGE:
                        # An invented publication has no page to link to: an outbound link needs a link
                        # record naming a source that confirms it (queries/checks/link-source-violation.rq).
                        continue
                out.append(copier.triple(t))
        year, number = year + 1, number + 1
    return out


def write(triples: list[ox.Triple], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        ox.serialize(triples, f, ox.RdfFormat.N_TRIPLES)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("source", type=Path, help="the real graph as N-Triples (napkg build writes nap.nt)")
    p.add_argument("--scale", type=float, default=100, help="size as a multiple of the source's triples (default 100)")
    p.add_argument("--out", type=Path, required=True, help="N-Triples file to write")
    args = p.parse_args(argv)
    started = time.perf_counter()
    source = read(args.source)
    triples = generate(source, args.scale)
    unique = len(set(triples))
    if unique != len(triples):
        sys.exit(f"internal error: {len(triples) - unique} duplicate triples generated")
    write(triples, args.out)
    print(f"wrote {args.out}: {len(triples)} triples ({len(triples) / len(source):.1f}x {len(source)}) "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
