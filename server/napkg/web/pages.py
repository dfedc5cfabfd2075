"""What the pages for people show: a view of the trusted store, with labels, the RDF that describes one
resource, and the data behind each kind of page.

Everything here reads the server's own store (never a user's query), which cannot change while it is
served. Pages ask it for one resource's triples when they need them (an indexed lookup in Oxigraph), so
the web process holds no copy of the graph: only the list of our things, made in one pass at startup, and
small caches of what recent pages looked up.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from ..endpoint.rdfmedia import MEDIA_BY_SUFFIX, RDF_MEDIA
from ..graph.namespaces import (
    BASE,
    DCT,
    ELI,
    FOAF,
    GRAPH,
    ID,
    NAP,
    ORG,
    OWL,
    PREFIXES,
    PROV,
    RDF,
    RDFS,
    SKOS,
    THING_TYPES,
    VANN,
    XSD,
)
from ..sparql.results import Term, compact_json_ld

TYPE = RDF + "type"
#: A subject in the store, as pyoxigraph types it (a Term is any term: sparql.results).
Subject = ox.NamedNode | ox.BlankNode | ox.Triple
LABEL_PROPERTIES = (SKOS + "prefLabel", RDFS + "label", DCT + "title", FOAF + "name")
LANGS = ("nl", "en")

#: The project's unofficial English (data/translations/): text from it is marked as such on a page.
TRANSLATIONS = GRAPH + "translations"
#: Kinds of things whose Dutch names an English page may show (a ministry, a law, a report has no official
#: English name); any other Dutch text is left out of an English page.
NAME_KINDS = {"organisation", "legal-instrument", "document", "programme", "action-plan", "report", "event"}
NAME_PROPERTIES = {*LABEL_PROPERTIES, SKOS + "altLabel"}
#: The frameworks an action point's links are grouped by, in this order: the kind of element -> framework.
FRAMEWORKS = {
    "ungp-pillar": "ungp",
    "ungp-section": "ungp",
    "ungp-principle": "ungp",
    "oecd-chapter": "oecd",
    "due-diligence-step": "steps",
}

#: The suffixes of a page's forms (/doc/theme/01.ttl, /graph/organisations.html) -> media type.
SUFFIXES = MEDIA_BY_SUFFIX | {"html": "text/html"}

# Resources minted for another one: their triples go with its description (an action point's report
# entries with their responsibilities and footnotes, its framework links and instrument relations).
OWNED_OUT = {NAP + "responsibility", NAP + "footnote"}
OWNED_IN = {NAP + "assessedActionPoint", NAP + "actionPoint"}

#: The words of the interface, Dutch and English.
WORDS = {
    "home": ("Actiepunten", "Action points"),
    "action_point": ("Actiepunt", "Action point"),
    "action_points": ("Actiepunten", "Action points"),
    "objective": ("Doelstelling", "Objective"),
    "responsibility": ("Verantwoordelijkheid", "Responsibility"),
    "responsible": ("Verantwoordelijk", "Responsible"),
    "organisation": ("Organisatie", "Organisation"),
    "role": ("Rol", "Role"),
    "scope": ("Voor", "Scope"),
    "timeline": ("Tijdslijn", "Timeline"),
    "years": ("Jaren", "Years"),
    "as_in_report": ("Zoals in de rapportage", "As in the report"),
    "mentions": ("Genoemd in dit actiepunt", "Mentioned in this action point"),
    "status": ("Stand van zaken", "Status"),
    "status_in_reports": ("Stand van zaken per voortgangsrapportage", "Status in each progress report"),
    "report": ("Rapportage", "Report"),
    "explanation": ("Toelichting", "Explanation"),
    "footnotes": ("Voetnoten", "Footnotes"),
    "footnote": ("Voetnoot", "Footnote"),
    "pillar": ("Pijler", "Pillar"),
    "theme": ("Thema", "Theme"),
    "type": ("Soort", "Type"),
    "identity": ("Identificatie en kenmerken", "Identity and facts"),
    "texts": ("Teksten", "Texts"),
    "relations": ("Relaties", "Relations"),
    "links_out": ("Elders op het web", "Elsewhere on the web"),
    "referenced_by": ("Verwijzingen naar deze pagina", "What refers to this"),
    "referenced_by_intro": (
        "Andere gegevens die naar dit onderwerp verwijzen, per eigenschap.",
        "Other resources that point here, by property.",
    ),
    "all_data": ("Overige gegevens", "Other data"),
    "this_data": ("Deze gegevens als", "This data as"),
    "query_this": ("Bevraag dit in de zoekvraageditor", "Query this in the editor"),
    "iri": ("Identificatie (IRI)", "Identifier (IRI)"),
    "graph": ("Graaf", "Graph"),
    "in_graph": ("Bron in de dataset", "Source in the dataset"),
    "responsible_for": ("Verantwoordelijk voor", "Responsible for"),
    "mentioned_in": ("Genoemd in actiepunten", "Mentioned in action points"),
    "action_points_with": ("Actiepunten", "Action points"),
    "concepts": ("Begrippen in dit schema", "Concepts in this scheme"),
    "registries": ("Registers", "Registries"),
    "search": ("Zoeken", "Search"),
    "no_results": ("Niets gevonden.", "Nothing found."),
    "not_found": ("Pagina niet gevonden", "Page not found"),
    "open_pdf": ("Bekijk de publicatie", "View the publication"),
    "see_also": ("Zie ook", "See also"),
    "no_status": ("geen", "none"),
    "all_in_report": ("Alle actiepunten in deze rapportage", "All action points in this report"),
    "statements": ("tripels", "triples"),
    "count": ("Aantal", "Count"),
    "class": ("Klasse", "Class"),
    "themes": ("Thema's", "Themes"),
    "part_of": ("Onderdeel van", "Part of"),
    "graphs": ("Grafen in de dataset", "Graphs in the dataset"),
    "period": ("Looptijd", "Period"),
    "latest": ("volgens de rapportage", "according to the report"),
    "read_explanation": ("Lees de toelichting", "Read the explanation"),
    "details": ("Details", "Details"),
    "notation": ("Nr.", "No."),
    "concept": ("Begrip", "Concept"),
    "definition": ("Omschrijving", "Definition"),
    "number_of_aps": ("Actiepunten", "Action points"),
    "principles": ("Principes en andere begrippen in deze pijler", "Principles and other concepts in this pillar"),
    "search_results": ("Zoekresultaten", "Search results"),
    "results_for": ("resultaten voor", "results for"),
    "search_hint": (
        "Zoek in namen, titels, doelstellingen en toelichtingen. Hoofdletters en accenten maken niet uit.",
        "Search names, titles, objectives and explanations. Case and accents do not matter.",
    ),
    "in_field": ("in", "in"),
    "of_ap": ("bij", "of"),
    "suggestions": ("Bedoelde u", "Did you mean"),
    "not_found_text": (
        "Op dit adres staat niets. Misschien bestaat het niet (meer), of is het adres verkeerd overgenomen.",
        "There is nothing at this address. It may not exist, or the address may have been copied wrongly.",
    ),
    "see_registry": ("Bekijk het register", "See the registry"),
    "index_title": (
        "Actiepunten van het NAP Bedrijfsleven en Mensenrechten",
        "Action points of the NAP on Business and Human Rights",
    ),
    "index_lead": (
        "De 33 actiepunten van het Nationaal Actieplan Bedrijfsleven en Mensenrechten 2022-2026, per pijler en thema, "
        "met hun stand van zaken volgens de voortgangsrapportage.",
        "The 33 action points of the National Action Plan on Business and Human Rights 2022-2026, by pillar and "
        "theme, with their status according to the progress report.",
    ),
    "triples": ("Tripels", "Triples"),
    "subjects": ("Onderwerpen", "Subjects"),
    "properties": ("Eigenschappen", "Properties"),
    "named_graph": ("Benoemde graaf", "Named graph"),
    "classes_in_graph": ("Klassen in deze graaf", "Classes in this graph"),
    "download": ("Downloads en beschrijving van de dataset", "Downloads and dataset description"),
    "no_aps": ("Geen actiepunten.", "No action points."),
    "with_this_status": ("Actiepunten met deze stand van zaken", "Action points with this status"),
    "with_this_role": (
        "Actiepunten waarin een organisatie deze rol heeft",
        "Action points in which an organisation has this role",
    ),
    "in_this_theme": ("Actiepunten in dit thema", "Action points in this theme"),
    "themes_in_pillar": ("Thema's en actiepunten in deze pijler", "Themes and action points in this pillar"),
    "in_this_plan": ("Actiepunten in dit plan", "Action points in this plan"),
    "assessed": ("Actiepunt", "Action point"),
    "in_report": ("Volgens de", "According to the"),
    "action": ("Actie", "Action"),
    "mentions_by_column": ("Genoemd, per kolom van de rapportage", "Mentioned, by column of the report"),
    "plan": ("Actieplan", "Action plan"),
    "frameworks": ("Kaders", "Frameworks"),
    "frameworks_intro": (
        "Gesteld: de rapportage noemt het onderdeel zelf. Redactioneel: onze lezing volgens het codeboek.",
        "Stated: the report names the element itself. Editorial: our reading, by the codebook.",
    ),
    "ungp": ("UN Guiding Principles (UNGP's)", "UN Guiding Principles (UNGPs)"),
    "oecd": ("Hoofdstukken van de OESO-richtlijnen", "OECD Guidelines chapters"),
    "steps": ("Stappen van gepaste zorgvuldigheid", "Due diligence steps"),
    "element": ("Onderdeel", "Element"),
    "basis": ("Grondslag", "Basis"),
    "where": ("Waar", "Where"),
    "confidence": ("zekerheid", "confidence"),
    "codebook": ("codeboek", "codebook"),
    "coded_by": ("gecodeerd door", "coded by"),
    "instrument_relations": ("Relaties met wet- en regelgeving", "Relations to legal instruments"),
    "relation": ("Relatie", "Relation"),
    "linked_aps": ("Actiepunten bij dit onderdeel", "Action points linked to this element"),
    "narrower": ("Onderdelen en principes hierbinnen", "Sections and principles within it"),
    "no_english": (
        "Nog geen Engelse vertaling.",
        "No English translation of this text yet; the Dutch page has the original.",
    ),
    "unofficial_mark": ("onofficiële vertaling", "unofficial translation"),
    "unofficial_note": (
        "Engelse teksten met het label ‘onofficiële vertaling’ zijn de eigen vertaling van dit project, niet door de "
        "overheid gecontroleerd; het Nederlands is gezaghebbend.",
        "Texts labelled ‘unofficial translation’ are this project's own English translation, not reviewed by the "
        "government; the Dutch is authoritative.",
    ),
    "about_translation": ("Over de vertaling", "About the translation"),
}


def word(key: str, lang: str) -> str:
    nl, en = WORDS[key]
    return en if lang == "en" else nl


#: Names of the registries (/doc/{type}), in the order the index lists them.
REGISTRIES = {
    "action-point": ("Actiepunten", "Action points"),
    "theme": ("Thema's", "Themes"),
    "ungp-pillar": ("Pijlers van de UNGP's", "UNGP pillars"),
    "ungp-section": ("Onderdelen van de UNGP's", "UNGP sections"),
    "ungp-principle": ("Principes van de UNGP's", "UNGP principles"),
    "oecd-chapter": ("Hoofdstukken van de OESO-richtlijnen", "Chapters of the OECD Guidelines"),
    "due-diligence-step": ("Stappen van gepaste zorgvuldigheid", "Due diligence steps"),
    "status": ("Waarden van de stand van zaken", "Status values"),
    "role": ("Rollen", "Roles"),
    "organisation": ("Organisaties", "Organisations"),
    "legal-instrument": ("Wet- en regelgeving", "Legal instruments"),
    "document": ("Documenten", "Documents"),
    "programme": ("Programma's en initiatieven", "Programmes and initiatives"),
    "action-plan": ("Actieplannen", "Action plans"),
    "report": ("Voortgangsrapportages", "Progress reports"),
    "status-assessment": ("Rijen van voortgangsrapportages", "Progress report entries"),
    "responsibility": ("Verantwoordelijkheden", "Responsibilities"),
    "footnote": ("Voetnoten", "Footnotes"),
    "event": ("Gebeurtenissen", "Events"),
    "link": ("Koppelingen met registers", "Links to registers"),
    "framework-link": ("Koppelingen met kaders", "Framework links"),
    "instrument-relation": ("Relaties met juridische instrumenten", "Instrument relations"),
    "basis": ("Grondslagen van koppelingen", "Link bases"),
    "confidence": ("Zekerheid van een codering", "Coding confidence"),
    "instrument-relation-type": (
        "Soorten relaties met juridische instrumenten",
        "Kinds of relation to legal instruments",
    ),
    "report-column": ("Kolommen van een voortgangsrapportage", "Columns of a progress report"),
    "agent": ("Actoren", "Agents"),
    "dataset": ("Datasets", "Datasets"),
    "distribution": ("Distributies", "Distributions"),
}
for _segment in THING_TYPES.values():
    REGISTRIES.setdefault(_segment, (_segment, _segment))

#: Labels of the standard properties (ours come from the ontology).
PROPERTY_LABELS = {
    TYPE: ("soort", "type"),
    RDFS + "label": ("naam", "label"),
    RDFS + "comment": ("toelichting", "comment"),
    RDFS + "seeAlso": ("zie ook", "see also"),
    RDF + "value": ("tekst", "text"),
    RDF + "subject": ("onderwerp", "subject"),
    RDF + "predicate": ("eigenschap", "predicate"),
    RDF + "object": ("waarde", "object"),
    SKOS + "prefLabel": ("naam", "preferred label"),
    SKOS + "altLabel": ("ook bekend als", "also known as"),
    SKOS + "notation": ("nummer", "notation"),
    SKOS + "definition": ("definitie", "definition"),
    SKOS + "inScheme": ("in schema", "in scheme"),
    SKOS + "topConceptOf": ("topbegrip van", "top concept of"),
    SKOS + "hasTopConcept": ("topbegrippen", "top concepts"),
    SKOS + "broader": ("valt onder", "broader"),
    DCT + "title": ("titel", "title"),
    DCT + "identifier": ("identificatie", "identifier"),
    DCT + "description": ("beschrijving", "description"),
    DCT + "isPartOf": ("onderdeel van", "part of"),
    DCT + "creator": ("opgesteld door", "creator"),
    DCT + "contributor": ("in samenwerking met", "contributor"),
    DCT + "audience": ("gericht aan", "audience"),
    DCT + "language": ("taal", "language"),
    DCT + "date": ("datum", "date"),
    DCT + "issued": ("uitgegeven", "issued"),
    DCT + "created": ("gemaakt", "created"),
    DCT + "modified": ("gewijzigd", "modified"),
    DCT + "temporal": ("periode", "period"),
    DCT + "replaces": ("vervangt", "replaces"),
    DCT + "isReplacedBy": ("vervangen door", "replaced by"),
    DCT + "references": ("verwijst naar", "references"),
    DCT + "source": ("bron", "source"),
    DCT + "bibliographicCitation": ("bronvermelding", "citation"),
    DCT + "license": ("licentie", "licence"),
    OWL + "sameAs": ("zelfde als", "same as"),
    OWL + "versionIRI": ("versie-IRI", "version IRI"),
    OWL + "versionInfo": ("versie", "version"),
    OWL + "deprecated": ("vervallen", "deprecated"),
    PROV + "wasAttributedTo": ("toegeschreven aan", "attributed to"),
    FOAF + "page": ("webpagina", "web page"),
    PROV + "wasDerivedFrom": ("ontleend aan", "derived from"),
    PROV + "agent": ("organisatie", "agent"),
    PROV + "hadRole": ("rol", "role"),
    PROV + "wasAssociatedWith": ("betrokken organisatie", "associated with"),
    ORG + "hasMember": ("leden", "members"),
    ORG + "unitOf": ("onderdeel van", "unit of"),
    ORG + "changedBy": ("gewijzigd door", "changed by"),
    ORG + "resultedFrom": ("voortgekomen uit", "resulted from"),
    ORG + "originalOrganization": ("oorspronkelijke organisatie", "original organisation"),
    ORG + "resultingOrganization": ("nieuwe organisatie", "resulting organisation"),
    ELI + "amends": ("wijzigt", "amends"),
    ELI + "is_part_of": ("onderdeel van", "is part of"),
    ELI + "transposes": ("zet om", "transposes"),
    ELI + "date_document": ("datum", "date of document"),
    ELI + "id_local": ("lokale identificatie", "local identifier"),
    VANN + "preferredNamespacePrefix": ("voorkeursprefix", "preferred prefix"),
    VANN + "preferredNamespaceUri": ("namespace", "namespace"),
}

#: Labels of properties read backwards, for "what refers to this".
INVERSE_LABELS = {
    TYPE: ("klasse van", "class of"),
    DCT + "creator": ("maker van", "creator of"),
    DCT + "contributor": ("werkte mee aan", "contributor to"),
    DCT + "audience": ("ontvanger van", "audience of"),
    DCT + "isPartOf": ("bevat", "has part"),
    DCT + "replaces": ("vervangen door", "replaced by"),
    DCT + "isReplacedBy": ("vervangt", "replaces"),
    DCT + "references": ("genoemd in", "referenced by"),
    ORG + "hasMember": ("lid van", "member of"),
    ORG + "unitOf": ("heeft als onderdeel", "has unit"),
    ORG + "changedBy": ("wijzigde", "changed"),
    ORG + "resultedFrom": ("leidde tot", "resulted in"),
    ORG + "originalOrganization": ("oorspronkelijke organisatie bij", "original organisation in"),
    ORG + "resultingOrganization": ("nieuwe organisatie bij", "resulting organisation in"),
    PROV + "agent": ("organisatie bij", "agent in"),
    PROV + "hadRole": ("rol bij", "role in"),
    PROV + "wasAssociatedWith": ("betrokken bij", "associated with"),
    PROV + "wasDerivedFrom": ("bron van", "source of"),
    ELI + "is_part_of": ("bevat", "has part"),
    ELI + "amends": ("gewijzigd door", "amended by"),
    ELI + "transposes": ("omgezet door", "transposed by"),
    SKOS + "inScheme": ("bevat", "contains"),
    SKOS + "topConceptOf": ("heeft als topbegrip", "has top concept"),
    SKOS + "hasTopConcept": ("topbegrip in", "top concept in"),
    SKOS + "broader": ("omvat", "narrower"),
    PROV + "wasAttributedTo": ("codeur van", "attributed"),
    RDFS + "seeAlso": ("genoemd bij", "see also from"),
    OWL + "sameAs": ("zelfde als", "same as"),
    FOAF + "page": ("webpagina van", "page of"),
    NAP + "mentions": ("genoemd in", "mentioned in"),
    NAP + "theme": ("thema van", "theme of"),
    NAP + "pillar": ("pijler van", "pillar of"),
    NAP + "responsibility": ("verantwoordelijkheid bij", "responsibility in"),
    NAP + "assessedActionPoint": ("in de rapportage", "in the report"),
    NAP + "actionPoint": ("koppeling", "linked by"),
    NAP + "frameworkElement": ("gekoppeld door", "linked by"),
    NAP + "instrument": ("relatie", "related by"),
    NAP + "quotedFrom": ("geciteerd in", "quoted in"),
    NAP + "basis": ("grondslag van", "basis of"),
    NAP + "column": ("kolom van", "column of"),
    NAP + "confidence": ("zekerheid van", "confidence of"),
    NAP + "relationType": ("soort van", "type of"),
    NAP + "inReport": ("bevat", "contains"),
    NAP + "status": ("stand van zaken van", "status of"),
    NAP + "footnote": ("voetnoot bij", "footnote of"),
    NAP + "reportsOn": ("onderwerp van", "reported on in"),
    NAP + "consultation": ("consultatie voor", "consultation for"),
    NAP + "publishedIn": ("bevat de publicatie van", "publishes"),
    NAP + "dueDiligenceStep": ("stap in", "step in"),
    NAP + "instrumentType": ("soort van", "type of"),
    RDF + "subject": ("vastgelegd in", "recorded in"),
    RDF + "object": ("doel van koppeling", "target of link"),
}

IDENTITY = [
    TYPE,
    SKOS + "notation",
    DCT + "identifier",
    ELI + "id_local",
    NAP + "juriconnect",
    RDFS + "label",
    SKOS + "prefLabel",
    DCT + "title",
    SKOS + "altLabel",
]
TEXTS = [
    NAP + "objective",
    NAP + "explanation",
    DCT + "description",
    SKOS + "definition",
    RDFS + "comment",
    RDF + "value",
    NAP + "responsibilityText",
    NAP + "timelineText",
    NAP + "scope",
    NAP + "quote",
]
RELATION_ORDER = [
    NAP + "actionPoint",
    NAP + "frameworkElement",
    NAP + "instrument",
    NAP + "relationType",
    NAP + "basis",
    NAP + "quotedFrom",
    NAP + "column",
    NAP + "confidence",
    NAP + "pillar",
    NAP + "theme",
    NAP + "assessedActionPoint",
    NAP + "inReport",
    NAP + "status",
    NAP + "responsibility",
    PROV + "agent",
    PROV + "hadRole",
    NAP + "mentions",
    NAP + "dueDiligenceStep",
    NAP + "footnote",
    DCT + "isPartOf",
]
# Texts shown in the page's language only (Site.shown_all: an English page never falls back to Dutch).
SINGLE_LANGUAGE = set(TEXTS)

MONTHS = {
    "nl": "januari februari maart april mei juni juli augustus september oktober november december".split(),
    "en": "January February March April May June July August September October November December".split(),
}

MARKER = re.compile(r"\[(\d+)\]")


def lang_query(lang: str) -> str:
    return "?lang=en" if lang == "en" else ""


def local_path(iri: str) -> str | None:
    """The path on this server of one of our IRIs (the canonical base maps onto the server's root)."""
    if not iri.startswith(BASE):
        return None
    rest = iri[len(BASE) :]
    if rest.startswith("id/"):
        return "/doc/" + rest[3:]
    if rest == "def" or rest.startswith("def/"):
        return "/def"
    if rest.startswith("def#"):
        return "/def#" + rest[4:]
    return "/" + rest  # graphs, the endpoint, downloads, the site itself: the same path here


def with_lang(path: str, lang: str) -> str:
    """A local path in the page's language: /doc/x?lang=en, /def?lang=en#Term."""
    if lang != "en":
        return path
    base, hash_, fragment = path.partition("#")
    if "." in base.rsplit("/", 1)[-1]:
        return path  # a file (a download, a stylesheet): no language
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}lang=en{hash_}{fragment}"


