"""Files to graphs: find the project's RDF files, parse them all-or-nothing, name their graphs.

Parsing goes through pyoxigraph: it refuses a whole file on a syntax error and names the file, line
and column, where rdflib would leave half a file behind. The parsed quads are then handed to rdflib,
which pySHACL needs.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDF, RDFS

from .namespaces import GRAPH, NAP
from .paths import CHECKS, DATA, ONTOLOGY, SHAPES  # noqa: F401 (others import these from here too)

RDF_FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".json": ox.RdfFormat.JSON_LD,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
}


class LoadError(Exception):
    """A file that cannot be read or parsed. str() gives 'file:line:column: message'."""

    def __init__(self, path: Path | str, message: str, line: int | None = None, column: int | None = None):
        self.path, self.line, self.column, self.message = str(path), line, column, message
        where = ":".join(str(x) for x in (self.path, line, column) if x is not None)
        super().__init__(f"{where}: {message}")


@dataclass
class Loaded:
    """Parsed files: one rdflib graph per named graph, and which file each subject comes from."""

    graphs: dict[str, rdflib.Graph] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    subject_files: dict[rdflib.term.Node, list[Path]] = field(default_factory=dict)

    def union(self) -> rdflib.Graph:
        merged = rdflib.Graph()
        for graph in self.graphs.values():
            merged += graph
        return merged

    def dataset(self) -> rdflib.Dataset:
        ds = rdflib.Dataset()
        for name, graph in self.graphs.items():
            target = ds.graph(rdflib.URIRef(name))
            for triple in graph:
                target.add(triple)
        return ds


def rdf_files(*paths: Path) -> list[Path]:
    """The RDF files at these paths (directories are searched recursively), sorted, no duplicates."""
    return list(dict.fromkeys(path for path, _ in _named_files(paths)))


def _named_files(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """Each RDF file under paths with the graph its triples go to (see graph_name)."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.suffix in RDF_FORMATS and p.is_file())
            if not inside:
                # A wrong folder in a user's CI must not validate as an empty graph that conforms.
                raise LoadError(path, f"no RDF files in this folder (looked for {', '.join(sorted(RDF_FORMATS))})")
            found += [(p.resolve(), graph_name(p, path)) for p in inside]
        elif path.exists():
            found.append((path.resolve(), graph_name(path)))
        else:
            raise LoadError(path, "no such file or directory")
    return list(dict.fromkeys(found))


def graph_name(path: Path, folder: Path | None = None) -> str:
    """The named graph of a file: ontology/* -> graph/ontology; in a data folder, X[/...] -> graph/X.

    Each top-level part of a data folder (a report year, the action points, the editorial links, the
    translations, a registry) is its own graph, so a new report is a new graph beside the old ones. That holds
    for the project's data/ and for any folder a user validates, so their editorial/ and translations/ are
    recognised too. A file given on its own goes to a graph named by its file name; a TriG or N-Quads file's
    named graphs keep their names (see load).
    """
    path = Path(path).resolve()
    for shared, name in ((ONTOLOGY, "ontology"), (SHAPES, "shapes")):
        if path.is_relative_to(shared):
            return GRAPH + name
    for root in (DATA, Path(folder).resolve() if folder else None):
        if root is not None and path.is_relative_to(root) and path != root:
            return GRAPH + Path(path.relative_to(root).parts[0]).stem
    return GRAPH + "file/" + path.stem


def parse_quads(path: Path) -> list[ox.Quad]:
    """Parse one file completely or raise LoadError with its line and column."""
    fmt = RDF_FORMATS.get(path.suffix)
    if fmt is None:
        raise LoadError(path, f"unknown RDF file type {path.suffix!r} (known: {', '.join(sorted(RDF_FORMATS))})")
    try:
        return list(ox.parse(path=str(path), format=fmt, base_iri=path.resolve().as_uri()))
    except SyntaxError as error:
        raise LoadError(path, error.msg, error.lineno, error.offset) from None
    except (OSError, ValueError) as error:
        raise LoadError(path, str(error)) from None


