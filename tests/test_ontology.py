"""The ontology's own metadata, and that every term of ours is documented and anchored."""

from __future__ import annotations

import rdflib
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS

from napkg.graph.namespaces import NAP

ONTOLOGY = rdflib.URIRef("https://w3id.org/nap-bhr/def")


def test_ontology_metadata(graph):
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in graph
    version = graph.value(ONTOLOGY, OWL.versionIRI)
    assert version is not None and str(version).startswith(str(ONTOLOGY) + "/")
    assert graph.value(ONTOLOGY, DCTERMS.license) is not None
    modified = graph.value(ONTOLOGY, DCTERMS.modified)
    assert modified is not None and modified.datatype == rdflib.XSD.date


def test_every_class_reuses_a_standard_vocabulary(graph):
    """Our classes hang under a standard class (PROV, ORG, ELI, SKOS, FOAF) or under one of ours that does."""
    ours = [c for c in graph.subjects(RDF.type, OWL.Class) if str(c).startswith(str(NAP))]
    assert len(ours) >= 15
    for cls in ours:
        supers = set(graph.transitive_objects(cls, RDFS.subClassOf)) - {cls}
        if cls == NAP.Footnote:
            continue  # a part of a report's text: no standard class fits
        assert any(not str(s).startswith(str(NAP)) for s in supers), f"{cls} reuses no standard class"


def test_object_properties_have_ranges(graph):
    # nap:mentions and its per-column sub-properties (nap:mentionsInTitle ...): any of four kinds.
    mentions = set(graph.transitive_subjects(RDFS.subPropertyOf, NAP.mentions))
    assert NAP.mentionsInExplanation in mentions
    for prop in graph.subjects(RDF.type, OWL.ObjectProperty):
        if str(prop).startswith(str(NAP)) and prop not in mentions:
            assert graph.value(prop, RDFS.range) is not None, f"{prop} has no range"


def test_instances_carry_their_superclasses(graph):
    """Loading states each instance's superclasses as types, so plain `a nap:Organisation` finds ministries."""
    szw = rdflib.URIRef("https://w3id.org/nap-bhr/id/organisation/szw")
    for cls in (NAP.Ministry, NAP.Organisation, rdflib.URIRef("http://www.w3.org/ns/org#Organization")):
        assert (szw, RDF.type, cls) in graph
    report = rdflib.URIRef("https://w3id.org/nap-bhr/id/report/2024")
    assert (report, RDF.type, NAP.Document) in graph


def test_source_files_state_only_what_they_say(tmp_path):
    """The derived types are not written back: the parsed file alone has only the stated class."""
    from napkg.graph.load import DATA, parse_file

    szw = rdflib.URIRef("https://w3id.org/nap-bhr/id/organisation/szw")
    assert (szw, RDF.type, NAP.Organisation) not in parse_file(DATA / "organisations.ttl")