def split_thing(iri: str) -> tuple[str, str] | None:
    """(type, ref) of an IRI .../id/{type}/{ref}."""
    if not iri.startswith(ID):
        return None
    kind, _, ref = iri[len(ID) :].partition("/")
    ref = ref.partition("#")[0]  # a hash IRI belongs to the page of the IRI before the #
    if not kind or not ref or "/" in ref:
        return None
    return kind, ref


def compact(iri: str) -> str:
    best = None
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and (best is None or len(namespace) > len(PREFIXES[best])):
            best = prefix
    return f"{best}:{iri[len(PREFIXES[best]) :]}" if best else iri


#: Where an outbound link goes, for people: register names by IRI prefix.
REGISTERS = [
    ("https://identifier.overheid.nl/tooi/", "TOOI"),
    ("http://data.europa.eu/eli/", "ELI"),
    ("https://wetten.overheid.nl/", "wetten.overheid.nl"),
    ("https://zoek.officielebekendmakingen.nl/", "officielebekendmakingen.nl"),
    ("https://open.overheid.nl/", "open.overheid.nl"),
]


def is_name(iri: str, prop: str) -> bool:
    """Whether a Dutch literal is a name an English page may show as it is (an organisation's, a law's): any
    other Dutch text is the report's wording, which an English page leaves out."""
    parts = split_thing(iri)
    return parts is not None and parts[0] in NAME_KINDS and prop in NAME_PROPERTIES


