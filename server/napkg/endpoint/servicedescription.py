"""The SPARQL 1.1 Service Description of the endpoint, with VoID statistics of its dataset."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import rdflib
from rdflib.namespace import RDF, RDFS, XSD

from ..graph.namespaces import DCT, SD, VOID
from .rdfmedia import RDF_MEDIA

FORMATS = rdflib.Namespace("http://www.w3.org/ns/formats/")
ENT = rdflib.Namespace("http://www.w3.org/ns/entailment/")

RESULT_FORMATS = [
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "JSON-LD",
    "RDF_XML",
]


class ServiceDescription:
    """Built once from the dataset's statistics; the endpoint IRI is filled in per request (a mirror or a
    local server describes itself at its own address)."""

    def __init__(
        self,
        statistics: dict,
        *,
        union_default_graph: bool,
        allow_service: tuple[str, ...],
        timeout: float,
        max_rows: int,
        title: str,
    ):
        self.statistics, self.union = statistics, union_default_graph
        self.allow_service, self.timeout, self.max_rows, self.title = allow_service, timeout, max_rows, title
        self._cache: dict[tuple[str, str], bytes] = {}

    def graph(self, endpoint: str) -> rdflib.Graph:
        g = rdflib.Graph()
        for prefix, ns in (("sd", SD), ("void", VOID), ("formats", FORMATS), ("ent", ENT), ("dct", DCT)):
            g.bind(prefix, ns)
        service = rdflib.URIRef(endpoint)
        g.add((service, RDF.type, SD.Service))
        g.add((service, SD.endpoint, service))
        g.add((service, DCT.title, rdflib.Literal(self.title, lang="en")))
        g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
        for fmt in RESULT_FORMATS:
            g.add((service, SD.resultFormat, FORMATS[fmt]))
        g.add((service, SD.defaultEntailmentRegime, ENT.Simple))
        g.add((service, SD.feature, SD.EmptyGraphs))
        if self.union:
            g.add((service, SD.feature, SD.UnionDefaultGraph))
        if self.allow_service:
            g.add((service, SD.feature, SD.BasicFederatedQuery))
        g.add(
            (
                service,
                RDFS.comment,
                rdflib.Literal(
                    f"Read-only. Queries run at most {self.timeout:g} s; results are cut at {self.max_rows} rows or "
                    f"triples "
                    "(the response then carries X-Result-Truncated: true). "
                    + (
                        f"SERVICE may call only endpoints under: {', '.join(self.allow_service)}."
                        if self.allow_service
                        else "SERVICE is not allowed."
                    ),
                    lang="en",
                ),
            )
        )

        dataset = rdflib.BNode("dataset")
        g.add((service, SD.defaultDataset, dataset))
        g.add((dataset, RDF.type, SD.Dataset))
        g.add((dataset, RDF.type, VOID.Dataset))
        self._figures(g, dataset, self.statistics["dataset"])
        default = rdflib.BNode("default-graph")
        g.add((dataset, SD.defaultGraph, default))
        g.add((default, RDF.type, SD.Graph))
        self._figures(g, default, self.statistics["dataset" if self.union else "default_graph"])
        for i, (name, figures) in enumerate(sorted(self.statistics["graphs"].items())):
            named, graph = rdflib.BNode(f"named-{i}"), rdflib.BNode(f"graph-{i}")
            g.add((dataset, SD.namedGraph, named))
            g.add((named, RDF.type, SD.NamedGraph))
            g.add((named, SD.name, rdflib.URIRef(name)))
            g.add((named, SD.graph, graph))
            g.add((graph, RDF.type, SD.Graph))
            self._figures(g, graph, figures)
            g.add((dataset, VOID.subset, graph))
        return g

    @staticmethod
    def _figures(g: rdflib.Graph, node: rdflib.BNode, figures: dict) -> None:
        for key in ("triples", "entities", "classes", "properties"):
            g.add((node, VOID[key], rdflib.Literal(figures[key], datatype=XSD.integer)))

    def serialize(self, endpoint: str, media_type: str) -> bytes:
        key = (endpoint, media_type)
        if key not in self._cache:
            self._cache[key] = self.graph(endpoint).serialize(
                format=RDF_MEDIA[media_type].rdflib_format, encoding="utf-8"
            )
        return self._cache[key]

    def html(self, endpoint: str) -> str:
        s = self.statistics
        rows = "".join(
            f'<tr><td><a href="/store?graph={quote(name, safe="")}"><code>{escape(name)}</code></a></td>'
            f"<td>{f['triples']:,}</td><td>{f['entities']:,}</td>"
            f"<td>{f['classes']:,}</td><td>{f['properties']:,}</td></tr>"
            for name, f in sorted(s["graphs"].items())
        )
        turtle = escape(self.serialize(endpoint, "text/turtle").decode())
        d = s["dataset"]
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(self.title)}: SPARQL endpoint</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ccc;padding:.2rem .6rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}}pre{{background:#f4f4f4;padding:1rem;overflow:auto}}</style></head>
<body><h1>{escape(self.title)}</h1>
<p>This is a read-only SPARQL 1.1 endpoint: <code>{escape(endpoint)}</code>. Write queries in the
<a href="/">query editor</a>, or send them with GET <code>?query=</code> or POST. Each graph is also at
<code>/store?graph=IRI</code> (the Graph Store Protocol, read-only), the whole dataset at
<a href="/store">/store</a>.</p>
<p>Default dataset: {"the union of all named graphs" if self.union else "the default graph"},
{d["triples"]:,} triples, {d["entities"]:,} entities, {d["classes"]:,} classes, {d["properties"]:,} properties.</p>
<table><thead><tr><th>named graph</th><th>triples</th><th>entities</th><th>classes</th><th>properties</th></tr></thead>
<tbody>{rows}</tbody></table>
<h2>Service description</h2><p>Also as <a href="?format=ttl">Turtle</a>, <a href="?format=jsonld">JSON-LD</a>,
<a href="?format=rdf">RDF/XML</a>.</p><pre>{turtle}</pre></body></html>"""
