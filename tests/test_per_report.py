"""What a report says is recorded as said by that report, and our own coding is kept apart from it.

- A second report adds triples and changes none of the first report's (the 2025 report is simulated).
- An action point holds only what no report changes; every statement a report makes about it is on the
  report's entry, in the report's graph, with the column it came from.
- Framework links: stated ones live in a report's graph, editorial ones in graph/editorial; every action point
  has a UNGP principle and an OECD chapter; dropping the editorial graph leaves only what the reports say.
"""

from __future__ import annotations

import textwrap

import pytest
import rdflib
from rdflib.namespace import RDF

from napkg.graph.load import DATA, load_project
from napkg.graph.namespaces import GRAPH, ID, NAP

ENTRY = rdflib.URIRef(ID + "status-assessment/2024-19")
REPORT_2024 = GRAPH + "report-2024"
EDITORIAL = GRAPH + "editorial"
TRANSLATIONS = GRAPH + "translations"
BASIS = ID + "basis/"
PREFIXES = "PREFIX nap: <https://w3id.org/nap-bhr/def#>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"

# A 2025 report that changes action point 19's status and responsibility text, as a new report would.
REPORT_2025 = textwrap.dedent("""\
    @prefix nap: <https://w3id.org/nap-bhr/def#> .
    @prefix ap: <https://w3id.org/nap-bhr/id/action-point/> .
    @prefix sa: <https://w3id.org/nap-bhr/id/status-assessment/> .
    @prefix report: <https://w3id.org/nap-bhr/id/report/> .
    @prefix status: <https://w3id.org/nap-bhr/id/status/> .
    @prefix plan: <https://w3id.org/nap-bhr/id/action-plan/> .
    @prefix dct: <http://purl.org/dc/terms/> .
    @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
    report:2025 a nap:ProgressReport ; nap:reportingYear "2025"^^xsd:gYear ; nap:reportsOn plan:nap-2022 .
    sa:2025-19 a nap:StatusAssessment ; nap:assessedActionPoint ap:nap-2022-19 ; nap:inReport report:2025 ;
        dct:title "Onderhandeling over de CSRD."@nl ; nap:responsibilityText "JenV"@nl ;
        nap:status status:completed ; nap:explanation "Afgerond."@nl .
    """)


def quads(loaded) -> set:
    return {(s, p, o, name) for name, graph in loaded.graphs.items() for s, p, o in graph}


def test_a_second_report_changes_no_triple_of_the_first(project, tmp_path):
    extra = tmp_path / "report-2025.ttl"
    extra.write_text(REPORT_2025, encoding="utf-8")
    both = load_project([DATA, extra])
    before, after = quads(project), quads(both)
    assert before <= after, "the 2025 report removed or changed a triple"
    added = after - before
    assert added and all(q[3] != REPORT_2024 for q in added)
    # Each report keeps its own status for the same action point.
    union = both.union()
    statuses = set(
        union.query(
            PREFIXES
            + """
        SELECT ?year ?status WHERE { ?e nap:assessedActionPoint <https://w3id.org/nap-bhr/id/action-point/nap-2022-19> ;
            nap:inReport/nap:reportingYear ?year ; nap:status ?status }"""
        )
    )
    assert {str(y) for y, _ in statuses} == {"2024", "2025"}


def test_an_action_point_holds_only_what_no_report_changes(graph):
    allowed = {
        RDF.type,
        rdflib.URIRef("http://www.w3.org/2004/02/skos/core#notation"),
        rdflib.URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
        rdflib.URIRef("http://purl.org/dc/terms/isPartOf"),
        NAP.pillar,
        NAP.theme,
    }
    found = {p for ap in graph.subjects(RDF.type, NAP.ActionPoint) for p in graph.predicates(ap)}
    assert found - allowed == set()


def test_every_statement_of_an_entry_has_its_report_and_column(graph):
    """For each property of an entry, the report (nap:inReport) and the column that carries it are known."""
    rows = list(
        graph.query(
            PREFIXES
            + """
        SELECT DISTINCT ?p ?column WHERE {
          ?e a nap:StatusAssessment ; nap:inReport ?report ; ?p ?o .
          FILTER (?p NOT IN (<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>, nap:inReport,
                             nap:assessedActionPoint, nap:mentions))
          OPTIONAL { ?column nap:columnProperty ?p } }"""
        )
    )
    assert rows
    assert [str(p) for p, column in rows if column is None] == []


def test_mentions_record_their_column_and_the_report(project):
    """The derived nap:mentions sits in the same graph as the per-column triple it comes from."""
    named = project.graphs[REPORT_2024]
    per_column = set(named.subject_objects(NAP.mentionsInExplanation))
    assert per_column and per_column <= set(named.subject_objects(NAP.mentions))


def links(graph, basis: str) -> set:
    return set(graph.subjects(NAP.basis, rdflib.URIRef(BASIS + basis)))


def test_stated_links_live_in_a_report_graph_and_editorial_ones_apart(project):
    for name, graph in project.graphs.items():
        if name == EDITORIAL:
            assert not links(graph, "stated")
        else:
            assert not links(graph, "editorial"), f"an editorial link in {name}"
    assert links(project.graphs[REPORT_2024], "stated")
    assert links(project.graphs[EDITORIAL], "editorial")


def test_without_the_editorial_graph_only_the_reports_remain(project):
    """Nothing outside graph/editorial says anything about an editorial link, except graph/translations, which
    holds the English of its quote (a passage of the report, so a translation of what the report says)."""
    editorial = links(project.graphs[EDITORIAL], "editorial")
    assert editorial
    rest = rdflib.Graph()
    for name, graph in project.graphs.items():
        if name not in (EDITORIAL, TRANSLATIONS):
            rest += graph
    assert not editorial & set(rest.subjects()), "an editorial link is described outside graph/editorial"
    assert not links(rest, "editorial")
    assert not set(rest.subjects(RDF.type, NAP.InstrumentRelation))
    about_links = {p for s, p, _ in project.graphs[TRANSLATIONS] if s in editorial}
    assert about_links == {NAP.quote}


@pytest.mark.parametrize("scheme", ["ungp-principle", "oecd-chapter"])
def test_every_action_point_has_a_principle_and_a_chapter(graph, scheme):
    missing = [
        str(ap)
        for (ap,) in graph.query(
            PREFIXES
            + f"""
        SELECT ?ap WHERE {{ ?ap a nap:ActionPoint .
          FILTER NOT EXISTS {{ ?link nap:actionPoint ?ap ; nap:frameworkElement/skos:inScheme
                                 <https://w3id.org/nap-bhr/id/{scheme}/scheme> }} }}"""
        )
    ]
    assert missing == []
