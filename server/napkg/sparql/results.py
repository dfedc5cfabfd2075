"""Query results to bytes: the SPARQL result formats and the RDF formats, chosen by media type.

SELECT results are written here rather than by pyoxigraph's serializer because the endpoint cuts them at
a row limit and must know how many rows there were; a SELECT whose own LIMIT is within the row limit
cannot be cut and goes through pyoxigraph's writer (NATIVE_TABLE_FORMATS), several times faster. Graph
results go through pyoxigraph's native writers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from ..graph.namespaces import RDF, XSD

XSD_STRING = XSD + "string"

#: An RDF term as pyoxigraph gives it: a value in a solution, or a triple's object.
Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple

#: media type -> short name, for SELECT and ASK results
TABLE_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
#: the same formats in pyoxigraph, for results known to be under the row limit
NATIVE_TABLE_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
#: media type -> pyoxigraph format, for CONSTRUCT and DESCRIBE results
GRAPH_TYPES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
#: other names clients use for the same formats
ALIASES = {
    "application/json": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
    "text/xml": "application/sparql-results+xml",
    "text/plain": "application/n-triples",
    "application/x-turtle": "text/turtle",
    "application/turtle": "text/turtle",
}
#: For a graph, plain JSON is JSON-LD (JSON-LD 1.1, 9.1: a JSON-LD document is JSON), and N3 is Turtle,
#: which is a subset of it: R's and JavaScript's HTTP clients ask for application/json.
GRAPH_ALIASES = {
    **ALIASES,
    "application/json": "application/ld+json",
    "text/n3": "text/turtle",
    "text/rdf+n3": "text/turtle",
}
#: format= values (for links and spreadsheets, and what SPARQLWrapper sends), by kind of result: "xml"
#: and "json" mean the SPARQL result formats for a table and RDF/XML and JSON-LD for a graph.
FORMAT_PARAM = {
    "table": {
        "json": "application/sparql-results+json",
        "srj": "application/sparql-results+json",
        "xml": "application/sparql-results+xml",
        "srx": "application/sparql-results+xml",
        "csv": "text/csv",
        "tsv": "text/tab-separated-values",
    },
    "graph": {
        "ttl": "text/turtle",
        "turtle": "text/turtle",
        "n3": "text/turtle",
        "nt": "application/n-triples",
        "ntriples": "application/n-triples",
        "n-triples": "application/n-triples",
        "jsonld": "application/ld+json",
        "json-ld": "application/ld+json",
        "json": "application/ld+json",
        "rdf": "application/rdf+xml",
        "rdfxml": "application/rdf+xml",
        "rdf+xml": "application/rdf+xml",
        "xml": "application/rdf+xml",
    },
    "dataset": {"nq": "application/n-quads", "nquads": "application/n-quads", "trig": "application/trig"},
}
#: media type -> pyoxigraph format, for a whole dataset (graphstore.py)
DATASET_TYPES = {
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/trig": ox.RdfFormat.TRIG,
}


def _term_json(term: Term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": _term_json(term.subject),
                "predicate": _term_json(term.predicate),
                "object": _term_json(term.object),
            },
        }
    raise TypeError(f"unexpected term {term!r}")


def _term_xml(term: Term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    if isinstance(term, ox.Triple):
        return (
            f"<triple><subject>{_term_xml(term.subject)}</subject><predicate>{_term_xml(term.predicate)}"
            f"</predicate><object>{_term_xml(term.object)}</object></triple>"
        )
    raise TypeError(f"unexpected term {term!r}")


def _term_csv(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Triple):
        return str(term)
    return term.value


def more_rows_than(body: bytes, media_type: str, limit: int) -> bool:
    """Whether a result written by pyoxigraph's native writer (NATIVE_TABLE_FORMATS) has more than limit
    rows. XML and TSV are counted directly (a <result> element, a line: their values are escaped); JSON
    and CSV are parsed, but only when the body is long enough to hold that many rows (a JSON row takes at
    least 3 bytes, "{}," ; a CSV row 2, its line end)."""
    kind = TABLE_TYPES[media_type]
    if kind == "xml":
        return body.count(b"<result>") > limit
    if kind == "tsv":
        return body.count(b"\n") - 1 > limit  # the first line names the variables
    if len(body) <= 2 * limit:
        return False
    if kind == "json":
        return len(json.loads(body)["results"]["bindings"]) > limit
    return sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8"), newline=""))) - 1 > limit


def write_table(variables: list[str], rows: list[list], media_type: str) -> bytes:
    """pyoxigraph writes only a whole QuerySolutions (all the solutions left in it) and cannot build or slice
    one from Python rows, so a result cut at max_rows is written here."""
    kind = TABLE_TYPES[media_type]
    if kind == "json":
        bindings = [{v: _term_json(t) for v, t in zip(variables, row, strict=False) if t is not None} for row in rows]
        return json.dumps(
            {"head": {"vars": variables}, "results": {"bindings": bindings}}, ensure_ascii=False, separators=(",", ":")
        ).encode()
    if kind == "xml":
        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
        out += [f"<variable name={quoteattr(v)}/>" for v in variables]
        out.append("</head><results>")
        for row in rows:
            out.append("<result>")
            out += [
                f"<binding name={quoteattr(v)}>{_term_xml(t)}</binding>"
                for v, t in zip(variables, row, strict=False)
                if t is not None
            ]
            out.append("</result>")
        out.append("</results></sparql>\n")
        return "".join(out).encode()
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(variables)
        writer.writerows([_term_csv(t) for t in row] for row in rows)
        return buffer.getvalue().encode()
    # TSV: terms in their SPARQL/N-Triples form, variables with their ?.
    lines = ["\t".join("?" + v for v in variables)]
    lines += ["\t".join("" if t is None else str(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def write_boolean(value: bool, media_type: str) -> bytes:
    """pyoxigraph cannot build a QueryBoolean from a bool and writes one in CSV and TSV as a bare "true",
    without Jena's _askResult header line (tests/test_cli_query.py), so an ASK result is written here."""
    kind = TABLE_TYPES[media_type]
    if kind == "json":
        return json.dumps({"head": {}, "boolean": value}).encode()
    if kind == "xml":
        return (
            f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
            f"<boolean>{'true' if value else 'false'}</boolean></sparql>\n"
        ).encode()
    return (
        ("_askResult\r\n" if kind == "csv" else "?_askResult\n").encode()
        + (b"true" if value else b"false")
        + (b"\r\n" if kind == "csv" else b"\n")
    )


