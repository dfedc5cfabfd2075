"""Every Dutch title, objective, responsibility, timeline, status, explanation, footnote and quote matches the
report."""

from __future__ import annotations

import pytest
import rdflib

from transcription import NAP, REPORT, SOURCE, problems, quotes


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


AP = "https://w3id.org/nap-bhr/id/action-point/nap-2022-02"


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda t: t.replace("najaar", "voorjaar"), "a changed word"),
        (lambda t: t.replace("Raad van State", "Raad van Staten"), "a typo"),
        (lambda t: t.replace("Tweede Kamer.", "Tweede Kamer. Extra zin."), "an added sentence"),
        (lambda t: t.replace("specifiek vergemakkelijkt", "specifiekvergemakkelijkt"), "a lost space"),
        (lambda t: t[: len(t) // 2], "a truncated explanation"),
    ],
)
def test_a_changed_text_is_caught(graph, source, change, reason):
    found = problems(_with_explanation(graph, AP, change), source)
    assert any(line.startswith(AP) for line in found), reason


def test_line_break_hyphenation_is_not_a_difference(graph, source):
    """The report prints "departe-\\nment"; the graph holds "departement" and passes."""
    entry = rdflib.URIRef("https://w3id.org/nap-bhr/id/status-assessment/2024-01")
    assert "departement" in str(graph.value(entry, NAP.responsibilityText))
    assert "departe-\nment" in source


# --- Quotes: the passage of a stated link, the justification of an editorial one -----------------------

BASIS = rdflib.Namespace("https://w3id.org/nap-bhr/id/basis/")


def test_every_quote_of_the_report_was_compared(graph):
    """Every Dutch quote of a link that quotes a 2024 entry is compared: stated links and editorial ones."""
    compared = dict(quotes(graph))
    expected = {
        str(link)
        for link, quote in graph.subject_objects(NAP.quote)
        if quote.language == "nl" and (graph.value(link, NAP.quotedFrom), NAP.inReport, REPORT) in graph
    }
    assert set(compared) == expected
    bases = {graph.value(rdflib.URIRef(link), NAP.basis) for link in compared}
    assert BASIS.stated in bases, "no stated link's quote was compared"


def test_every_editorial_justification_was_compared(graph):
    editorial = {
        str(link)
        for link in graph.subjects(NAP.basis, BASIS.editorial)
        if (graph.value(link, NAP.quotedFrom), NAP.inReport, REPORT) in graph
    }
    assert editorial, "no editorial link quotes the 2024 report"
    assert editorial <= {link for link, _ in quotes(graph)}


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda t: t + " en meer", "added words"),
        (lambda t: t[:-1] + ("x" if t[-1] != "x" else "y"), "a typo"),
    ],
)
def test_a_changed_quote_is_caught(graph, source, change, reason):
    link, text = sorted(quotes(graph))[0]
    link = rdflib.URIRef(link)
    quote = next(q for q in graph.objects(link, NAP.quote) if str(q) == text and q.language == "nl")
    changed = rdflib.Graph()
    changed += graph
    changed.remove((link, NAP.quote, quote))
    changed.add((link, NAP.quote, rdflib.Literal(change(str(quote)), lang="nl")))
    assert any(line.startswith(str(link)) for line in problems(changed, source)), reason
