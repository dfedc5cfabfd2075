"""The documentation of the model, generated from ontology/: /def as a page, a diagram and RDF.

Nothing here is written by hand: every class, property, individual and concept scheme of the page, and
every box and arrow of the diagram, is read from the ontology files, so the page cannot drift from the
model. The IRIs of our terms are https://w3id.org/nap-bhr/def#Term, which resolve to /def with the term's
fragment: each term has the anchor #Term on the page.

The diagram is laid out here, in Python: classes are boxes in layers, object properties whose domain and
range are both our classes are labelled arrows between them, and subclass edges between our classes are
arrows with a hollow head. Layers follow the longest path along those edges; the order within a layer is
improved by barycentre sweeps; x positions are the closest to the neighbours' positions that keep the order
and the spacing (pool-adjacent-violators).
Not Graphviz, though pygraphviz 2.0.4's wheel bundles it (no apt): 115 MB unpacked, and dot sizes text by local fonts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard
from xml.sax.saxutils import escape, quoteattr

import rdflib
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from .. import __version__
from ..endpoint.context import Context
from ..endpoint.negotiation import HTML, Page, page_or_rdf
from ..endpoint.rdfmedia import MEDIA_BY_SUFFIX, RDF_MEDIA
from ..graph.load import ONTOLOGY, parse_file, rdf_files
from ..graph.namespaces import BASE, ID, NAP, PREFIXES, VANN
from .templating import page_lang, render

ONTOLOGY_IRI = BASE + "def"
STATIC_DIR = Path(__file__).resolve().parent / "static"


# --- Reading the ontology --------------------------------------------------------------------------


def curie(iri: str) -> str:
    """A prefixed name where one of the registered prefixes fits, else the IRI itself."""
    best = None
    for prefix, ns in PREFIXES.items():
        if (
            iri.startswith(ns)
            and re.fullmatch(r"[A-Za-z_][\w.-]*", iri[len(ns) :] or "-")
            and (best is None or len(ns) > len(best[1]))
        ):
            best = (prefix, ns)
    return f"{best[0]}:{iri[len(best[1]) :]}" if best else iri


def local_name(iri: str) -> str:
    return re.split(r"[#/]", iri)[-1]


def is_ours(iri: str) -> bool:
    return iri.startswith(str(NAP))


def _texts(graph: rdflib.Graph, subject: rdflib.term.Node, prop: rdflib.term.Node) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in graph.objects(subject, prop):
        if isinstance(value, rdflib.Literal):
            found.setdefault(value.language or "", str(value))
    return found


def _natural(text: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


@dataclass
class Ref:
    """A link to a term: ours (an anchor on the page) or another vocabulary's (its IRI)."""

    iri: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def ours(self) -> bool:
        return is_ours(self.iri)

    @property
    def name(self) -> str:
        return local_name(self.iri) if self.ours else curie(self.iri)

    @property
    def curie(self) -> str:
        return curie(self.iri)

    @property
    def href(self) -> str:
        return "#" + local_name(self.iri) if self.ours else self.iri


@dataclass
class Term:
    iri: str
    kind: str  # "class", "object", "datatype", "individual"
    labels: dict[str, str]
    definitions: dict[str, str]
    supers: list[Ref] = field(default_factory=list)
    subs: list[Ref] = field(default_factory=list)
    domain: list[Ref] = field(default_factory=list)
    range: list[Ref] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    types: list[Ref] = field(default_factory=list)  # of an individual
    domain_of: list[Ref] = field(default_factory=list)  # of a class: properties with it as domain
    range_of: list[Ref] = field(default_factory=list)
    instances: list[Ref] = field(default_factory=list)  # of a class: our named individuals

    @property
    def name(self) -> str:
        return local_name(self.iri)

    @property
    def curie(self) -> str:
        return curie(self.iri)

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.name


@dataclass
class Concept:
    iri: str
    notation: str
    labels: dict[str, str]
    definitions: dict[str, str]
    types: list[Ref]

    @property
    def anchor(self) -> str:
        return "-".join(self.iri[len(ID) :].split("/"))


@dataclass
class Scheme:
    iri: str
    labels: dict[str, str]
    definitions: dict[str, str]
    concepts: list[Concept]
    see_also: list[str]

    @property
    def anchor(self) -> str:
        # .../id/status/scheme -> scheme-status
        return "scheme-" + self.iri[len(ID) :].split("/")[0]


