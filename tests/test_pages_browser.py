"""The pages for people in a real headless Chromium (Debian's, never a downloaded one), against a real server:
follow an action point's IRI, its links to the responsible ministry and to a legal instrument, read the
headings; open its query in the editor; check that a phone gets no sideways scrolling and print no menu."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from browser import browser, require, server  # noqa: F401 (fixtures)

require()
from playwright.sync_api import expect  # noqa: E402 (after the skip)

TIMEOUT = 30_000  # ms


@pytest.fixture
def page(browser, server):
    """A fresh context; requests to any other host are refused and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT)
    foreign, errors = [], []

    def local(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"

    context.route(lambda url: not local(url), lambda route: (foreign.append(route.request.url), route.abort()))
    p = context.new_page()
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.foreign, p.errors = foreign, errors
    yield p
    context.close()


def test_follow_an_action_point_to_its_ministry_and_its_law(page, server):
    response = page.goto(server.url + "/id/action-point/nap-2022-02")
    assert response.status == 200
    assert page.url == server.url + "/doc/action-point/nap-2022-02"  # the 303 was followed
    assert page.locator("html").get_attribute("lang") == "nl"
    expect(page.get_by_role("heading", level=1)).to_have_text("Modernisering artikel 273f van Wetboek van Strafrecht")
    breadcrumbs = page.get_by_role("navigation", name="Kruimelpad")
    expect(breadcrumbs.get_by_role("link")).to_have_text(["Actiepunten", "Pijler 1", "Thema 01"])
    expect(page.get_by_role("heading", name="Verantwoordelijkheid")).to_be_visible()
    expect(page.get_by_role("heading", name="Stand van zaken per voortgangsrapportage")).to_be_visible()

    # The coordinating ministry.
    page.get_by_role("table").get_by_role("link", name="Ministerie van Justitie en Veiligheid").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ministerie van Justitie en Veiligheid")
    assert page.url.endswith("/doc/organisation/jenv")
    expect(page.get_by_role("heading", name="Verantwoordelijk voor")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Modernisering artikel 273f"))).to_be_visible()

    # Back, then the article of the Criminal Code it mentions, then the code itself.
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modernisering artikel 273f van Wetboek van Strafrecht")
    # Named in more than one column of the report: the first link will do.
    page.get_by_role("link", name="Artikel 273f van het Wetboek van Strafrecht", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Artikel 273f van het Wetboek van Strafrecht")
    expect(page.get_by_role("heading", name="Genoemd in actiepunten")).to_be_visible()
    wetten = page.get_by_role("link", name=re.compile(r"wetten\.overheid\.nl"))
    assert wetten.first.get_attribute("href") == "https://wetten.overheid.nl/jci1.3:c:BWBR0001854&artikel=273f"
    page.locator("main").get_by_role("link", name="Wetboek van Strafrecht", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wetboek van Strafrecht")
    assert not page.errors, page.errors
    assert not page.foreign, page.foreign


def test_language_switch_and_footnotes(page, server):
    page.goto(server.url + "/doc/action-point/nap-2022-10")
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", level=2, name="Status in each progress report")).to_be_visible()
    # A footnote marker jumps to its footnote.
    page.locator("sup.fnref a").first.click()
    assert page.url.endswith("#fn-2024-1")
    expect(page.locator("li#fn-2024-1")).to_contain_text("(overheid.nl)")
    # The menu keeps the language.
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Action points").click()
    assert page.url.endswith("/doc?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Action points of the NAP on Business and Human Rights")


def test_search_from_the_header(page, server):
    page.goto(server.url + "/doc/organisation/szw")
    page.get_by_role("search").get_by_role("searchbox").fill("geinformeerd")
    page.get_by_role("search").get_by_role("button", name="Zoeken").click()
    expect(page.locator("mark").first).to_have_text("geïnformeerd")
    first = page.locator(".results .result-title a").first
    title = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("main")).to_contain_text("geïnformeerd")


def test_query_this_opens_the_editor_with_the_query(page, server):
    page.goto(server.url + "/doc/organisation/szw")
    page.get_by_role("link", name="Bevraag dit in de zoekvraageditor").click()
    page.wait_for_selector("html[data-editor=ready]")
    query = page.evaluate("() => window.napEditor.yasgui.getTab().getYasqe().getValue()")
    assert "<https://w3id.org/nap-bhr/id/organisation/szw>" in query
    page.evaluate("() => window.napEditor.yasgui.getTab().getYasqe().query()")
    rows = page.locator(".tabPanel.active .yasr table.dataTable tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 5
    expect(page.locator(".tabPanel.active .yasr")).to_contain_text("Sociale Zaken")


def test_phone_width_needs_no_sideways_scrolling(browser, server):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        for path in (
            "/doc/action-point/nap-2022-02",
            "/doc/organisation/szw",
            "/doc",
            "/doc/theme/scheme",
            "/doc/report/2024",
            "/search?q=imvo",
        ):
            page.goto(server.url + path)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    finally:
        context.close()


def test_print_shows_the_content_without_the_menu(page, server):
    page.goto(server.url + "/doc/action-point/nap-2022-02")
    page.emulate_media(media="print")
    assert page.locator(".site-nav").is_hidden()
    assert page.locator(".formats").is_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 10_000
