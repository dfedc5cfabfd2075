"""Every Dutch title, objective, responsibility, timeline, status and explanation matches the report."""
from __future__ import annotations

import pytest
import rdflib

from transcription import NAP, SOURCE, problems

pytestmark = pytest.mark.skipif(not SOURCE.exists(), reason="the source report is in ../shared, which a user's clone lacks")


@pytest.fixture(scope="module")
def source() -> str:
    return SOURCE.read_text(encoding="utf-8")


def test_every_text_matches_the_source(graph, source):
    assert problems(graph, source) == []


def test_all_33_rows_were_compared(graph, source):
    from transcription import texts
    rows = list(texts(graph))
    assert len(rows) == 33 and all(all(parts) for _, parts, _ in rows)


def _with_explanation(graph: rdflib.Graph, ap: str, change) -> rdflib.Graph:
    changed = rdflib.Graph()
    changed += graph
    sa = next(changed.subjects(NAP.assessedActionPoint, rdflib.URIRef(ap)))
    old = next(o for o in changed.objects(sa, NAP.explanation) if o.language == "nl")
    changed.remove((sa, NAP.explanation, old))
    changed.add((sa, NAP.explanation, rdflib.Literal(change(str(old)), lang="nl")))
    return changed


AP = "https://w3id.org/nap-bhr/id/action-point/02"


@pytest.mark.parametrize("change, reason", [
    (lambda t: t.replace("najaar", "voorjaar"), "a changed word"),
    (lambda t: t.replace("Raad van State", "Raad van Staten"), "a typo"),
    (lambda t: t.replace("Tweede Kamer.", "Tweede Kamer. Extra zin."), "an added sentence"),
    (lambda t: t.replace("specifiek vergemakkelijkt", "specifiekvergemakkelijkt"), "a lost space"),
    (lambda t: t[: len(t) // 2], "a truncated explanation"),
])
def test_a_changed_text_is_caught(graph, source, change, reason):
    found = problems(_with_explanation(graph, AP, change), source)
    assert any(line.startswith(AP) for line in found), reason


def test_line_break_hyphenation_is_not_a_difference(graph, source):
    """The report prints "departe-\\nment"; the graph holds "departement" and passes."""
    ap1 = rdflib.URIRef("https://w3id.org/nap-bhr/id/action-point/01")
    assert "departement" in str(graph.value(ap1, NAP.responsibilityText))
    assert "departe-\nment" in source
