"""Checks on a query's text that run before any engine sees it.

pyoxigraph crashes on very deep nesting, calls any URL named in SERVICE and has no switch to stop it
(tests/test_limits.py), so the server reads the query itself first: a small lexer that knows SPARQL's comments,
strings and IRIs finds the nesting depth, the SERVICE targets and the operation, without parsing the
grammar. What it refuses never reaches the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

_IRI = re.compile(r'<([^<>"{}|^`\\\x00-\x20]*)>')
# A prefixed name's local part may hold escapes (PN_LOCAL_ESC: \\' \\# ...): they must not open a string
# or a comment in our reading when they do not in the engine's.
_LOCAL = r"(?:[\w\-.:%\u00B7\u00C0-\uFFFF]|\\[_~.\-!$&'()*+,;=/?#@%])*"
_WORD = re.compile(
    r"[A-Za-z_\u00C0-\uFFFF][\w\-.\u00B7\u00C0-\uFFFF]*(?::"
    + _LOCAL
    + r")?|:"
    + _LOCAL
    + r"|[?$][\w\u00B7\u00C0-\uFFFF]+"
)
_OPEN, _CLOSE = "{([", "})]"

UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
QUERY_KEYWORDS = {"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"}


class Refused(Exception):
    """A query the server will not run. status is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Token:
    kind: str  # "iri" (text: between the brackets), "word", "punct"; with literals=True "literal", "number"
    text: str
    offset: int

    @property
    def end(self) -> int:
        return self.offset + len(self.text) + (2 if self.kind == "iri" else 0)


# A literal's language tag or datatype marker, and a number, read as the SPARQL grammar's longest match.
_SUFFIX = re.compile(r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*|\^\^")
_NUMBER = re.compile(
    r"[+-]?(?:[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+\.[0-9]*[eE][+-]?[0-9]+|[0-9]+(?:[eE][+-]?[0-9]+)?)"
)


def tokens(query: str, literals: bool = False) -> Iterator[Token]:
    """The query's tokens, without comments and string contents (strings are skipped whole). With
    literals=True, for a reader of triples: strings come as "literal" tokens with their language tag or
    datatype, numbers as "number" tokens, and no word ends with "." (that one ends a triple)."""
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c == "#":
            # A comment ends at the end of the line, which SPARQL marks with \n or \r.
            ends = [e for e in (query.find("\n", i), query.find("\r", i)) if e >= 0]
            i = min(ends) + 1 if ends else n
        elif c in "\"'":
            quote = c * 3 if query.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not query.startswith(quote, j):
                j += 2 if query[j] == "\\" else 1
            start, i = i, min(n, j + len(quote))
            if literals:
                if (suffix := _SUFFIX.match(query, i)) is not None:
                    i = suffix.end()
                    if suffix.group(0) == "^^" and (datatype := _IRI.match(query, i) or _WORD.match(query, i)):
                        name = datatype.group(0)  # a prefixed name never ends with ".": that one ends a triple
                        i = datatype.start() + len(name if datatype.re is _IRI else name.rstrip(".") or name)
                yield Token("literal", query[start:i], start)
        elif c == "<" and (m := _IRI.match(query, i)):
            yield Token("iri", m.group(1), i)
            i = m.end()
        elif (
            literals
            and (c.isdigit() or c in "+-." and query[i + 1 : i + 2].isdigit())
            and (m := _NUMBER.match(query, i))
        ):
            yield Token("number", m.group(0), i)
            i = m.end()
        elif m := _WORD.match(query, i):
            text = (m.group(0).rstrip(".") or m.group(0)) if literals else m.group(0)
            yield Token("word", text, i)
            i += len(text)
        else:
            yield Token("punct", c, i)
            i += 1


@dataclass(frozen=True)
class Inspection:
    operation: str  # the first query or update keyword: SELECT, ASK, INSERT, ...
    depth: int
    services: tuple[str, ...]  # absolute IRIs named in SERVICE; "?var" for a variable
    has_from: bool = False  # the query names its own dataset (FROM or FROM NAMED)
    # (start, end) of each SERVICE target in the query with its \u escapes resolved, as in services
    service_spans: tuple[tuple[int, int], ...] = ()
    # The outermost query's LIMIT (a LIMIT outside every bracket can only be that one), None if none was
    # read: a SELECT with LIMIT n cannot return more than n rows.
    limit: int | None = None
    # Where a LIMIT clause may be added to a SELECT that has none: before its closing VALUES clause, or at
    # the end. None for other operations, and for texts with \u escapes (offsets here are of the text
    # with its escapes resolved).
    limit_at: int | None = None


_INTEGER = re.compile(r"[ \t\r\n]*([0-9]+)")
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def unescape_codepoints(query: str) -> str:
    """SPARQL resolves \\uXXXX and \\UXXXXXXXX escapes before parsing, anywhere in the query: so must we."""
    return _CODEPOINT.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), query)