@dataclass
class Model:
    metadata: dict
    classes: list[Term]
    object_properties: list[Term]
    datatype_properties: list[Term]
    individuals: list[Term]
    schemes: list[Scheme]
    triples: int

    @property
    def terms(self) -> list[Term]:
        return self.classes + self.object_properties + self.datatype_properties + self.individuals

    def term(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.name == name), None)


SCHEME_ORDER = ["ungp-pillar", "ungp-principle", "theme", "status", "role", "oecd-chapter", "due-diligence-step"]


@functools.cache
def stated_graph() -> rdflib.Graph:
    """ontology/ exactly as the files state it (for the page: no derived types)."""

    graph = rdflib.Graph()
    for path in rdf_files(ONTOLOGY):
        graph += parse_file(path)
    return graph


@functools.cache
def model() -> Model:
    g = stated_graph()
    onto = rdflib.URIRef(ONTOLOGY_IRI)

    def refs(objects: Iterable[rdflib.term.Node]) -> list[Ref]:
        out = []
        for o in objects:
            if isinstance(o, rdflib.URIRef):
                out.append(Ref(str(o), _texts(g, o, RDFS.label)))
        return sorted(out, key=lambda r: (not r.ours, r.name.lower()))

    def make(subject: rdflib.term.Node, kind: str) -> Term:
        sup = RDFS.subClassOf if kind == "class" else RDFS.subPropertyOf
        term = Term(
            str(subject),
            kind,
            _texts(g, subject, RDFS.label),
            _texts(g, subject, SKOS.definition),
            supers=refs(g.objects(subject, sup)),
            subs=refs(g.subjects(sup, subject)),
        )
        if kind in ("object", "datatype"):
            term.domain = refs(g.objects(subject, RDFS.domain))
            term.range = refs(g.objects(subject, RDFS.range))
            if (subject, RDF.type, OWL.FunctionalProperty) in g:
                term.characteristics.append("functional")
        return term

    def ours(s: rdflib.term.Node) -> TypeGuard[rdflib.URIRef]:
        return isinstance(s, rdflib.URIRef) and is_ours(str(s))

    classes = sorted((make(s, "class") for s in set(g.subjects(RDF.type, OWL.Class)) if ours(s)), key=lambda t: t.name)
    objects = sorted(
        (make(s, "object") for s in set(g.subjects(RDF.type, OWL.ObjectProperty)) if ours(s)), key=lambda t: t.name
    )
    datatypes = sorted(
        (make(s, "datatype") for s in set(g.subjects(RDF.type, OWL.DatatypeProperty)) if ours(s)), key=lambda t: t.name
    )
    declared = {t.iri for t in classes + objects + datatypes}
    class_iris = {t.iri for t in classes}
    individuals = []
    for s in sorted({s for s, o in g.subject_objects(RDF.type) if ours(s) and str(o) in class_iris}):
        if str(s) in declared:
            continue
        term = Term(str(s), "individual", _texts(g, s, RDFS.label), _texts(g, s, SKOS.definition))
        term.types = refs(o for o in g.objects(s, RDF.type) if str(o) in class_iris)
        individuals.append(term)
    by_iri = {t.iri: t for t in classes}
    for prop in objects + datatypes:
        for d in prop.domain:
            if d.iri in by_iri:
                by_iri[d.iri].domain_of.append(Ref(prop.iri, prop.labels))
        for r in prop.range:
            if r.iri in by_iri:
                by_iri[r.iri].range_of.append(Ref(prop.iri, prop.labels))
    for ind in individuals:
        for t in ind.types:
            by_iri[t.iri].instances.append(Ref(ind.iri, ind.labels))

    schemes = []
    for scheme in set(g.subjects(RDF.type, SKOS.ConceptScheme)):
        concepts = []
        for c in set(g.subjects(SKOS.inScheme, scheme)):
            notation = g.value(c, SKOS.notation)
            concepts.append(
                Concept(
                    str(c),
                    str(notation) if notation is not None else "",
                    _texts(g, c, SKOS.prefLabel),
                    _texts(g, c, SKOS.definition),
                    refs(o for o in g.objects(c, RDF.type) if o != SKOS.Concept),
                )
            )
        concepts.sort(key=lambda c: _natural(c.iri))
        schemes.append(
            Scheme(
                str(scheme),
                _texts(g, scheme, SKOS.prefLabel),
                _texts(g, scheme, SKOS.definition),
                concepts,
                sorted(str(o) for o in g.objects(scheme, RDFS.seeAlso)),
            )
        )

    def scheme_key(scheme: Scheme) -> tuple[int, str]:
        segment = scheme.iri[len(ID) :].split("/")[0]
        return (SCHEME_ORDER.index(segment) if segment in SCHEME_ORDER else len(SCHEME_ORDER), scheme.iri)

    schemes.sort(key=scheme_key)
    value = lambda p: g.value(onto, p)  # noqa: E731
    metadata = {
        "iri": ONTOLOGY_IRI,
        "titles": _texts(g, onto, rdflib.DCTERMS.title),
        "descriptions": _texts(g, onto, rdflib.DCTERMS.description),
        "version": str(value(OWL.versionInfo) or ""),
        "version_iri": str(value(OWL.versionIRI) or ""),
        "license": str(value(rdflib.DCTERMS.license) or ""),
        "created": str(value(rdflib.DCTERMS.created) or ""),
        "modified": str(value(rdflib.DCTERMS.modified) or ""),
        "prefix": str(value(VANN.preferredNamespacePrefix) or "nap"),
        "namespace": str(value(VANN.preferredNamespaceUri) or str(NAP)),
    }
    return Model(metadata, classes, objects, datatypes, individuals, schemes, len(g))


