"""JSON-LD of a graph (CONSTRUCT and DESCRIBE results, /doc pages) is written compacted with the graph's
prefixes and an @context, where pyoxigraph writes full IRIs whatever prefixes it is given. It must read
back as exactly the triples written, with pyoxigraph's parser and with
rdflib's, and nothing may be shortened that a JSON-LD processor would read back as another IRI."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from napkg.graph.namespaces import PREFIXES
from napkg.sparql.results import compact_json_ld, write_graph

JSONLD = "application/ld+json"


def read_back(body: bytes) -> set:
    return set(ox.parse(body, format=ox.RdfFormat.JSON_LD))


def same_graph(body: bytes, triples: list) -> bool:
    """pyoxigraph's and rdflib's readings of body are the triples (blank nodes up to renaming)."""
    expected = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    found = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in read_back(body))
    expected.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    found.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    by_rdflib = rdflib.Graph().parse(data=body, format="json-ld")
    written = rdflib.Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    return set(expected) == set(found) and isomorphic(by_rdflib, written)


@pytest.fixture(scope="module")
def nap_triples(project_store) -> list:
    return list(project_store.query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"))


def test_the_nap_graph_compacts_to_the_same_triples(nap_triples):
    body = write_graph(nap_triples, JSONLD, PREFIXES)
    document = json.loads(body)
    assert same_graph(body, nap_triples)
    context = document["@context"]
    assert context["nap"] == PREFIXES["nap"] and context["dct"] == PREFIXES["dct"]
    text = json.dumps(document["@graph"])
    assert all(f'"{name}:' in text for name in context)  # only the prefixes it uses
    ids = [node["@id"] for node in document["@graph"]]
    assert len(ids) == len(set(ids)) == len({t.subject for t in nap_triples})  # one node a subject
    point = next(node for node in document["@graph"] if node["@id"] == "ap:nap-2022-01")
    assert "nap:ActionPoint" in point["@type"] and "rdfs:label" in point
    iris = (
        [key for node in document["@graph"] for key in node]
        + [
            value["@id"]
            for node in document["@graph"]
            for values in node.values()
            if isinstance(values, list)
            for value in values
            if isinstance(value, dict) and "@id" in value
        ]
        + [node["@id"] for node in document["@graph"]]
    )
    assert not [iri for iri in iris if iri.startswith(tuple(PREFIXES.values()))]  # none left whole in a known namespace
    assert len(body) < len(ox.serialize(nap_triples, format=ox.RdfFormat.JSON_LD))


def test_without_prefixes_it_is_pyoxigraphs_own(nap_triples):
    some = nap_triples[:50]
    assert write_graph(some, JSONLD) == ox.serialize(some, format=ox.RdfFormat.JSON_LD)
    assert write_graph(some, JSONLD, {}) == ox.serialize(some, format=ox.RdfFormat.JSON_LD)


EX = "http://example.org/"


def triple(s: str, p: str, o) -> ox.Triple:
    subject = ox.BlankNode(s[2:]) if s.startswith("_:") else ox.NamedNode(s)
    return ox.Triple(subject, ox.NamedNode(p), o)


@pytest.mark.parametrize(
    "triples, prefixes, not_used",
    [
        # "ex://x" reads as an IRI, not as ex: plus "//x".
        ([triple(EX + "a", EX + "p", ox.NamedNode(EX + "//x"))], {"ex": EX}, "ex://"),
        # An IRI left whole whose scheme is a prefix: with "fn" in the context, "fn:odd" would read as fn: + "odd".
        (
            [
                triple(EX + "a", EX + "p", ox.NamedNode("fn:odd")),
                triple(EX + "b", "http://fn.example/p", ox.Literal("x")),
            ],
            {"ex": EX, "fn": "http://fn.example/"},
            '"fn"',
        ),
        # A namespace not ending in / # ? [ ] @ or : is no prefix in JSON-LD 1.1; "_" names blank nodes.
        ([triple(EX + "ab", EX + "p", ox.Literal("x"))], {"ex": EX + "a", "_": EX}, '"ex"'),
    ],
)
def test_nothing_is_shortened_that_would_read_back_as_another_iri(triples, prefixes, not_used):
    body = write_graph(triples, JSONLD, prefixes)
    assert not_used not in body.decode()
    assert same_graph(body, triples)


def test_literals_blank_nodes_and_types_read_back():
    xsd = PREFIXES["xsd"]
    triples = [
        triple(EX + "a", PREFIXES["rdf"] + "type", ox.NamedNode(EX + "Thing")),
        triple(EX + "d", PREFIXES["rdf"] + "type", ox.BlankNode("kind")),
        triple(EX + "a", EX + "label", ox.Literal("plain")),
        triple(EX + "a", EX + "label", ox.Literal("Nederlands", language="nl")),
        triple(EX + "a", EX + "date", ox.Literal("2024-06-30", datatype=ox.NamedNode(xsd + "date"))),
        triple(EX + "a", EX + "n", ox.Literal("42", datatype=ox.NamedNode(xsd + "integer"))),
        triple(EX + "a", EX + "json", ox.Literal('{"@id": "ex:no"}')),
        triple("_:b", EX + "p", ox.NamedNode(EX + "a")),
        triple(EX + "c", PREFIXES["rdf"] + "type", ox.Literal("a literal type")),
    ]
    body = write_graph(triples, JSONLD, {"ex": EX, "xsd": xsd, "rdf": PREFIXES["rdf"]})
    assert same_graph(body, triples)
    nodes = {node["@id"]: node for node in json.loads(body)["@graph"]}
    assert nodes["ex:a"]["@type"] == ["ex:Thing"] and "plain" in nodes["ex:a"]["ex:label"]
    assert {"@type": "xsd:date", "@value": "2024-06-30"} in nodes["ex:a"]["ex:date"]
    assert "rdf:type" in nodes["ex:c"]  # a literal is no @type
    assert "@type" not in nodes["ex:d"] and "rdf:type" in nodes["ex:d"]  # nor a blank node


def test_compacting_is_what_write_graph_does_to_pyoxigraphs_output(nap_triples):
    expanded = ox.serialize(nap_triples[:20], format=ox.RdfFormat.JSON_LD)
    assert compact_json_ld(expanded, PREFIXES) == write_graph(nap_triples[:20], JSONLD, PREFIXES)
    assert compact_json_ld(expanded, {"zz": "http://nothing.example/"}) == expanded  # nothing to shorten
