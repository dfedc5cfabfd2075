"""Typed relations to legal instruments (data/editorial/instrument-relations.ttl) and the law model's fixes.

Every legal instrument a 2024 entry names gets exactly one nap:InstrumentRelation for its action point, typed
from relation:scheme and justified by a quote that is in the entry's own text and in the source report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD

from napkg.graph.load import GRAPH, load_project
from transcription import SOURCE, squeeze

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
RELATIONS_FILE = DATA / "editorial" / "instrument-relations.ttl"
INSTRUMENTS_FILE = DATA / "legal-instruments.ttl"

NAP = rdflib.Namespace("https://w3id.org/nap-bhr/def#")
ELI = rdflib.Namespace("http://data.europa.eu/eli/ontology#")
ID = "https://w3id.org/nap-bhr/id/"
LAW = ID + "legal-instrument/"
RELATION_SCHEME = rdflib.URIRef(ID + "instrument-relation-type/scheme")
CONFIDENCE_SCHEME = rdflib.URIRef(ID + "confidence/scheme")
EDITORIAL = rdflib.URIRef(ID + "basis/editorial")
MAINTAINERS = rdflib.URIRef(ID + "agent/nap-kg-maintainers")
MENTIONS_IN = [
    NAP.mentionsInTitle,
    NAP.mentionsInObjective,
    NAP.mentionsInResponsibility,
    NAP.mentionsInTimeline,
    NAP.mentionsInExplanation,
    NAP.mentionsInFootnote,
]


@pytest.fixture(scope="module")
def project():
    return load_project([DATA])


@pytest.fixture(scope="module")
def graph(project) -> rdflib.Graph:
    return project.union()


@pytest.fixture(scope="module")
def relations(graph) -> list[rdflib.URIRef]:
    found = sorted(graph.subjects(RDF.type, NAP.InstrumentRelation))
    # A guard: if the file were not loaded every test below would pass on nothing.
    assert len(found) >= 20, f"only {len(found)} instrument relations loaded from {RELATIONS_FILE}"
    return found


def mentioned_laws(graph: rdflib.Graph) -> set[tuple[rdflib.URIRef, rdflib.URIRef]]:
    """(action point, instrument) for every legal instrument an entry names, in whichever column."""
    pairs = set()
    for prop in MENTIONS_IN:
        for entry, thing in graph.subject_objects(prop):
            if str(thing).startswith(LAW):
                pairs.add((graph.value(entry, NAP.assessedActionPoint), thing))
    return pairs


def column_texts(graph: rdflib.Graph, entry, column) -> list[str]:
    """The Dutch texts of an entry in one column: its literal properties, or a footnote's rdf:value."""
    texts = []
    for prop in graph.objects(column, NAP.columnProperty):
        for value in graph.objects(entry, prop):
            if isinstance(value, rdflib.URIRef):
                value = graph.value(value, RDF.value)
            if isinstance(value, rdflib.Literal) and value.language == "nl":
                texts.append(str(value))
    return texts


def quote(graph: rdflib.Graph, relation) -> str:
    values = [o for o in graph.objects(relation, NAP.quote) if getattr(o, "language", None) == "nl"]
    assert len(values) == 1, f"{relation}: {len(values)} Dutch quotes"
    return str(values[0])


# (a) one relation per (action point, instrument) the entries name, and none for a pair they do not.
def test_every_mentioned_law_has_exactly_one_relation(graph, relations):
    counts: dict[tuple, int] = {}
    for relation in relations:
        pair = (graph.value(relation, NAP.actionPoint), graph.value(relation, NAP.instrument))
        counts[pair] = counts.get(pair, 0) + 1
    mentioned = mentioned_laws(graph)
    assert mentioned, "no entry names a legal instrument: the report's data did not load"
    assert sorted(p for p in mentioned if counts.get(p) != 1) == [], "missing or duplicated relations"
    assert sorted(set(counts) - mentioned) == [], "relations for instruments the entry does not name"


def test_the_iri_names_the_action_point_and_the_instrument(graph, relations):
    for relation in relations:
        ap = str(graph.value(relation, NAP.actionPoint)).rsplit("/", 1)[1]
        law = str(graph.value(relation, NAP.instrument))[len(LAW) :]
        assert str(relation) == f"{ID}instrument-relation/{ap}-{law}"


# (b) the quote is in the text of the column it names, on the entry it is quoted from.
def test_every_quote_is_in_its_column_of_its_entry(graph, relations):
    wrong = []
    for relation in relations:
        entry, column = graph.value(relation, NAP.quotedFrom), graph.value(relation, NAP.column)
        assert graph.value(entry, NAP.assessedActionPoint) == graph.value(relation, NAP.actionPoint), relation
        if not any(quote(graph, relation) in text for text in column_texts(graph, entry, column)):
            wrong.append(str(relation))
    assert wrong == []


