"""Outbound links against their registers: does each target exist there, and does its name match ours?

The graph links out only to identifiers that were checked (docs/links.md), and data/links.ttl
records for every such link the source that confirmed it. This module asks the registers themselves, live
or from a snapshot file, so a register that renames, merges or withdraws an identifier is noticed:

* tooi: organisations (owl:sameAs, and EZK's rdfs:seeAlso) under https://identifier.overheid.nl/tooi/
* eli: EU law (owl:sameAs) under http://data.europa.eu/eli/
* wetten: Dutch law (nap:juriconnect, foaf:page) under https://wetten.overheid.nl/
* obk: parliamentary papers and official publications (foaf:page) under https://zoek.officielebekendmakingen.nl/

Every link's target must exist in its register. Names are compared only for owl:sameAs: an identity link
says the register's thing is ours, so their name must be one of ours; a page (foaf:page, a JuriConnect
reference) or rdfs:seeAlso points at something about ours, whose title may rightly differ (the page of
article 273f is titled by the whole code). Names match when, accents, case and spacing aside, the
difflib ratio of one of ours (rdfs:label, skos:prefLabel, skos:altLabel, any language) and one of theirs
reaches the threshold.

A register is read through SPARQL (SPARQLWrapper; the target IRIs in VALUES blocks) or from any RDF file,
such as one `napkg links snapshot` wrote. Exit codes as `napkg validate`: 0 every checked link is fine,
1 a target is missing or named otherwise, 2 an error (a register that cannot be reached or does not
answer, a snapshot that does not parse). Links of a register that was not given are reported as not
checked; they do not fail the check. A link record must cite a source a reader can open, an http(s) URL or
a file of the repository: any other citation (a workspace note such as facts.md) fails the check.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import math
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

import rdflib
from rdflib.namespace import DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, VOID, XSD

from . import __version__
from .graph import paths
from .graph.load import Loaded, load_project, parse_file
from .graph.namespaces import ELI, NAP, PREFIXES
from .graph.paths import DATA, shown
from .graph.validate import relative_path, short, where_described

EXIT_OK, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2

#: Register name -> (the IRI space of its identifiers, what it is).
REGISTERS: dict[str, tuple[str, str]] = {
    "tooi": ("https://identifier.overheid.nl/tooi/", "TOOI, the register of Dutch government organisations"),
    "eli": ("http://data.europa.eu/eli/", "ELI, the European Legislation Identifier"),
    "wetten": ("https://wetten.overheid.nl/", "wetten.overheid.nl: Dutch law by BWB number and JuriConnect"),
    "obk": (
        "https://zoek.officielebekendmakingen.nl/",
        "officielebekendmakingen.nl: parliamentary papers, Staatscourant, Staatsblad",
    ),
}

#: The properties that link out; a JuriConnect reference is a literal that resolves under wetten.overheid.nl.
LINK_PROPERTIES = (OWL.sameAs, RDFS.seeAlso, FOAF.page, NAP.juriconnect)
JURICONNECT_BASE = REGISTERS["wetten"][0]

TOOIONT = rdflib.Namespace("https://identifier.overheid.nl/tooi/def/ont/")
SCHEMA = rdflib.Namespace("https://schema.org/")

OUR_LABELS = (RDFS.label, SKOS.prefLabel, SKOS.altLabel)
#: The properties a register may name a thing with; any of them counts.
THEIR_LABELS = (
    RDFS.label,
    SKOS.prefLabel,
    SKOS.altLabel,
    DCTERMS.title,
    ELI.title,
    FOAF.name,
    SCHEMA.name,
    rdflib.URIRef("http://schema.org/name"),
    TOOIONT.officieleNaamInclSoort,
    TOOIONT.officieleNaamExclSoort,
    TOOIONT.voorkeursnaamInclSoort,
)
DATES = (DCTERMS.date, DCTERMS.issued, ELI.date_document, TOOIONT.begindatum, TOOIONT.einddatum)
#: What a snapshot keeps of each target: its types, names and dates.
SNAPSHOT_PROPERTIES = (RDF.type, *THEIR_LABELS, *DATES)

BATCH = 50  # target IRIs per SPARQL query
_UNSAFE_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')


class RegisterError(Exception):
    """A register that cannot be reached or read: exit 2."""


# --- Our links ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    subject: rdflib.URIRef
    predicate: rdflib.URIRef
    value: rdflib.term.Node  # as the data states it (a JuriConnect reference is a literal)
    target: rdflib.URIRef  # the identifier in the register
    register: str
    file: str = ""
    line: int = 0
    source: str = ""  # the confirming source its link record names

    def describe(self) -> str:
        return f"{short(self.subject)} {short(self.predicate)} {_show(self.value)}"

    def as_dict(self) -> dict:
        return {
            "register": self.register,
            "resource": str(self.subject),
            "property": str(self.predicate),
            "target": str(self.target),
            "file": relative_path(self.file),
            "line": self.line,
            "source": self.source,
        }


def _show(term: rdflib.term.Node) -> str:
    return f'"{term}"' if isinstance(term, rdflib.Literal) else short(term)


def register_of(iri: str) -> str | None:
    return next((name for name, (space, _) in REGISTERS.items() if iri.startswith(space)), None)


def find_links(loaded: Loaded, graph: rdflib.Graph | None = None) -> list[Link]:
    """Every link from our data into one of the registers, with its place in the files and its source."""
    graph = loaded.union() if graph is None else graph
    sources = _record_sources(graph)
    links = []
    for prop in LINK_PROPERTIES:
        for subject, value in graph.subject_objects(prop):
            if not isinstance(subject, rdflib.URIRef):
                continue
            if prop == NAP.juriconnect:
                if not isinstance(value, rdflib.Literal):
                    continue
                target = rdflib.URIRef(JURICONNECT_BASE + str(value))
            elif isinstance(value, rdflib.URIRef):
                target = value
            else:
                continue
            register = register_of(str(target))
            if register is None:
                continue  # a page elsewhere (open.overheid.nl, ...) is no register link
            file, line = locate(loaded, subject, value)
            links.append(
                Link(subject, prop, value, target, register, file, line, sources.get((subject, prop, value), ""))
            )
    return sorted(links, key=lambda k: (list(REGISTERS).index(k.register), k.file, k.line, str(k.subject)))


def _record_sources(graph: rdflib.Graph) -> dict[tuple, str]:
    """(subject, predicate, object) of each link record in data/links.ttl -> the source it names."""
    found = {}
    for record, subject in graph.subject_objects(RDF.subject):
        predicate, obj = graph.value(record, RDF.predicate), graph.value(record, RDF.object)
        parts = [str(v) for p in (DCTERMS.bibliographicCitation, DCTERMS.source) for v in graph.objects(record, p)]
        note = graph.value(record, SKOS.note)
        found[(subject, predicate, obj)] = "; ".join(parts) + (f" ({note})" if note else "")
    return found


@functools.lru_cache(maxsize=64)
def _lines(path: Path) -> tuple[str, ...]:
    return tuple(path.read_text(encoding="utf-8").splitlines())


def locate(loaded: Loaded, subject: rdflib.URIRef, value: rdflib.term.Node) -> tuple[str, int]:
    """The file and line that state this link: the line naming the value inside the subject's description,
    else (validate's answer) the line where the description starts."""
    names = {str(subject), short(subject)}
    if isinstance(value, rdflib.Literal):
        forms = [f'"{value}"']
    else:
        forms = [f"<{value}>"] + ([short(value)] if short(value) != str(value) else [])
    pattern = re.compile("|".join(re.escape(f) + r"(?![\w-]|\.\w)" for f in forms))
    for path in loaded.subject_files.get(subject, []):
        inside = False
        for number, line in enumerate(_lines(path), 1):
            stripped = line.strip()
            if any(stripped.startswith(n + " ") or stripped.startswith(f"<{n}>") for n in names):
                inside = True
            if inside and pattern.search(line):
                return str(path), number
            if inside and (stripped.endswith(" .") or stripped == "."):
                inside = False
    return where_described(loaded, subject)


def our_labels(graph: rdflib.Graph, subject: rdflib.URIRef) -> list[str]:
    return sorted({str(o) for p in OUR_LABELS for o in graph.objects(subject, p) if isinstance(o, rdflib.Literal)})


# --- What a link record cites -------------------------------------------------------------------

#: The properties by which a link record names its source.
CITATION_PROPERTIES = (DCTERMS.bibliographicCitation, DCTERMS.source)
_WEB_ADDRESS = re.compile(r"^https?://[^/\s]+\S*$", re.IGNORECASE)
#: Notes of the workspace the data was made in: no reader of the data can open them.
_PRIVATE = ("facts.md", "../shared")


@dataclass(frozen=True)
class CitationProblem:
    """A link record citing something a reader cannot open: not a web address, nor a file of this repository."""

    record: rdflib.URIRef
    prop: rdflib.URIRef
    value: str
    reason: str
    file: str = ""
    line: int = 0

    @property
    def message(self) -> str:
        return f'{short(self.record)} {short(self.prop)} "{self.value}": {self.reason}'

    def as_dict(self) -> dict:
        return {
            "record": str(self.record),
            "property": str(self.prop),
            "value": self.value,
            "reason": self.reason,
            "file": relative_path(self.file),
            "line": self.line,
        }


def _repository() -> Path:
    """Where a cited path is looked up: the checkout, else the files the installed package bundles."""
    return paths.CHECKOUT or paths.ROOT


def citation_problem(value: str, roots: tuple[Path, ...] | None = None) -> str | None:
    """Why a citation cannot be followed by a reader, or None when it can: an http(s) URL, or a relative
    path (an optional #fragment aside) to a file or folder inside one of roots (default: the repository)."""
    roots = roots or (_repository(),)
    if any(private in value for private in _PRIVATE):
        return (
            "cites a note of the workspace the data was made in, which no reader can open; "
            "cite the public source behind it (its URL) instead"
        )
    if _WEB_ADDRESS.match(value):
        return None
    path = Path(value.split("#", 1)[0])
    if not value.strip() or path.is_absolute() or ".." in path.parts or "://" in value:
        return "is neither an http(s) URL nor a path inside the repository"
    if any((root / path).exists() for root in roots):
        return None
    return f"is no file of the repository (looked in {', '.join(relative_path(str(r)) or '.' for r in roots)})"


def citation_problems(
    loaded: Loaded, graph: rdflib.Graph | None = None, roots: tuple[Path, ...] | None = None
) -> list[CitationProblem]:
    """Every dct:bibliographicCitation or dct:source of a link record that is neither an http(s) URL nor a
    path inside the repository, with the file and line that state it."""
    graph = loaded.union() if graph is None else graph
    problems = []
    for record in sorted(set(graph.subjects(RDF.subject, None)), key=str):
        if not isinstance(record, rdflib.URIRef):
            continue
        for prop in CITATION_PROPERTIES:
            for value in sorted(graph.objects(record, prop), key=str):
                reason = citation_problem(str(value), roots)
                if reason:
                    file, line = locate(loaded, record, value)
                    problems.append(CitationProblem(record, prop, str(value), reason, file, line))
    return sorted(problems, key=lambda c: (c.file, c.line, str(c.record)))


# --- Names --------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Accents, case and spacing aside: NFKD, combining marks dropped, casefolded, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def similarity(ours: str, theirs: str) -> float:
    return SequenceMatcher(None, normalise(ours), normalise(theirs), autojunk=False).ratio()


def best_match(ours: list[str], theirs: list[str]) -> tuple[float, str, str]:
    """The most similar pair (score, ours, theirs); (0.0, '', '') when either side has no name."""
    best = (0.0, ours[0] if ours else "", theirs[0] if theirs else "")
    for a in ours:
        for b in theirs:
            score = similarity(a, b)
            if score > best[0]:
                best = (score, a, b)
    return best


# --- Registers: live (SPARQL) or from a file -----------------------------------------------------------


@dataclass
class RegisterData:
    """What we know of a register: the targets it has, and the triples about them we asked for."""

    origin: str  # an endpoint URL or file name(s), for the report
    present: set[rdflib.URIRef] = field(default_factory=set)
    graph: rdflib.Graph = field(default_factory=rdflib.Graph)
    made: str = ""  # when a snapshot was made, if it says

    def labels(self, target: rdflib.URIRef) -> list[str]:
        return sorted(
            {str(o) for p in THEIR_LABELS for o in self.graph.objects(target, p) if isinstance(o, rdflib.Literal)}
        )


def _values(targets: list[rdflib.URIRef]) -> str:
    for t in targets:
        if _UNSAFE_IRI.search(str(t)):
            raise RegisterError(f"cannot ask a register about {str(t)!r}: not a plain IRI")
    return " ".join(f"<{t}>" for t in targets)


def _query_text(targets: list[rdflib.URIRef]) -> str:
    values = _values(targets)
    props = " ".join(f"<{p}>" for p in SNAPSHOT_PROPERTIES)
    # The first part fetches types, names and dates; the second says which targets exist at all.
    return (
        f"SELECT ?s ?p ?o WHERE {{\n"
        f"  {{ VALUES ?s {{ {values} }}\n    VALUES ?p {{ {props} }}\n    ?s ?p ?o }}\n"
        f"  UNION\n"
        f"  {{ SELECT DISTINCT ?s WHERE {{ VALUES ?s {{ {values} }} ?s ?anyProperty ?anyValue }} }}\n}}"
    )


def _term(binding: dict) -> rdflib.term.Node:
    kind, value = binding.get("type"), binding.get("value", "")
    if kind == "uri":
        return rdflib.URIRef(value)
    if kind == "bnode":
        return rdflib.BNode(value)
    datatype = binding.get("datatype")
    return rdflib.Literal(value, lang=binding.get("xml:lang"), datatype=rdflib.URIRef(datatype) if datatype else None)


def _select(name: str, url: str, query: str, timeout: float) -> list[dict]:
    from urllib.error import HTTPError, URLError

    from SPARQLWrapper import JSON, POST, SPARQLWrapper
    from SPARQLWrapper import SPARQLExceptions as errors

    from .sparql.remote import refusal

    client = SPARQLWrapper(url, agent=f"napkg/{__version__} (links)")
    client.setMethod(POST)
    client.setOnlyConneg(True)  # the standard protocol only: no format=/output= parameters
    client.setReturnFormat(JSON)
    client.setTimeout(max(1, math.ceil(timeout)))
    client.setQuery(query)
    try:
        answer = client.query().convert()
    except HTTPError as error:
        raise RegisterError(f"the {name} register at {url} answered HTTP {error.code} {error.reason}") from None
    except URLError as error:
        raise RegisterError(f"cannot reach the {name} register at {url}: {error.reason}") from None
    except (TimeoutError, OSError) as error:
        raise RegisterError(f"cannot reach the {name} register at {url}: {error}") from None
    except errors.SPARQLWrapperException as error:
        status, said = refusal(error)
        said = " ".join(said.split())[:200]
        hint = f": {said}" if said else ""
        if isinstance(error, errors.EndPointNotFound):
            hint = ": is it a SPARQL endpoint?"
        raise RegisterError(f"the {name} register at {url} answered HTTP {status}{hint}") from None
    except ValueError as error:  # not JSON
        raise RegisterError(f"the {name} register at {url} did not answer with SPARQL JSON results: {error}") from None
    if not isinstance(answer, dict):  # other JSON, or other content: convert() gives a DOM, a Graph or text
        raise RegisterError(f"the {name} register at {url} did not answer with SPARQL JSON results")
    try:
        return list(answer["results"]["bindings"])
    except (TypeError, KeyError):
        raise RegisterError(f"the {name} register at {url} did not answer with SPARQL JSON results") from None


def query_register(name: str, url: str, targets: list[rdflib.URIRef], timeout: float) -> RegisterData:
    data = RegisterData(origin=url)
    unique = sorted(set(targets))
    for start in range(0, len(unique), BATCH):
        for row in _select(name, url, _query_text(unique[start : start + BATCH]), timeout):
            subject = _term(row["s"])
            if not isinstance(subject, rdflib.URIRef):  # ?s takes only the target IRIs of VALUES
                continue
            data.present.add(subject)
            if "p" in row and "o" in row:
                data.graph.add((subject, _term(row["p"]), _term(row["o"])))
    return data


def _snapshot_option(value: str) -> tuple[str | None, Path]:
    name, sep, path = value.partition("=")
    if sep and name in REGISTERS:
        return name, Path(path)
    return None, Path(value)


def read_snapshots(values: list[str]) -> dict[str, RegisterData]:
    """--snapshot [NAME=]FILE ...: the registers each file speaks for, all files of a register merged.

    A FILE speaks for the registers named with NAME=, else those its void:uriSpace declares (as
    `links snapshot` writes), else those with at least one thing under their IRI space."""
    found: dict[str, RegisterData] = {}
    for value in values:
        name, path = _snapshot_option(value)
        if not path.is_file():
            raise RegisterError(f"snapshot {path}: no such file")
        graph = parse_file(path)  # all or nothing; LoadError names file:line:column
        if name:
            covers = [name]
        else:
            spaces = {str(s) for s in graph.objects(None, VOID.uriSpace)}
            covers = [n for n, (space, _) in REGISTERS.items() if space in spaces]
            if not covers:
                subjects = [str(s) for s in graph.subjects() if isinstance(s, rdflib.URIRef)]
                covers = [n for n, (space, _) in REGISTERS.items() if any(s.startswith(space) for s in subjects)]
        if not covers:
            raise RegisterError(
                f"snapshot {path} holds nothing of any register ({', '.join(REGISTERS)}); "
                f"name one with --snapshot NAME={path}"
            )
        made = sorted(str(d) for d in graph.objects(None, DCTERMS.created))
        for register in covers:
            data = found.setdefault(register, RegisterData(origin=""))
            data.origin = ", ".join(filter(None, [data.origin, relative_path(str(path))]))
            data.present |= {s for s in graph.subjects() if isinstance(s, rdflib.URIRef)}
            data.graph += graph
            data.made = data.made or (made[-1] if made else "")
    return found


def registers_from(
    endpoints: list[tuple[str, str]], snapshots: list[str], links: list[Link], timeout: float
) -> dict[str, RegisterData]:
    """The register data for a check: snapshot files read, endpoints asked about our targets."""
    given = [name for name, _ in endpoints]
    twice = sorted({n for n in given if given.count(n) > 1})
    if twice:
        raise RegisterError(f"--endpoint {twice[0]} is given more than once")
    registers = read_snapshots(snapshots)
    both = sorted(set(given) & set(registers))
    if both:
        raise RegisterError(
            f"{both[0]} is given both as --endpoint and by --snapshot {registers[both[0]].origin}; give one"
        )
    for name, url in endpoints:
        targets = [k.target for k in links if k.register == name]
        registers[name] = query_register(name, url, targets, timeout) if targets else RegisterData(origin=url)
    return registers


# --- The check ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str  # "missing" or "mismatch"
    link: Link
    message: str
    ours: tuple[str, ...] = ()
    theirs: tuple[str, ...] = ()
    similarity: float | None = None

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            **self.link.as_dict(),
            "message": self.message,
            "ours": list(self.ours),
            "theirs": list(self.theirs),
            "similarity": self.similarity,
        }