def inspect(query: str) -> Inspection:
    original, query = query, unescape_codepoints(query)
    prefixes: dict[str, str] = {}
    base = ""
    depth = deepest = 0
    operation = ""
    services: list[str] = []
    spans: list[tuple[int, int]] = []
    has_from = False
    limit = values_at = None
    toks = list(tokens(query))
    for k, tok in enumerate(toks):
        upper = tok.text.upper()
        if tok.kind == "iri":
            # "<" is also less-than, so what we read as an IRI may be code to the engine: count its opening
            # brackets as nesting (never its closing ones), which can only overstate the depth.
            opened = sum(tok.text.count(b) for b in _OPEN)
            deepest = max(deepest, depth + opened)
            depth += opened
            continue
        if tok.kind == "punct":
            if tok.text in _OPEN:
                depth += 1
                deepest = max(deepest, depth)
            elif tok.text in _CLOSE:
                depth -= 1
            continue
        if tok.kind != "word":
            continue
        if upper == "PREFIX" and k + 2 < len(toks) and toks[k + 2].kind == "iri":
            prefixes[toks[k + 1].text.rstrip(":")] = urljoin(base, toks[k + 2].text)
        elif upper == "BASE" and k + 1 < len(toks) and toks[k + 1].kind == "iri":
            base = urljoin(base, toks[k + 1].text)
        elif not operation and (upper in QUERY_KEYWORDS or upper in UPDATE_KEYWORDS):
            operation = upper
        elif upper == "FROM":
            has_from = True
        elif upper == "LIMIT" and depth == 0 and (m := _INTEGER.match(query, tok.offset + 5)):
            limit = int(m.group(1))
        elif upper == "VALUES" and depth == 0 and values_at is None:
            values_at = tok.offset  # outside every bracket: the query's closing VALUES clause
        elif upper == "SERVICE":
            j = k + 1
            if j < len(toks) and toks[j].text.upper() == "SILENT":
                j += 1
            target = toks[j] if j < len(toks) else None
            if target is not None:
                spans.append((target.offset, target.offset + len(target.text) + (2 if target.kind == "iri" else 0)))
            if target is None:
                services.append("")
            elif target.kind == "iri":
                services.append(urljoin(base, target.text))
            elif target.text.startswith(("?", "$")):
                services.append(target.text)
            elif ":" in target.text:
                prefix, local = target.text.split(":", 1)
                services.append(
                    prefixes.get(prefix, target.text + " (unknown prefix)") + local
                    if prefix in prefixes
                    else target.text
                )
            else:
                services.append(target.text)
    limit_at = None
    if operation == "SELECT" and limit is None and len(query) == len(original):
        limit_at = len(query) if values_at is None else values_at
    return Inspection(operation, deepest, tuple(services), has_from, tuple(spans), limit, limit_at)


def undeclared_prefixes(query: str) -> list[Token]:
    """The first use of each prefix the query uses but does not declare, in text order. pyoxigraph
    reports these as a list of expected characters, or as an unrelated keyword ("expected ENCODE_FOR_URI"
    for xsd:integer(1)), so the server names them itself when a query does not parse."""
    declared: set[str] = set()
    first: dict[str, Token] = {}
    toks = list(tokens(unescape_codepoints(query)))
    for k, tok in enumerate(toks):
        if tok.kind != "word" or ":" not in tok.text or tok.text.startswith(("?", "$", "_:")):
            continue
        if k > 0 and toks[k - 1].text == "<" and toks[k - 1].end == tok.offset:
            continue  # the inside of an IRI the lexer could not read (a space or a control character in it)
        prefix = tok.text.split(":", 1)[0]
        if k > 0 and toks[k - 1].kind == "word" and toks[k - 1].text.upper() == "PREFIX":
            declared.add(prefix)
        elif prefix not in declared:
            first.setdefault(prefix, tok)
    return list(first.values())


def rewrite_services(query: str, found: Inspection, target: Callable[[str], str]) -> str:
    """The query with each SERVICE endpoint replaced by target(endpoint): the server routes allowed
    SERVICE calls through its own forwarder, which bounds their time and size."""
    text = unescape_codepoints(query)
    for (start, end), endpoint in sorted(zip(found.service_spans, found.services, strict=False), reverse=True):
        text = text[:start] + "<" + target(endpoint) + ">" + text[end:]
    return text


@dataclass(frozen=True)
class Limits:
    max_query_length: int = 64 * 1024
    max_depth: int = 64
    allow_service: tuple[str, ...] = ()


# Inspections of recent short queries: the lexer costs ~25 us a query, as much as answering a cheap one,
# and clients repeat the same texts. Only the reading is remembered; every request is still checked
# against the limits and run by the engine. Bounded: at most _REMEMBER texts of at most 4 KiB.
_REMEMBER, _REMEMBERED_LENGTH = 2048, 4096
_inspections: dict[str, Inspection] = {}


def inspect_remembered(query: str) -> Inspection:
    found = _inspections.get(query)
    if found is None:
        found = inspect(query)
        if len(query) <= _REMEMBERED_LENGTH:
            if len(_inspections) >= _REMEMBER:
                _inspections.pop(next(iter(_inspections)))
            _inspections[query] = found
    return found


def check(query: str, limits: Limits) -> Inspection:
    """Refuse what must not reach the engine; return what was found otherwise."""
    if len(query) > limits.max_query_length:
        raise Refused(
            400, f"The query is {len(query)} characters long; this endpoint accepts at most {limits.max_query_length}."
        )
    found = inspect_remembered(query)
    if found.depth > limits.max_depth:
        raise Refused(
            400,
            f"The query is nested {found.depth} levels deep; this endpoint accepts at most "
            f"{limits.max_depth} levels of {{ }}, ( ) and [ ].",
        )
    if found.operation in UPDATE_KEYWORDS:
        raise Refused(
            403,
            f"This endpoint is read-only: {found.operation} and every other SPARQL Update "
            "operation (LOAD included) is refused.",
        )
    for target in found.services:
        if not target.startswith(("?", "$")) and any(target.startswith(p) for p in limits.allow_service if p):
            continue
        allowed = ", ".join(limits.allow_service) or "none"
        what = f"a variable ({target})" if target.startswith(("?", "$")) else f"<{target}>"
        raise Refused(
            400,
            f"SERVICE {what} is not allowed on this endpoint (allowed endpoints: {allowed}). "
            "The operator can allow endpoints with --allow-service.",
        )
    return found
