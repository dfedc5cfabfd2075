"""The engine interface the HTTP layer talks to, and its embedded implementation on pyoxigraph.

The server only ever calls Engine.run(Job) -> Answer and Engine.statistics(), so a remote SPARQL store
(or the worker pool in pool.py, which runs LocalEngines in processes) can stand in for the embedded one.
An Answer carries bytes already written in the negotiated format, so it can cross a process boundary
and be cached as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypedDict

import pyoxigraph as ox

from .guard import undeclared_prefixes
from .joinorder import Planner
from .results import (
    GRAPH_TYPES,
    NATIVE_TABLE_FORMATS,
    TABLE_TYPES,
    Term,
    more_rows_than,
    write_boolean,
    write_graph,
    write_table,
)


@dataclass(frozen=True)
class Job:
    query: str
    media_types: tuple[str, ...]  # acceptable result media types, best first
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    max_rows: int = 10_000
    base_iri: str | None = None
    has_from: bool = False  # the query's own FROM / FROM NAMED choose its dataset
    # (variable name, term in N-Triples syntax): values bound as RDF terms, never pasted into the text.
    substitutions: tuple[tuple[str, str], ...] = ()
    # The SELECT's own outermost LIMIT (guard.Inspection.limit): at most max_rows means the result cannot
    # be cut, so the engine may write it with its native writer without counting rows.
    limit: int | None = None
    # Where a LIMIT of max_rows + 1 may be added to a SELECT without one (guard.Inspection.limit_at), so
    # that it too can be written natively: the rows are counted afterwards.
    limit_at: int | None = None


@dataclass
class Answer:
    status: int
    body: bytes
    media_type: str
    rows: int = 0  # -1: not counted (a result written by the native writer, known to be under the limit)
    truncated: bool = False
    error: str = ""


class Engine(Protocol):
    def run(self, job: Job) -> Answer: ...

    def statistics(self) -> dict: ...

    def close(self) -> None: ...


@dataclass
class Dataset:
    """What to load: files into the default graph, and IRI -> files for named graphs."""

    default: list[Path] = field(default_factory=list)
    named: dict[str, list[Path]] = field(default_factory=dict)
    union_default_graph: bool = False  # answer queries over the union of all graphs by default


_POSITION = re.compile(r"^error at (\d+):(\d+): ")


#: pyoxigraph's message for a LIMIT or OFFSET past 2^64 - 1 reads as a list of what it expected.
_TOO_LARGE = re.compile(
    r"expected one of The query (limit|offset) should be a non negative integer(, \['0'\.\.='9'\])?"
)
LARGEST_COUNT = 2**64 - 1  # the largest LIMIT or OFFSET pyoxigraph reads (a 64-bit usize)


def _too_large(query: str, message: str) -> str:
    """pyoxigraph's message for a LIMIT or OFFSET it cannot count to, said plainly and placed at the number
    (the parser places it just past the number's end)."""
    at = _POSITION.match(message)
    found = _TOO_LARGE.fullmatch(message, at.end()) if at else None
    if at is None or found is None:
        return message
    line, column = int(at[1]), int(at[2])
    lines = query.split("\n")
    if line <= len(lines):
        text = lines[line - 1]
        while column > 1 and text[column - 2 : column - 1].isdigit():
            column -= 1
    return (
        f"error at {line}:{column}: {found[1].upper()} takes a whole number from 0 to {LARGEST_COUNT:,}, the "
        f"largest the engine can count to"
    )


def explain(query: str, message: str, known: dict[str, str]) -> str:
    """The parser's message, or, where the query uses prefixes it does not declare, one that names them
    and gives the PREFIX lines for those the graph knows: pyoxigraph's own message for this, the most
    common mistake in a hand-written query, lists the characters a name may hold."""
    message = _too_large(query, message)
    missing = undeclared_prefixes(query)
    if not missing:
        return message
    first = missing[0]
    line = query.count("\n", 0, first.offset) + 1
    column = first.offset - (query.rfind("\n", 0, first.offset) + 1) + 1
    names = [tok.text.split(":", 1)[0] for tok in missing]
    declarations = "\n".join(f"PREFIX {name}: <{known.get(name, 'its namespace IRI')}>" for name in names)
    listed = ", ".join(f"{name}:" for name in names)
    hint = (
        f"the prefix{'es' if len(names) > 1 else ''} {listed} {'are' if len(names) > 1 else 'is'} used but "
        f"not declared. Declare {'them' if len(names) > 1 else 'it'} at the top of the query:\n{declarations}"
    )
    at = _POSITION.match(message)
    if "Prefix not found" in message or at is None or (int(at[1]), int(at[2])) >= (line, column):
        return f"error at {line}:{column}: {hint}"
    # The parser stopped before the first undeclared prefix: its message comes first.
    return f"{message}\nAlso, {hint}"


def parse_term(text: str) -> Term:
    """An RDF term from its N-Triples form (as str() of a pyoxigraph term writes it)."""
    quad = next(iter(ox.parse(f"<urn:napkg:s> <urn:napkg:p> {text} .", format=ox.RdfFormat.N_TRIPLES)))
    return quad.object


def _pick(media_types: tuple[str, ...], offered: dict) -> str | None:
    return next((m for m in media_types if m in offered), None)


class _QueryOptions(TypedDict, total=False):
    """The keyword arguments run() passes to Store.query."""

    default_graph: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph]
    named_graphs: list[ox.NamedNode | ox.BlankNode]
    use_default_graph_as_union: bool
    substitutions: dict[ox.Variable, Term]


