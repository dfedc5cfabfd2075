"""A query with its parameters bound in VALUES blocks instead of substitutions (`with_values`): for SPARQL
endpoints that take none (`napkg query --endpoint`), for a federated named query (the engine sends a SERVICE
pattern as written, so only a VALUES block inside it carries the value there) and for the query editor's
examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import guard


@dataclass
class _Frame:
    kind: str  # "where" (the query's WHERE clause), "group", "subquery" ({ SELECT ... }), "template", "data", "(", "["
    start: int
    visible: set  # the parameters (names without ?) that are the outer ones here
    used: set = field(default_factory=set)
    projection: set | None = None  # of a subquery: its projected variables (None: SELECT *)
    collecting: bool = False  # reading the SELECT clause of a subquery


def _placements(text: str, names: set[str]) -> list[tuple[int, set[str] | None]]:
    """(offset just after a group's '{', the parameters that belong there, None: all) for each VALUES block.

    The query is read with guard.tokens, so braces in comments, strings and IRIs do not count. The WHERE
    clause takes every parameter; each group inside it (OPTIONAL, UNION branches, GRAPH, MINUS, FILTER
    EXISTS, a subquery's WHERE) those it uses itself or in a group within. Like substitution (SEP-0007),
    this follows SPARQL's variable scopes: inside a subquery that does not project ?_x, ?_x is a variable
    of its own and is left unbound. ValueError for a query without a WHERE clause (DESCRIBE <x>) and for
    the CONSTRUCT WHERE short form, whose pattern may hold triples only."""
    tokens = list(guard.tokens(text))
    stack: list[_Frame] = []
    placements: list[tuple[int, set[str] | None]] = []
    form, where, template, data_block = None, False, False, False
    for k, token in enumerate(tokens):
        frame = stack[-1] if stack else None
        visible = frame.visible if frame else set(names)
        upper = token.text.upper() if token.kind == "word" else ""
        if frame and frame.kind == "subquery" and frame.collecting and (upper == "WHERE" or token.text == "{"):
            frame.collecting = False
            if frame.projection is not None:  # from here on, only what the subquery projects is the outer one
                frame.visible = frame.visible & frame.projection
                visible = frame.visible
        if token.kind == "word":
            if form is None and upper in guard.QUERY_KEYWORDS:
                form = upper
            elif upper == "SELECT" and frame and frame.kind == "subquery":
                frame.projection, frame.collecting = set(), True
            elif upper == "VALUES":
                data_block = True
            elif upper == "WHERE" and not stack:
                where = True
            elif token.text[:1] in "?$":
                name = token.text[1:]
                inner = next((f for f in reversed(stack) if f.kind == "subquery" and f.collecting), None)
                if (
                    inner is not None
                    and inner.projection is not None
                    and (stack[-1] is inner or tokens[k - 1].text.upper() == "AS")
                ):
                    inner.projection.add(name)
                if name in visible:
                    for enclosing in stack:  # the same variable in every enclosing group
                        enclosing.used.add(name)
            continue
        if token.kind != "punct":
            continue
        if token.text == "*" and frame and frame.kind == "subquery" and frame.collecting:
            frame.projection = None  # SELECT *: every variable in scope
        elif token.text == "{":
            following = tokens[k + 1] if k + 1 < len(tokens) else None
            if data_block:
                kind, data_block = "data", False
            elif frame and frame.kind in ("template", "data"):
                kind = frame.kind
            elif not stack and form == "CONSTRUCT" and not where:
                kind, template = "template", True
            elif not stack and form == "CONSTRUCT" and not template:
                raise ValueError(
                    "a CONSTRUCT WHERE { } short form cannot take a VALUES block; "
                    "write CONSTRUCT { template } WHERE { pattern }"
                )
            elif following is not None and following.kind == "word" and following.text.upper() == "SELECT":
                kind = "subquery"
            else:
                kind = "where" if not stack else "group"
            stack.append(_Frame(kind, token.offset, set(visible)))
        elif token.text in "([":
            stack.append(_Frame(token.text, token.offset, set(visible)))
        elif token.text in ")]}" and stack:
            closed = stack.pop()
            if closed.kind == "where":
                placements.append((closed.start + 1, None))
            elif closed.kind == "group" and closed.used:
                placements.append((closed.start + 1, closed.used))
    if not any(used is None for _, used in placements):
        raise ValueError("the query has no WHERE clause to put the parameters' VALUES block in")
    return placements


def values_block(bound: dict, indent: str = "  ") -> str:
    """VALUES (?_a ?_b) { (term term) } for {Variable: pyoxigraph term}; terms in their N-Triples form."""
    variables = " ".join(str(v) for v in bound)
    terms = " ".join(str(t) for t in bound.values())
    return f"\n{indent}VALUES ({variables}) {{ ({terms}) }}"


def with_values(text: str, bound: dict) -> str:
    """The query with these bindings ({Variable: pyoxigraph term}) in VALUES blocks instead of
    substitutions, for a SPARQL endpoint that takes none: all of them right after the opening brace of the
    WHERE clause, and each also after the opening brace of every group inside that uses it (an OPTIONAL, a
    UNION branch, the WHERE clause of a subquery that projects it), so that these see the value as they
    would with a substitution. The values are serialized RDF terms, checked by Parameter.term, so they
    cannot end the block.

    Where the results can still differ from a substitution: a MINUS whose group shares no variable with
    the rest but the parameter (with VALUES it then removes solutions), and a parameter written in a form
    guard.tokens does not read as a variable (a \\u escape)."""
    if not bound:
        return text
    names = {v.value for v in bound}
    for position, used in sorted(_placements(text, names), key=lambda p: p[0], reverse=True):
        chosen = {v: t for v, t in bound.items() if used is None or v.value in used}
        line = text[text.rfind("\n", 0, position) + 1 : position - 1]
        indent = line[: len(line) - len(line.lstrip())] + "  "
        text = text[:position] + values_block(chosen, indent) + text[position:]
    return text
