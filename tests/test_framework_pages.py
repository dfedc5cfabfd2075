"""The pages after issue 24, through the app in this process (no server): renamed IRIs answer 301 to their new
IRI, an action point's page shows what each report says and its framework links with basis and quote, the
page of a framework element lists its action points with basis and status, and ?lang=en shows no Dutch
wording, marks the project's translation as unofficial and says so where there is no English.

Action points, links and sentences are picked from the data by query, so the tests follow the data; what the
data may not hold yet (an editorial link) is added to a copy of the store."""

from __future__ import annotations

import asyncio
import html
import re

import httpx
import pyoxigraph as ox
import pytest
from fastapi import FastAPI

from napkg.endpoint.context import Context
from napkg.graph.namespaces import BASE, GRAPH, ID, PREFIXES
from napkg.web import routes as web

PROLOGUE = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
TRANSLATION_NOTE = 'id="translation-note"'


def app_for(store: ox.Store) -> FastAPI:
    app = FastAPI()
    app.include_router(
        web.make_router(Context(pool=None, settings=None, store=store, union_default_graph=True, fingerprint="test"))
    )
    return app


def request(app: FastAPI, path: str, method: str = "GET", headers: dict | None = None) -> httpx.Response:
    """One request to an app in this process (redirects not followed)."""

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://napkg.test") as client:
            return await client.request(method, path, headers=headers)

    return asyncio.run(send())


def select(store: ox.Store, query: str) -> list[dict]:
    result = store.query(PROLOGUE + query, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: row[n] for n in names} for row in result]


def dutch(store: ox.Store, iri: str, prop: str) -> str:
    """The Dutch literal of one property (prop as prefix:name) of a resource."""
    rows = select(store, f"""SELECT ?text WHERE {{ <{iri}> {prop} ?text FILTER(lang(?text) = "nl") }}""")
    assert rows, (iri, prop)
    return rows[0]["text"].value


def path_of(iri: str) -> str:
    assert iri.startswith(ID), iri
    return iri[len(ID) :]


