"""/def: the documentation of the model, generated from ontology/, with its diagram; and its RDF forms.

The page is checked against the ontology file itself: every class and property of ontology/nap.ttl must
be on it, anchored at #Term (the fragment of its IRI) with its Dutch and English labels, its domain and
range linked.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from napkg import cli
from napkg.graph.namespaces import NAP
from napkg.web import docs
from server import running_server

ROOT = Path(__file__).resolve().parent.parent
NAP_TTL = ROOT / "ontology" / "nap.ttl"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def server():
    with running_server("--workers", "1") as s:
        yield s


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(NAP_TTL, format="turtle")


def terms(ontology: rdflib.Graph, kind) -> list[rdflib.URIRef]:
    return sorted(s for s in ontology.subjects(RDF.type, kind) if str(s).startswith(str(NAP)))


def name(iri) -> str:
    return str(iri)[len(str(NAP)) :]


@pytest.fixture(scope="module")
def page(server) -> str:
    response = httpx.get(server.url + "/def", headers={"Accept": "text/html"}, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    return response.text


def article(page: str, anchor: str) -> str:
    match = re.search(rf'<article class="term" id="{re.escape(anchor)}"(.*?)</article>', page, re.S)
    assert match, f"no <article id={anchor!r}> on /def"
    return html.unescape(match.group(1))


def label(ontology, term, lang) -> str:
    values = [o for o in ontology.objects(term, RDFS.label) if o.language == lang]
    assert values, f"{term} has no {lang} label in nap.ttl"
    return str(values[0])


# --- Every term, anchored, with both labels --------------------------------------------------------


def test_the_ontology_has_terms(ontology):
    assert len(terms(ontology, OWL.Class)) >= 20
    assert len(terms(ontology, OWL.ObjectProperty)) >= 10 and len(terms(ontology, OWL.DatatypeProperty)) >= 5


@pytest.mark.parametrize(
    "kind", [OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty], ids=["class", "object", "datatype"]
)
def test_every_term_is_anchored_with_both_labels_and_a_definition(ontology, page, kind):
    for term in terms(ontology, kind):
        body = article(page, name(term))
        assert label(ontology, term, "nl") in body and label(ontology, term, "en") in body, term
        for definition in ontology.objects(term, SKOS.definition):
            assert str(definition) in body, f"{term}: definition missing"
        assert str(term) in body, f"{term}: its IRI is not shown"


def test_domain_range_and_superproperties_are_linked(ontology, page):
    for prop in terms(ontology, OWL.ObjectProperty) + terms(ontology, OWL.DatatypeProperty):
        body = article(page, name(prop))
        for target in (
            list(ontology.objects(prop, RDFS.domain))
            + list(ontology.objects(prop, RDFS.range))
            + list(ontology.objects(prop, RDFS.subPropertyOf))
        ):
            href = "#" + name(target) if str(target).startswith(str(NAP)) else str(target)
            assert f'href="{href}"' in body, f"{prop}: no link to {target}"


def test_superclasses_link_in_and_out(ontology, page):
    for cls in terms(ontology, OWL.Class):
        body = article(page, name(cls))
        for sup in ontology.objects(cls, RDFS.subClassOf):
            ours = str(sup).startswith(str(NAP))
            assert f'href="{"#" + name(sup) if ours else str(sup)}"' in body, f"{cls}: no link to {sup}"
            if not ours:
                assert 'class="external"' in body
    # An anchor that links in must exist on the page.
    for href in set(re.findall(r'href="#([A-Za-z][\w-]*)"', page)):
        assert f'id="{href}"' in page, f"a link to #{href} has no target"


def test_individuals_and_concept_schemes(page):
    model = docs.model()
    for individual in model.individuals:  # the legal instrument types: def#EUDirective ...
        assert f'id="{individual.name}"' in page
    graph = docs.stated_graph()
    schemes = set(graph.subjects(RDF.type, SKOS.ConceptScheme))
    assert (
        # statuses, themes, pillars, sections, principles, chapters, steps, roles; link bases, confidences,
        # relation types, report columns
        len(schemes) == 12
    )
    for scheme in schemes:
        assert str(scheme) in page
        for concept in graph.subjects(SKOS.inScheme, scheme):
            assert f'href="{concept}"' in page, f"{concept} of {scheme} is not listed"


def test_the_page_in_english(server, ontology):
    response = httpx.get(server.url + "/def?lang=en", headers={"Accept": "text/html"}, timeout=30)
    assert '<html lang="en">' in response.text
    assert "Object properties" in response.text and "Concept schemes" in response.text
    assert label(ontology, NAP.ActionPoint, "en") in html.unescape(response.text)


# --- The diagram ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def svg(server) -> ET.Element:
    response = httpx.get(server.url + "/def/model.svg", timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    return ET.fromstring(response.content)


def test_the_diagram_is_svg_with_a_title_and_a_description(svg):
    assert svg.tag == SVG_NS + "svg" and svg.get("role") == "img"
    assert svg.find(SVG_NS + "title").text and svg.find(SVG_NS + "desc").text


def test_the_diagram_names_every_class(svg, ontology):
    texts = {t.text for t in svg.iter(SVG_NS + "text")}
    for cls in terms(ontology, OWL.Class):
        assert name(cls) in texts, f"{name(cls)} is not in the diagram"


def test_the_diagram_draws_each_property_with_domain_and_range_and_each_subclass_edge(svg, ontology):
    drawn = [p.get("data-property") for p in svg.iter(SVG_NS + "path") if "property" in (p.get("class") or "")]
    # An arrow joins two boxes: a property whose domain and range are both our (different) classes.
    expected = [
        name(p)
        for p in terms(ontology, OWL.ObjectProperty)
        for d in ontology.objects(p, RDFS.domain)
        for r in ontology.objects(p, RDFS.range)
        if str(d).startswith(str(NAP)) and str(r).startswith(str(NAP)) and d != r
    ]
    assert sorted(drawn) == sorted(expected)
    subclass = [p for p in svg.iter(SVG_NS + "path") if "subclass" in (p.get("class") or "")]
    internal = [
        (s, o)
        for s, o in ontology.subject_objects(RDFS.subClassOf)
        if str(s).startswith(str(NAP)) and str(o).startswith(str(NAP))
    ]
    assert len(subclass) == len(internal) > 0


def test_the_layout_has_no_overlapping_boxes():
    layout = docs.Layout(docs.model(), "nl")
    boxes = [(n.x - n.width / 2, n.y, n.x + n.width / 2, n.y + n.height) for n in layout.nodes.values() if not n.dummy]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), f"boxes overlap: {a} {b}"
    assert layout.crossings <= 2, "the ordering should keep arrows from crossing"


# --- Negotiation --------------------------------------------------------------------------------------

FORMATS = {
    "text/turtle": ("turtle", "ttl"),
    "application/ld+json": ("json-ld", "jsonld"),
    "application/rdf+xml": ("xml", "rdf"),
    "application/n-triples": ("nt", "nt"),
}


@pytest.mark.parametrize("media", list(FORMATS))
def test_def_negotiates_rdf(server, media):
    fmt, ext = FORMATS[media]
    expected = len(docs.stated_graph())
    for response in (
        httpx.get(server.url + "/def", headers={"Accept": media}, timeout=30),
        httpx.get(server.url + f"/def.{ext}", timeout=30),
        httpx.get(server.url + f"/def?format={ext}", headers={"Accept": "text/html"}, timeout=30),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] == media
        graph = rdflib.Graph().parse(data=response.content, format=fmt)
        assert len(graph) == expected
        assert (rdflib.URIRef(str(NAP) + "ActionPoint"), RDF.type, OWL.Class) in graph


def test_def_negotiation_edges(server):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert httpx.get(server.url + "/def", headers={"Accept": browser}).headers["content-type"].startswith("text/html")
    assert httpx.get(server.url + "/def", headers={"Accept": "image/png"}).status_code == 406
    assert httpx.get(server.url + "/def.xyz").status_code == 404
    # A client that takes anything gets RDF (Turtle), not the page.
    assert httpx.get(server.url + "/def", headers={"Accept": "*/*"}).headers["content-type"].startswith("text/turtle")


# --- napkg build writes the documentation -----------------------------------------------------------


def test_build_writes_the_docs(tmp_path):
    assert cli.main(["build", "--out", str(tmp_path)]) == 0
    page = (tmp_path / "docs" / "def.html").read_text(encoding="utf-8")
    assert 'id="ActionPoint"' in page and "<style>" in page  # the style sheet is inlined: it opens from disk
    diagram = ET.parse(tmp_path / "docs" / "model.svg").getroot()
    assert diagram.tag == SVG_NS + "svg"
    assert (tmp_path / "docs" / "def.en.html").exists() and (tmp_path / "docs" / "model.en.svg").exists()


def test_the_version_iri_resolves(server, ontology):
    """owl:versionIRI (https://w3id.org/nap-bhr/def/0.1.0) is one of our IRIs: it must resolve here too."""
    version = str(ontology.value(rdflib.URIRef("https://w3id.org/nap-bhr/def"), rdflib.OWL.versionIRI))
    path = version.removeprefix("https://w3id.org/nap-bhr")
    response = httpx.get(server.url + path, follow_redirects=False, timeout=10)
    assert response.status_code == 303 and response.headers["location"] == "/def"
    assert httpx.get(server.url + "/def/9.9.9", timeout=10).status_code == 404
    assert httpx.get(server.url + "/def/model.svg", timeout=10).headers["content-type"].startswith("image/svg+xml")