@dataclass
class Outcome:
    links: list[Link]
    registers: dict[str, RegisterData]
    threshold: float
    findings: list[Finding] = field(default_factory=list)
    citations: list[CitationProblem] = field(default_factory=list)  # records citing what no reader can open

    @property
    def exit_code(self) -> int:
        return EXIT_PROBLEMS if self.findings or self.citations else EXIT_OK

    def of(self, name: str) -> list[Link]:
        return [k for k in self.links if k.register == name]

    @property
    def unchecked(self) -> list[Link]:
        return [k for k in self.links if k.register not in self.registers]

    def summary(self) -> dict[str, dict]:
        table = {}
        for name in REGISTERS:
            links, data = self.of(name), self.registers.get(name)
            kinds = [f.kind for f in self.findings if f.link.register == name]
            table[name] = {
                "source": data.origin if data else None,
                "snapshot_made": data.made if data else "",
                "links": len(links),
                "checked": len(links) if data else 0,
                "fine": len(links) - len(kinds) if data else 0,
                "missing": kinds.count("missing"),
                "mismatch": kinds.count("mismatch"),
                "not_checked": 0 if data else len(links),
            }
        return table


def check(
    links: list[Link], registers: dict[str, RegisterData], graph: rdflib.Graph, threshold: float = 0.85
) -> Outcome:
    outcome = Outcome(links, registers, threshold)
    for link in links:
        data = registers.get(link.register)
        if data is None:
            continue
        if link.target not in data.present:
            outcome.findings.append(
                Finding("missing", link, f"{_show(link.target)} is not in the {link.register} register ({data.origin})")
            )
            continue
        if link.predicate != OWL.sameAs:
            continue
        theirs = data.labels(link.target)
        if not theirs:
            continue  # it exists; the register gives no name to compare
        ours = our_labels(graph, link.subject)
        score, a, b = best_match(ours, theirs)
        if score < threshold:
            outcome.findings.append(
                Finding(
                    "mismatch",
                    link,
                    f'the {link.register} register names {_show(link.target)} "{b}", we name it "{a}" '
                    f"(similarity {score:.2f} < {threshold:g})",
                    tuple(ours),
                    tuple(theirs),
                    round(score, 4),
                )
            )
    outcome.findings.sort(key=lambda f: (f.link.file, f.link.line, str(f.link.subject)))
    return outcome