def to_rdflib(triples: Iterable[ox.Quad | ox.Triple]) -> rdflib.Graph:
    """pyoxigraph triples as an rdflib graph; N-Quads is the lossless bridge between their terms."""
    buffer = io.BytesIO()
    ox.serialize([ox.Quad(t.subject, t.predicate, t.object) for t in triples], buffer, ox.RdfFormat.N_QUADS)
    graph = rdflib.Graph()
    graph.parse(data=buffer.getvalue().decode("utf-8"), format="nquads")
    return graph


def parse_file(path: Path) -> rdflib.Graph:
    """Every triple of one file (of all its graphs), parsed completely or not at all (LoadError)."""
    return to_rdflib(parse_quads(path))


def load(paths: list[Path]) -> Loaded:
    """Parse every RDF file under paths into its named graph. Nothing is returned if any file fails."""
    loaded = Loaded()
    for path, name in _named_files(paths):
        by_graph: dict[str, list] = {}
        for quad in parse_quads(path):
            named = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else name
            by_graph.setdefault(named, []).append(quad)
        for named, quads in by_graph.items():
            graph = to_rdflib(quads)
            loaded.graphs.setdefault(named, rdflib.Graph())
            loaded.graphs[named] += graph
            for subject in set(graph.subjects()):
                loaded.subject_files.setdefault(subject, []).append(path)
        loaded.files.append(path)
    add_superclass_types(loaded)
    add_superproperty_triples(loaded)
    return loaded


def add_superclass_types(loaded: Loaded) -> None:
    """State every instance's superclasses (by the loaded ontology's rdfs:subClassOf) as its types too.

    The files say only the most specific class (a ministry is a nap:Ministry); a researcher asking for
    `?x a nap:Organisation` or `?x a prov:Entity` should still find it without an inference engine. The
    added types are derived, so they live in the served graph and the dumps, never in the source files.
    """
    supers: dict[rdflib.term.Node, set] = {}
    for graph in loaded.graphs.values():
        for sub, sup in graph.subject_objects(RDFS.subClassOf):
            if isinstance(sup, rdflib.URIRef):
                supers.setdefault(sub, set()).add(sup)

    def closure(cls: rdflib.term.Node, seen: set[rdflib.term.Node] | None = None) -> set[rdflib.term.Node]:
        seen = set() if seen is None else seen
        for sup in supers.get(cls, ()):
            if sup not in seen:
                seen.add(sup)
                closure(sup, seen)
        return seen

    cache: dict[rdflib.term.Node, set[rdflib.term.Node]] = {}
    for graph in loaded.graphs.values():
        for thing, cls in list(graph.subject_objects(RDF.type)):
            if cls not in cache:
                cache[cls] = closure(cls)
            for sup in cache[cls]:
                graph.add((thing, RDF.type, sup))


def add_superproperty_triples(loaded: Loaded) -> None:
    """State `s nap:P o` wherever the files say `s Q o` for a Q declared rdfs:subPropertyOf nap:P.

    A report entry says in which column it names something (nap:mentionsInExplanation ...); a researcher
    asking only `?entry nap:mentions ?x` should still find it. Only our own super-properties are derived (not
    dct:subject and the like), each in the graph of the triple it comes from, so removing a graph removes
    what was derived from it.
    """
    supers: dict[rdflib.term.Node, set] = {}
    for graph in loaded.graphs.values():
        for sub, sup in graph.subject_objects(RDFS.subPropertyOf):
            if isinstance(sup, rdflib.URIRef) and sup.startswith(str(NAP)):
                supers.setdefault(sub, set()).add(sup)
    for graph in loaded.graphs.values():
        for prop, targets in supers.items():
            for s, o in list(graph.subject_objects(prop)):
                for sup in targets:
                    graph.add((s, sup, o))


def to_store(loaded: Loaded) -> ox.Store:
    """The loaded named graphs in an Oxigraph store, in a fixed order: rdflib's own order follows Python's
    hash seed, and the store's order decides the order of unordered query results, so pages, the dataset
    file and its ETags would otherwise change at every start."""
    store = ox.Store()
    for name, graph in sorted(loaded.graphs.items()):
        lines = sorted(graph.serialize(format="nt", encoding="utf-8").splitlines())
        store.load(b"\n".join(lines), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(name))
    return store


def load_project(data: list[Path] | None = None) -> Loaded:
    """The ontology and the given data files (default: the project's data/)."""
    return load([ONTOLOGY, *(data or [DATA])])