def write_graph(triples: list, media_type: str, prefixes: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    fmt = GRAPH_TYPES[media_type]
    if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) and prefixes:
        ox.serialize(triples, buffer, fmt, prefixes=prefixes)
    else:
        ox.serialize(triples, buffer, fmt)
    if fmt == ox.RdfFormat.JSON_LD and prefixes:
        return compact_json_ld(buffer.getvalue(), prefixes)
    return buffer.getvalue()


RDF_TYPE = RDF + "type"
#: What a JSON-LD 1.1 prefix's IRI must end with for "prefix:name" to expand to it (its prefix flag).
_GEN_DELIMS = (":", "/", "?", "#", "[", "]", "@")


def compact_json_ld(expanded: bytes, prefixes: dict[str, str]) -> bytes:
    """pyoxigraph's JSON-LD (expanded: full IRIs, no @context, whatever prefixes it is given) with IRIs
    written as prefix:name, rdf:type as @type, and an @context of the prefixes it uses: the same triples,
    readable by a person. Only what expands back to the same IRI is shortened: not a name starting with
    "//" (JSON-LD reads that as an IRI), and no prefix that is also the scheme of an IRI left whole
    (JSON-LD would read "fn:x" as fn: plus "x").
    Not pyld or rdflib: on 10,000 triples pyld 3.3's compact took 0.77 s and rdflib 7.6's (parse, serialize
    with a context) 0.35 s against 40-46 ms here, and both change triples tests/test_json_ld.py checks."""
    nodes = json.loads(expanded)
    usable = {
        name: iri
        for name, iri in prefixes.items()
        if name and name != "_" and ":" not in name and iri.endswith(_GEN_DELIMS)
    }
    while True:
        used: dict[str, str] = {}
        whole: set[str] = set()  # the schemes of the IRIs left whole
        shorten = _shortener(usable, used, whole)
        graph = _merged([_compact_node(node, shorten) for node in nodes])
        clashes = whole & used.keys()
        if not clashes:
            break
        usable = {name: iri for name, iri in usable.items() if name not in clashes}
    if not used:
        return expanded
    context = {name: used[name] for name in sorted(used)}
    # On one line, as pyoxigraph writes it: with indent, json falls back from its C encoder. 10k triples
    # take 60-75 ms here (97 with indent), against 9-11 ms for pyoxigraph's expanded form alone.
    return json.dumps({"@context": context, "@graph": graph}, ensure_ascii=False).encode()


def _shortener(usable: dict[str, str], used: dict[str, str], whole: set[str]) -> Callable[[str], str]:
    by_length = sorted(usable.items(), key=lambda item: -len(item[1]))  # the longest namespace wins
    seen: dict[str, str] = {}

    def shorten(iri: str) -> str:
        short = seen.get(iri)
        if short is None:
            short = iri
            if not iri.startswith("_:"):
                for name, namespace in by_length:
                    if iri.startswith(namespace) and not iri.startswith("//", len(namespace)):
                        short = f"{name}:{iri[len(namespace) :]}"
                        used[name] = namespace
                        break
                else:
                    whole.add(iri.split(":", 1)[0])
            seen[iri] = short
        return short

    return shorten


def _merged(nodes: list[dict]) -> list[dict]:
    """One node for each subject: pyoxigraph's writer streams, and starts a new node whenever the subject
    changes, so a subject whose triples are not together comes as several."""
    by_id: dict[str, dict] = {}
    for node in nodes:
        seen = by_id.setdefault(node.get("@id", id(node)), {})  # (pyoxigraph names every subject)
        for key, values in node.items():
            if key == "@id":
                seen[key] = values
            else:
                seen.setdefault(key, []).extend(values)
    return [{key: node[key] for key in ("@id", "@type") if key in node} | node for node in by_id.values()]


def _compact_node(node: dict, shorten: Callable[[str], str]) -> dict:
    head: dict[str, str | list[str]] = {}  # @id and @type, first
    types: list[str] = []
    rest: dict[str, Any] = {}
    for key, values in node.items():
        if key == "@id":
            head[key] = shorten(values)
        elif key == "@type":
            types += [shorten(v) for v in values]
        elif key.startswith("@"):
            rest[key] = values
        elif key == RDF_TYPE and all(set(v) == {"@id"} and not v["@id"].startswith("_:") for v in values):
            types += [shorten(v["@id"]) for v in values]
        else:
            rest[shorten(key)] = [_compact_value(v, shorten) for v in values]
    if types:
        head["@type"] = types
    return {**head, **rest}


def _compact_value(value: dict, shorten: Callable[[str], str]) -> dict | str:
    if "@id" in value:
        return {"@id": shorten(value["@id"])}
    if "@type" in value:
        return {**value, "@type": shorten(value["@type"])}
    if set(value) == {"@value"}:
        return value["@value"]  # a plain string
    return value