# --- The diagram -------------------------------------------------------------------------------------

FONT = "'Segoe UI', 'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', sans-serif"
NAME_SIZE, LABEL_SIZE, SUPER_SIZE, EDGE_SIZE = 14, 12, 11.5, 12
PAD_X, LINE_GAP, LAYER_GAP, NODE_GAP, MARGIN = 10, 4, 100, 24, 20
ACCENT, INK, MUTED, LINE = "#154273", "#1a1a1a", "#535353", "#8a8a8a"


def text_width(text: str, size: float, bold: bool = False) -> float:
    """An estimate of the rendered width of text in a sans-serif face (no font metrics available)."""
    narrow, wide = set("ijlrtf.,:;'()[] |"), set("MWmw@")
    units = sum(0.3 if c in narrow else 0.85 if c in wide else 0.62 if c.isupper() else 0.54 for c in text)
    return units * size * (1.07 if bold else 1.0)


@dataclass
class Node:
    key: str
    width: float
    height: float
    layer: int = 0
    x: float = 0.0  # centre
    y: float = 0.0  # top
    dummy: bool = False
    term: Term | None = None
    lines: list = field(default_factory=list)  # (text, size, bold, colour, italic)


@dataclass
class Edge:
    source: str
    target: str
    kind: str  # "property" or "subclass"
    label: str = ""
    iri: str = ""
    path: list[str] = field(default_factory=list)  # node keys from the upper end down, dummies included
    reversed: bool = False  # drawn from the lower end up (an edge that closed a cycle)


