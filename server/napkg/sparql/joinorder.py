"""Writes the triple patterns of a query in the order the store's counts say is cheapest to join.

pyoxigraph's planner (0.5) has no statistics: it starts a join at the pattern with the most constants
and, between equals, at the one written first. So the order a researcher happens to write can cost a
hundred times more. On the 100x synthetic graph (benchmarks/), the CSDDD query starts at
`?ap nap:mentions <csddd>` (24 rows) and walks every assessment of those action points (11,600) to keep
the 8 of the 2024 report: 30 ms. Written with `?sa nap:inReport <.../2024>` (33 rows) first, the same
engine answers in 0.3 ms with the same rows. Oxigraph server, the same engine, behaves the same; Jena
(with TDB's statistics) and Virtuoso order joins by counts.

Only what cannot change the answer is rewritten. In a group, a run of triples (and FILTERs, which apply
to their whole group wherever they are written) is one basic graph pattern, whose triples join in any
order: the run is written again with its triples, one per line, in the order a cost model finds
cheapest, then its FILTERs. OPTIONAL, MINUS, BIND, VALUES, GRAPH, SERVICE and subgroups end a run and
are never moved. Anything this module does not fully read (property paths, [ ] and ( ) terms, FILTER
EXISTS, \\u escapes, a token it does not expect) is left as written, and a rewrite the engine cannot
parse is never used: the caller runs the client's own text then.

The cost model is the classic one for index nested-loop joins: a left-deep order costs the sum of its
intermediate row counts; a group the engine joins with what is written before it (a subgroup, a UNION
branch, OPTIONAL, GRAPH; not MINUS or a subquery) gets the variables written before it as bound; a
pattern's rows per input row come from exact counts for its constants
(capped) and each predicate's triples, distinct subjects and distinct objects. Orders of up to
DP_LIMIT triples are searched exhaustively over subsets; longer runs are ordered greedily.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from urllib.parse import urljoin

import pyoxigraph as ox

from ..graph.namespaces import RDF
from .guard import Token, tokens

RDF_TYPE = RDF + "type"
# What the counts may cost, whatever the store's size (they run inside the first query that needs them, and
# a worker killed at its time limit loses them): a constant's rows are counted up to COUNT_CAP (about 8 ms),
# beyond which any order is a scan anyway; a predicate's figures are read from its first SAMPLE triples
# (30-40 ms on the 100x graph, where every predicate but rdf:type is under SAMPLE).
COUNT_CAP = 10_000
SAMPLE = 50_000
KEPT_COUNTS = 65_536  # counts kept per store; queries name any constants they like, so it is bounded
DP_LIMIT = 8
REMEMBER, REMEMBERED_LENGTH = 1024, 8192

_PATH = {"/", "|", "^", "*", "+", "?", "!"}
# Keywords that start a group element other than triples (FILTER is handled apart).
_BARRIERS = {"OPTIONAL", "MINUS", "BIND", "VALUES", "GRAPH", "SERVICE"}
_ENDS = _BARRIERS | {"FILTER"}  # keywords that end a triples statement


class Unreadable(Exception):
    """The text holds something this module does not read: it is left as written."""


@dataclass(frozen=True)
class Term:
    kind: str  # var, const, bnode
    text: str  # as written in the query
    iri: str | None = None  # the IRI a constant names, when it is one (None for literals)


@dataclass(frozen=True)
class Pattern:
    s: Term
    p: Term
    o: Term

    def variables(self) -> frozenset[str]:
        return frozenset(
            t.text[1:] if t.kind == "var" else t.text for t in (self.s, self.p, self.o) if t.kind in ("var", "bnode")
        )

    def text(self) -> str:
        return f"{self.s.text} {self.p.text} {self.o.text} ."


class _Reader:
    """Finds the runs of triples in every group of a query, and what each run may be rewritten to."""

    def __init__(self, query: str, toks: list[Token]):
        self.query, self.toks = query, toks
        self.prefixes: dict[str, str] = {}
        self.base = ""
        # (start, end, triples, filters, variables bound before the run starts)
        self.runs: list[tuple[int, int, list[Pattern], list[str], frozenset[str]]] = []

    def tok(self, i: int) -> Token:
        if i >= len(self.toks):
            raise Unreadable("the end of the query inside a group")
        return self.toks[i]

    def is_(self, i: int, text: str) -> bool:
        t = self.tok(i)  # only ever asked inside a group, which cannot end with the query
        return t.kind in ("punct", "word") and t.text.upper() == text

    def read(self) -> None:
        i, toks = 0, self.toks
        values = False
        while i < len(toks):
            t = toks[i]
            upper = t.text.upper() if t.kind == "word" else ""
            if upper == "PREFIX" and i + 2 < len(toks) and toks[i + 2].kind == "iri":
                self.prefixes[toks[i + 1].text.rstrip(":")] = urljoin(self.base, toks[i + 2].text)
                i += 3
            elif upper == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
                self.base = urljoin(self.base, toks[i + 1].text)
                i += 2
            elif upper == "VALUES":
                values, i = True, i + 1
            elif t.kind == "punct" and t.text == "{":
                i = self.skip(i) if values else self.group(i)
                values = False
            else:
                i += 1

    def skip(self, i: int) -> int:
        """Past the bracketed block that opens at i."""
        depth = 0
        while True:
            t = self.tok(i)
            if t.kind == "punct" and t.text in "{([":
                depth += 1
            elif t.kind == "punct" and t.text in "})]":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1

    def variables(self, start: int, end: int) -> set[str]:
        return {t.text[1:] for t in self.toks[start:end] if t.kind == "word" and t.text[0] in "?$"}

    def group(self, i: int, outer: frozenset[str] = frozenset()) -> int:
        """Reads the group that opens at i; returns the index past its closing brace. outer: the variables
        that may have values when the group is joined (the engine joins a group with what is written
        before it, passing those values in), which count as bound when its runs are ordered."""
        i += 1
        # Pattern lists and ("filter", start, end) in the order written
        run: list[list[Pattern] | tuple[str, int, int]] = []
        start: int | None = None  # the offsets of the run in the query text
        end: int | None = None
        seen, scanned = set(outer), i  # variables written before the current element

        def before(k: int) -> frozenset[str]:
            nonlocal scanned
            seen.update(self.variables(scanned, k))
            scanned = max(scanned, k)
            return frozenset(seen)

        def close() -> None:
            nonlocal run, start
            triples = [p for e in run if isinstance(e, list) for p in e]
            if len(triples) >= 2:
                assert start is not None and end is not None, "set with the run's first element"
                filters = [self.query[e[1] : e[2]] for e in run if isinstance(e, tuple)]
                self.runs.append((start, end, triples, filters, given))
            run, start = [], None

        given = frozenset(outer)
        while True:
            t = self.tok(i)
            upper = t.text.upper() if t.kind in ("word", "punct") else ""
            if upper == "}":
                close()
                return i + 1
            if upper == ".":
                i += 1
            elif upper == "FILTER":
                j = i + 1
                if self.tok(j).kind == "word" and self.tok(j).text.upper() in ("NOT", "EXISTS"):
                    close()  # FILTER (NOT) EXISTS: its group stays as written, and ends the run
                    while not self.is_(j, "{"):
                        j += 1
                    i = self.skip(j)
                    continue
                if self.tok(j).kind in ("word", "iri"):
                    j += 1  # a function call: regex(...), <f>(...), ex:f(...)
                if not self.is_(j, "("):
                    raise Unreadable("a FILTER")
                j = self.skip(j)
                if any(tok.text == "{" for tok in self.toks[i:j] if tok.kind == "punct"):
                    close()  # an EXISTS inside the expression: left as written, and ends the run
                else:
                    if start is None:
                        start, given = t.offset, before(i)
                    end = self.toks[j - 1].end
                    run.append(("filter", t.offset, end))
                i = j
            elif upper in _BARRIERS or upper == "{":
                close()
                i = self.barrier(i, upper, before(i))
            elif upper == "SELECT":  # a subquery: its own WHERE group is read, the rest left alone
                close()
                while not self.is_(i, "{"):
                    i = self.skip(i) if self.is_(i, "(") else i + 1
                i = self.group(i)
                while not self.is_(i, "}"):
                    i = self.skip(i) if self.is_(i, "(") or self.is_(i, "{") else i + 1
            elif t.kind in ("iri", "word", "literal", "number") or upper in ("[", "("):
                j, triples = self.statement(i)
                if triples is None:
                    close()  # a path or a [ ] / ( ) term: a barrier, left as written
                else:
                    if start is None:
                        start, given = t.offset, before(i)
                    end = self.toks[j - 1].end
                    run.append(triples)
                i = j
            else:
                raise Unreadable(f"{t.text!r} in a group")

    def barrier(self, i: int, upper: str, outer: frozenset[str]) -> int:
        if upper == "{":
            i = self.group(i, outer)
            while self.is_(i, "UNION"):
                i = self.group(i + 1, outer)
            return i
        if upper == "BIND":
            return self.skip(i + 1)
        if upper == "VALUES":
            i += 1
            i = self.skip(i) if self.is_(i, "(") else i + 1
            return self.skip(i)
        if upper == "SERVICE":  # its pattern is planned by the remote endpoint, with its own counts
            while not self.is_(i, "{"):
                i += 1
            return self.skip(i)
        # OPTIONAL, MINUS, GRAPH term: the group that follows is read as a group. MINUS is not joined
        # with what comes before it, so nothing is bound in its group.
        while not self.is_(i, "{"):
            i += 1
        return self.group(i, frozenset() if upper == "MINUS" else outer)

    def term(self, t: Token, predicate: bool = False) -> Term | None:
        if t.kind == "word" and t.text[0] in "?$":
            return Term("var", t.text)
        if t.kind == "word" and t.text.startswith("_:"):
            return None if predicate else Term("bnode", t.text)
        if t.kind == "iri":  # relative to the server's base IRI, unknown here, it is counted as some one IRI
            iri = urljoin(self.base, t.text)
            return Term("const", self.query[t.offset : t.end], iri if ":" in iri else None)
        if t.kind == "word" and t.text == "a" and predicate:
            return Term("const", "a", RDF_TYPE)
        if t.kind == "word" and ":" in t.text:
            prefix, local = t.text.split(":", 1)
            if "\\" in local or prefix not in self.prefixes:
                return Term("const", t.text)
            return Term("const", t.text, self.prefixes[prefix] + local)
        if t.kind in ("literal", "number") and not predicate:
            return Term("const", t.text)
        if t.kind == "word" and t.text in ("true", "false") and not predicate:
            return Term("const", t.text)
        return None

    def statement(self, i: int) -> tuple[int, list[Pattern] | None]:
        """Reads the triples statement at i: the index past it, and its triples (None: not read)."""
        subject = self.term(self.tok(i))
        if subject is None:
            return self.past_statement(i), None
        i += 1
        triples: list[Pattern] = []
        while True:
            predicate = self.term(self.tok(i), predicate=True)
            if predicate is None or (self.tok(i + 1).kind == "punct" and self.tok(i + 1).text in _PATH):
                return self.past_statement(i), None
            i += 1
            while True:
                obj = self.term(self.tok(i))
                if obj is None:
                    return self.past_statement(i), None
                triples.append(Pattern(subject, predicate, obj))
                i += 1
                if not self.is_(i, ","):
                    break
                i += 1
            while self.is_(i, ";"):
                i += 1
            if (
                self.is_(i, ".")
                or self.is_(i, "}")
                or self.is_(i, "{")
                or (self.tok(i).kind == "word" and self.tok(i).text.upper() in _ENDS)
            ):
                return (i + 1 if self.is_(i, ".") else i), triples
            if self.toks[i - 1].text != ";":
                raise Unreadable("a triple")

    def past_statement(self, i: int) -> int:
        """Past the statement that i is inside: after its closing ".", or at what ends it."""
        while True:
            t = self.tok(i)
            if t.kind == "punct" and t.text in "([":
                i = self.skip(i)
            elif t.kind == "punct" and t.text in ".{}" or t.kind == "word" and t.text.upper() in _ENDS:
                return i + 1 if t.text == "." else i
            else:
                i += 1


class Statistics:
    """Counts from one store, read when first needed and kept: the store does not change while served."""

    def __init__(self, store: ox.Store):
        self.store = store
        self._counts: dict[tuple, int] = {}
        self._predicates: dict[str | None, tuple[int, int, int]] = {}
        self._predicate_count: int | None = None

    def count(self, s: str | None, p: str | None, o: str | None) -> int:
        key = (s, p, o)
        if key not in self._counts:
            if len(self._counts) >= KEPT_COUNTS:
                self._counts.clear()
            found = self.store.quads_for_pattern(
                ox.NamedNode(s) if s else None, ox.NamedNode(p) if p else None, ox.NamedNode(o) if o else None, None
            )
            self._counts[key] = sum(1 for _ in islice(found, COUNT_CAP))
        return self._counts[key]

    def _all_graphs(self, select: str, pattern: str, sample: int | None = None) -> ox.QuerySolution:
        """The one row of an aggregate over the matches of pattern in every graph of the store (over the
        first `sample` of them, if given)."""
        where = f"SELECT * WHERE {{ {pattern} }} LIMIT {sample}" if sample else pattern
        result = self.store.query(f"SELECT {select} WHERE {{ {where} }}", use_default_graph_as_union=True)
        assert isinstance(result, ox.QuerySolutions), "a SELECT query"
        return next(iter(result))

    def predicate(self, p: str | None) -> tuple[int, int, int]:
        """(triples, distinct subjects, distinct objects) with predicate p (None: any predicate)."""
        if p not in self._predicates:
            if len(self._predicates) >= KEPT_COUNTS:
                self._predicates.clear()
            row = self._all_graphs(
                "(COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?ds) (COUNT(DISTINCT ?o) AS ?do)",
                f"?s <{p}> ?o" if p else "?s ?p ?o",
                SAMPLE,
            )
            triples, subjects, objects = (max(1, int(row[k].value)) for k in ("n", "ds", "do"))
            self._predicates[p] = (triples, subjects, objects)
        return self._predicates[p]

    def distinct_predicates(self) -> int:
        if self._predicate_count is None:
            row = self._all_graphs("(COUNT(DISTINCT ?p) AS ?n)", "?s ?p ?o", SAMPLE)
            self._predicate_count = max(1, int(row["n"].value))
        return self._predicate_count

    def fanout(self, t: Pattern, bound: frozenset[str]) -> float:
        """Rows t matches for one input row in which the variables in bound have values."""

        def state(term: Term) -> str:
            if term.kind == "const":
                if term.iri:
                    return "iri"
                # A literal; or a prefixed name read without its IRI (escapes): some one value.
                return "value" if term.text[0] in "\"'+-.0123456789" or term.text in ("true", "false") else "bound"
            name = term.text[1:] if term.kind == "var" else term.text
            return "bound" if name in bound else "free"

        ss, ps, os_ = state(t.s), state(t.p), state(t.o)
        if ps == "value":
            return 0.0  # a literal predicate matches nothing
        p = t.p.iri if ps == "iri" else None
        triples, subjects, objects = self.predicate(p)
        rows = float(triples)
        if ss == "iri":
            rows *= self.count(t.s.iri, p, None) / triples
        elif ss == "bound":
            rows /= subjects
        elif ss == "value":
            return 0.0  # a literal subject matches nothing
        if os_ == "iri":
            rows *= self.count(None, p, t.o.iri) / triples
        elif os_ in ("bound", "value"):
            rows /= objects
        if ps == "bound":
            rows /= self.distinct_predicates()
        return rows


def best_order(triples: list[Pattern], stats: Statistics, given: frozenset[str] = frozenset()) -> list[Pattern]:
    """The order of triples whose left-deep join has the least sum of intermediate rows. The variables in
    given have values before the join starts (the server's substitutions)."""
    n = len(triples)
    names = [t.variables() for t in triples]
    fanouts: dict[tuple[int, frozenset], float] = {}

    def fanout(k: int, bound: frozenset[str]) -> float:
        key = (k, bound & names[k])
        if key not in fanouts:
            fanouts[key] = stats.fanout(triples[k], key[1])
        return fanouts[key]

    if n > DP_LIMIT:
        picked, bound, left = [], given, set(range(n))
        while left:
            # Connected patterns first (no cross products), the fewest rows among them.
            pick = min(left, key=lambda k: (not (names[k] & bound) and bool(bound), fanout(k, bound), k))
            picked.append(pick)
            bound |= names[pick]
            left.remove(pick)
        return [triples[k] for k in picked]
    # best[subset] = (cost, rows, order): subsets grow one pattern at a time.
    best: dict[int, tuple[float, float, tuple[int, ...]]] = {0: (0.0, 1.0, ())}
    for size in range(n):
        for subset, (cost, rows, order) in [(s, v) for s, v in best.items() if bin(s).count("1") == size]:
            bound = given.union(*(names[k] for k in order))
            for k in range(n):
                if subset & (1 << k):
                    continue
                after = rows * fanout(k, bound)
                candidate = (cost + after, after, order + (k,))
                key = subset | (1 << k)
                if key not in best or candidate[:1] + (candidate[2],) < best[key][:1] + (best[key][2],):
                    best[key] = candidate
    return [triples[k] for k in best[(1 << n) - 1][2]]


def reorder(query: str, stats: Statistics, given: frozenset[str] = frozenset()) -> str:
    """The query with each run of triples written in its cheapest order (the query itself if none moves).
    The variables in given are bound before the query runs (pyoxigraph's substitutions)."""
    if "\\u" in query or "\\U" in query:
        return query  # escapes are resolved before parsing: offsets here would not be the engine's
    try:
        reader = _Reader(query, list(tokens(query, literals=True)))
        reader.read()
    except Unreadable:
        return query
    edits = []
    for start, end, triples, filters, bound in reader.runs:
        ordered = best_order(triples, stats, given | bound)
        if ordered != triples:
            edits.append((start, end, "\n".join([t.text() for t in ordered] + filters)))
    for start, end, text in sorted(edits, reverse=True):
        query = query[:start] + text + query[end:]
    return query


class Planner:
    """reorder() for one store, with its rewrites of recent query texts remembered."""

    def __init__(self, store: ox.Store):
        self.stats = Statistics(store)
        self._texts: dict[tuple[str, frozenset[str]], str] = {}

    def __call__(self, query: str, given: frozenset[str] = frozenset()) -> str:
        found = self._texts.get((query, given))
        if found is None:
            try:
                found = reorder(query, self.stats, given)
            except Exception:  # noqa: BLE001 - a fault in planning must never fail the query itself
                found = query
            if len(query) <= REMEMBERED_LENGTH:
                if len(self._texts) >= REMEMBER:
                    self._texts.pop(next(iter(self._texts)))
                self._texts[query, given] = found
        return found