def number_key(number: str) -> int:
    """A notation ("07") as a number to sort by; anything else last."""
    return int(number) if number.isdigit() else 10**6


def format_years(start: str | None, end: str | None, lang: str) -> str:
    en = lang == "en"
    if start and end:
        return start if start == end else f"{start}–{end}"
    if start:
        return f"from {start}" if en else f"vanaf {start}"
    if end:
        return f"by {end}" if en else f"uiterlijk {end}"
    return ""


def register_of(iri: str) -> str | None:
    return next((name for prefix, name in REGISTERS if iri.startswith(prefix)), None)


def format_literal(literal: ox.Literal, lang: str) -> str:
    datatype = literal.datatype.value if literal.datatype else ""
    if datatype == XSD + "date":
        try:
            day = _dt.date.fromisoformat(literal.value)
        except ValueError:
            return literal.value
        return f"{day.day} {MONTHS[lang][day.month - 1]} {day.year}"
    return literal.value


# --- What pages show ---------------------------------------------------------------------------------


@dataclass
class Value:
    """One value on a page: a link (local or external) or a literal text."""

    text: str
    href: str | None = None
    external: bool = False
    lang: str | None = None  # the language of text, when known
    iri: str | None = None
    note: str | None = None  # a small addition: a language tag, the organisation's abbreviation
    css: str | None = None
    unofficial: bool = False  # the project's translation (data/translations/), marked on the page
    missing: bool = False  # no text in the page's language: text says so