def test_a_quote_from_the_wrong_column_is_caught(graph, relations):
    relation = rdflib.URIRef(ID + "instrument-relation/nap-2022-17-csddd")
    entry = graph.value(relation, NAP.quotedFrom)
    title_column = rdflib.URIRef(ID + "report-column/action")
    assert not any(quote(graph, relation) in text for text in column_texts(graph, entry, title_column))


# (c) the quote is in the source report, once line-break hyphenation and spacing are undone.
def test_every_quote_is_in_the_source_report(graph, relations):
    flat = squeeze(SOURCE.read_text(encoding="utf-8"))
    assert [str(r) for r in relations if squeeze(quote(graph, r)) not in flat] == []
    assert squeeze("Op 24 juni 2024 is de CSDDD vastgesteld") not in flat, "the comparison must see a changed date"


# (d) the relation type comes from the scheme; the provenance of an editorial link is complete.
def test_each_relation_type_is_in_the_scheme(graph, relations):
    for relation in relations:
        types = list(graph.objects(relation, NAP.relationType))
        assert len(types) == 1 and (types[0], SKOS.inScheme, RELATION_SCHEME) in graph, relation


def test_each_relation_carries_editorial_provenance(graph, relations):
    for relation in relations:
        assert graph.value(relation, NAP.basis) == EDITORIAL, relation
        assert str(graph.value(relation, NAP.codebookVersion)) == "1.0", relation
        assert graph.value(relation, PROV.wasAttributedTo) == MAINTAINERS, relation
        assert graph.value(relation, DCTERMS.created).datatype == XSD.date, relation
        assert (graph.value(relation, NAP.confidence), SKOS.inScheme, CONFIDENCE_SCHEME) in graph, relation
        comments = [c for c in graph.objects(relation, RDFS.comment) if c.language == "en"]
        assert len(comments) == 1, relation


def test_relations_live_in_the_editorial_graph_only(project, relations):
    for name, named in project.graphs.items():
        inside = set(named.subjects(RDF.type, NAP.InstrumentRelation))
        assert inside == (set(relations) if name == GRAPH + "editorial" else set()), name


def test_every_quote_has_its_english_in_the_translations_graph(project, relations):
    translations = project.graphs[GRAPH + "translations"]
    missing = [str(r) for r in relations if not any(o.language == "en" for o in translations.objects(r, NAP.quote))]
    assert missing == []


# The law model's fixes (data/legal-instruments.ttl).
def test_articles_are_legal_resource_subdivisions(graph):
    articles = list(graph.subjects(NAP.instrumentType, NAP.ArticleOfLaw))
    assert len(articles) >= 2
    for article in articles:
        assert (article, RDF.type, ELI.LegalResourceSubdivision) in graph, article
        assert graph.value(article, ELI.is_part_of) is not None, article


def test_a_bill_transposes_and_amends_nothing(graph):
    bills = list(graph.subjects(NAP.instrumentType, NAP.Bill))
    assert len(bills) >= 3
    for bill in bills:
        for prop in (ELI.transposes, ELI.amends, ELI.changes):
            assert graph.value(bill, prop) is None, (bill, prop)
    draft_order = rdflib.URIRef(LAW + "csrd-amvb")
    assert graph.value(draft_order, ELI.transposes) is None
    assert graph.value(draft_order, NAP.intendsToTranspose) == rdflib.URIRef(LAW + "csrd")


def test_eli_dates_are_dates_with_the_report_as_source(graph):
    report = rdflib.URIRef(ID + "report/2024")
    for law, prop, day in [
        ("csddd", ELI.first_date_entry_in_force, "2024-07-25"),
        ("wamca", ELI.first_date_entry_in_force, "2020-01-01"),
        ("subsidiebeleidskader-sectorale-samenwerking", ELI.date_publication, "2024-08-02"),
    ]:
        subject = rdflib.URIRef(LAW + law)
        assert graph.value(subject, prop) == rdflib.Literal(day, datatype=XSD.date), law
        assert (subject, DCTERMS.source, report) in graph, law
    # The report gives the CSRD's entry into force as a month only: no ELI date for it.
    assert graph.value(rdflib.URIRef(LAW + "csrd"), ELI.first_date_entry_in_force) is None


def test_legal_instruments_file_holds_no_english(project):
    """The English sits in the translations graph. Labels and comments are checked here; Dutch short names
    (skos:altLabel "Sr", "WAMCA") are left to the translators' own rule for names."""
    parsed = rdflib.Graph().parse(INSTRUMENTS_FILE)
    assert [(str(s), str(p)) for s, p, o in parsed if getattr(o, "language", None) == "en"] == []
    translations = project.graphs[GRAPH + "translations"]
    untranslated = [
        (str(s), str(p))
        for s, p, o in parsed
        if p in (RDFS.label, RDFS.comment)
        and getattr(o, "language", None) == "nl"
        and not any(t.language == "en" for t in translations.objects(s, p))
    ]
    assert untranslated == []