def text_of(page: str) -> str:
    """A page's text as a reader sees it: no tags, entities decoded, white space collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def app(project_store):
    return app_for(project_store)


# --- 301 for renamed IRIs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def renamed(project_store) -> list[tuple[str, str]]:
    rows = select(
        project_store,
        """SELECT ?old ?new WHERE {
        ?old owl:deprecated true ; dct:isReplacedBy ?new } ORDER BY ?old""",
    )
    found = [(row["old"].value, row["new"].value) for row in rows]
    assert found, "data/replaced-iris.ttl renames nothing"
    return found


def test_every_renamed_iri_answers_301_from_id_and_doc(app, renamed):
    for old, new in renamed:
        for prefix in ("id", "doc"):
            response = request(app, f"/{prefix}/{path_of(old)}")
            assert response.status_code == 301, (prefix, old)
            assert response.headers["location"] == f"/{prefix}/{path_of(new)}", (prefix, old)


def test_a_301_keeps_the_suffix_the_query_and_answers_head_and_any_accept(app, renamed):
    old, new = next((o, n) for o, n in renamed if "/action-point/" in o)
    old, new = path_of(old), path_of(new)
    assert request(app, f"/id/{old}.ttl?lang=en").headers["location"] == f"/id/{new}.ttl?lang=en"
    assert request(app, f"/doc/{old}.jsonld").headers["location"] == f"/doc/{new}.jsonld"
    head = request(app, f"/doc/{old}", method="HEAD")
    assert head.status_code == 301 and head.headers["location"] == f"/doc/{new}"
    for accept in ("text/turtle", "application/ld+json", "text/html", "image/png"):
        response = request(app, f"/id/{old}", headers={"Accept": accept})
        assert response.status_code == 301 and response.headers["location"] == f"/id/{new}", accept
    # The new IRI answers as always, and its data says which IRI it replaces.
    assert request(app, f"/id/{new}").status_code == 303
    turtle = request(app, f"/doc/{new}.ttl").text
    assert "owl:deprecated" in turtle and "dct:isReplacedBy" in turtle


def test_a_thing_merely_replaced_by_a_newer_one_keeps_its_page(app, project_store):
    """plan:nap-2014 is succeeded by plan:nap-2022 (dct:isReplacedBy) but not renamed: no owl:deprecated."""
    rows = select(
        project_store,
        """SELECT ?old WHERE {
        ?old dct:isReplacedBy ?new FILTER NOT EXISTS { ?old owl:deprecated true } }""",
    )
    olds = [row["old"].value for row in rows]
    assert ID + "action-plan/nap-2014" in olds
    for old in olds:
        assert request(app, f"/id/{path_of(old)}").status_code == 303, old
        assert request(app, f"/doc/{path_of(old)}").status_code == 200, old


def test_renamed_iris_are_not_listed(app):
    index = request(app, "/doc").text
    registry = request(app, "/doc/action-point").text
    for page in (index, registry):
        assert 'href="/doc/action-point/nap-2022-01"' in page
        assert not re.search(r'href="/doc/action-point/\d+"', page)


# --- an action point's page --------------------------------------------------------------------------------


def latest_entry(store: ox.Store, ap: str) -> str:
    rows = select(
        store,
        f"""SELECT ?entry WHERE {{
        ?entry nap:assessedActionPoint <{ap}> ; nap:inReport/nap:reportingYear ?year }}
        ORDER BY DESC(?year) LIMIT 1""",
    )
    return rows[0]["entry"].value


def test_an_action_point_shows_the_title_from_its_latest_report(app, project_store):
    ap = ID + "action-point/nap-2022-02"
    entry = latest_entry(project_store, ap)
    title = dutch(project_store, entry, "dct:title")
    page = request(app, f"/doc/{path_of(ap)}").text
    assert re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1) == html.escape(title, quote=True)
    # Lists of action points and breadcrumbs beneath the page show "NN. title" too.
    assert f"02. {title}"[:40] in text_of(request(app, f"/doc/{path_of(entry)}").text)
    assert title in text_of(request(app, "/doc").text)


def test_a_newer_report_gives_the_title_and_status_and_the_older_one_stays(project_store):
    """With a 2025 report added (to a copy), the page and the lists take the title and status from it; the
    page still shows what the 2024 report said, below."""
    store = ox.Store()
    store.extend(project_store)
    store.update(
        PROLOGUE
        + f"""INSERT DATA {{ GRAPH <{GRAPH}report-2025> {{
        report:2025 a nap:ProgressReport ; nap:reportingYear "2025"^^xsd:gYear ; rdfs:label "Rapportage 2025"@nl .
        sa:2025-19 a nap:StatusAssessment ; nap:assessedActionPoint ap:nap-2022-19 ; nap:inReport report:2025 ;
            dct:title "Een titel uit 2025"@nl ; nap:status status:completed ;
            nap:explanation "Wat de rapportage van 2025 zegt."@nl .
    }} }}"""
    )
    app = app_for(store)
    page = request(app, "/doc/action-point/nap-2022-19").text
    assert re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1) == "Een titel uit 2025"
    assert page.index('id="report-2025"') < page.index('id="report-2024"')
    assert "Wat de rapportage van 2025 zegt." in page
    theme = request(app, "/doc/theme/09").text
    item = next(li for li in theme.split("<li>") if 'href="/doc/action-point/nap-2022-19"' in li)
    assert "Een titel uit 2025" in item and "status-completed" in item


def test_an_action_point_shows_what_its_report_says_by_column(app, project_store):
    row = select(
        project_store,
        """SELECT ?ap ?entry ?thing ?column WHERE {
        ?entry nap:assessedActionPoint ?ap ; nap:mentionsInTitle ?thing .
        ?column nap:columnProperty nap:mentionsInTitle } ORDER BY ?entry ?thing LIMIT 1""",
    )[0]
    page = request(app, f"/doc/{path_of(row['ap'].value)}").text
    mentions = page.split('id="mentions-')[1].split("</section>")[0]
    assert f'href="/doc/{path_of(row["column"].value)}"' in mentions
    assert f'href="/doc/{path_of(row["thing"].value)}"' in mentions
    for heading in ("Doelstelling", "Verantwoordelijkheid", "Toelichting", "Tijdslijn"):
        assert heading in page


def test_an_action_point_shows_its_framework_links_with_basis_and_quote(app, project_store):
    rows = select(
        project_store,
        """SELECT ?link ?ap ?element ?basis ?quote WHERE {
        ?link a nap:FrameworkLink ; nap:actionPoint ?ap ; nap:frameworkElement ?element ; nap:basis ?basis ;
            nap:quote ?quote FILTER(lang(?quote) = "nl") } ORDER BY ?link LIMIT 1""",
    )
    assert rows, "no framework link in the data"
    row = rows[0]
    basis_label = dutch(project_store, row["basis"].value, "skos:prefLabel")
    page = request(app, f"/doc/{path_of(row['ap'].value)}").text
    frameworks = page.split('id="frameworks"')[1].split("</section>")[0]
    assert f'href="/doc/{path_of(row["element"].value)}"' in frameworks
    assert f'href="/doc/{path_of(row["link"].value)}">{basis_label}</a>' in frameworks
    assert html.escape(row["quote"].value, quote=True) in frameworks
    # Where the quote is: the report entry and its column.
    assert 'href="/doc/status-assessment/' in frameworks and 'href="/doc/report-column/' in frameworks


@pytest.fixture(scope="module")
def with_editorial_link(project_store):
    """A copy of the data with one editorial link of our own making, in the editorial graph."""
    store = ox.Store()
    store.extend(project_store)
    ap = ID + "action-point/nap-2022-19"
    entry = latest_entry(store, ap)
    quote = dutch(store, entry, "nap:explanation")[:60]
    store.update(
        PROLOGUE
        + f"""INSERT DATA {{ GRAPH <{GRAPH}editorial-test> {{
        flink:test-editorial a nap:FrameworkLink ; nap:actionPoint <{ap}> ; nap:frameworkElement chapter:4 ;
            nap:basis basis:editorial ; nap:quote {ox.Literal(quote, language="nl")} ;
            nap:quotedFrom <{entry}> ; nap:column column:explanation ; nap:codebookVersion "9.9" ;
            prov:wasAttributedTo agent:test-coder ; dct:created "2026-12-07"^^xsd:date ;
            nap:confidence confidence:medium ; rdfs:comment "Rule X applies: a test sentence."@en .
        agent:test-coder rdfs:label "Test Coder"@en .
    }} }}"""
    )
    return app_for(store), ap, quote


def test_an_editorial_link_shows_its_provenance(with_editorial_link):
    app, ap, quote = with_editorial_link
    page = request(app, f"/doc/{path_of(ap)}").text
    frameworks = page.split('id="frameworks"')[1].split("</section>")[0]
    assert 'href="/doc/oecd-chapter/4"' in frameworks
    link = frameworks.split('href="/doc/framework-link/test-editorial"')[1]
    assert link.startswith(">redactioneel</a>")
    assert html.escape(quote, quote=True) in link
    for shown in (
        "9.9",
        'href="/doc/agent/test-coder"',
        "7 december 2026",
        'href="/doc/confidence/medium"',
        "Rule X applies: a test sentence.",
    ):
        assert shown in link, shown
    # And the chapter's page lists the action point with that basis.
    chapter = request(app, "/doc/oecd-chapter/4").text.split('id="linked"')[1].split("</section>")[0]
    assert f'href="/doc/{path_of(ap)}"' in chapter
    assert 'href="/doc/framework-link/test-editorial">redactioneel' in chapter


# --- the page of a framework element -----------------------------------------------------------------------


def test_a_principle_lists_its_action_points_with_basis_and_status(app, project_store):
    rows = select(
        project_store,
        """SELECT ?principle ?ap ?link ?basis WHERE {
        ?link nap:frameworkElement ?principle ; nap:actionPoint ?ap ; nap:basis ?basis .
        ?principle a nap:UNGPPrinciple } ORDER BY ?principle ?ap LIMIT 1""",
    )
    assert rows, "no action point is linked to a UNGP principle"
    row = rows[0]
    ap = row["ap"].value
    status = dutch(project_store, latest_entry(project_store, ap), "nap:status/skos:prefLabel")
    basis = dutch(project_store, row["basis"].value, "skos:prefLabel")
    page = request(app, f"/doc/{path_of(row['principle'].value)}").text
    linked = page.split('id="linked"')[1].split("</section>")[0]
    item = next(r for r in linked.split("<tr>") if f'href="/doc/{path_of(ap)}"' in r)
    assert f'href="/doc/{path_of(row["link"].value)}">{basis}</a>' in item
    assert f">{status}</span>" in item


def test_a_principle_shows_its_section_and_pillar_and_a_section_its_principles(app, project_store):
    rows = select(
        project_store,
        """SELECT ?principle ?section WHERE {
        ?principle a nap:UNGPPrinciple ; skos:broader ?section } ORDER BY ?principle LIMIT 1""",
    )
    if not rows:
        pytest.skip("the UNGP scheme has no sections yet (ontology/ungp.ttl)")
    principle, section = path_of(rows[0]["principle"].value), path_of(rows[0]["section"].value)
    page = request(app, f"/doc/{principle}").text
    facts = page.split('class="resource-header"')[1].split("</header>")[1].split("</dl>")[0]
    assert f'href="/doc/{section}"' in facts and 'href="/doc/ungp-pillar/' in facts
    section_page = request(app, f"/doc/{section}").text
    assert f'href="/doc/{principle}"' in section_page.split('id="narrower"')[1]


# --- English -----------------------------------------------------------------------------------------------


def dutch_sentence(store: ox.Store, ap: str) -> str:
    """A sentence of the Dutch explanation of an action point's latest entry."""
    entry = latest_entry(store, ap)
    text = dutch(store, entry, "nap:explanation")
    sentences = [s.strip() for s in re.split(r"(?<=[.;:])\s+", text) if len(s.strip()) > 40]
    return re.sub(r"\[\d+\]", "", sentences[0])[:80]  # footnote markers become links on the page


