"""Full-text search over the labels and texts of the served data: an index of folded texts, built once.

Matching ignores case and accents ("geinformeerd" finds "geïnformeerd") and typographic quotes and
dashes. The user's text is only ever compared with strings in Python; it never reaches a SPARQL query.

The index holds each searched text only folded, with the IRI and property it belongs to; a result's snippet
is cut from the original text, read from the store for the (at most MAX_RESULTS) results shown.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import pyoxigraph as ox

from ..graph.namespaces import DCT, NAP, RDF, RDFS, SKOS
from .pages import Site, is_name

#: Searched properties and the weight of a hit in each: names count more than long texts.
WEIGHTS = {
    SKOS + "altLabel": 12,
    SKOS + "prefLabel": 10,
    RDFS + "label": 10,
    DCT + "title": 10,
    SKOS + "notation": 6,
    DCT + "identifier": 6,
    NAP + "objective": 5,
    SKOS + "definition": 4,
    DCT + "description": 4,
    NAP + "responsibilityText": 4,
    NAP + "timelineText": 3,
    NAP + "scope": 3,
    NAP + "explanation": 3,
    RDFS + "comment": 3,
    RDF + "value": 3,
    NAP + "quote": 3,
}
MAX_QUERY = 200
MAX_RESULTS = 100
CONTEXT = 90  # characters of snippet either side of the hit

_FOLD = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "\u00a0": " ",
        "ß": "ss",
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
    }
)


@functools.cache
def fold_char(char: str) -> str:
    # Texts use a few hundred distinct characters: folding each once keeps start-up fast on large graphs.
    decomposed = unicodedata.normalize("NFKD", char.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class _Folding(dict):
    """A str.translate table that folds each character the first time it is met."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = fold_char(chr(code))
        return folded


_FOLDING = _Folding()


def normalise(text: str) -> str:
    # The same as joining fold_char of each character, at the speed of str.translate.
    return text.translate(_FOLDING)


class _Irregular(dict):
    """A str.translate table that keeps only the characters that do not fold to exactly one character."""

    def __missing__(self, code: int) -> str | None:
        kept = self[code] = None if len(fold_char(chr(code))) == 1 else chr(code)
        return kept


_IRREGULAR = _Irregular()


def positions_of(text: str) -> Sequence[int]:
    """For each character of normalise(text), the position of the character of text it comes from."""
    if not text.translate(_IRREGULAR):
        return range(len(text))  # each character folds to one: the positions are the same
    return normalise_with_map(text)[1]


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
        self.store = site.store
        # (folded text, IRI, property, language) of every searched text of our things, in the order of the
        # store, each once; equal strings shared, and a text met again not folded again.
        shared: dict = {}
        folds: dict[str, str] = {}
        entries: dict[tuple, None] = {}
        for quad in self.store.quads_for_pattern(None, None, None, None):
            value = quad.object
            if type(value) is not ox.Literal:
                continue
            prop = quad.predicate.value
            if prop not in WEIGHTS:
                continue
            node = quad.subject
            if type(node) is not ox.NamedNode or not site.local(node):
                continue
            text, iri, lang = value.value, node.value, value.language or None
            folded = folds.get(text)
            if folded is None:
                folded = normalise(text)
                folded = folds[text] = shared.setdefault(folded, folded)
            entries.setdefault(
                (
                    folded,
                    shared.setdefault(iri, iri),
                    shared.setdefault(prop, prop),
                    lang and shared.setdefault(lang, lang),
                ),
                None,
            )
        self.entries: list[tuple[str, str, str, str | None]] = list(entries)

    def search(self, query: str, lang: str = "nl") -> list[Hit]:
        terms = terms_of(query)
        if not terms:
            return []
        phrase = " ".join(terms)
        first, rest = terms[0], terms[1:]
        best: dict = {}
        for entry in self.entries:
            folded = entry[0]
            if first not in folded or not all(t in folded for t in rest):
                continue
            if lang == "en" and entry[3] == "nl" and not is_name(entry[1], entry[2]):
                continue  # an English page shows no Dutch wording, only names
            score: float = WEIGHTS[entry[2]]
            if folded.strip() == phrase:
                score += 30
            elif re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", folded):
                score += 8
            elif phrase in folded:
                score += 4
            if entry[3] in (lang, None):
                score += 0.5
            current = best.get(entry[1])
            # The first of equal scores stays: where its text comes first in the store.
            if current is None or score > current[0]:
                best[entry[1]] = (score, entry)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:MAX_RESULTS]
        return [self.hit(entry, score, terms, phrase) for _, (score, entry) in ranked]

    def original(self, entry: tuple) -> str:
        """The text an entry was folded from: the first of its property's values that folds the same."""
        folded, iri, prop, lang = entry
        for quad in self.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(prop), None, None):
            value = quad.object
            if isinstance(value, ox.Literal) and (value.language or None) == lang and normalise(value.value) == folded:
                return value.value
        return folded  # not reached: the index is made from the store, which does not change

    def hit(self, entry: tuple, score: float, terms: list[str], phrase: str) -> Hit:
        folded, iri, prop, lang = entry
        start = folded.find(phrase)
        if start < 0:
            start = folded.find(terms[0])
            length = len(terms[0])
        else:
            length = len(phrase)
        return self.snippet(ox.NamedNode(iri), prop, lang, self.original(entry), start, length, score)

    @staticmethod
    def snippet(
        node: ox.NamedNode, prop: str, lang: str | None, text: str, start: int, length: int, score: float
    ) -> Hit:
        positions = positions_of(text)
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
        return Hit(node, prop, text, lang, score, before.replace("\n", " "), text[begin:end], after.replace("\n", " "))
