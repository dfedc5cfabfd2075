"""The graph holds what the report says: 33 action points in 16 themes under 3 pillars, and so on.

The expected numbers are the report's own (its introduction and its tables); the status counts are also
recounted from the source text itself (sources/). Statuses and responsibilities are what one
report says, so they are counted on the entries of the 2024 report (nap:StatusAssessment, nap:inReport):
a later report adds entries and must not change these numbers.
"""

from __future__ import annotations

import re

import pytest

from transcription import SOURCE, squeeze

PREFIXES = """
PREFIX nap: <https://w3id.org/nap-bhr/def#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX report: <https://w3id.org/nap-bhr/id/report/>
"""


def count(graph, where: str) -> int:
    return int(next(iter(graph.query(PREFIXES + f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {where} }}")))[0])


def test_action_points(graph):
    assert count(graph, "?x a nap:ActionPoint") == 33


@pytest.mark.parametrize("pillar, expected", [("1", 16), ("2", 6), ("3", 11)])
def test_action_points_per_pillar(graph, pillar, expected):
    assert (
        count(graph, f"?x a nap:ActionPoint ; nap:pillar <https://w3id.org/nap-bhr/id/ungp-pillar/{pillar}>")
        == expected
    )


@pytest.mark.parametrize(
    "cls, scheme, expected",
    [
        ("nap:Theme", "theme", 16),
        ("nap:UNGPPillar", "ungp-pillar", 3),
        ("nap:UNGPPrinciple", "ungp-principle", 31),
        ("nap:Status", "status", 7),
        ("nap:OECDGuidelinesChapter", "oecd-chapter", 11),
        ("nap:DueDiligenceStep", "due-diligence-step", 6),
    ],
)
def test_concept_schemes(graph, cls, scheme, expected):
    assert count(graph, f"?x a {cls} ; skos:inScheme <https://w3id.org/nap-bhr/id/{scheme}/scheme>") == expected


@pytest.mark.parametrize("pillar, first, last", [("1", 1, 10), ("2", 11, 24), ("3", 25, 31)])
def test_principles_in_their_pillar(graph, pillar, first, last):
    found = {
        int(row[0])
        for row in graph.query(
            PREFIXES
            + f"""
        SELECT ?n WHERE {{ ?p a nap:UNGPPrinciple ; skos:notation ?n ;
                           nap:pillar <https://w3id.org/nap-bhr/id/ungp-pillar/{pillar}> }}"""
        )
    }
    assert found == set(range(first, last + 1))


def test_themes_per_pillar(graph):
    rows = graph.query(
        PREFIXES
        + """
        SELECT ?pillar (COUNT(?t) AS ?n) WHERE { ?t a nap:Theme ; nap:pillar ?pillar } GROUP BY ?pillar"""
    )
    assert sorted(int(n) for _, n in rows) == [3, 5, 8]


#: Action points per theme (the report's table, theme by theme).
THEME_COUNTS = {
    "01": 2,
    "02": 2,
    "03": 2,
    "04": 2,
    "05": 2,
    "06": 2,
    "07": 2,
    "08": 2,
    "09": 3,
    "10": 1,
    "11": 2,
    "12": 3,
    "13": 2,
    "14": 1,
    "15": 1,
    "16": 4,
}


def test_action_points_per_theme(graph):
    rows = graph.query(
        PREFIXES
        + """
        SELECT ?theme (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a nap:ActionPoint ; nap:theme/skos:notation ?theme }
        GROUP BY ?theme"""
    )
    assert {str(theme): int(n) for theme, n in rows} == THEME_COUNTS
    assert sum(THEME_COUNTS.values()) == 33


STATUS_COUNTS = {
    "Doorlopend": 11,
    "Voltooid": 6,
    "In uitvoering volgens planning": 9,
    "In uitvoering maar met vertraging": 3,
    "In (formele) consultatie": 2,
    "Niet van toepassing": 1,
    "In uitvoering": 1,
}


def status_counts(graph) -> dict[str, int]:
    rows = graph.query(
        PREFIXES
        + """
        SELECT ?label (COUNT(DISTINCT ?x) AS ?n) WHERE {
          ?a a nap:StatusAssessment ; nap:inReport report:2024 ; nap:assessedActionPoint ?x ;
             nap:status/skos:prefLabel ?label . FILTER(lang(?label) = "nl")
        } GROUP BY ?label"""
    )
    return {str(label): int(n) for label, n in rows}


def test_status_counts(graph):
    assert status_counts(graph) == STATUS_COUNTS
    assert sum(STATUS_COUNTS.values()) == 33


#: Action points each organisation of the registry is responsible for in the 2024 report, in any role.
#: (The groups BZ works with on 12, recorded since issue 24 as prov:Agent, are no organisations: not here.)
ORGANISATION_COUNTS = {
    "bz": 21,
    "jenv": 6,
    "szw": 4,
    "ezk": 2,
    "ienw": 2,
    "rvo": 2,
    "fin": 1,
    "rivm": 1,
    "interdepartementaal-projectteam-arbeidsmigranten": 1,
    "raad-voor-rechtsbijstand": 1,
}


def test_responsible_organisations(graph):
    rows = graph.query(
        PREFIXES
        + """
        SELECT ?organisation (COUNT(DISTINCT ?x) AS ?n) WHERE {
          ?a nap:inReport report:2024 ; nap:assessedActionPoint ?x ; nap:responsibility/prov:agent ?organisation .
          ?organisation a nap:Organisation .
        } GROUP BY ?organisation"""
    )
    assert {str(o).rsplit("/", 1)[1]: int(n) for o, n in rows} == ORGANISATION_COUNTS


def test_every_action_point_has_one_entry_in_the_2024_report(graph):
    rows = graph.query(
        PREFIXES
        + """
        SELECT ?x (COUNT(?a) AS ?n) WHERE {
          ?x a nap:ActionPoint . OPTIONAL { ?a nap:assessedActionPoint ?x ; nap:inReport report:2024 }
        } GROUP BY ?x"""
    )
    assert sorted(int(n) for _, n in rows) == [1] * 33


def test_status_counts_match_the_source_text():
    """Recount each status in the PDF text: a status label is followed by its explanation, so count it
    where it starts a row's status column (capitalised, after the timeline). "In uitvoering" alone is
    what remains after the longer labels."""
    flat = squeeze(SOURCE.read_text(encoding="utf-8"))
    found = {label: len(re.findall(re.escape(squeeze(label)), flat)) for label in STATUS_COUNTS}
    found["In uitvoering"] -= found["In uitvoering volgens planning"] + found["In uitvoering maar met vertraging"]
    assert found == STATUS_COUNTS
