"""The graph holds what the report says: 33 action points in 16 themes under 3 pillars, and so on.

The expected numbers are the report's own (its introduction and facts.md); the status counts are also
recounted from the source text itself where it is available.
"""
from __future__ import annotations

import re

import pytest

from transcription import SOURCE, squeeze

PREFIXES = """
PREFIX nap: <https://w3id.org/nap-bhr/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""


def count(graph, where: str) -> int:
    return int(next(iter(graph.query(PREFIXES + f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {where} }}")))[0])


def test_action_points(graph):
    assert count(graph, "?x a nap:ActionPoint") == 33


@pytest.mark.parametrize("pillar, expected", [("1", 16), ("2", 6), ("3", 11)])
def test_action_points_per_pillar(graph, pillar, expected):
    assert count(graph, f"?x a nap:ActionPoint ; nap:pillar <https://w3id.org/nap-bhr/id/ungp-pillar/{pillar}>") == expected


@pytest.mark.parametrize("cls, scheme, expected", [
    ("nap:Theme", "theme", 16),
    ("nap:UNGPPillar", "ungp-pillar", 3),
    ("nap:UNGPPrinciple", "ungp-principle", 31),
    ("nap:Status", "status", 7),
    ("nap:OECDGuidelinesChapter", "oecd-chapter", 11),
    ("nap:DueDiligenceStep", "due-diligence-step", 6),
])
def test_concept_schemes(graph, cls, scheme, expected):
    assert count(graph, f"?x a {cls} ; skos:inScheme <https://w3id.org/nap-bhr/id/{scheme}/scheme>") == expected


@pytest.mark.parametrize("pillar, first, last", [("1", 1, 10), ("2", 11, 24), ("3", 25, 31)])
def test_principles_in_their_pillar(graph, pillar, first, last):
    found = {int(row[0]) for row in graph.query(PREFIXES + f"""
        SELECT ?n WHERE {{ ?p a nap:UNGPPrinciple ; skos:notation ?n ;
                           nap:pillar <https://w3id.org/nap-bhr/id/ungp-pillar/{pillar}> }}""")}
    assert found == set(range(first, last + 1))


def test_themes_per_pillar(graph):
    rows = graph.query(PREFIXES + """
        SELECT ?pillar (COUNT(?t) AS ?n) WHERE { ?t a nap:Theme ; nap:pillar ?pillar } GROUP BY ?pillar""")
    assert sorted(int(n) for _, n in rows) == [3, 5, 8]


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
    rows = graph.query(PREFIXES + """
        SELECT ?label (COUNT(?a) AS ?n) WHERE {
          ?a a nap:StatusAssessment ; nap:status/skos:prefLabel ?label . FILTER(lang(?label) = "nl")
        } GROUP BY ?label""")
    return {str(label): int(n) for label, n in rows}


def test_status_counts(graph):
    assert status_counts(graph) == STATUS_COUNTS
    assert sum(STATUS_COUNTS.values()) == 33


@pytest.mark.skipif(not SOURCE.exists(), reason="the source report is in ../shared, which a user's clone lacks")
def test_status_counts_match_the_source_text():
    """Recount each status in the PDF text: a status label is followed by its explanation, so count it
    where it starts a row's status column (capitalised, after the timeline). "In uitvoering" alone is
    what remains after the longer labels."""
    flat = squeeze(SOURCE.read_text(encoding="utf-8"))
    found = {label: len(re.findall(re.escape(squeeze(label)), flat)) for label in STATUS_COUNTS}
    found["In uitvoering"] -= found["In uitvoering volgens planning"] + found["In uitvoering maar met vertraging"]
    assert found == STATUS_COUNTS