@dataclass
class Row:
    prop: Value
    values: list[Value]
    long: bool = False  # texts: shown as paragraphs


@dataclass
class Group:
    key: str
    title: str
    rows: list[Row]


@dataclass
class Paragraph:
    parts: list  # str or (number, anchor) for a footnote marker


@dataclass
class Footnote:
    number: str
    anchor: str
    text: Value | None
    links: list[Value]
    page: str


@dataclass
class Responsibility:
    organisation: Value | None
    short: str
    role: Value | None
    scope: Value | None
    page: Value


@dataclass
class Entry:
    """What one progress report says about one action point, column by column."""

    report: Value
    year: str
    title: Value | None
    objective: Value | None
    responsibilities: list[Responsibility]
    responsibility_text: Value | None
    timeline: Value | None
    years: str
    status: Value | None
    explanation: Value | None  # its text (paragraphs below), or the note that there is no English
    paragraphs: list[Paragraph]
    footnotes: list[Footnote]
    mentions: list[tuple[Value, list[Value]]]  # (column, what it names)
    page: str


@dataclass
class Grounds:
    """What a framework link or an instrument relation rests on: its basis, the quote and where it is, and for
    our own (editorial) coding who coded it, when, by which codebook, how sure, and why."""

    page: Value
    basis: Value | None
    editorial: bool
    quote: Value | None
    entry: Value | None  # the report entry quoted
    report: Value | None
    column: Value | None
    confidence: Value | None = None
    codebook: str | None = None
    coder: Value | None = None
    created: str | None = None
    comment: Value | None = None


@dataclass
class APItem:
    number: str
    title: str
    href: str
    lang: str | None
    status: Value | None = None
    note: str | None = None
    unofficial: bool = False


@dataclass
class Crumb:
    text: str
    href: str | None = None


@dataclass
class Graph:
    iri: str
    name: str
    triples: int = 0


@dataclass
class GraphDetails:
    """What the page of a named graph shows besides its size: distinct subjects and properties, and the
    number of subjects of each class (classes in the order the store first gives them)."""

    subjects: int
    properties: int
    classes: dict[str, int]


#: Resources whose triples a cache keeps: a page looks up the same few hundred again and again (labels,
#: statuses, the action points of a theme); the least recently used are dropped.
OUT_CACHE = 8192
LABEL_CACHE = 16384


