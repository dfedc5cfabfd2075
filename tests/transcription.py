"""Compare the Dutch texts in data/ with the source report, word for word.

The source is the plain text of a PDF: words are broken across lines with and without a hyphen, and
compound hyphens were lost. Two comparisons together catch what a transcription can get wrong:

* the stream check: with whitespace, hyphens and footnote brackets removed, every row of the 2024 report
  (its entry's title, objective, responsibility, timeline, status and explanation) must occur in the source
  exactly, and so must every footnote and every quote of a framework link or instrument relation that
  quotes that report (the passage a stated link rests on, or the justification of an editorial one);
* the word check: every word of the data (hyphens removed) must be a word of the source, or two source
  words joined across a line break, or a PDF spacing artefact listed in pdf-artefacts.txt.

Run it directly to see the differences: ``python tests/transcription.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import rdflib
from rdflib.namespace import DCTERMS, RDF, SKOS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The report's text, kept in the repository (sources/README.md says where it comes from).
SOURCE = ROOT / "sources" / "nap-bhr-voortgangsrapportage-2024.txt"
ARTEFACTS = HERE / "pdf-artefacts.txt"
NAP = rdflib.Namespace("https://w3id.org/nap-bhr/def#")
#: The report whose text SOURCE is.
REPORT = rdflib.URIRef("https://w3id.org/nap-bhr/id/report/2024")

_DROP = re.compile(r"[\s\-\u00ad\u2010\u2011\[\]]")
_PUNCT = "()[],.;:‘’'\"“”!?/"


def squeeze(text: str) -> str:
    """The character stream that both sides must share: no whitespace, hyphens or [n] brackets."""
    return _DROP.sub("", text)


def word(token: str) -> str:
    """A token without punctuation or hyphens: "(sub)instrumenten." and "Rechtsorde[1]." compare as words."""
    return "".join(c for c in token if c not in _PUNCT and c not in "-\u00ad")


def artefacts() -> dict[str, str]:
    """Joined word -> the split form found in the PDF text."""
    found = {}
    for line in ARTEFACTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            split, joined = (part.strip() for part in line.split("->"))
            found[word(joined)] = split
    return found


def source_words(text: str) -> set[str]:
    words = set()
    lines = [line.split() for line in text.splitlines()]
    for i, tokens in enumerate(lines):
        words.update(word(t) for t in tokens)
        # A word broken at the end of a line continues on the next line.
        if tokens and i + 1 < len(lines) and lines[i + 1]:
            words.add(word(tokens[-1]) + word(lines[i + 1][0]))
    return words


def _dutch(graph: rdflib.Graph, subject, prop) -> str:
    values = [o for o in graph.objects(subject, prop) if getattr(o, "language", None) == "nl"]
    return str(values[0]) if values else ""


def texts(graph: rdflib.Graph):
    """(action point, row texts, [footnotes]) for every action point, from its entry in the 2024 report."""
    for ap in sorted(graph.subjects(RDF.type, NAP.ActionPoint)):
        parts, footnotes = ["", "", "", "", "", ""], []
        for entry in graph.subjects(NAP.assessedActionPoint, ap):
            if (entry, NAP.inReport, REPORT) not in graph:
                continue
            status = graph.value(entry, NAP.status)
            parts = [
                _dutch(graph, entry, DCTERMS.title),
                _dutch(graph, entry, NAP.objective),
                _dutch(graph, entry, NAP.responsibilityText),
                _dutch(graph, entry, NAP.timelineText),
                _dutch(graph, status, SKOS.prefLabel) if status else "",
                _dutch(graph, entry, NAP.explanation),
            ]
            for note in graph.objects(entry, NAP.footnote):
                footnotes.append(f"{graph.value(note, SKOS.notation)} {_dutch(graph, note, RDF.value)}")
        yield str(ap), parts, footnotes


def quotes(graph: rdflib.Graph):
    """(link, quote) for every Dutch quote of a framework link or instrument relation from the 2024 report."""
    for link, quote in sorted(graph.subject_objects(NAP.quote)):
        if getattr(quote, "language", None) == "nl" and any(
            (entry, NAP.inReport, REPORT) in graph for entry in graph.objects(link, NAP.quotedFrom)
        ):
            yield str(link), str(quote)


def problems(graph: rdflib.Graph, source: str) -> list[str]:
    found = []
    flat = squeeze(source)
    allowed = source_words(source) | set(artefacts())

    def words(label: str, text: str) -> None:
        for token in text.split():
            if word(token) and word(token) not in allowed:
                found.append(f"{label}: word {token!r} is not in the source (a missing space, or a typo?)")

    for ap, parts, footnotes in texts(graph):
        row = squeeze("".join(parts))
        if not all(parts):
            found.append(
                f"{ap}: missing text in "
                + ["title", "objective", "responsibility", "timeline", "status", "explanation"][
                    [bool(p) for p in parts].index(False)
                ]
            )
        elif row not in flat:
            # Show where the row stops matching the source, starting from its title.
            start = flat.find(squeeze(parts[0]))
            if start < 0:
                found.append(f"{ap}: title not found in the source: {parts[0][:60]!r}")
            else:
                n = 0
                while n < len(row) and start + n < len(flat) and row[n] == flat[start + n]:
                    n += 1
                found.append(
                    f"{ap}: differs from the source after {row[max(0, n - 40) : n]!r}: data has "
                    f"{row[n : n + 30]!r}, source has {flat[start + n : start + n + 30]!r}"
                )
        for note in footnotes:
            if squeeze(note) not in flat:
                found.append(f"{ap}: footnote not in the source: {note[:60]!r}")
        for text in parts + footnotes:
            words(ap, text)
    for link, quote in quotes(graph):
        if squeeze(quote) not in flat:
            found.append(f"{link}: quote not in the source: {quote[:60]!r}")
        words(link, quote)
    return found


def load_data() -> rdflib.Graph:
    graph = rdflib.Graph()
    for path in sorted((ROOT / "data").rglob("*.ttl")) + sorted((ROOT / "ontology").rglob("*.ttl")):
        graph.parse(path)
    return graph


if __name__ == "__main__":
    issues = problems(load_data(), SOURCE.read_text(encoding="utf-8"))
    print("\n".join(issues) or "all texts match the source")
    sys.exit(1 if issues else 0)
