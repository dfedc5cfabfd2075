"""Files to graphs: find the project's RDF files, parse them all-or-nothing, name their graphs.

Parsing goes through pyoxigraph: it refuses a whole file on a syntax error and names the file, line
and column, where rdflib would leave half a file behind. The parsed quads are then handed to rdflib,
which pySHACL needs.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDF, RDFS

from .namespaces import GRAPH

#: The repository root: server/napkg/load.py -> ../../
ROOT = Path(__file__).resolve().parents[2]
ONTOLOGY = ROOT / "ontology"
DATA = ROOT / "data"
SHAPES = ROOT / "shapes"
CHECKS = ROOT / "queries" / "checks"

_FORMATS = {
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
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.suffix in _FORMATS and p.is_file())
            if not inside:
                # A wrong folder in a user's CI must not validate as an empty graph that conforms.
                raise LoadError(path, f"no RDF files in this folder (looked for {', '.join(sorted(_FORMATS))})")
            found += inside
        elif path.exists():
            found.append(path)
        else:
            raise LoadError(path, "no such file or directory")
    return list(dict.fromkeys(p.resolve() for p in found))


def graph_name(path: Path) -> str:
    """The named graph of a project file: ontology/* -> graph/ontology, data/X[/...] -> graph/X.

    Each top-level part of data/ (a report year, the action points, a registry) is its own graph, so a
    new report is a new graph beside the old ones. Files outside the project go to a graph named by
    their file name.
    """
    path = Path(path).resolve()
    for folder, name in ((ONTOLOGY, "ontology"), (SHAPES, "shapes")):
        if path.is_relative_to(folder):
            return GRAPH + name
    if path.is_relative_to(DATA):
        return GRAPH + Path(path.relative_to(DATA).parts[0]).stem
    return GRAPH + "file/" + path.stem


def parse_file(path: Path) -> rdflib.Graph:
    """Parse one file completely or raise LoadError with its line and column."""
    fmt = _FORMATS.get(path.suffix)
    if fmt is None:
        raise LoadError(path, f"unknown RDF file type {path.suffix!r} (known: {', '.join(sorted(_FORMATS))})")
    try:
        quads = list(ox.parse(path=str(path), format=fmt, base_iri=path.resolve().as_uri()))
    except SyntaxError as error:
        raise LoadError(path, error.msg, error.lineno, error.offset) from None
    except (OSError, ValueError) as error:
        raise LoadError(path, str(error)) from None
    # N-Quads is the lossless bridge from pyoxigraph's terms to rdflib's.
    buffer = io.BytesIO()
    ox.serialize([ox.Quad(q.subject, q.predicate, q.object) for q in quads], buffer, ox.RdfFormat.N_QUADS)
    graph = rdflib.Graph()
    graph.parse(data=buffer.getvalue().decode("utf-8"), format="nquads")
    return graph


def load(paths: list[Path]) -> Loaded:
    """Parse every RDF file under paths into its named graph. Nothing is returned if any file fails."""
    loaded = Loaded()
    for path in rdf_files(*paths):
        graph = parse_file(path)
        name = graph_name(path)
        loaded.graphs.setdefault(name, rdflib.Graph())
        loaded.graphs[name] += graph
        loaded.files.append(path)
        for subject in set(graph.subjects()):
            loaded.subject_files.setdefault(subject, []).append(path)
    add_superclass_types(loaded)
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

    def closure(cls, seen=None):
        seen = set() if seen is None else seen
        for sup in supers.get(cls, ()):
            if sup not in seen:
                seen.add(sup)
                closure(sup, seen)
        return seen

    cache = {}
    for graph in loaded.graphs.values():
        for thing, cls in list(graph.subject_objects(RDF.type)):
            if cls not in cache:
                cache[cls] = closure(cls)
            for sup in cache[cls]:
                graph.add((thing, RDF.type, sup))


def load_project(data: list[Path] | None = None) -> Loaded:
    """The ontology and the given data files (default: the project's data/)."""
    return load([ONTOLOGY, *(data or [DATA])])