class Site:
    """The served data for pages: a resource's outgoing and incoming triples, labels, graphs, read from the
    store on demand.

    A triple held in several graphs counts once, where the store first gives it. Oxigraph's in-memory
    store gives the matches of any pattern in one order (newest insertion first), the order of a scan of
    the whole store filtered: so a resource's values come in the order they always did, and "the first"
    of them stays the same one."""

    def __init__(self, store: ox.Store):
        self.store = store
        self._outgoing = functools.lru_cache(maxsize=OUT_CACHE)(self._read_outgoing)
        self._labels = functools.lru_cache(maxsize=LABEL_CACHE)(self._read_labels)
        self._exists = functools.lru_cache(maxsize=LABEL_CACHE)(self._read_exists)
        self._entries = functools.lru_cache(maxsize=OUT_CACHE)(self._read_entries)
        self._graph_details: dict[str, GraphDetails] = {}
        # Our things: every IRI .../id/{type}/{ref} that the data names, as subject or object, in one pass:
        # those first seen as a subject, then those only ever objects (the order registries list ties in).
        subjects: dict[str, None] = {}
        objects: dict[str, None] = {}
        for quad in store.quads_for_pattern(None, None, None, None):
            s, o = quad.subject, quad.object
            if type(s) is ox.NamedNode:
                value = s.value
                if value.startswith(ID) and value not in subjects:
                    subjects[value] = None
            if type(o) is ox.NamedNode:
                value = o.value
                if value.startswith(ID) and value not in objects:
                    objects[value] = None
        self.things: dict[str, dict[str, ox.NamedNode]] = defaultdict(dict)
        self.hash_parts: dict = defaultdict(list)  # .../id/x/y -> [.../id/x/y#part, ...]
        for value in {**subjects, **objects}:  # each IRI once, though it be subject and object both
            parts = split_thing(value)
            if parts:
                base = value.partition("#")[0]
                node = self.things[parts[0]].get(parts[1])
                if node is None:
                    node = self.things[parts[0]][parts[1]] = ox.NamedNode(base)
                if base != value and value in subjects:
                    self.hash_parts[node].append(ox.NamedNode(value))
        for found in self.hash_parts.values():
            found.sort(key=lambda n: n.value)
        self.types = {kind for kind in self.things}

    # --- the store ---------------------------------------------------------------------------------

    def _read_outgoing(self, node: ox.NamedNode | ox.BlankNode) -> tuple[dict[str, tuple[Term, ...]], frozenset[str]]:
        """{property IRI: values} of node (properties and values in the store's order, each triple once)
        and the named graphs that hold them."""
        by_prop: dict[str, dict] = {}
        graphs = set()
        for _, p, o, g in self.store.quads_for_pattern(node, None, None, None):
            values = by_prop.get(p.value)
            if values is None:
                values = by_prop[p.value] = {}
            values[o] = None
            graphs.add(g)
        return (
            {p: tuple(values) for p, values in by_prop.items()},
            frozenset(g.value for g in graphs if type(g) is ox.NamedNode),
        )

    def by_property(self, node: Term) -> dict[str, tuple[Term, ...]]:
        """{property IRI: values} of every triple with node as subject. Shared with the cache: do not change it."""
        if not isinstance(node, (ox.NamedNode, ox.BlankNode)):
            return {}
        return self._outgoing(node)[0]

    def outgoing(self, node: Term) -> list[tuple[str, Term]]:
        """(property IRI, value) of every triple with node as subject, property by property."""
        return [(p, o) for p, values in self.by_property(node).items() for o in values]

    def incoming(self, node: Term) -> list[tuple[Subject, str]]:
        """(subject, property IRI) of every triple with node as object."""
        if not isinstance(node, (ox.NamedNode, ox.BlankNode)):
            return []
        found: dict = {}
        for quad in self.store.quads_for_pattern(None, None, node, None):
            found.setdefault((quad.subject, quad.predicate.value), None)
        return list(found)

    def graphs_of(self, node: Term) -> frozenset[str]:
        """The named graphs with a triple about node."""
        if not isinstance(node, (ox.NamedNode, ox.BlankNode)):
            return frozenset()
        return self._outgoing(node)[1]

    def _read_exists(self, node: ox.NamedNode | ox.BlankNode) -> bool:
        return (
            next(iter(self.store.quads_for_pattern(node, None, None, None)), None) is not None
            or next(iter(self.store.quads_for_pattern(None, None, node, None)), None) is not None
        )

    @functools.cached_property
    def graphs(self) -> dict[str, Graph]:
        """The named graphs (IRIs) with their number of triples: counted by the store, once."""
        result = self.store.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(isIRI(?g)) } GROUP BY ?g",
            use_default_graph_as_union=False,
        )
        assert isinstance(result, ox.QuerySolutions), "a SELECT query"
        return {
            row["g"].value: Graph(row["g"].value, row["g"].value.rsplit("/", 1)[-1], int(row["n"].value))
            for row in result
        }

    def graph_details(self, iri: str) -> GraphDetails:
        found = self._graph_details.get(iri)
        if found is None:
            graph = ox.NamedNode(iri)
            counts = self.store.query(
                "SELECT (COUNT(DISTINCT ?s) AS ?subjects) (COUNT(DISTINCT ?p) AS ?properties) WHERE { ?s ?p ?o }",
                default_graph=graph,
            )
            assert isinstance(counts, ox.QuerySolutions), "a SELECT query"
            row = next(iter(counts))
            classes: dict[str, int] = {}
            for quad in self.store.quads_for_pattern(None, ox.NamedNode(TYPE), None, graph):
                cls = quad.object
                if not isinstance(cls, ox.Triple):  # a triple term (RDF 1.2) is no class
                    classes[cls.value] = classes.get(cls.value, 0) + 1
            found = self._graph_details[iri] = GraphDetails(
                int(row["subjects"].value), int(row["properties"].value), classes
            )
        return found

    # --- raw access ----------------------------------------------------------------------------------

    def objects(self, node: Term, prop: str) -> list[Term]:
        return list(self.by_property(node).get(prop, ()))

    def specific_types(self, types: Sequence[Term]) -> list[Term]:
        """The types no other of them specialises: loading adds every superclass (prov:Entity, ...) as a
        type for queries, but a reader wants "Ministerie", not the whole hierarchy."""

        def supers(cls: Term, seen: set[Term]) -> set[Term]:
            for sup in self.objects(cls, RDFS + "subClassOf"):
                if sup not in seen:
                    seen.add(sup)
                    supers(sup, seen)
            return seen

        implied = set()
        for t in types:
            implied |= supers(t, set())
        return [t for t in types if t not in implied]

    def first(self, node: Term, prop: str) -> Term | None:
        values = self.objects(node, prop)
        return values[0] if values else None

    def subjects(self, prop: str, node: Term) -> list[Subject]:
        if not isinstance(node, (ox.NamedNode, ox.BlankNode)):
            return []
        found: dict = {}
        for quad in self.store.quads_for_pattern(None, ox.NamedNode(prop), node, None):
            found.setdefault(quad.subject, None)
        return list(found)

    def node(self, kind: str, ref: str) -> ox.NamedNode | None:
        return self.things.get(kind, {}).get(ref)

    def local(self, node: Term) -> bool:
        """One of our things, with a page at /doc/{type}/{ref}."""
        return isinstance(node, ox.NamedNode) and split_thing(node.value) is not None

    def known(self, node: Term) -> bool:
        """In the data, as a subject or an object (or an IRI with parts that are)."""
        if node in self.hash_parts:
            return True
        return isinstance(node, (ox.NamedNode, ox.BlankNode)) and self._exists(node)

    def notation(self, node: Term) -> str:
        value = self.first(node, SKOS + "notation")
        return value.value if isinstance(value, ox.Literal) else ""

    # --- labels --------------------------------------------------------------------------------------

    def texts(self, node: Term, prop: str) -> dict[str, str]:
        """{language: text} of one property; untagged literals under ""."""
        found: dict[str, str] = {}
        for value in self.objects(node, prop):
            if isinstance(value, ox.Literal):
                found.setdefault(value.language or "", value.value)
        return found

    def shown(self, node: Term, prop: str, lang: str) -> Value | None:
        """The text of one property to show on a page in lang (the first, if there are several); None if
        there is none in any language."""
        values = self.shown_all(node, prop, lang)
        return values[0] if values else None

    def shown_all(self, node: Term, prop: str, lang: str) -> list[Value]:
        """The texts of one property to show in lang. A Dutch page shows the Dutch (the report's words, which
        are authoritative), else what there is. An English page shows the English, marked when it is the
        project's unofficial translation; where there is none it says so rather than show the Dutch."""
        literals = [v for v in self.objects(node, prop) if isinstance(v, ox.Literal)]
        if not literals:
            return []
        for code in ("en", "") if lang == "en" else ("nl", "", "en"):
            chosen = [v for v in literals if (v.language or "") == code]
            if chosen:
                return [Value(v.value, lang=code or None, unofficial=self.translated(node, v)) for v in chosen]
        if lang == "en":
            return [Value(word("no_english", lang), lang="en", missing=True)]
        return [Value(v.value, lang=v.language or None) for v in literals]

    def translated(self, node: Term, literal: Term) -> bool:
        """Whether this English literal about node comes from the project's translation graph."""
        if not isinstance(literal, ox.Literal) or literal.language != "en" or isinstance(node, ox.Literal):
            return False
        found = self.store.quads_for_pattern(node, None, literal, ox.NamedNode(TRANSLATIONS))
        return next(iter(found), None) is not None

    def labels(self, node: Term) -> dict[str, str]:
        """{language: label}; the same dict for the same node while it is cached: do not change it."""
        if not isinstance(node, (ox.NamedNode, ox.BlankNode)):
            return self._read_labels(node)
        return self._labels(node)

    def _read_labels(self, node: Term) -> dict[str, str]:
        found: dict[str, str] = {}
        for prop in LABEL_PROPERTIES:
            for language, value in self.texts(node, prop).items():
                found.setdefault(language, value)
        return found

    def label_lang(self, node: Term, lang: str) -> tuple[str, str | None]:
        """The label of node in lang (with its language), falling back to Dutch, English, a made-up one."""
        if isinstance(node, (ox.NamedNode, ox.BlankNode)) and self.replaced_by(node) is not None:
            return compact(node.value), None  # an old IRI: shown as itself, its page is gone
        title = self.ap_title(node, lang)
        if title is not None:
            return f"{self.notation(node)}. {title.text}", title.lang
        if isinstance(node, ox.NamedNode) and (split_thing(node.value) or ("",))[0] == "status-assessment":
            # A report entry's dct:title is its action point's title in that report: named after both instead.
            made = self.made_label(node, lang)
            assert made is not None, "made_label names every report entry"
            return made, lang
        found = self.labels(node)
        for candidate in (lang, "nl", "en", ""):
            if candidate in found:
                return found[candidate], candidate or None
        made = self.made_label(node, lang)
        if made:
            return made, lang
        if isinstance(node, ox.NamedNode):
            if node.value.startswith(ID) and "#" in node.value:
                return "#" + node.value.partition("#")[2], None
            return compact(node.value), None
        return str(node), None

    def label(self, node: Term, lang: str) -> str:
        return self.label_lang(node, lang)[0]

    def made_label(self, node: Term, lang: str) -> str | None:
        """Labels for the resources minted without one: status assessments, responsibilities, footnotes."""
        if not isinstance(node, ox.NamedNode):
            return None
        parts = split_thing(node.value)
        if not parts:
            return None
        kind, ref = parts
        en = lang == "en"
        ap = self.ap_of(node)
        number = self.notation(ap) if ap is not None else ""
        if kind == "status-assessment":
            report = self.first(node, NAP + "inReport")
            year = self.year_of(report) if report is not None else ""
            return (
                f"Action point {number or ref} in the {year} progress report"
                if en
                else f"Actiepunt {number or ref} in de voortgangsrapportage {year}"
            )
        if kind == "responsibility":
            agent = self.first(node, PROV + "agent")
            role = self.first(node, PROV + "hadRole")
            who = self.short_name(agent, lang) if agent is not None else ref
            what = self.label(role, lang) if role is not None else ""
            return f"{who} ({what}) for action point {number}" if en else f"{who} ({what}) bij actiepunt {number}"
        if kind in ("framework-link", "instrument-relation"):
            target = self.first(node, NAP + ("frameworkElement" if kind == "framework-link" else "instrument"))
            relation = self.first(node, NAP + "relationType")
            what = self.label(target, lang) if target is not None else ref
            if relation is not None:
                what += f" ({self.label(relation, lang)})"
            return f"{what} · {word('action_point', lang).lower()} {number}"
        if kind == "footnote":
            year, _, number = ref.partition("-")
            return f"Footnote {number} of the {year} report" if en else f"Voetnoot {number} van de rapportage {year}"
        if kind == "action-point":
            return f"Action point {ref}" if en else f"Actiepunt {ref}"
        if kind == "link":
            subject, target = self.first(node, RDF + "subject"), self.first(node, RDF + "object")
            if subject is not None and target is not None and not isinstance(target, ox.Triple):
                shown = compact(target.value) if isinstance(target, ox.NamedNode) else target.value
                predicate = self.first(node, RDF + "predicate")
                via = self.prop_value(predicate.value, lang).text.lower() if isinstance(predicate, ox.NamedNode) else ""
                return f"{'Link' if en else 'Koppeling'} {self.short_name(subject, lang)}, {via}: {shown}"
        return None

    def short_name(self, node: Term, lang: str) -> str:
        alt = self.texts(node, SKOS + "altLabel")
        if alt.get("nl") and len(alt["nl"]) <= 12:
            return alt["nl"]
        return self.label(node, lang)

    def year_of(self, report: Term) -> str:
        year = self.first(report, NAP + "reportingYear")
        if isinstance(year, ox.Literal):
            return year.value
        parts = split_thing(report.value) if isinstance(report, ox.NamedNode) else None
        return parts[1] if parts else ""

    # --- values --------------------------------------------------------------------------------------

    def link(self, node: Term, lang: str, text: str | None = None, full: bool = False) -> Value:
        """A value on a page for an IRI or blank node: a local link, an external link or plain text (a triple term,
        RDF 1.2: its N-Triples text, as label() gives it)."""
        if isinstance(node, ox.Literal):
            return Value(format_literal(node, lang), lang=node.language or None)
        if isinstance(node, (ox.BlankNode, ox.Triple)):
            return Value(text or self.label(node, lang))
        iri = node.value
        if iri.startswith(BASE):
            path = local_path(iri)
            label, language = self.label_lang(node, lang) if text is None else (text, lang)
            if path is None or (iri.startswith(ID) and not self.known(node)):
                return Value(label, lang=language, iri=iri)
            if path.startswith("/def#") and not self.known(node):
                return Value(label, lang=language, iri=iri)
            css = None
            parts = split_thing(iri)
            if parts and parts[0] == "status" and parts[1] != "scheme":
                css = f"status-badge status-{parts[1]}"
            return Value(label, href=with_lang(path, lang), lang=language, iri=iri, css=css)
        if self.known(node) and self.labels(node):
            label, language = self.label_lang(node, lang)
            return Value(label, href=iri, external=True, lang=language, iri=iri, note=compact(iri))
        if full:
            return Value(text or iri, href=iri, external=True, iri=iri, note=register_of(iri))
        return Value(text or compact(iri), href=iri, external=True, iri=iri)

    def prop_value(self, prop: str, lang: str, inverse: bool = False) -> Value:
        node = ox.NamedNode(prop)
        if inverse and prop in INVERSE_LABELS:
            nl, en = INVERSE_LABELS[prop]
            text = en if lang == "en" else nl
        elif prop in PROPERTY_LABELS:
            nl, en = PROPERTY_LABELS[prop]
            text = en if lang == "en" else nl
        else:
            text = self.label(node, lang) if self.labels(node) else compact(prop)
        path = local_path(prop)  # ours (NAP) have one
        href = with_lang(path, lang) if path is not None and prop.startswith(NAP) and self.known(node) else prop
        text = text[:1].upper() + text[1:]
        return Value(text, href=href, external=not prop.startswith(BASE), iri=prop, note=compact(prop))

    # --- description: the RDF for one resource -----------------------------------------------------------

    def closure(self, node: Subject, into: set[ox.Triple], visited: set[Subject]) -> None:
        """node's triples, its blank nodes' triples, and those of the IRIs minted for it."""
        if node in visited:
            return
        visited.add(node)
        for p, o in self.outgoing(node):
            into.add(ox.Triple(node, ox.NamedNode(p), o))
            if isinstance(o, ox.BlankNode) or (p in OWNED_OUT and isinstance(o, ox.NamedNode)):
                self.closure(o, into, visited)
        for p in OWNED_IN:
            for s in self.subjects(p, node):
                self.closure(s, into, visited)
        for part in self.hash_parts.get(node, ()):
            self.closure(part, into, visited)

    def describe(self, node: ox.NamedNode) -> list[ox.Triple]:
        triples: set[ox.Triple] = set()
        self.closure(node, triples, set())
        # What points to it; and for the renamed IRIs whose clients a 301 brings here, that they are renamed.
        for s, p in self.incoming(node):
            triples.add(ox.Triple(s, ox.NamedNode(p), node))
            if p == DCT + "isReplacedBy" and self.replaced_by(s) == node:
                triples.update(ox.Triple(s, ox.NamedNode(q), o) for q, o in self.outgoing(s))
        # The labels of everything named.
        named = set()
        for t in triples:
            for term in (t.subject, t.object):
                if isinstance(term, ox.NamedNode) and term != node:
                    named.add(term)
            if t.predicate.value != TYPE:
                named.add(t.predicate)
        for term in named:
            for p, o in self.outgoing(term):
                if p in LABEL_PROPERTIES or p == SKOS + "notation":
                    triples.add(ox.Triple(term, ox.NamedNode(p), o))
        return sorted(triples, key=lambda t: (t.subject != node, str(t.subject), str(t.predicate), str(t.object)))

    def serialize(self, triples: list[ox.Triple], media: str) -> bytes:
        fmt = RDF_MEDIA[media].oxigraph_format
        if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML):
            used = {
                prefix: namespace
                for prefix, namespace in PREFIXES.items()
                if any(
                    str(term.value).startswith(namespace)
                    for t in triples
                    for term in (t.subject, t.predicate, t.object)
                    if isinstance(term, ox.NamedNode)
                )
            }
            if fmt == ox.RdfFormat.TURTLE:
                # xsd for typed literals.
                used.setdefault("xsd", PREFIXES["xsd"])
            body = ox.serialize(triples, format=fmt, prefixes=used)
        else:
            body = ox.serialize(triples, format=fmt)
        assert body is not None, "serialize() with no output returns the bytes"
        return compact_json_ld(body, PREFIXES) if fmt == ox.RdfFormat.JSON_LD else body

    # --- generic sections: every property of a resource, grouped ---------------------------------------

    def groups(self, node: Term, lang: str, skip: AbstractSet[str] = frozenset()) -> list[Group]:
        by_prop = {p: values for p, values in self.by_property(node).items() if p not in skip}
        identity, texts, relations, links = [], [], [], []
        order = {p: i for i, p in enumerate(IDENTITY + TEXTS + RELATION_ORDER)}
        for prop in sorted(by_prop, key=lambda p: (order.get(p, 999), self.prop_value(p, lang).text)):
            values = by_prop[prop]
            literals = [v for v in values if isinstance(v, ox.Literal)]
            ours = [
                v
                for v in values
                if isinstance(v, (ox.BlankNode, ox.Triple))
                or (isinstance(v, ox.NamedNode) and v.value.startswith(BASE))
            ]
            external = [v for v in values if isinstance(v, ox.NamedNode) and not v.value.startswith(BASE)]
            label = self.prop_value(prop, lang)
            if prop == TYPE:
                identity.append(
                    Row(
                        label,
                        sorted(
                            (self.link(v, lang) for v in self.specific_types(values)),
                            key=lambda v: (not (v.iri or "").startswith(BASE), v.text),
                        ),
                    )
                )
                continue
            if literals:
                if prop in SINGLE_LANGUAGE:
                    texts.append(Row(label, self.shown_all(node, prop, lang), long=True))
                else:
                    if lang == "en" and not (isinstance(node, ox.NamedNode) and is_name(node.value, prop)):
                        # Names stay as they are; other Dutch wording is left out of an English page.
                        literals = [v for v in literals if v.language != "nl"]
                    shown = sorted(literals, key=lambda v: (v.language != lang, v.language or "", v.value))
                    row = Row(
                        label,
                        [
                            Value(
                                format_literal(v, lang),
                                lang=v.language or None,
                                note=v.language if v.language and len({x.language for x in shown}) > 1 else None,
                                unofficial=self.translated(node, v),
                            )
                            for v in shown
                        ]
                        or [Value(word("no_english", lang), lang="en", missing=True)],
                    )
                    identity.append(row)
            if ours:
                relations.append(
                    Row(label, sorted((self.link(v, lang) for v in ours), key=lambda v: (self.sort_key(v.iri), v.text)))
                )
            if external:
                links.append(
                    Row(label, sorted((self.link(v, lang, full=True) for v in external), key=lambda v: v.text))
                )
        found = [
            Group("identity", word("identity", lang), identity),
            Group("texts", word("texts", lang), texts),
            Group("relations", word("relations", lang), relations),
            Group("links", word("links_out", lang), links),
        ]
        return [g for g in found if g.rows]

    def referenced_by(self, node: Term, lang: str, skip: AbstractSet[str] = frozenset()) -> list[Row]:
        by_prop: dict[str, list] = defaultdict(list)
        for s, p in self.incoming(node):
            if p not in skip:
                by_prop[p].append(s)
        rows = []
        for prop in sorted(by_prop, key=lambda p: self.prop_value(p, lang, inverse=True).text):
            values = sorted((self.link(s, lang) for s in by_prop[prop]), key=lambda v: (self.sort_key(v.iri), v.text))
            rows.append(Row(self.prop_value(prop, lang, inverse=True), values))
        return rows

    def sort_key(self, iri: str | None) -> tuple[str] | tuple[str, str] | tuple[str, list[int], str]:
        """Things in their natural order: action points 01..33, themes by number, others by label."""
        if not iri:
            return ("~",)
        parts = split_thing(iri)
        if not parts:
            return ("~", iri)
        kind, ref = parts
        numbers = re.findall(r"\d+", ref)
        # Numbers in a plain numeric ref, or one scoped by a word (nap-2022-07): 1, 2, ... 10, not 1, 10, 2.
        numeric = numbers and re.fullmatch(r"(?:[a-z]+-)?[\d-]+", ref)
        return (kind, [int(n) for n in numbers] if numeric else [10**9], ref)

    # --- what is current -----------------------------------------------------------------------------------

    def replaced_by(self, node: Term) -> Term | None:
        """The IRI that replaces a renamed one (owl:deprecated true and dct:isReplacedBy), else None. A thing
        that a newer one merely succeeds (the 2014 plan, replaced by the 2022 plan) is not renamed: it keeps
        its own page."""
        deprecated = self.first(node, OWL + "deprecated")
        if not (isinstance(deprecated, ox.Literal) and deprecated.value in ("true", "1")):
            return None
        return self.first(node, DCT + "isReplacedBy")

    def members(self, kind: str) -> list[ox.NamedNode]:
        """The things of one kind, without the scheme and the renamed IRIs kept only to redirect."""
        return [n for r, n in self.things.get(kind, {}).items() if r != "scheme" and self.replaced_by(n) is None]

    def owner(self, node: Term) -> Term | None:
        """The resource a minted one belongs to: a report entry's action point, a responsibility's or a
        footnote's entry, a framework link's or an instrument relation's action point."""
        parts = split_thing(node.value) if isinstance(node, ox.NamedNode) else None
        kind = parts[0] if parts else None
        if kind == "status-assessment":
            return self.first(node, NAP + "assessedActionPoint")
        if kind in ("responsibility", "footnote"):
            entries = self.subjects(NAP + kind, node)
            return entries[0] if entries else None
        if kind in ("framework-link", "instrument-relation"):
            return self.first(node, NAP + "actionPoint")
        return None

    def ap_of(self, node: Term | None) -> ox.NamedNode | None:
        """The action point a resource is about (itself, for an action point), or None."""
        while isinstance(node, ox.NamedNode) and (split_thing(node.value) or ("",))[0] != "action-point":
            node = self.owner(node)
        return node if isinstance(node, ox.NamedNode) else None

    # --- action points -------------------------------------------------------------------------------------

    def action_points(self) -> list[ox.NamedNode]:
        return sorted(self.members("action-point"), key=lambda n: self.sort_key(n.value))

    def entries(self, ap: Term) -> list[Subject]:
        """What each progress report says about an action point (its entries), oldest report first."""
        if not isinstance(ap, (ox.NamedNode, ox.BlankNode)):
            return []
        return list(self._entries(ap))

    def _read_entries(self, ap: ox.NamedNode | ox.BlankNode) -> tuple[Subject, ...]:
        # Every list of action points shows each one's title and status from its latest report: one lookup of
        # each entry's report (not all of the entry's triples), and the answer kept for the next page.
        in_report = ox.NamedNode(NAP + "inReport")

        def year(sa: Subject) -> str:
            for quad in self.store.quads_for_pattern(sa, in_report, None, None):
                return self.year_of(quad.object)  # the first report, as first() gives it
            return ""

        return tuple(sorted(self.subjects(NAP + "assessedActionPoint", ap), key=year))

    def latest_entry(self, ap: Term) -> Subject | None:
        entries = self.entries(ap)
        return entries[-1] if entries else None

    def latest_status(self, ap: Term) -> Term | None:
        entry = self.latest_entry(ap)
        return self.first(entry, NAP + "status") if entry is not None else None

    def ap_title(self, ap: Term, lang: str) -> Value | None:
        """An action point's title, as its latest report words it (a report may word it anew, so the action
        point has none of its own); None for anything else, or when there is none in lang."""
        if not isinstance(ap, ox.NamedNode) or (split_thing(ap.value) or ("",))[0] != "action-point":
            return None
        entry = self.latest_entry(ap)
        title = self.shown(entry, DCT + "title", lang) if entry is not None else None
        return title if title is not None and not title.missing else None

    def ap_item(self, ap: ox.NamedNode, lang: str, note: str | None = None) -> APItem:
        parts, page = split_thing(ap.value), local_path(ap.value)
        assert parts is not None and page is not None, "an action point is one of our things (shapes)"
        title = self.ap_title(ap, lang)
        if title is None:  # no title in this language: its label ("Action point 07")
            text, language = self.label_lang(ap, lang)
            title = Value(text, lang=language)
        status = self.latest_status(ap)
        return APItem(
            self.notation(ap) or parts[1],
            title.text,
            with_lang(page, lang),
            title.lang,
            self.link(status, lang) if status is not None else None,
            note,
            title.unofficial,
        )

    def ap_items(self, aps: Iterable[Term], lang: str) -> list[APItem]:
        unique = {ap: None for ap in aps if isinstance(ap, ox.NamedNode)}
        return [self.ap_item(ap, lang) for ap in sorted(unique, key=lambda a: self.sort_key(a.value))]

    def paragraphs(self, text: str, footnotes: dict[str, str]) -> list[Paragraph]:
        """Paragraphs from blank lines; [n] markers as links to the footnotes listed under the text."""
        out = []
        for block in re.split(r"\n\s*\n", text.strip()):
            parts: list = []
            position = 0
            for match in MARKER.finditer(block):
                number = match.group(1)
                if number not in footnotes:
                    continue
                parts.append(block[position : match.start()])
                parts.append((number, footnotes[number]))
                position = match.end()
            parts.append(block[position:])
            out.append(Paragraph([p for p in parts if p != ""]))
        return out

    def entry(self, sa: ox.NamedNode, lang: str) -> Entry:
        """One report entry as a page shows it: every column, the footnotes, what each column names."""
        page = local_path(sa.value)
        assert page is not None, "a report entry is one of our things (shapes)"
        report = self.first(sa, NAP + "inReport")
        status = self.first(sa, NAP + "status")
        notes = []
        for fn in self.objects(sa, NAP + "footnote"):
            parts = split_thing(fn.value) if isinstance(fn, ox.NamedNode) else None
            fn_page = local_path(fn.value) if isinstance(fn, ox.NamedNode) else None
            assert parts is not None and fn_page is not None, "a footnote is one of our things (shapes)"
            number = self.notation(fn)
            links = [self.link(o, lang) for o in self.objects(fn, RDFS + "seeAlso")]
            notes.append(
                Footnote(
                    number,
                    "fn-" + parts[1],
                    self.shown(fn, RDF + "value", lang),
                    links,
                    with_lang(fn_page, lang),
                )
            )
        notes.sort(key=lambda f: int(f.number) if f.number.isdigit() else 10**6)
        explanation = self.shown(sa, NAP + "explanation", lang)
        paragraphs = (
            self.paragraphs(explanation.text, {f.number: f.anchor for f in notes})
            if explanation is not None and not explanation.missing
            else []
        )
        responsibilities = []
        resps = [r for r in self.objects(sa, NAP + "responsibility") if isinstance(r, ox.NamedNode)]  # IRIs (shapes)
        for resp in sorted(resps, key=lambda r: r.value):
            agent = self.first(resp, PROV + "agent")
            role = self.first(resp, PROV + "hadRole")
            responsibilities.append(
                Responsibility(
                    self.link(agent, lang) if agent is not None else None,
                    self.short_name(agent, lang) if agent is not None else "",
                    self.link(role, lang) if role is not None else None,
                    self.shown(resp, NAP + "scope", lang),
                    self.link(resp, lang),
                )
            )
        start, end = self.first(sa, NAP + "startYear"), self.first(sa, NAP + "endYear")
        return Entry(
            self.link(report, lang) if report is not None else Value("?"),
            self.year_of(report) if report is not None else "",
            self.shown(sa, DCT + "title", lang),
            self.shown(sa, NAP + "objective", lang),
            responsibilities,
            self.shown(sa, NAP + "responsibilityText", lang),
            self.shown(sa, NAP + "timelineText", lang),
            format_years(
                start.value if isinstance(start, ox.Literal) else None,
                end.value if isinstance(end, ox.Literal) else None,
                lang,
            ),
            self.link(status, lang) if status is not None else None,
            explanation,
            paragraphs,
            notes,
            self.mentions_by_column(sa, lang),
            with_lang(page, lang),
        )

    @functools.cached_property
    def mention_properties(self) -> dict[str, ox.NamedNode | None]:
        """nap:mentions and the properties that say in which column of a report a thing is named, each with
        its column (column:x nap:columnProperty p, in the ontology)."""
        mentions = ox.NamedNode(NAP + "mentions")
        found: dict[str, ox.NamedNode | None] = {mentions.value: None}
        for prop in self.subjects(RDFS + "subPropertyOf", mentions):
            if not isinstance(prop, ox.NamedNode):
                continue  # a property is an IRI
            columns = [c for c in self.subjects(NAP + "columnProperty", prop) if isinstance(c, ox.NamedNode)]
            found[prop.value] = columns[0] if columns else None
        return found

    def mentions_by_column(self, entry: Term, lang: str) -> list[tuple[Value, list[Value]]]:
        """What an entry names, per column of the report, in the order of the columns."""
        by_column: dict = {}
        for prop, values in self.by_property(entry).items():
            column = self.mention_properties.get(prop)
            if column is not None:
                by_column.setdefault(column, set()).update(values)
        ordered = sorted(by_column, key=lambda c: self.sort_key_notation(c))
        return [
            (
                self.link(c, lang),
                sorted(
                    (self.link(v, lang) for v in by_column[c]), key=lambda v: (self.sort_key(v.iri)[0], v.text.lower())
                ),
            )
            for c in ordered
        ]

    def sort_key_notation(self, node: ox.NamedNode) -> tuple[int, str]:
        return (number_key(self.notation(node)), node.value)

    # --- framework links and instrument relations ----------------------------------------------------------

    def grounds(self, link: Term, lang: str) -> Grounds:
        basis = self.first(link, NAP + "basis")
        entry = self.first(link, NAP + "quotedFrom")
        report = self.first(entry, NAP + "inReport") if entry is not None else None
        column = self.first(link, NAP + "column")
        confidence = self.first(link, NAP + "confidence")
        coder = self.first(link, PROV + "wasAttributedTo")
        created = self.first(link, DCT + "created")
        codebook = self.first(link, NAP + "codebookVersion")

        def linked(node: Term | None) -> Value | None:
            return self.link(node, lang) if node is not None else None

        return Grounds(
            self.link(link, lang),
            linked(basis),
            isinstance(basis, ox.NamedNode) and basis.value.endswith("/editorial"),
            self.shown(link, NAP + "quote", lang),
            linked(entry),
            linked(report),
            linked(column),
            linked(confidence),
            codebook.value if isinstance(codebook, ox.Literal) else None,
            linked(coder),
            format_literal(created, lang) if isinstance(created, ox.Literal) else None,
            self.shown(link, RDFS + "comment", lang),
        )

    def framework_links(self, ap: Term, lang: str) -> list[tuple[str, list[tuple[Value, Grounds]]]]:
        """An action point's links to framework elements, grouped by framework (UNGPs, OECD Guidelines,
        due diligence steps), each element with the grounds of its link; stated before editorial."""
        groups: dict[str, list] = {}
        for link in self.subjects(NAP + "actionPoint", ap):
            element = self.first(link, NAP + "frameworkElement")
            if not isinstance(element, ox.NamedNode):
                continue  # an instrument relation (none), or no element of ours (an IRI)
            framework = FRAMEWORKS.get((split_thing(element.value) or ("",))[0], "other")
            grounds = self.grounds(link, lang)
            groups.setdefault(framework, []).append((self.link(element, lang), grounds))
        order = list(dict.fromkeys(FRAMEWORKS.values()))
        return [
            (
                word(f, lang) if f in WORDS else f,
                sorted(groups[f], key=lambda r: (self.sort_key(r[0].iri), r[1].editorial)),
            )
            for f in sorted(groups, key=lambda f: order.index(f) if f in order else 99)
        ]

    def instrument_relations(self, node: ox.NamedNode, lang: str) -> list[tuple[APItem, Value, Value | None, Grounds]]:
        """(action point, instrument, relation type, grounds) of the relations of an action point, or those
        to a legal instrument."""
        if (split_thing(node.value) or ("",))[0] == "action-point":
            links = [
                r for r in self.subjects(NAP + "actionPoint", node) if self.first(r, NAP + "instrument") is not None
            ]
        else:
            links = self.subjects(NAP + "instrument", node)
        rows = []
        for link in links:
            ap, instrument = self.first(link, NAP + "actionPoint"), self.first(link, NAP + "instrument")
            relation = self.first(link, NAP + "relationType")
            if not isinstance(ap, ox.NamedNode) or instrument is None:
                continue
            rows.append(
                (
                    self.ap_item(ap, lang),
                    self.link(instrument, lang),
                    self.link(relation, lang) if relation is not None else None,
                    self.grounds(link, lang),
                )
            )
        return sorted(rows, key=lambda r: (number_key(r[0].number), r[1].text.lower()))

    def broader(self, node: Term) -> list[Term]:
        """The concepts above one (a principle's section, the section's pillar), nearest first; a principle
        without skos:broader to a pillar gets its nap:pillar."""
        chain, current = [], node
        while True:
            up = self.first(current, SKOS + "broader")
            if up is None or up in chain:
                break
            chain.append(up)
            current = up
        pillar = self.first(node, NAP + "pillar")
        if pillar is not None and pillar not in chain:
            chain.append(pillar)
        return chain

    def narrower(self, node: Term) -> list[ox.NamedNode]:
        """The concepts directly below one (a section's principles), in their order."""
        below = [n for n in self.subjects(SKOS + "broader", node) if isinstance(n, ox.NamedNode)]  # concepts: IRIs
        return sorted(below, key=lambda n: self.sort_key(n.value))

    def linked_action_points(self, element: ox.NamedNode, lang: str) -> list[dict[str, Any]]:
        """The action points linked to a framework element or to any element below it: each with the element
        (the principle, on a section's page), the bases of its links, and its status in the latest report."""
        elements: list[ox.NamedNode] = []
        todo = [element]
        while todo:
            current = todo.pop(0)
            if current not in elements:
                elements.append(current)
                todo += self.narrower(current)
        rows: dict = {}
        for current in elements:
            for link in self.subjects(NAP + "frameworkElement", current):
                ap = self.first(link, NAP + "actionPoint")
                if not isinstance(ap, ox.NamedNode):
                    continue
                row = rows.get((ap, current))
                if row is None:
                    row = rows[(ap, current)] = {
                        "ap": self.ap_item(ap, lang),
                        "element": self.link(current, lang),
                        "links": [],
                    }
                grounds = self.grounds(link, lang)
                row["links"].append(grounds)
        for row in rows.values():
            row["links"].sort(key=lambda g: g.editorial)
        # The element's own links first, then those of each element below it, action points by number.
        return sorted(
            rows.values(),
            key=lambda r: (
                r["element"].iri != element.value,
                self.sort_key(r["element"].iri),
                number_key(r["ap"].number),
            ),
        )

    # --- breadcrumbs ---------------------------------------------------------------------------------------

    def crumbs(self, node: Term, lang: str) -> list[Crumb]:
        home = Crumb(word("home", lang), with_lang("/doc", lang))
        parts = split_thing(node.value) if isinstance(node, ox.NamedNode) else None
        if not parts:
            return [home]
        kind, ref = parts

        def to(n: ox.NamedNode) -> Crumb:
            page = local_path(n.value)
            assert page is not None, "a crumb is one of our things"
            return Crumb(self.crumb_text(n, lang), with_lang(page, lang))

        if kind == "action-point":
            trail = [home]
            pillar, theme = self.first(node, NAP + "pillar"), self.first(node, NAP + "theme")
            if isinstance(pillar, ox.NamedNode):
                trail.append(to(pillar))
            if isinstance(theme, ox.NamedNode):
                trail.append(to(theme))
            return trail
        owner = self.owner(node)
        if isinstance(owner, ox.NamedNode):  # a report entry, or what was minted for one or for an action point
            return self.crumbs(owner, lang) + [to(owner)]
        scheme = self.first(node, SKOS + "inScheme")
        if ref != "scheme" and isinstance(scheme, ox.NamedNode):
            return [home, to(scheme)]
        return (
            [home, Crumb(self.registry_name(kind, lang), with_lang(f"/doc/{kind}", lang))]
            if ref != "scheme"
            else [home]
        )

    def crumb_text(self, node: ox.NamedNode, lang: str) -> str:
        parts = split_thing(node.value)
        assert parts is not None, "a crumb is one of our things"
        kind = parts[0]
        number = self.notation(node)
        if kind == "ungp-pillar":
            return f"{word('pillar', lang)} {number}"
        if kind == "theme":
            return f"{word('theme', lang)} {number}"
        if kind == "status-assessment":
            report = self.first(node, NAP + "inReport")
            return f"{word('report', lang)} {self.year_of(report) if report is not None else ''}".strip()
        return self.label(node, lang)  # an action point: "07. Its title"

    def registry_name(self, kind: str, lang: str) -> str:
        nl, en = REGISTRIES.get(kind, (kind, kind))
        return en if lang == "en" else nl


def editor_link(query: str) -> str:
    """The query editor at / with this query in a new tab (YASGUI reads #query=...)."""
    return "/#query=" + quote(query, safe="")


def resource_query(iri: str) -> str:
    prefixes = {"rdfs": PREFIXES["rdfs"], "skos": PREFIXES["skos"], "dct": PREFIXES["dct"]}
    head = "".join(f"PREFIX {p}: <{n}>\n" for p, n in prefixes.items())
    return (
        f"{head}\n# Everything about <{iri}>, with the labels of what it points to\n"
        f"SELECT ?property ?value ?label WHERE {{\n"
        f"  <{iri}> ?property ?value .\n"
        f'  OPTIONAL {{ ?value rdfs:label|skos:prefLabel|dct:title ?label FILTER(lang(?label) = "nl") }}\n'
        f"}}\nORDER BY ?property ?value\n"
    )