class LocalEngine:
    """pyoxigraph in this process. Safe only behind guard.check and only where a crash or a runaway
    query may take the process down: the server runs it inside pool.WorkerPool."""

    def __init__(
        self,
        store: ox.Store,
        union_default_graph: bool = False,
        prefixes: dict[str, str] | None = None,
        order_joins: bool = True,
    ) -> None:
        self.store: ox.Store | None = store  # None once closed
        self.union, self.prefixes = union_default_graph, prefixes or {}
        # pyoxigraph joins triples in the order they are written, between equals: joinorder writes them in
        # the order the store's counts say is cheapest (30 ms -> 0.3 ms for benchmarks/' CSDDD query).
        self.plan = Planner(store) if order_joins else None

    @classmethod
    def from_nquads(cls, path: Path, **options: Any) -> LocalEngine:
        return cls(read_nquads(path), **options)

    def explain(self, query: str, message: str) -> str:
        from ..graph.namespaces import PREFIXES  # here, not above: it imports rdflib, which a worker otherwise need not

        return explain(query, message, {**PREFIXES, **self.prefixes})

    def run(self, job: Job) -> Answer:
        options: _QueryOptions = {}
        if job.default_graphs or job.named_graphs:
            # Named graphs alone leave the default graph empty (SPARQL 1.1 Query, 13.2).
            try:
                options["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
                options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
            except ValueError as error:  # protocol.py refuses these first; a Job from elsewhere may not
                return Answer(400, b"", "", error=f"A dataset graph name is not an absolute IRI: {error}")
        elif self.union and not job.has_from:
            options["use_default_graph_as_union"] = True
        if job.substitutions:
            options["substitutions"] = {ox.Variable(name): parse_term(term) for name, term in job.substitutions}
        # A SELECT without a LIMIT is asked for one row more than may be returned: the engine stops there,
        # and pyoxigraph's own writer (several times faster than writing rows in Python) can write it.
        capped = job.limit is None and job.limit_at is not None
        text = job.query
        if capped:
            text = f"{text[: job.limit_at]}\nLIMIT {job.max_rows + 1}\n{text[job.limit_at :]}"
        try:
            result = self._query(text, job, options)
        except SyntaxError as error:
            if capped:  # the message must be about the client's own text
                return self.run(replace(job, limit_at=None))
            return Answer(400, b"", "", error=f"Syntax error in the query: {self.explain(job.query, str(error))}")
        except (OSError, ValueError, RuntimeError) as error:
            return Answer(500, b"", "", error=f"The query failed: {error}")
        try:
            if isinstance(result, ox.QueryBoolean):
                media = _pick(job.media_types, TABLE_TYPES)
                if media is None:
                    return _not_acceptable("an ASK result", TABLE_TYPES)
                return Answer(200, write_boolean(bool(result), media), media, rows=1)
            if isinstance(result, ox.QuerySolutions):
                media = _pick(job.media_types, TABLE_TYPES)
                if media is None:
                    return _not_acceptable("a SELECT result", TABLE_TYPES)
                if job.limit is not None and job.limit <= job.max_rows:
                    # Several times faster than writing in Python (40 us against 130 us for 10 rows).
                    body = result.serialize(format=NATIVE_TABLE_FORMATS[media])
                    assert body is not None, "serialize() without an output returns the bytes"
                    return Answer(200, body, media, -1)
                if capped:
                    body = result.serialize(format=NATIVE_TABLE_FORMATS[media])
                    assert body is not None, "serialize() without an output returns the bytes"
                    if not more_rows_than(body, media, job.max_rows):
                        return Answer(200, body, media, -1)
                    # Over the limit: run it again and cut it below, where the rows are counted one by one.
                    result = self._query(text, job, options)
                    assert isinstance(result, ox.QuerySolutions), "the same SELECT, run again"
                variables = [v.value for v in result.variables]
                rows: list[list[Term | None]] = []
                for solution in result:
                    if len(rows) == job.max_rows:
                        return Answer(200, write_table(variables, rows, media), media, len(rows), truncated=True)
                    rows.append([solution[v] for v in variables])
                return Answer(200, write_table(variables, rows, media), media, len(rows))
            media = _pick(job.media_types, GRAPH_TYPES)
            if media is None:
                return _not_acceptable("a CONSTRUCT or DESCRIBE result", GRAPH_TYPES)
            triples: list[ox.Triple] = []
            truncated = False
            for triple in result:
                if len(triples) == job.max_rows:
                    truncated = True
                    break
                triples.append(triple)
            return Answer(200, write_graph(triples, media, self.prefixes), media, len(triples), truncated)
        except (OSError, ValueError, RuntimeError) as error:
            return Answer(500, b"", "", error=f"The query failed while its results were read: {error}")

    def _query(
        self, text: str, job: Job, options: _QueryOptions
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        if self.store is None:
            raise RuntimeError("the engine is closed")
        planned = self.plan(text, frozenset(name for name, _ in job.substitutions)) if self.plan else text
        if planned != text:
            try:
                return self.store.query(planned, base_iri=job.base_iri, **options)
            except SyntaxError:
                pass  # a rewrite the engine cannot read is not the client's error: their own text reports it
        return self.store.query(text, base_iri=job.base_iri, **options)

    def statistics(self) -> dict:
        """VoID figures: for the default dataset, the store's default graph and each named graph."""
        store = self.store
        if store is None:
            raise RuntimeError("the engine is closed")

        def figures(pattern: str, union: bool) -> dict:
            query = (
                "SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?entities) (COUNT(DISTINCT ?p) AS ?properties) "
                "(COUNT(DISTINCT ?c) AS ?classes) WHERE { "
                + pattern.replace(
                    "PATTERN",
                    "?s ?p ?o BIND(IF(?p = <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>, ?o, 1/0) AS ?c)",
                )
                + " }"
            )
            result = store.query(query, use_default_graph_as_union=union)
            assert isinstance(result, ox.QuerySolutions), "a SELECT query"
            row = next(iter(result))
            return {k: int(row[k].value) for k in ("triples", "entities", "properties", "classes")}

        graphs = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
        return {
            "dataset": figures("PATTERN", self.union),
            "default_graph": figures("PATTERN", False),
            "graphs": {g: figures(f"GRAPH <{g}> {{ PATTERN }}", False) for g in graphs},
        }

    def close(self) -> None:
        self.store = None


def _not_acceptable(what: str, offered: dict) -> Answer:
    return Answer(
        406,
        b"",
        "",
        error=f"None of the accepted media types can carry {what}; this endpoint offers {', '.join(offered)}.",
    )


_TRIPLE_FORMATS = (ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES, ox.RdfFormat.RDF_XML)
_QUAD_FORMATS = (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG)


def read_nquads(path: Path) -> ox.Store:
    """The server's own N-Quads dump of its dataset, in a fresh in-memory store.

    load, not bulk_load: into an in-memory store the bulk loader makes a store that is larger and slower to
    query (the 100x benchmark graph: 228 against 148 MiB, and `?s ?p ?o LIMIT 10` 53-64 against 36-39 us,
    GROUP BY count 94 against 73 ms), and it is no faster to load (0.86 against 0.75 s)."""
    store = ox.Store()
    store.load(path=str(path), format=ox.RdfFormat.N_QUADS)
    return store


def build_store(dataset: Dataset) -> ox.Store:
    """Load the dataset's files into a fresh in-memory store (all-or-nothing per file)."""
    from ..graph.load import RDF_FORMATS, LoadError

    store = ox.Store()
    targets: list[tuple[Path, ox.NamedNode | ox.DefaultGraph]] = [(p, ox.DefaultGraph()) for p in dataset.default]
    targets += [(p, ox.NamedNode(name)) for name, paths in dataset.named.items() for p in paths]
    for path, graph in targets:
        fmt = RDF_FORMATS.get(Path(path).suffix)
        if fmt is None:
            raise LoadError(path, "unknown RDF file type")
        base_iri = Path(path).resolve().as_uri()
        try:
            if fmt in _TRIPLE_FORMATS or (fmt in _QUAD_FORMATS and isinstance(graph, ox.DefaultGraph)):
                # The store parses and inserts in one transaction: all of the file or nothing, without a
                # Python object per quad (a 341k-triple file: 584 -> 155 MiB at peak, 3.3 -> 1.1 s).
                store.load(path=str(path), format=fmt, base_iri=base_iri, to_graph=graph)
                continue
            quads = list(ox.parse(path=str(path), format=fmt, base_iri=base_iri))
        except SyntaxError as error:
            raise LoadError(path, error.msg, error.lineno, error.offset) from None
        except OSError as error:
            raise LoadError(path, str(error)) from None
        # A quad format into a named graph (all of its quads go there), or JSON-LD (its graphs are merged
        # into the target graph).
        store.extend([ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads])
    return store
