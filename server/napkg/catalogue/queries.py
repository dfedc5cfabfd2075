"""The query catalogue: named, parameterised SPARQL queries in queries/*.rq, with grlc-style headers.

A query file starts with `#+ ` comment lines that together are a YAML document (so the file stays valid
SPARQL):

    #+ summary: Delayed action points with their explanations
    #+ summary_nl: Vertraagde actiepunten met hun toelichting
    #+ description: Action points whose status in a report is "In uitvoering maar met vertraging".
    #+ tags: [status]
    #+ params:
    #+   report:
    #+     type: iri
    #+     default: https://w3id.org/nap-bhr/id/report/2024
    #+     description: The progress report.

A parameter `name` is the variable `?_name` in the query. Values are bound as RDF terms through the
engine's substitutions (SEP-0007), never pasted into the query text. Types: iri, string, integer, year.

A federated query, one that joins our graph with another register through SERVICE, lists the endpoints it
calls and carries the tag `federated`:

    #+ tags: [federated, legal instruments]
    #+ endpoints: [https://query.wikidata.org/sparql]

Every SERVICE IRI in the query must be listed there, and every listed endpoint must be called: the parser
refuses the file otherwise. Such a query runs only where the operator allowed those endpoints
(`napkg serve --allow-service PREFIX`); everywhere else it is refused with a message naming them. Its
parameters are bound in VALUES blocks (napkg.sparql.values), not as substitutions: the engine sends a SERVICE
pattern to the remote endpoint as it is written, without the substitutions, so only a VALUES block inside
the SERVICE group carries a value to the other register.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import yaml

from ..graph.namespaces import PREFIXES
from ..graph.paths import QUERIES
from ..sparql.guard import inspect

TYPES = ("iri", "string", "integer", "year", "language")
FEDERATED_TAG = "federated"
XSD = "http://www.w3.org/2001/XMLSchema#"
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')


class CatalogueError(Exception):
    """A query file whose header is malformed."""


class ParameterError(ValueError):
    """A parameter value of the wrong type or outside its allowed values; names the parameter."""

    def __init__(self, name: str, message: str):
        super().__init__(f"parameter '{name}': {message}")
        self.name = name


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = "string"
    required: bool = False
    default: str | None = None
    enum: tuple[str, ...] = ()
    description: str = ""

    def term(self, value: str) -> ox.NamedNode | ox.Literal:
        """The RDF term for a value given as text (from a URL, the command line, Python)."""
        value = str(value)
        if self.enum and value not in self.enum:
            raise ParameterError(self.name, f"{value!r} is not one of the allowed values: {', '.join(self.enum)}")
        if self.type == "iri":
            prefix, _, local = value.partition(":")
            if prefix in PREFIXES and not local.startswith("//"):
                value = PREFIXES[prefix] + local  # a prefixed name of ours, such as report:2024
            if not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", value) or _IRI_FORBIDDEN.search(value):
                raise ParameterError(self.name, f"{value!r} is not an absolute IRI")
            return ox.NamedNode(value)
        if self.type == "integer":
            if not re.fullmatch(r"[+-]?[0-9]{1,18}", value):
                raise ParameterError(self.name, f"{value!r} is not an integer")
            return ox.Literal(str(int(value)), datatype=ox.NamedNode(XSD + "integer"))
        if self.type == "year":
            if not re.fullmatch(r"[0-9]{4}", value):
                raise ParameterError(self.name, f"{value!r} is not a year (four digits)")
            return ox.Literal(value, datatype=ox.NamedNode(XSD + "gYear"))
        if self.type == "language":
            if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", value):
                raise ParameterError(self.name, f"{value!r} is not a language tag")
            return ox.Literal(value)
        if len(value) > 1000:
            raise ParameterError(self.name, "longer than 1000 characters")
        return ox.Literal(value)


@dataclass(frozen=True)
class NamedQuery:
    name: str
    path: Path
    text: str
    summary: str
    summary_nl: str
    description: str
    tags: tuple[str, ...] = ()
    params: tuple[Parameter, ...] = ()
    operation: str = "SELECT"
    header: dict = field(default_factory=dict, compare=False, hash=False)
    endpoints: tuple[str, ...] = ()  # the SERVICE endpoints a federated query calls (header key `endpoints`)

    def not_allowed(self, allow_service: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The endpoints this query calls that are outside the allowed IRI prefixes (all of them by default)."""
        return tuple(e for e in self.endpoints if not any(p and e.startswith(p) for p in allow_service))

    def refusal(self, allow_service: tuple[str, ...] = (), where: str = "this endpoint") -> str | None:
        """Why this query cannot run where only allow_service is allowed, in the researcher's words, with the
        command that would allow it; None when it can run."""
        missing = self.not_allowed(allow_service)
        if not missing:
            return None
        allowed = ", ".join(p for p in allow_service if p) or "none"
        flags = " ".join(f"--allow-service {e}" for e in missing)
        return (
            f"Query '{self.name}' joins our graph with {', '.join(missing)} through SERVICE, which {where} "
            f"does not allow (allowed endpoints: {allowed}). It runs on a server started with "
            f"`napkg serve {flags}` on a machine with a network."
        )

    @property
    def listable(self) -> bool:
        """A SELECT without LIMIT of its own can be paged with limit/offset."""
        return self.operation == "SELECT" and not re.search(r"\bLIMIT\s+\d+\s*$", _strip_comments(self.text), re.I)

    def substitutions(self, values: dict[str, str]) -> dict:
        """{Variable: term} for the given values plus defaults; ParameterError for a bad or missing one."""
        known = {p.name for p in self.params}
        unknown = set(values) - known
        if unknown:
            raise ParameterError(
                sorted(unknown)[0],
                f"unknown parameter of query '{self.name}' (it takes: {', '.join(sorted(known)) or 'none'})",
            )
        bound = {}
        for p in self.params:
            value = values.get(p.name)
            if value == "" and p.required:
                raise ParameterError(p.name, "is required and may not be empty")
            if value is None or value == "":
                value = p.default  # an empty value (an empty form field) means "the default"
            if value is None or value == "":
                if p.required:
                    raise ParameterError(p.name, "is required")
                continue
            bound[ox.Variable("_" + p.name)] = p.term(value)
        return bound

    def paged(self, limit: int | None, offset: int | None) -> str:
        """The query text with LIMIT/OFFSET appended (integers only, checked by the caller)."""
        text = self.text.rstrip()
        if limit is not None:
            text += f"\nLIMIT {int(limit)}"
        if offset:
            text += f"\nOFFSET {int(offset)}"
        return text


