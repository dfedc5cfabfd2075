"""Validated graphs to dump files: Turtle, N-Triples, TriG (named graphs) and JSON-LD; and the model's
documentation (docs/def.html with its diagram docs/model.svg, generated from ontology/).

Nothing is written unless the graph conforms, so a published dump has always passed the shapes.
"""

from __future__ import annotations

from pathlib import Path

import rdflib

from .graph.load import Loaded
from .graph.namespaces import PREFIXES

DUMPS = {
    "nap.ttl": "turtle",
    "nap.nt": "nt",
    "nap.trig": "trig",
    "nap.jsonld": "json-ld",
}


def _bind(graph: rdflib.Graph) -> None:
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True, replace=True)


def write_dumps(loaded: Loaded, out: Path) -> list[Path]:
    """Write the four dumps into out (created if missing); returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    union, dataset = loaded.union(), loaded.dataset()
    _bind(union)
    _bind(dataset)
    written = []
    for name, fmt in DUMPS.items():
        source = dataset if fmt == "trig" else union
        path = out / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        # Write next to the target and rename, so a reader never sees half a dump.
        source.serialize(destination=str(tmp), format=fmt, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def write_documentation(out: Path) -> list[Path]:
    """The documentation of the model (the /def page and its diagram) into out/docs."""
    from .web.docs import write_docs

    return write_docs(out / "docs")