def _pava(desired: list[float]) -> list[float]:
    """The non-decreasing sequence closest (least squares) to desired: pool adjacent violators."""
    blocks: list[list[float]] = []  # [sum, count]
    for d in desired:
        blocks.append([d, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    out = []
    for s, c in blocks:
        out += [s / c] * int(c)  # c: a count
    return out


def _crossings(layers: list[list[str]], edges: list[tuple[str, str]], index: dict[str, int]) -> int:
    total = 0
    by_gap: dict[int, list[tuple[int, int]]] = {}
    layer_of = {k: i for i, layer in enumerate(layers) for k in layer}
    for a, b in edges:
        if layer_of[a] + 1 == layer_of[b]:
            by_gap.setdefault(layer_of[a], []).append((index[a], index[b]))
    for segments in by_gap.values():
        for i in range(len(segments)):
            for j in range(i + 1, len(segments)):
                (a1, b1), (a2, b2) = segments[i], segments[j]
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


class Layout:
    """Boxes and arrows of the model, placed in layers."""

    def __init__(self, m: Model, lang: str):
        self.lang = lang
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        class_iris = {t.iri for t in m.classes}
        for term in m.classes:
            lines: list[tuple[str, float, bool, str, bool]] = [
                (term.name, NAME_SIZE, True, ACCENT, False),
                (term.label(lang), LABEL_SIZE, False, MUTED, False),
            ]
            for sup in term.supers:
                if not sup.ours:
                    lines.append(("⊂ " + sup.curie, SUPER_SIZE, False, MUTED, True))
            width = max(text_width(t, s, b) for t, s, b, _, _ in lines) + 2 * PAD_X
            height = sum(s + LINE_GAP for _, s, _, _, _ in lines) + 14
            self.nodes[term.iri] = Node(term.iri, max(width, 110), height, term=term, lines=lines)
        for prop in m.object_properties:
            for d in prop.domain:
                for r in prop.range:
                    if d.iri in class_iris and r.iri in class_iris and d.iri != r.iri:
                        self.edges.append(Edge(d.iri, r.iri, "property", prop.name, prop.iri))
        for term in m.classes:
            for sup in term.supers:
                if sup.iri in class_iris:
                    self.edges.append(Edge(term.iri, sup.iri, "subclass"))
        self._layer()
        self._order()
        self._place()

    # Layers: the longest path along the edges (domain above range, subclass above superclass).
    def _layer(self) -> None:
        successors: dict[str, list[str]] = {k: [] for k in self.nodes}
        for e in self.edges:
            successors[e.source].append(e.target)
        # Break cycles (none in the model today) by dropping edges that close one, found depth first.
        state: dict[str, int] = {}
        dag: dict[str, list[str]] = {k: [] for k in self.nodes}

        def visit(k: str) -> None:
            state[k] = 1
            for t in sorted(successors[k]):
                if state.get(t) == 1:
                    continue
                dag[k].append(t)
                if t not in state:
                    visit(t)
            state[k] = 2

        for k in sorted(self.nodes):
            if k not in state:
                visit(k)
        connected = {e.source for e in self.edges} | {e.target for e in self.edges}
        layer: dict[str, int] = {}

        def depth(k: str) -> int:
            if k not in layer:
                preds = [p for p in dag if k in dag[p]]
                layer[k] = max((depth(p) + 1 for p in preds), default=0)
            return layer[k]

        for k in connected:
            depth(k)
        top = max(layer.values(), default=-1)
        # Classes that no drawn edge touches share the rows below the rest.
        self.loose = sorted((k for k in self.nodes if k not in connected), key=lambda k: local_name(k))
        for k, value in layer.items():
            self.nodes[k].layer = value
        self.layers: list[list[str]] = [[] for _ in range(top + 1)]
        for k in sorted(connected, key=lambda k: local_name(k)):
            self.layers[layer[k]].append(k)
        # Long edges pass through a dummy node in every layer they cross.
        for n, e in enumerate(self.edges):
            upper, lower = e.source, e.target
            if self.nodes[upper].layer > self.nodes[lower].layer:  # an edge dropped to break a cycle
                upper, lower, e.reversed = lower, upper, True
            e.path = [upper]
            for lay in range(self.nodes[upper].layer + 1, self.nodes[lower].layer):
                key = f"dummy-{n}-{lay}"
                self.nodes[key] = Node(key, 12, 0, layer=lay, dummy=True)
                self.layers[lay].append(key)
                e.path.append(key)
            e.path.append(lower)

    def _segments(self) -> list[tuple[str, str]]:
        return [(p[i], p[i + 1]) for e in self.edges for p in [e.path] for i in range(len(p) - 1)]

    # Order within a layer: barycentre sweeps, keeping the order with the fewest crossings.
    def _order(self) -> None:
        segments = self._segments()
        up: dict[str, list[str]] = {k: [] for k in self.nodes}
        down: dict[str, list[str]] = {k: [] for k in self.nodes}
        for a, b in segments:
            down[a].append(b)
            up[b].append(a)

        def index() -> dict[str, int]:
            return {k: i for layer in self.layers for i, k in enumerate(layer)}

        best = [list(layer) for layer in self.layers]
        best_cross = _crossings(best, segments, index())
        for sweep in range(12):
            rng = range(1, len(self.layers)) if sweep % 2 == 0 else range(len(self.layers) - 2, -1, -1)
            for li in rng:
                pos = index()
                neighbours = up if sweep % 2 == 0 else down
                layer = self.layers[li]

                keys = {
                    k: (sum(pos[n] for n in neighbours[k]) / len(neighbours[k]) if neighbours[k] else pos[k])
                    for k in layer
                }
                layer.sort(key=keys.__getitem__)
            cross = _crossings(self.layers, segments, index())
            if cross < best_cross:
                best, best_cross = [list(layer) for layer in self.layers], cross
        self.layers = best
        self.crossings = best_cross

    # x: as close to the neighbours as the order and the spacing allow; y: layer by layer.
    def _place(self) -> None:
        segments = self._segments()
        neighbours: dict[str, list[str]] = {k: [] for k in self.nodes}
        for a, b in segments:
            neighbours[a].append(b)
            neighbours[b].append(a)

        def pack(layer: list[str], desired: list[float]) -> None:
            offsets, total = [], 0.0
            for i, k in enumerate(layer):
                if i:
                    prev = self.nodes[layer[i - 1]]
                    total += (
                        prev.width / 2
                        + self.nodes[k].width / 2
                        + (NODE_GAP if not (prev.dummy and self.nodes[k].dummy) else 14)
                    )
                offsets.append(total)
            ys = _pava([d - o for d, o in zip(desired, offsets, strict=False)])
            for k, y, o in zip(layer, ys, offsets, strict=False):
                self.nodes[k].x = y + o

        for layer in self.layers:
            pack(layer, [0.0] * len(layer))
            shift = -sum(self.nodes[k].x for k in layer) / max(len(layer), 1)
            for k in layer:
                self.nodes[k].x += shift
        for _ in range(16):
            for layer in self.layers:
                desired = []
                for k in layer:
                    ns = neighbours[k]
                    desired.append(sum(self.nodes[n].x for n in ns) / len(ns) if ns else self.nodes[k].x)
                pack(layer, desired)
        # Rows of loose classes, as wide as the drawing above (or 900 px).
        left = min((self.nodes[k].x - self.nodes[k].width / 2 for layer in self.layers for k in layer), default=0)
        right = max((self.nodes[k].x + self.nodes[k].width / 2 for layer in self.layers for k in layer), default=900)
        rows: list[list[str]] = []
        row: list[str] = []
        used = 0.0
        for k in self.loose:
            w = self.nodes[k].width
            if row and used + NODE_GAP + w > max(right - left, 600):
                rows.append(row)
                row, used = [], 0.0
            used += (NODE_GAP if row else 0) + w
            row.append(k)
        if row:
            rows.append(row)
        self.loose_rows = rows
        for row in rows:
            x = left
            for k in row:
                self.nodes[k].x = x + self.nodes[k].width / 2
                x += self.nodes[k].width + NODE_GAP
        # Shift everything right of the margin; then the rows' y positions.
        minx = min(n.x - n.width / 2 for n in self.nodes.values())
        for n in self.nodes.values():
            n.x += MARGIN - minx
        y: float = MARGIN + 8
        self.layer_tops, self.layer_heights = [], []
        for layer in self.layers:
            height = max((self.nodes[k].height for k in layer if not self.nodes[k].dummy), default=20)
            for k in layer:
                node = self.nodes[k]
                node.y = y + (height - node.height) / 2 if not node.dummy else y
                if node.dummy:
                    node.height = height
            self.layer_tops.append(y)
            self.layer_heights.append(height)
            y += height + LAYER_GAP
        self.loose_top = None
        if rows:
            self.loose_top = y - LAYER_GAP + 34
            y = self.loose_top + 30
        for row in rows:
            height = max(self.nodes[k].height for k in row)
            for k in row:
                self.nodes[k].y = y
            y += height + 22
        self.height = y - (22 if rows else LAYER_GAP) + MARGIN
        self.width = max(n.x + n.width / 2 for n in self.nodes.values()) + MARGIN


def model_svg(m: Model | None = None, lang: str = "nl", link: str = "#") -> str:
    """The model as an SVG drawing. link prefixes each class anchor: "#" on the page, "/def#" elsewhere."""
    m = m or model()
    en = lang == "en"
    lay = Layout(m, lang)
    legend_h = 64
    width, height = max(lay.width, 760), lay.height + legend_h
    out: list[str] = []
    w = out.append
    title = "Model of the NAP knowledge graph" if en else "Model van de kennisgraaf NAP"
    names = ", ".join(t.name for t in m.classes)
    props = ", ".join(e.label for e in lay.edges if e.kind == "property")
    desc = (
        (
            f"{len(m.classes)} classes ({names}). Arrows: object properties from their domain to their range "
            f"({props}); arrows with a hollow head: subclass of. A line ⊂ in a box names a superclass in a standard "
            "vocabulary."
        )
        if en
        else (
            f"{len(m.classes)} klassen ({names}). Pijlen: objecteigenschappen van hun domein naar hun bereik "
            f"({props}); pijlen met een open punt: subklasse van. Een regel ⊂ in een vak noemt een superklasse uit "
            "een standaardvocabulaire."
        )
    )
    w(
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" class="model-diagram" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" role="img" '
        f'aria-labelledby="model-title model-desc" font-family="{escape(FONT)}">'
    )
    w(f'<title id="model-title">{escape(title)}</title>')
    w(f'<desc id="model-desc">{escape(desc)}</desc>')
    w(
        "<defs>"
        f'<marker id="arrow" viewBox="0 0 10 10" refX="9.5" refY="5" markerWidth="8" markerHeight="8" '
        f'orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{ACCENT}"/></marker>'
        f'<marker id="hollow" viewBox="0 0 12 12" refX="11.5" refY="6" markerWidth="11" markerHeight="11" '
        f'orient="auto-start-reverse">'
        f'<path d="M0.8,0.8 L11.2,6 L0.8,11.2 z" fill="#fff" stroke="{MUTED}" stroke-width="1.2"/></marker>'
        "</defs>"
    )
    w(f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#fff"/>')

    nodes = lay.nodes
    # Ports: the edges leaving (entering) a box are spread over its bottom (top), in the order of their
    # other ends, so that arrows to neighbouring boxes do not share a start.
    out_ports: dict[tuple[int, str], float] = {}
    in_ports: dict[tuple[int, str], float] = {}
    for key, node in nodes.items():
        if node.dummy:
            continue
        leaving = sorted(
            (i for i, e in enumerate(lay.edges) if e.path[0] == key), key=lambda i: nodes[lay.edges[i].path[1]].x
        )
        entering = sorted(
            (i for i, e in enumerate(lay.edges) if e.path[-1] == key), key=lambda i: nodes[lay.edges[i].path[-2]].x
        )
        for ports, edges in ((out_ports, leaving), (in_ports, entering)):
            span = min(node.width * 0.7, 26 * max(len(edges) - 1, 0))
            for j, i in enumerate(edges):
                ports[(i, key)] = node.x - span / 2 + (span * j / (len(edges) - 1) if len(edges) > 1 else span / 2)

    label_boxes: list[tuple[float, float, float, float]] = [
        (n.x - n.width / 2, n.y, n.x + n.width / 2, n.y + n.height) for n in nodes.values() if not n.dummy
    ]
    w('<g class="edges" fill="none">')
    labels = []
    for i, e in enumerate(lay.edges):
        points = []
        for j, key in enumerate(e.path):
            n = nodes[key]
            if j == 0:
                points.append((out_ports[(i, key)], n.y + n.height))
            elif j == len(e.path) - 1:
                points.append((in_ports[(i, key)], n.y))
            else:
                points.append((n.x, n.y))
                points.append((n.x, n.y + n.height))
        d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
        if e.kind == "property":
            w(
                f'<path class="edge property" data-property={quoteattr(e.label)} d="{d}" stroke="{ACCENT}" '
                f'stroke-width="1.4" marker-{"start" if e.reversed else "end"}="url(#arrow)"/>'
            )
            (x1, y1), (x2, y2) = points[0], points[1]
            lw, lh = text_width(e.label, EDGE_SIZE) + 8, EDGE_SIZE + 6
            for t in (0.5, 0.32, 0.68, 0.2, 0.8, 0.42, 0.58):
                cx, cy = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
                box = (cx - lw / 2, cy - lh / 2, cx + lw / 2, cy + lh / 2)
                if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in label_boxes):
                    break
            label_boxes.append(box)
            labels.append((e, cx, cy, lw, lh))
        else:
            w(
                f'<path class="edge subclass" d="{d}" stroke="{MUTED}" stroke-width="1.3" '
                f'marker-{"start" if e.reversed else "end"}="url(#hollow)"/>'
            )
    w("</g>")
    w(f'<g class="edge-labels" font-size="{EDGE_SIZE}">')
    for e, cx, cy, lw, lh in labels:
        w(
            f'<g class="edge-label"><rect x="{cx - lw / 2:.1f}" y="{cy - lh / 2:.1f}" width="{lw:.1f}" '
            f'height="{lh:.1f}" '
            f'rx="3" fill="#fff" fill-opacity="0.92"/>'
            f"<a href={quoteattr(link + e.label)} xlink:href={quoteattr(link + e.label)}>"
            f'<text x="{cx:.1f}" y="{cy + EDGE_SIZE * 0.35:.1f}" text-anchor="middle" fill="{ACCENT}" '
            f'font-style="italic">'
            f"{escape(e.label)}</text></a></g>"
        )
    w("</g>")

    if lay.loose_top is not None:
        note = (
            "Classes not joined by a property with a stated domain and range"
            if en
            else "Klassen zonder eigenschap met vastgelegd domein en bereik ertussen"
        )
        w(
            f'<line x1="{MARGIN}" x2="{width - MARGIN:.0f}" y1="{lay.loose_top:.1f}" y2="{lay.loose_top:.1f}" '
            f'stroke="{LINE}" stroke-dasharray="4 4"/>'
        )
        w(f'<text x="{MARGIN}" y="{lay.loose_top + 14:.1f}" font-size="12" fill="{MUTED}">{escape(note)}</text>')

    w('<g class="classes">')
    for n in nodes.values():
        if n.dummy:
            continue
        assert n.term is not None, "every box but a dummy is a class's"
        x0 = n.x - n.width / 2
        href = link + n.term.name
        w(f'<a class="class" href={quoteattr(href)} xlink:href={quoteattr(href)} data-class={quoteattr(n.term.name)}>')
        w(
            f'<rect x="{x0:.1f}" y="{n.y:.1f}" width="{n.width:.1f}" height="{n.height:.1f}" rx="4" '
            f'fill="#e5ecf3" stroke="{ACCENT}" stroke-width="1.3"/>'
        )
        ty = n.y + 6
        for text, size, bold, colour, italic in n.lines:
            ty += size + LINE_GAP
            weight = ' font-weight="700"' if bold else ""
            style = ' font-style="italic"' if italic else ""
            w(
                f'<text x="{n.x:.1f}" y="{ty - LINE_GAP - 1:.1f}" text-anchor="middle" '
                f'font-size="{size}"{weight}{style} '
                f'fill="{colour}">{escape(text)}</text>'
            )
        w("</a>")
    w("</g>")

    # Legend
    ly = lay.height + 10
    w(f'<g class="legend" font-size="12" fill="{INK}">')
    w(
        f'<line x1="{MARGIN}" x2="{MARGIN + 38}" y1="{ly + 10}" y2="{ly + 10}" stroke="{ACCENT}" stroke-width="1.4" '
        f'marker-end="url(#arrow)"/>'
    )
    w(
        f'<text x="{MARGIN + 46}" '
        f'y="{ly + 14}">'
        + escape("object property, from domain to range" if en else "objecteigenschap, van domein naar bereik")
        + "</text>"
    )
    w(
        f'<line x1="{MARGIN}" x2="{MARGIN + 38}" y1="{ly + 32}" y2="{ly + 32}" stroke="{MUTED}" stroke-width="1.3" '
        f'marker-end="url(#hollow)"/>'
    )
    w(f'<text x="{MARGIN + 46}" y="{ly + 36}">{escape("subclass of" if en else "subklasse van")}</text>')
    w(f'<text x="{MARGIN + 330}" y="{ly + 14}" font-style="italic" fill="{MUTED}">⊂ prov:Entity</text>')
    w(
        f'<text x="{MARGIN + 420}" '
        f'y="{ly + 14}">'
        f"{escape('superclass in a standard vocabulary' if en else 'superklasse uit een standaardvocabulaire')}</text>"
    )
    w("</g>")
    w("</svg>")
    return "\n".join(out)


# --- The page ---------------------------------------------------------------------------------------


def def_html(lang: str = "nl", request: Request | None = None, static: bool = False) -> str:
    """The /def page. static: for build/docs (the style sheet inlined, links relative to the folder)."""
    m = model()
    inline_css = (
        (STATIC_DIR / "site.css").read_text(encoding="utf-8") if static and (STATIC_DIR / "site.css").exists() else ""
    )
    svg = model_svg(m, lang, link="#")
    # Properties without a drawn arrow: no stated domain or range.
    undrawn = [p for p in m.object_properties if not (p.domain and p.range)]
    return render(
        "def.html",
        request,
        lang,
        active="model",
        m=m,
        svg=Markup(svg),
        static=static,
        inline_css=inline_css,
        undrawn=undrawn,
        formats={media: (f.rdflib_format, f.suffix) for media, f in RDF_MEDIA.items()},
        curie=curie,
    )


@functools.cache
def ontology_rdf(media: str) -> bytes:
    """ontology/ as the files state it (no derived types), in one RDF format; pyoxigraph writes it fast."""
    import pyoxigraph as ox

    nt = stated_graph().serialize(format="nt", encoding="utf-8")
    triples = sorted(ox.parse(nt, format=ox.RdfFormat.N_TRIPLES), key=str)
    fmt = RDF_MEDIA[media].oxigraph_format
    prefixes = None if fmt == ox.RdfFormat.N_TRIPLES else dict(PREFIXES)
    body = ox.serialize([ox.Triple(t.subject, t.predicate, t.object) for t in triples], format=fmt, prefixes=prefixes)
    assert body is not None, "serialize() with no output returns the bytes"
    return body


def write_docs(out: Path) -> list[Path]:
    """def.html and model.svg (Dutch, as the site) and their English versions, into out."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lang, suffix in (("nl", ""), ("en", ".en")):
        for name, text in (
            (f"def{suffix}.html", def_html(lang, static=True)),
            (
                f"model{suffix}.svg",
                '<?xml version="1.0" encoding="UTF-8"?>\n' + model_svg(lang=lang, link=ONTOLOGY_IRI + "#"),
            ),
        ):
            path = out / name
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
            written.append(path)
    return written


# --- Routes -----------------------------------------------------------------------------------------


def make_router(context: Context | None = None) -> APIRouter:
    router = APIRouter()
    cache: dict[tuple, bytes] = {}

    def cached(key: tuple[str, str], make: Callable[[], bytes]) -> bytes:
        if key not in cache:
            cache[key] = make()
        return cache[key]

    def rdf_response(media: str, request: Request) -> Response:
        body = cached(("rdf", media), lambda: ontology_rdf(media))
        headers = {
            "Vary": "Accept",
            "Link": f'<{ONTOLOGY_IRI}>; rel="describedby"',
            "Content-Disposition": f'inline; filename="nap-ontology.{RDF_MEDIA[media].suffix}"',
        }
        if request.method == "HEAD":
            return Response(status_code=200, media_type=media, headers={**headers, "Content-Length": str(len(body))})
        return Response(
            body, media_type=media + ("; charset=utf-8" if media != "application/ld+json" else ""), headers=headers
        )

    @router.api_route("/def", methods=["GET", "HEAD"], include_in_schema=False)
    async def definition(request: Request) -> Response:
        accept, formats = request.headers.get("accept"), request.query_params.getlist("format")
        media = page_or_rdf(accept, formats, RDF_MEDIA, Page.FOR_BROWSERS)
        if media is None:
            return Response(
                "Not acceptable: /def is available as text/html, " + ", ".join(RDF_MEDIA) + ".\n",
                status_code=406,
                media_type="text/plain",
                headers={"Vary": "Accept"},
            )
        if media == HTML:
            return HTMLResponse(def_html(page_lang(request), request), headers={"Vary": "Accept"})
        return rdf_response(media, request)

    @router.api_route("/def.{ext}", methods=["GET", "HEAD"], include_in_schema=False)
    async def definition_file(ext: str, request: Request) -> Response:
        if ext == "html":
            return HTMLResponse(def_html(page_lang(request), request))
        if ext not in MEDIA_BY_SUFFIX:
            return Response(
                f"No such format: .{ext} (known: .html, .{', .'.join(MEDIA_BY_SUFFIX)}).\n",
                status_code=404,
                media_type="text/plain",
            )
        return rdf_response(MEDIA_BY_SUFFIX[ext], request)

    @router.get("/def/model.svg", include_in_schema=False)
    async def diagram(request: Request) -> Response:
        lang = page_lang(request)
        body = cached(("svg", lang), lambda: model_svg(lang=lang, link="/def#").encode("utf-8"))
        return Response(body, media_type="image/svg+xml")

    @router.api_route("/def/{version}", methods=["GET", "HEAD"], include_in_schema=False)
    async def version(version: str, request: Request) -> Response:
        """The version IRI (owl:versionIRI, .../def/0.1.0) resolves: this server serves that version."""
        if version != __version__:
            return Response(
                f"This server serves version {__version__} of the model, not {version}.\n",
                status_code=404,
                media_type="text/plain",
            )
        return Response(status_code=303, headers={"Location": "/def", "Vary": "Accept"})

    return router