def _projects(text: str, variable: str) -> bool:
    """Whether the first SELECT clause lists variable (or is SELECT *)."""
    body = _strip_comments(text)
    match = re.search(r"\bSELECT\b(.*?)(\bWHERE\b|\{)", body, re.S | re.I)
    if not match:
        return True
    projection = match.group(1)
    return "*" in projection or re.search(re.escape(variable) + r"\b", projection) is not None


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def parse(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    header_lines = []
    for line in text.splitlines():
        if line.startswith("#+"):
            header_lines.append(line[3:] if line.startswith("#+ ") else line[2:])
        elif line.strip() and not line.startswith("#"):
            break
    try:
        header = yaml.safe_load("\n".join(header_lines)) or {}
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path.name}: the #+ header is not valid YAML: {error}") from None
    if not isinstance(header, dict):
        raise CatalogueError(f"{path.name}: the #+ header must be key: value lines")
    for key in ("summary", "summary_nl", "description"):
        if not isinstance(header.get(key), str) or not header[key].strip():
            raise CatalogueError(f"{path.name}: the header has no '{key}'")
    params = []
    for name, spec in (header.get("params") or {}).items():
        spec = spec or {}
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
            raise CatalogueError(f"{path.name}: parameter name {name!r} must be lowercase letters, digits and _")
        if spec.get("type", "string") not in TYPES:
            raise CatalogueError(
                f"{path.name}: parameter '{name}' has type {spec.get('type')!r}; types: {', '.join(TYPES)}"
            )
        if f"?_{name}" not in text:
            raise CatalogueError(f"{path.name}: parameter '{name}' is not used as ?_{name} in the query")
        if inspect(text).operation == "SELECT" and not _projects(text, f"?_{name}"):
            raise CatalogueError(
                f"{path.name}: parameter '{name}' must be in the SELECT list (?_{name}): the engine "
                "binds only projected variables"
            )
        param = Parameter(
            name=name,
            type=spec.get("type", "string"),
            required=bool(spec.get("required", False)),
            default=None if spec.get("default") is None else str(spec["default"]),
            enum=tuple(str(v) for v in spec.get("enum") or ()),
            description=str(spec.get("description", "")),
        )
        if param.default is not None:
            try:
                param.term(param.default)
            except ParameterError as error:
                raise CatalogueError(f"{path.name}: default of {error}") from None
        params.append(param)
    tags = header.get("tags") or ()
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    endpoints = _endpoints(path, text, header, tuple(tags))

    return NamedQuery(
        name=path.stem,
        path=path,
        text=text,
        summary=header["summary"].strip(),
        summary_nl=header["summary_nl"].strip(),
        description=header["description"].strip(),
        tags=tuple(tags),
        params=tuple(params),
        operation=inspect(text).operation,
        header=header,
        endpoints=endpoints,
    )


def _endpoints(path: Path, text: str, header: dict, tags: tuple) -> tuple[str, ...]:
    """The header's `endpoints`, checked against the SERVICE calls the query makes (CatalogueError if they
    differ) and against the tag `federated`."""
    listed = header.get("endpoints")
    if listed is None:
        listed = []
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list) or not all(isinstance(e, str) for e in listed):
        raise CatalogueError(f"{path.name}: 'endpoints' must be a list of SPARQL endpoint IRIs")
    for endpoint in listed:
        if not re.match(r"^https?://[^/]", endpoint) or _IRI_FORBIDDEN.search(endpoint):
            raise CatalogueError(f"{path.name}: endpoint {endpoint!r} is not an absolute http(s) IRI")
    called = inspect(text).services
    for target in called:
        if target.startswith(("?", "$")) or not target:
            raise CatalogueError(
                f"{path.name}: SERVICE {target or '(no endpoint)'} names no endpoint: a catalogue "
                "query calls only endpoints it lists in 'endpoints'"
            )
        if target not in listed:
            raise CatalogueError(
                f"{path.name}: SERVICE <{target}> is not listed in the header's 'endpoints' "
                f"({', '.join(listed) or 'none'}): list every endpoint the query calls"
            )
    for endpoint in listed:
        if endpoint not in called:
            raise CatalogueError(
                f"{path.name}: endpoint <{endpoint}> is listed in 'endpoints' but the query has no SERVICE to it"
            )
    if listed and FEDERATED_TAG not in tags:
        raise CatalogueError(f"{path.name}: a query that calls other endpoints must be tagged '{FEDERATED_TAG}'")
    if not listed and FEDERATED_TAG in tags:
        raise CatalogueError(f"{path.name}: tagged '{FEDERATED_TAG}' but lists no 'endpoints'")
    return tuple(dict.fromkeys(listed))


def catalogue(folder: Path = QUERIES) -> dict[str, NamedQuery]:
    """Every named query in folder (not the checks in queries/checks/), by name."""
    return {q.name: q for q in (parse(p) for p in sorted(folder.glob("*.rq")))}