# --- Reports ----------------------------------------------------------------------------------------------


def _not_checked_lines(outcome: Outcome) -> list[str]:
    return [
        f"no register given for {name}: {len(outcome.of(name))} link(s) not checked"
        for name in REGISTERS
        if name not in outcome.registers and outcome.of(name)
    ]


def _register_lines(outcome: Outcome) -> list[str]:
    lines = []
    for name, row in outcome.summary().items():
        if row["source"] is None or not row["links"]:
            continue
        made = f", made {row['snapshot_made']}" if row["snapshot_made"] else ""
        lines.append(
            f"{name}: {row['checked']} link(s) checked against {row['source']}{made}: {row['fine']} fine, "
            f"{row['missing']} missing, {row['mismatch']} mismatched"
        )
    return lines


def _verdict(outcome: Outcome) -> str:
    checked = sum(r["checked"] for r in outcome.summary().values())
    unchecked = len(outcome.unchecked)
    if outcome.citations:
        return (
            f"{len(outcome.citations)} link record citation(s) are neither an http(s) URL nor a file of the "
            f"repository; {checked} link(s) checked, {unchecked} not checked."
        )
    if not checked:
        return (
            f"No link checked ({unchecked} not checked): give a register with --endpoint NAME=URL or --snapshot FILE."
        )
    state = "All checked links are fine" if not outcome.findings else f"{len(outcome.findings)} problem(s)"
    return f"{state}: {checked} link(s) checked, {unchecked} not checked."


