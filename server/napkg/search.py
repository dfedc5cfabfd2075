"""Full-text search over the labels and texts of the served data: an in-memory index, built once.

Matching ignores case and accents ("geinformeerd" finds "geïnformeerd") and typographic quotes and
dashes. The user's text is only ever compared with strings in Python; it never reaches a SPARQL query.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import pyoxigraph as ox

from .pages import DCT, NAP, RDF, RDFS, SKOS, Site

#: Searched properties and the weight of a hit in each: names count more than long texts.
WEIGHTS = {
    SKOS + "altLabel": 12, SKOS + "prefLabel": 10, RDFS + "label": 10, DCT + "title": 10,
    SKOS + "notation": 6, DCT + "identifier": 6,
    NAP + "objective": 5, SKOS + "definition": 4, DCT + "description": 4, NAP + "responsibilityText": 4,
    NAP + "timelineText": 3, NAP + "scope": 3, NAP + "explanation": 3, RDFS + "comment": 3, RDF + "value": 3,
}
MAX_QUERY = 200
MAX_RESULTS = 100
CONTEXT = 90  # characters of snippet either side of the hit

_FOLD = str.maketrans({"’": "'", "‘": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-",
                       "‐": "-", "‑": "-", "\u00a0": " ", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l"})


@functools.lru_cache(maxsize=None)
def fold_char(char: str) -> str:
    # Texts use a few hundred distinct characters: folding each once keeps start-up fast on large graphs.
    decomposed = unicodedata.normalize("NFKD", char.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalise(text: str) -> str:
    return "".join(fold_char(c) for c in text)


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the position of the original character."""
    out, positions = [], []
    for index, char in enumerate(text):
        folded = fold_char(char)
        out.append(folded)
        positions.extend([index] * len(folded))
    return "".join(out), positions


def terms_of(query: str) -> list[str]:
    return [t for t in re.split(r"\s+", normalise(query[:MAX_QUERY]).strip()) if t]


@dataclass
class Entry:
    node: ox.NamedNode
    prop: str
    text: str
    lang: str | None
    folded: str
    positions: list[int]


@dataclass
class Hit:
    node: ox.NamedNode
    prop: str
    text: str
    lang: str | None
    score: float
    before: str
    match: str
    after: str


class SearchIndex:
    def __init__(self, site: Site):
        self.entries: list[Entry] = []
        for node, pairs in site.out.items():
            if not isinstance(node, ox.NamedNode) or not site.local(node):
                continue
            for prop, value in pairs:
                if prop in WEIGHTS and isinstance(value, ox.Literal):
                    folded, positions = normalise_with_map(value.value)
                    self.entries.append(Entry(node, prop, value.value, value.language or None, folded, positions))

    def search(self, query: str, lang: str = "nl") -> list[Hit]:
        terms = terms_of(query)
        if not terms:
            return []
        phrase = " ".join(terms)
        best: dict = {}
        for entry in self.entries:
            if not all(t in entry.folded for t in terms):
                continue
            score = WEIGHTS[entry.prop]
            if entry.folded.strip() == phrase:
                score += 30
            elif re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", entry.folded):
                score += 8
            elif phrase in entry.folded:
                score += 4
            if entry.lang in (lang, None):
                score += 0.5
            start = entry.folded.find(phrase)
            if start < 0:
                start = entry.folded.find(terms[0])
                length = len(terms[0])
            else:
                length = len(phrase)
            hit = self.snippet(entry, start, length, score)
            current = best.get(entry.node)
            if current is None or hit.score > current.score:
                best[entry.node] = hit
        return sorted(best.values(), key=lambda h: (-h.score, h.node.value))[:MAX_RESULTS]

    @staticmethod
    def snippet(entry: Entry, start: int, length: int, score: float) -> Hit:
        text, positions = entry.text, entry.positions
        begin = positions[start]
        end = positions[min(start + length, len(positions)) - 1] + 1
        left = max(0, begin - CONTEXT)
        right = min(len(text), end + CONTEXT)
        # Cut at word boundaries.
        if left > 0:
            space = text.find(" ", left)
            left = space + 1 if 0 <= space < begin else left
        if right < len(text):
            space = text.rfind(" ", end, right)
            right = space if space > end else right
        before = ("… " if left > 0 else "") + text[left:begin]
        after = text[end:right] + (" …" if right < len(text) else "")
        return Hit(entry.node, entry.prop, text, entry.lang, score, before.replace("\n", " "), text[begin:end],
                   after.replace("\n", " "))
