"""Every namespace and prefix of the project, in one place.

Files in ontology/, data/, shapes/ and queries/ declare their own prefixes so each can be pasted into a
query editor on its own; a test checks that every one of those declarations agrees with PREFIXES.
"""

from __future__ import annotations

from rdflib import Namespace

#: The one base of all our IRIs. Model terms live under def, things under id/{type}/{ref}.
BASE = "https://w3id.org/nap-bhr/"

NAP = Namespace(BASE + "def#")
NAPSH = Namespace(BASE + "shapes#")
ID = BASE + "id/"
GRAPH = BASE + "graph/"

ELI = Namespace("http://data.europa.eu/eli/ontology#")
ORG = Namespace("http://www.w3.org/ns/org#")
PROV = Namespace("http://www.w3.org/ns/prov#")
# Open namespaces (str subclasses): SKOS + "prefLabel" is a plain str, for code that works in pyoxigraph's
# strings; SKOS.prefLabel is an rdflib URIRef, which equals no str.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
SH = Namespace("http://www.w3.org/ns/shacl#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
VANN = Namespace("http://purl.org/vocab/vann/")
VOID = Namespace("http://rdfs.org/ns/void#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
# Only the dataset's description (data/dataset.ttl) and its VoID use these: they stay out of PREFIXES, which
# every query prologue and every Turtle file we write declares.
OVERHEID = Namespace("http://standaarden.overheid.nl/owms/terms/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")

#: Our things: prefix -> IRI type segment (id/{type}/).
THING_TYPES = {
    "ap": "action-point",
    "sa": "status-assessment",
    "resp": "responsibility",
    "fn": "footnote",
    "theme": "theme",
    "pillar": "ungp-pillar",
    "principle": "ungp-principle",
    "chapter": "oecd-chapter",
    "step": "due-diligence-step",
    "status": "status",
    "role": "role",
    "organisation": "organisation",
    "law": "legal-instrument",
    "document": "document",
    "programme": "programme",
    "plan": "action-plan",
    "report": "report",
    "event": "event",
    "section": "ungp-section",
    "flink": "framework-link",
    "irel": "instrument-relation",
    "basis": "basis",
    "confidence": "confidence",
    "relation": "instrument-relation-type",
    "column": "report-column",
    "agent": "agent",
}

PREFIXES: dict[str, str] = {
    "nap": str(NAP),
    "napsh": str(NAPSH),
    **{prefix: f"{ID}{segment}/" for prefix, segment in THING_TYPES.items()},
    "link": f"{ID}link/",  # records of outbound links and their confirming sources (data/links.ttl)
    "dct": str(DCT),
    "dcat": str(DCAT),
    "eli": str(ELI),
    "foaf": str(FOAF),
    "org": str(ORG),
    "owl": str(OWL),
    "prov": str(PROV),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "sh": str(SH),
    "skos": str(SKOS),
    "vann": str(VANN),
    "void": str(VOID),
    "xsd": str(XSD),
    "tooimin": "https://identifier.overheid.nl/tooi/id/ministerie/",
    "tooioorg": "https://identifier.overheid.nl/tooi/id/oorg/",
    "tooizbo": "https://identifier.overheid.nl/tooi/id/zbo/",
}


def sparql_prologue() -> str:
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