def _citation_lines(outcome: Outcome) -> list[str]:
    return [
        f"{relative_path(c.file)}:{c.line}: citation: {c.message}" if c.file else f"citation: {c.message}"
        for c in outcome.citations
    ]


def as_text(outcome: Outcome) -> str:
    lines = _citation_lines(outcome)
    for f in outcome.findings:
        where = f"{relative_path(f.link.file)}:{f.link.line}: " if f.link.file else ""
        lines.append(f"{where}{f.kind}: {f.link.describe()}: {f.message}")
    return "\n".join(lines + _register_lines(outcome) + _not_checked_lines(outcome) + [_verdict(outcome)])


def as_json(outcome: Outcome) -> str:
    return json.dumps(
        {
            "ok": outcome.exit_code == EXIT_OK,
            "threshold": outcome.threshold,
            "registers": outcome.summary(),
            "citations": [c.as_dict() for c in outcome.citations],
            "results": [f.as_dict() for f in outcome.findings],
            "not_checked": [k.as_dict() for k in outcome.unchecked],
        },
        indent=2,
        ensure_ascii=False,
    )


def as_github(outcome: Outcome) -> str:
    """GitHub Actions workflow commands: each problem on its file and line; unchecked registers as notices."""

    def escape(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:
        return escape(text).replace(",", "%2C").replace(":", "%3A")

    lines = []
    for c in outcome.citations:
        where = f" file={prop(relative_path(c.file))},line={c.line}," if c.file else " "
        lines.append(f"::error{where}title=links citation::{escape(c.message)}")
    for f in outcome.findings:
        where = f" file={prop(relative_path(f.link.file))},line={f.link.line}," if f.link.file else " "
        lines.append(
            f"::error{where}title={prop(f'links {f.kind} ({f.link.register})')}::"
            f"{escape(f.link.describe() + ': ' + f.message)}"
        )
    lines += [f"::notice title=links::{escape(line)}" for line in _not_checked_lines(outcome)]
    return "\n".join(lines + [_verdict(outcome)])


FORMATS = {"text": as_text, "json": as_json, "github": as_github}


# --- Snapshots ---------------------------------------------------------------------------------------------


def snapshot(endpoints: list[tuple[str, str]], links: list[Link], timeout: float) -> tuple[rdflib.Graph, list[str]]:
    """The triples our links need from each register (types, names, dates), with a void:Dataset per register
    saying where and when they were fetched. A target that exists but has none of those keeps one triple of
    its own, so the snapshot still shows it exists."""
    graph = rdflib.Graph()
    for prefix in ("rdf", "rdfs", "skos", "dct", "owl", "void", "xsd", "tooimin", "tooioorg", "tooizbo", "eli"):
        graph.bind(prefix, PREFIXES[prefix])
    graph.bind("tooiont", str(TOOIONT))
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    lines = []
    for name, url in endpoints:
        targets = sorted({k.target for k in links if k.register == name})
        data = query_register(name, url, targets, timeout) if targets else RegisterData(origin=url)
        graph += data.graph
        for target in sorted(data.present):
            if (target, None, None) not in data.graph:
                rows = _select(name, url, f"SELECT ?p ?o WHERE {{ <{target}> ?p ?o }} LIMIT 1", timeout)
                for row in rows:
                    graph.add((target, _term(row["p"]), _term(row["o"])))
        dataset = rdflib.BNode()
        graph.add((dataset, RDF.type, VOID.Dataset))
        graph.add(
            (
                dataset,
                DCTERMS.title,
                rdflib.Literal(f"Snapshot of the {name} register for the links of the NAP knowledge graph"),
            )
        )
        graph.add((dataset, VOID.sparqlEndpoint, rdflib.URIRef(url)))
        graph.add((dataset, VOID.uriSpace, rdflib.Literal(REGISTERS[name][0])))
        graph.add(
            (dataset, DCTERMS.created, rdflib.Literal(now.isoformat().replace("+00:00", "Z"), datatype=XSD.dateTime))
        )
        graph.add((dataset, VOID.entities, rdflib.Literal(len(data.present & set(targets)))))
        missing = len(set(targets) - data.present)
        lines.append(
            f"{name}: {len(targets) - missing} of {len(targets)} target(s) found at {url}"
            + (f" ({missing} missing: `napkg links check --snapshot` will report them)" if missing else "")
        )
    return graph, lines


# --- Command line -----------------------------------------------------------------------------------------


def _endpoint_option(value: str) -> tuple[str, str]:
    name, sep, url = value.partition("=")
    if not sep or not url:
        raise argparse.ArgumentTypeError(f"expected NAME=URL, got {value!r}")
    if name not in REGISTERS:
        raise argparse.ArgumentTypeError(f"unknown register {name!r} (known: {', '.join(REGISTERS)})")
    if not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {url!r}")
    return name, url


def _threshold_option(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 < number <= 1:
        raise argparse.ArgumentTypeError(f"the threshold is a similarity between 0 and 1, got {value}")
    return number


def cmd_check(args: argparse.Namespace) -> int:
    loaded = load_project([Path(p) for p in args.paths] or None)
    graph = loaded.union()
    links = find_links(loaded, graph)
    try:
        registers = registers_from(args.endpoint, args.snapshot, links, args.timeout)
    except RegisterError as error:
        print(f"napkg links check: {error}", file=sys.stderr)
        return EXIT_ERROR
    outcome = check(links, registers, graph, args.threshold)
    outcome.citations = citation_problems(loaded, graph, (_repository(), Path.cwd()) if args.paths else None)
    print(FORMATS[args.format](outcome))
    return outcome.exit_code


def cmd_snapshot(args: argparse.Namespace) -> int:
    names = [name for name, _ in args.endpoint]
    if len(set(names)) != len(names):
        print("napkg links snapshot: a register is given more than once", file=sys.stderr)
        return EXIT_ERROR
    loaded = load_project([Path(p) for p in args.paths] or None)
    try:
        graph, lines = snapshot(args.endpoint, find_links(loaded), args.timeout)
    except RegisterError as error:
        print(f"napkg links snapshot: {error}", file=sys.stderr)
        return EXIT_ERROR
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".tmp")
    partial.write_text(graph.serialize(format="turtle"), encoding="utf-8")
    partial.replace(out)  # never a half-written snapshot
    print("\n".join(lines + [f"wrote {out}: {len(graph)} triples"]))
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `napkg links` group: check and snapshot."""
    names = ", ".join(f"{n} ({space})" for n, (space, _) in REGISTERS.items())
    group = sub.add_parser(
        "links",
        help="check outbound links against their registers (TOOI, ELI, BWB, officielebekendmakingen)",
        description="Outbound links against the registers they point into: " + names + ".",
    )
    commands = group.add_subparsers(dest="links_command", required=True, metavar="{check,snapshot}")
    data_help = f"data files or folders (default: {shown(DATA)})"

    c = commands.add_parser(
        "check",
        help="does every link's target exist in its register, and does its name match ours?",
        description="For every outbound link, ask its register (--endpoint, SPARQL) or a snapshot of it "
        "(--snapshot) whether the target exists and, for owl:sameAs, whether its name matches one of "
        "ours (accent- and case-insensitive, difflib ratio >= --threshold). Exit 0: every checked "
        "link is fine; 1: a target is missing or named otherwise; 2: error (a register that cannot be "
        "reached, a snapshot that does not parse). Links of registers not given are reported as not "
        "checked and do not fail. A link record that cites (dct:bibliographicCitation, dct:source) "
        "anything but an http(s) URL or a file of the repository fails too (exit 1).",
    )
    c.add_argument("paths", nargs="*", metavar="PATH", help=data_help)
    c.add_argument(
        "--endpoint",
        action="append",
        default=[],
        type=_endpoint_option,
        metavar="NAME=URL",
        help=f"the SPARQL endpoint of register NAME ({', '.join(REGISTERS)}); repeatable",
    )
    c.add_argument(
        "--snapshot",
        action="append",
        default=[],
        metavar="[NAME=]FILE",
        help="an RDF file to check against instead, e.g. one `napkg links snapshot` wrote; repeatable",
    )
    c.add_argument(
        "--threshold",
        type=_threshold_option,
        default=0.85,
        help="the least similarity of two names that match (0-1, default: 0.85)",
    )
    c.add_argument("--format", choices=sorted(FORMATS), default="text", help="report format (default: text)")
    c.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a register (default: 30)")
    c.set_defaults(run=cmd_check)

    s = commands.add_parser(
        "snapshot",
        help="save what the links need from the live registers, to check offline",
        description="Fetch from each register's SPARQL endpoint the types, names and dates of our links' targets "
        "and write them as Turtle, for `napkg links check --snapshot FILE` without a network.",
    )
    s.add_argument("paths", nargs="*", metavar="PATH", help=data_help)
    s.add_argument(
        "--endpoint",
        action="append",
        required=True,
        type=_endpoint_option,
        metavar="NAME=URL",
        help=f"the SPARQL endpoint of register NAME ({', '.join(REGISTERS)}); repeatable",
    )
    s.add_argument("--out", required=True, metavar="FILE", help="the Turtle file to write")
    s.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a register (default: 30)")
    s.set_defaults(run=cmd_snapshot)