@pytest.fixture(scope="module")
def explained(project_store) -> str:
    """An action point with a Dutch explanation (the first by number)."""
    rows = select(
        project_store,
        """SELECT ?ap WHERE { ?entry nap:assessedActionPoint ?ap ; nap:explanation ?e
        FILTER(lang(?e) = "nl") } ORDER BY ?ap LIMIT 1""",
    )
    return rows[0]["ap"].value


def test_english_shows_no_dutch_explanation_and_marks_the_translation(app, project_store, explained):
    sentence = dutch_sentence(project_store, explained)
    dutch = text_of(request(app, f"/doc/{path_of(explained)}").text)
    assert sentence in dutch  # the Dutch stays the default
    page = request(app, f"/doc/{path_of(explained)}?lang=en").text
    assert '<html lang="en">' in page
    assert sentence not in text_of(page)
    assert TRANSLATION_NOTE in page and 'href="/graph/translations?lang=en"' in page
    assert 'class="translation-mark"' in page  # each translated block is marked


def test_english_says_so_where_there_is_no_translation(project_store, explained):
    """Without the English explanation (removed from a copy), the English page says so rather than show Dutch."""
    store = ox.Store()
    store.extend(project_store)
    entry = ox.NamedNode(latest_entry(store, explained))
    english = list(store.quads_for_pattern(entry, ox.NamedNode(BASE + "def#explanation"), None, None))
    for quad in english:
        if quad.object.language == "en":
            store.remove(quad)
    sentence = dutch_sentence(store, explained)
    page = request(app_for(store), f"/doc/{path_of(explained)}?lang=en").text
    explanation = page.split('id="explanation-')[1].split("</h3>", 1)[1].split("<h")[0]
    assert "No English translation of this text yet" in explanation
    assert sentence not in text_of(page)


def test_english_pages_of_framework_elements_and_search_show_no_dutch_wording(app, project_store):
    """The Dutch label of a principle is not a name: an English page leaves it out."""
    page = request(app, "/doc/ungp-principle/1?lang=en").text
    assert dutch(project_store, ID + "ungp-principle/1", "skos:prefLabel") not in text_of(page)

    # Search in English finds the Dutch names (of ministries) but not the Dutch wording of the report.
    def kinds(lang: str) -> set[str]:
        page = request(app, f"/search?q=ministerie&lang={lang}").text
        return set(re.findall(r'<div class="result-title"><a href="/doc/([^/"]+)/', page))

    assert "status-assessment" in kinds("nl") and "organisation" in kinds("nl")
    # A link record matches by its citation, a register's URL (.../rwc_ministeries_compleet): no Dutch wording.
    assert kinds("en") and kinds("en") <= {
        "link",
        "organisation",
        "legal-instrument",
        "document",
        "programme",
        "event",
        "action-plan",
        "report",
    }
