"""The RDF formats a description is served in by the site (a resource's /doc, a named graph, /def, /download/,
VoID): for each media type its file suffix, its name for people, and its writer in pyoxigraph and in rdflib.

The pyoxigraph writer is results.GRAPH_TYPES's (the formats of a CONSTRUCT result), so the four media types
and their writers are listed there once; this adds what files, links and rdflib need.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from ..sparql.results import GRAPH_TYPES


@dataclass(frozen=True)
class RdfMediaType:
    media: str
    suffix: str  # of a file and of a path (/doc/theme/01.ttl, /def.ttl), without the dot
    name: str  # for people: the text of a link
    rdflib_format: str  # rdflib's Graph.serialize(format=...)

    @property
    def oxigraph_format(self) -> ox.RdfFormat:
        return GRAPH_TYPES[self.media]


#: media type -> its format, in the order links list them and negotiation breaks ties.
RDF_MEDIA: dict[str, RdfMediaType] = {
    f.media: f
    for f in (
        RdfMediaType("text/turtle", "ttl", "Turtle", "turtle"),
        RdfMediaType("application/ld+json", "jsonld", "JSON-LD", "json-ld"),
        RdfMediaType("application/n-triples", "nt", "N-Triples", "nt"),
        RdfMediaType("application/rdf+xml", "rdf", "RDF/XML", "xml"),
    )
}
#: file suffix -> media type
MEDIA_BY_SUFFIX = {f.suffix: f.media for f in RDF_MEDIA.values()}
