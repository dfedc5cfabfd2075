"""The linked-data web: IRIs that resolve, pages for people, search.

- /id/{type}/{ref}: the IRI of a thing; 303 See Other to /doc/{type}/{ref} (suffixes and the query string kept).
  A renamed IRI (owl:deprecated, dct:isReplacedBy) answers 301 Moved Permanently, from /id and /doc alike.
- /doc/{type}/{ref}: what we know about it, as HTML, Turtle, JSON-LD, N-Triples or RDF/XML, by Accept
  (q-values) or by suffix (.html, .ttl, .jsonld, .nt, .rdf).
- /doc: the index (the action points by pillar and theme, the registries); /doc/{type}: one registry.
- /graph/{name}: a named graph: its counts for a browser, its triples for an RDF client.
- /search?q=: labels and texts, ignoring case and accents.

The canonical base (namespaces.BASE) maps onto this server's root: a local or mirrored server serves the same
paths, the data keeps its canonical IRIs, and the links in pages are local paths. Pages read the server's own
store (Context.store) through pages.Site, which asks it for what a page shows when the page is asked for.
"""

from __future__ import annotations

import difflib
import hashlib
from typing import Any

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from ..endpoint import graphstore
from ..endpoint.context import Context
from ..endpoint.negotiation import HTML, Page, accepts_error_page, page_or_rdf
from ..endpoint.protocol import matches, weak_etag
from ..endpoint.rdfmedia import RDF_MEDIA
from ..graph.namespaces import DCT, GRAPH, NAP, PROV, RDFS, SKOS
from ..sparql.results import Term
from .pages import (
    REGISTRIES,
    SUFFIXES,
    TYPE,
    APItem,
    Crumb,
    Site,
    Value,
    editor_link,
    is_name,
    local_path,
    resource_query,
    split_thing,
    with_lang,
    word,
)
from .search import SearchIndex
from .templating import page_lang, render


class Web:
    def __init__(self, context: Context):
        self.context = context
        self.site = Site(context.store)
        self.index = SearchIndex(self.site)

    # --- responses -----------------------------------------------------------------------------------

    def etag(self, request: Request, media: str) -> str:
        key = f"{self.context.fingerprint}|{request.url.path}|{request.url.query}|{media}"
        return weak_etag(hashlib.sha256(key.encode()).hexdigest())

    def fresh(self, request: Request, etag: str) -> bool:
        return matches(etag.encode(), request.headers.get("if-none-match", "").encode("latin-1") or None)

    def html(
        self, request: Request, template: str, status: int = 200, vary: bool = False, **context: object
    ) -> Response:
        lang = page_lang(request)
        headers = {"Content-Language": lang}
        if vary:
            headers["Vary"] = "Accept"
        if status == 200:
            etag = self.etag(request, HTML)
            headers["ETag"] = etag
            if self.fresh(request, etag):
                return Response(status_code=304, headers=headers)
        return HTMLResponse(render(template, request, lang, **context), status_code=status, headers=headers)

    def not_found(self, request: Request, kind: str | None = None, ref: str | None = None) -> Response:
        lang = page_lang(request)
        suggestions: list[Value] = []
        if kind in self.site.things and ref:
            members = {parts[1]: n for n in self.site.members(kind) if (parts := split_thing(n.value))}
            for close in difflib.get_close_matches(ref.lower(), [r.lower() for r in members], n=5, cutoff=0.5):
                original = next(r for r in members if r.lower() == close)
                suggestions.append(self.site.link(members[original], lang))
        words = " ".join(part for part in [ref or ""] if part).replace("-", " ").strip()
        if words and len(suggestions) < 8:
            for hit in self.index.search(words, lang)[: 8 - len(suggestions)]:
                value = self.site.link(hit.node, lang)
                if value.href not in {s.href for s in suggestions}:
                    suggestions.append(value)
        registry = (
            Value(self.site.registry_name(kind, lang), with_lang(f"/doc/{kind}", lang))
            if kind in self.site.things
            else None
        )
        if not accepts_error_page(request.headers.get("accept")):
            # A linked-data client that asked for RDF: the same answer without the page around it.
            lines = [f"Nothing is published at {request.url.path}."]
            if suggestions:
                lines += ["Did you mean:"] + [f"  {s.iri or s.href}  {s.text}" for s in suggestions]
            if registry is not None:
                lines.append(f"Everything of this kind: {registry.href}")
            return PlainTextResponse("\n".join(lines) + "\n", status_code=404, headers={"Vary": "Accept"})
        return self.html(
            request,
            "not_found.html",
            status=404,
            suggestions=suggestions,
            registry=registry,
            path=request.url.path,
            q=words,
        )

    # --- /id -> /doc -----------------------------------------------------------------------------------

    def moved(self, request: Request, node: ox.NamedNode, prefix: str, suffix: str | None) -> Response | None:
        """301 Moved Permanently for a renamed IRI (owl:deprecated true, dct:isReplacedBy X): to the same kind of
        path for X (/id to /id, /doc to /doc), suffix and query string kept, so old links and data still work."""
        target = self.site.replaced_by(node)
        parts = split_thing(target.value) if isinstance(target, ox.NamedNode) else None
        if parts is None:
            return None
        location = f"/{prefix}/{parts[0]}/{parts[1]}" + (f".{suffix}" if suffix else "")
        if request.url.query:
            location += "?" + request.url.query
        return RedirectResponse(location, status_code=301)

    def see_other(self, request: Request, kind: str, ref: str) -> Response:
        base, suffix = split_suffix(ref)
        node = self.site.node(kind, base)
        if node is None:
            return self.not_found(request, kind, base)
        moved = self.moved(request, node, "id", suffix)
        if moved is not None:
            return moved
        target = f"/doc/{kind}/{ref}"
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(target, status_code=303, headers={"Vary": "Accept"})

    # --- /doc/{type}/{ref} -----------------------------------------------------------------------------

    def document(self, request: Request, kind: str, ref: str) -> Response:
        base, suffix = split_suffix(ref)
        node = self.site.node(kind, base)
        if node is None:
            return self.not_found(request, kind, base)
        moved = self.moved(request, node, "doc", suffix)
        if moved is not None:
            return moved
        chosen = self.negotiate(request, suffix)
        if isinstance(chosen, Response):
            return chosen
        media, vary = chosen
        if media == HTML:
            response = self.resource_page(request, node)
            if vary:
                response.headers["Vary"] = "Accept"
                response.headers["Content-Location"] = f"/doc/{kind}/{base}.html"
            return response
        headers = {"Link": f'<{node.value}>; rel="describes"'}
        if vary:
            headers["Vary"] = "Accept"
            headers["Content-Location"] = f"/doc/{kind}/{base}.{RDF_MEDIA[media].suffix}"
        etag = self.etag(request, media)
        headers["ETag"] = etag
        if self.fresh(request, etag):
            return Response(status_code=304, headers=headers)
        body = self.site.serialize(self.site.describe(node), media)
        content_type = media + ("; charset=utf-8" if media != "application/ld+json" else "")
        return Response(body, media_type=content_type, headers=headers)

    def negotiate(self, request: Request, suffix: str | None) -> tuple[str, bool] | Response:
        """(media type, whether it was negotiated) for a page or its data: by suffix, format= or Accept; 406
        when none of its forms will do."""
        if suffix:
            return SUFFIXES[suffix], False
        wanted = request.query_params.get("format")  # one value: the last
        media = page_or_rdf(request.headers.get("accept"), [wanted] if wanted else None, RDF_MEDIA, Page.FIRST)
        if media is None:
            return PlainTextResponse(
                "Not acceptable. This resource is available as: " + ", ".join([HTML, *RDF_MEDIA]) + "\n",
                status_code=406,
                headers={"Vary": "Accept"},
            )
        return media, True

    def resource_page(self, request: Request, node: ox.NamedNode) -> Response:
        site, lang = self.site, page_lang(request)
        parts = split_thing(node.value)
        assert parts is not None, "a page's node is one of Site.things"
        kind, ref = parts
        title, title_lang = site.label_lang(node, lang)
        labels = site.labels(node)
        other = [
            (code, text)
            for code, text in labels.items()
            if code
            and code != title_lang
            and text != title
            and (lang != "en" or code != "nl" or is_name(node.value, SKOS + "prefLabel"))
        ]
        types = sorted(
            (site.link(t, lang) for t in site.specific_types(site.objects(node, TYPE))),
            key=lambda v: v.text,
        )
        view: dict[str, Any] = {
            "kind": kind,
            "ref": ref,
            "iri": node.value,
            "title": title,
            "title_lang": title_lang,
            "title_unofficial": site.translated(node, ox.Literal(title, language=title_lang or "nl")),
            "other_labels": other,
            "types": types,
            "crumbs": site.crumbs(node, lang),
        }
        # What a report entry names is shown by column on the entry's and its action point's pages.
        mention_props = set(site.mention_properties)
        skip_out: set[str] = set()
        skip_in = set(mention_props)
        special = getattr(self, "view_" + kind.replace("-", "_"), None)
        if ref == "scheme":
            special = self.view_scheme
        if special:
            special(node, lang, view, skip_out, skip_in)
        if "aps_mentioning" not in view and kind not in ("action-point",):
            mentioning = [site.ap_of(s) for s in site.subjects(NAP + "mentions", node)]
            if any(ap is not None for ap in mentioning):
                view["aps_mentioning"] = site.ap_items([ap for ap in mentioning if ap is not None], lang)
        if not view.get("kicker"):
            view["kicker"] = self.kicker(node, lang)
        view["groups"] = site.groups(node, lang, skip_out | mention_props)
        view["referenced_by"] = site.referenced_by(node, lang, skip_in)
        view["parts"] = [
            {
                "anchor": part.value.partition("#")[2],
                "title": site.label(part, lang),
                "iri": part.value,
                "groups": site.groups(part, lang),
            }
            for part in site.hash_parts.get(node, ())
        ]
        view["formats"] = [(f.name, f"/doc/{kind}/{ref}.{f.suffix}", m) for m, f in RDF_MEDIA.items()]
        view["query_href"] = editor_link(resource_query(node.value))
        view["graphs"] = [
            Value(site.graphs[g].name, with_lang(path, lang) if (path := local_path(g)) else None)
            for g in sorted(site.graphs_of(node))
            if g in site.graphs
        ]
        return self.html(request, "resource.html", view=view, active="doc")

    def kicker(self, node: Term, lang: str) -> str:
        """What the thing is, above its title: the labels of its classes in our model, most specific first."""
        site = self.site
        ours = [t for t in site.objects(node, TYPE) if isinstance(t, ox.NamedNode) and t.value.startswith(NAP)]
        # A class that is a superclass of another of its classes says less: leave it out.
        supers = {s for t in ours for s in site.objects(t, RDFS + "subClassOf")}
        names = [site.label(t, lang) for t in ours if t not in supers] or [site.label(t, lang) for t in ours]
        kind = site.first(node, NAP + "instrumentType")
        if kind is not None:
            names.append(site.label(kind, lang))
        text = " · ".join(dict.fromkeys(n[:1].upper() + n[1:] for n in names))
        return text

    # --- the kinds of pages --------------------------------------------------------------------------------

    def view_action_point(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        site = self.site
        number = site.notation(node) or view["ref"]
        view["kicker"] = f"{word('action_point', lang)} {number}"
        title = site.ap_title(node, lang)
        if title is not None:
            view["title"], view["title_lang"], view["title_unofficial"] = title.text, title.lang, title.unofficial
        view["other_labels"] = []  # "Actiepunt 07" is the kicker already
        view["crumb"] = site.label(node, lang)
        entries = [site.entry(sa, lang) for sa in site.entries(node) if isinstance(sa, ox.NamedNode)]  # IRIs (shapes)

        def linked(prop: str) -> Value | None:
            value = site.first(node, prop)
            return site.link(value, lang) if value is not None else None

        view["ap"] = {
            "number": number,
            "pillar": linked(NAP + "pillar"),
            "theme": linked(NAP + "theme"),
            "plan": linked(DCT + "isPartOf"),
            "status": entries[-1].status if entries else None,
            "year": entries[-1].year if entries else "",
            "entries": entries[::-1],  # the latest report first
            "frameworks": site.framework_links(node, lang),
            "relations": site.instrument_relations(node, lang),
        }
        skip_out |= {NAP + "theme", NAP + "pillar", SKOS + "notation", DCT + "isPartOf", RDFS + "label"}
        skip_in |= {NAP + "assessedActionPoint", NAP + "actionPoint"}

    def view_status_assessment(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        site = self.site
        ap = site.first(node, NAP + "assessedActionPoint")
        view["entry"] = site.entry(node, lang)
        view["assessed"] = site.ap_item(ap, lang) if isinstance(ap, ox.NamedNode) else None
        skip_out |= {
            DCT + "title",
            NAP + "objective",
            NAP + "responsibilityText",
            NAP + "responsibility",
            NAP + "timelineText",
            NAP + "startYear",
            NAP + "endYear",
            NAP + "explanation",
            NAP + "footnote",
            NAP + "status",
            NAP + "inReport",
            NAP + "assessedActionPoint",
        }

    def view_organisation(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        site = self.site
        rows: list[dict[str, Any]] = []
        for resp in site.subjects(PROV + "agent", node):
            for entry in site.subjects(NAP + "responsibility", resp):
                ap = site.ap_of(entry)
                if ap is None:
                    continue
                role = site.first(resp, PROV + "hadRole")
                rows.append(
                    {
                        "ap": site.ap_item(ap, lang),
                        "role": site.link(role, lang) if role is not None else None,
                        "scope": site.shown(resp, NAP + "scope", lang),
                        "page": site.link(resp, lang),
                    }
                )
        rows.sort(key=lambda r: r["ap"].number)
        view["responsible_for"] = rows
        alt = [a for a in site.texts(node, SKOS + "altLabel").values() if len(a) <= 12]
        view["kicker"] = " · ".join([self.kicker(node, lang), *sorted(set(alt))])
        skip_in |= {PROV + "agent"}

    def view_legal_instrument(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        view["instrument_relations"] = self.site.instrument_relations(node, lang)
        skip_in |= {NAP + "instrument"}

    def ap_section(self, node: ox.NamedNode, lang: str, view: dict[str, Any], prop: str) -> None:
        view["aps"] = self.site.ap_items(self.site.subjects(prop, node), lang)

    def view_theme(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        self.ap_section(node, lang, view, NAP + "theme")
        view["kicker"] = f"{word('theme', lang)} {self.site.notation(node)}"
        skip_in |= {NAP + "theme"}

    def view_framework_element(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        """A UNGP principle or section, an OECD chapter, a due diligence step: the action points linked to it
        (with the basis of each link and their status), what it falls under, and what falls under it."""
        site = self.site
        view["linked"] = site.linked_action_points(node, lang)
        view["broader"] = [(self.kicker(b, lang), site.link(b, lang)) for b in site.broader(node)]
        view["narrower"] = [site.link(n, lang) for n in site.narrower(node)]
        skip_out |= {SKOS + "broader", NAP + "pillar"}
        skip_in |= {SKOS + "broader", NAP + "frameworkElement"}

    view_ungp_principle = view_ungp_section = view_oecd_chapter = view_due_diligence_step = view_framework_element

    def view_ungp_pillar(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        site = self.site
        view["kicker"] = f"{word('pillar', lang)} {site.notation(node)}"
        themes = [
            s
            for s in site.subjects(NAP + "pillar", node)
            if isinstance(s, ox.NamedNode) and (split_thing(s.value) or ("",))[0] == "theme"
        ]
        view["themes"] = [
            (site.link(t, lang), site.notation(t), site.ap_items(site.subjects(NAP + "theme", t), lang))
            for t in sorted(themes, key=lambda t: site.sort_key(t.value))
        ]
        rest = {
            s
            for s in site.subjects(NAP + "pillar", node) + site.narrower(node)
            if isinstance(s, ox.NamedNode)
            and (parts := split_thing(s.value))
            and parts[0] not in ("theme", "action-point")
        }
        view["in_pillar"] = sorted((site.link(s, lang) for s in rest), key=lambda v: site.sort_key(v.iri))
        skip_in |= {NAP + "pillar", SKOS + "broader"}

    def view_status(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        site = self.site
        rows: list[dict[str, Any]] = []
        for sa in site.subjects(NAP + "status", node):
            ap = site.first(sa, NAP + "assessedActionPoint")
            report = site.first(sa, NAP + "inReport")
            if isinstance(ap, ox.NamedNode):
                rows.append(
                    {
                        "ap": site.ap_item(ap, lang),
                        "report": site.link(report, lang) if report is not None else None,
                        "page": site.link(sa, lang),
                    }
                )
        view["with_status"] = sorted(rows, key=lambda r: r["ap"].number)
        skip_in |= {NAP + "status"}

    def view_role(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        site = self.site
        rows: list[dict[str, Any]] = []
        for resp in site.subjects(PROV + "hadRole", node):
            agent = site.first(resp, PROV + "agent")
            for entry in site.subjects(NAP + "responsibility", resp):
                ap = site.ap_of(entry)
                if ap is None:
                    continue
                rows.append(
                    {
                        "ap": site.ap_item(ap, lang),
                        "organisation": site.link(agent, lang) if agent is not None else None,
                        "scope": site.shown(resp, NAP + "scope", lang),
                    }
                )
        view["with_role"] = sorted(
            rows, key=lambda r: (r["ap"].number, r["organisation"].text if r["organisation"] else "")
        )
        skip_in |= {PROV + "hadRole"}

    def view_report(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        site = self.site
        rows: list[dict[str, Any]] = []
        for sa in site.subjects(NAP + "inReport", node):
            ap = site.first(sa, NAP + "assessedActionPoint")
            status = site.first(sa, NAP + "status")
            if isinstance(ap, ox.NamedNode):
                rows.append(
                    {
                        "ap": site.ap_item(ap, lang),
                        "status": site.link(status, lang) if status is not None else None,
                        "page": site.link(sa, lang),
                    }
                )
        view["report_rows"] = sorted(rows, key=lambda r: r["ap"].number)
        skip_in |= {NAP + "inReport"}

    def view_action_plan(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        self.ap_section(node, lang, view, DCT + "isPartOf")
        skip_in |= {DCT + "isPartOf"}

    def view_scheme(
        self, node: ox.NamedNode, lang: str, view: dict[str, Any], skip_out: set[str], skip_in: set[str]
    ) -> None:
        site = self.site
        concepts = set(site.subjects(SKOS + "inScheme", node)) | set(site.objects(node, SKOS + "hasTopConcept"))
        rows = []
        iris = [c for c in concepts if isinstance(c, ox.NamedNode)]  # concepts are IRIs
        for concept in sorted(iris, key=lambda c: site.sort_key(c.value)):
            definition = site.shown(concept, SKOS + "definition", lang)
            members: set[Term | None] = {
                ap
                for p in (NAP + "theme", NAP + "pillar")
                for ap in site.subjects(p, concept)
                if isinstance(ap, ox.NamedNode) and (split_thing(ap.value) or ("",))[0] == "action-point"
            }
            members |= {
                site.first(link, NAP + "actionPoint") for link in site.subjects(NAP + "frameworkElement", concept)
            }
            members.discard(None)
            rows.append(
                {
                    "concept": site.link(concept, lang),
                    "notation": site.notation(concept),
                    "definition": definition,
                    "count": len(members),
                }
            )
        view["concepts"] = rows
        view["concepts_counted"] = any(r["count"] for r in rows)
        skip_in |= {SKOS + "inScheme", SKOS + "topConceptOf"}
        skip_out |= {SKOS + "hasTopConcept"}

    # --- index, registries, graphs, search -------------------------------------------------------------------

    def home(self, request: Request) -> Response:
        site, lang = self.site, page_lang(request)
        pillars = []
        placed = set()
        for pillar in sorted(site.members("ungp-pillar"), key=lambda n: site.sort_key(n.value)):
            themes = [
                s
                for s in site.subjects(NAP + "pillar", pillar)
                if isinstance(s, ox.NamedNode) and (split_thing(s.value) or ("",))[0] == "theme"
            ]
            rows = []
            for theme in sorted(themes, key=lambda t: site.sort_key(t.value)):
                aps = site.subjects(NAP + "theme", theme)
                placed |= set(aps)
                rows.append((site.link(theme, lang), site.notation(theme), site.ap_items(aps, lang)))
            pillars.append((site.link(pillar, lang), site.notation(pillar), rows))
        unplaced = site.ap_items([ap for ap in site.action_points() if ap not in placed], lang)
        registries = []
        for kind in REGISTRIES:
            if kind not in site.things:
                continue
            members = site.members(kind)
            scheme = site.things[kind].get("scheme")
            registries.append(
                {
                    "name": site.registry_name(kind, lang),
                    "href": with_lang(f"/doc/{kind}", lang),
                    "count": len(members),
                    "scheme": site.link(scheme, lang) if scheme is not None else None,
                }
            )
        plan = site.node("action-plan", "nap-2022")
        report = max(site.things.get("report", {}).values(), key=lambda r: site.year_of(r), default=None)
        intro = site.shown(plan, DCT + "description", lang) if plan is not None else None
        return self.html(
            request,
            "doc_index.html",
            pillars=pillars,
            unplaced=unplaced,
            registries=registries,
            graphs=self.graph_list(lang),
            intro=intro,
            plan=site.link(plan, lang) if plan is not None else None,
            report=site.link(report, lang) if report is not None else None,
            active="doc",
        )

    def graph_list(self, lang: str) -> list[dict[str, Any]]:
        return [
            {"link": Value(g.name, with_lang(path, lang)), "iri": g.iri, "triples": g.triples}
            for g in sorted(self.site.graphs.values(), key=lambda g: g.iri)
            if (path := local_path(g.iri))
        ]

    def registry(self, request: Request, kind: str) -> Response:
        site, lang = self.site, page_lang(request)
        if kind not in site.things:
            return self.not_found(request, kind)
        nodes = site.members(kind)
        scheme = site.things[kind].get("scheme")
        items: list[dict[str, Any]] = []
        aps: list[APItem] = []
        if kind == "action-point":
            aps = site.ap_items(nodes, lang)
        else:
            for n in nodes:
                value = site.link(n, lang)
                alts = site.texts(n, SKOS + "altLabel")
                # An abbreviation (SZW) is a name; "Pijler 1" is Dutch wording an English page leaves out.
                alt = alts.get("nl") if lang != "en" or is_name(n.value, SKOS + "altLabel") else alts.get("en")
                items.append(
                    {"link": value, "notation": site.notation(n), "alt": alt if alt and alt != value.text else None}
                )
            ordered = kind in (
                "theme",
                "ungp-pillar",
                "ungp-section",
                "ungp-principle",
                "oecd-chapter",
                "due-diligence-step",
                "status-assessment",
                "footnote",
                "report",
                "framework-link",
                "instrument-relation",
                "report-column",
            )
            items.sort(key=lambda i: site.sort_key(i["link"].iri) if ordered else i["link"].text.lower())
        return self.html(
            request,
            "registry.html",
            kind=kind,
            name=site.registry_name(kind, lang),
            items=items,
            aps=aps,
            scheme=site.link(scheme, lang) if scheme is not None else None,
            active="doc",
            crumbs=[Crumb(word("home", lang), with_lang("/doc", lang))],
        )

    async def graph(self, request: Request, name: str) -> Response:
        """A named graph's IRI: a page with its counts for a browser, its triples for an RDF client."""
        site, lang = self.site, page_lang(request)
        base, suffix = split_suffix(name)
        graph = site.graphs.get(GRAPH + base)
        if graph is None:
            return self.not_found(request)
        chosen = self.negotiate(request, suffix)
        if isinstance(chosen, Response):
            return chosen
        media, vary = chosen
        if media != HTML:  # the graph itself, as the graph store gives it
            headers = {"Vary": "Accept", "Content-Location": f"/graph/{base}.{RDF_MEDIA[media].suffix}"} if vary else {}
            return await graphstore.respond(self.context, request, "graph", graph.iri, media, headers)
        details = site.graph_details(graph.iri)
        classes = sorted(
            ((site.link(ox.NamedNode(c), lang), count) for c, count in details.classes.items()),
            key=lambda r: (-r[1], r[0].text),
        )
        query = (
            f"# The classes in the graph <{graph.iri}>\nSELECT ?class (COUNT(?s) AS ?n) WHERE {{\n"
            f"  GRAPH <{graph.iri}> {{ ?s a ?class }}\n}}\nGROUP BY ?class\nORDER BY DESC(?n)\n"
        )
        formats = [(f.name, f"/graph/{base}.{f.suffix}", m) for m, f in RDF_MEDIA.items()]
        response = self.html(
            request,
            "graph.html",
            graph=graph,
            classes=classes,
            subjects=details.subjects,
            properties=details.properties,
            query_href=editor_link(query),
            active="data",
            formats=formats,
            crumbs=[Crumb(word("home", lang), with_lang("/doc", lang))],
        )
        if vary:
            response.headers["Vary"] = "Accept"
            response.headers["Content-Location"] = f"/graph/{base}.html"
        return response

    def search(self, request: Request) -> Response:
        site, lang = self.site, page_lang(request)
        q = request.query_params.get("q", "")[:200]
        results = []
        for hit in self.index.search(q, lang) if q.strip() else []:
            parts = split_thing(hit.node.value)
            assert parts is not None, "the index holds our things only (Site.local)"
            kind = parts[0]
            owner = site.ap_of(hit.node) if kind != "action-point" else None
            context = site.link(owner, lang) if owner is not None else None
            results.append(
                {
                    "link": site.link(hit.node, lang),
                    "kind": self.kicker(hit.node, lang) or site.registry_name(kind, lang),
                    "prop": site.prop_value(hit.prop, lang).text,
                    "before": hit.before,
                    "match": hit.match,
                    "after": hit.after,
                    "lang": hit.lang,
                    "context": context,
                }
            )
        return self.html(request, "search.html", q=q, results=results, searched=bool(q.strip()), active="search")


def split_suffix(ref: str) -> tuple[str, str | None]:
    base, dot, suffix = ref.rpartition(".")
    if dot and suffix in SUFFIXES and base:
        return base, suffix
    return ref, None


class WebRouter(APIRouter):
    """The routes of the linked-data web, with the Web that serves them (app.py answers a 404 with its page)."""

    web: Web


def make_router(context: Context) -> WebRouter:
    web = Web(context)
    router = WebRouter()
    methods = ["GET", "HEAD"]

    async def doc_index(request: Request) -> Response:
        return web.home(request)

    async def doc_slash(request: Request) -> RedirectResponse:
        return RedirectResponse("/doc" + (f"?{request.url.query}" if request.url.query else ""), status_code=301)

    async def registry(request: Request, kind: str) -> Response:
        return web.registry(request, kind)

    async def document(request: Request, kind: str, ref: str) -> Response:
        return web.document(request, kind, ref)

    async def identifier(request: Request, kind: str, ref: str) -> Response:
        return web.see_other(request, kind, ref)

    async def id_registry(request: Request, kind: str) -> Response:
        if kind not in web.site.things:
            return web.not_found(request, kind)
        return RedirectResponse(f"/doc/{kind}", status_code=303)

    async def id_root(request: Request) -> RedirectResponse:
        return RedirectResponse("/doc", status_code=303)

    async def graph(request: Request, name: str) -> Response:
        return await web.graph(request, name)

    async def search(request: Request) -> Response:
        return web.search(request)

    router.add_api_route("/doc", doc_index, methods=methods, include_in_schema=False)
    router.add_api_route("/doc/", doc_slash, methods=methods, include_in_schema=False)
    router.add_api_route("/doc/{kind}", registry, methods=methods, include_in_schema=False)
    router.add_api_route("/doc/{kind}/{ref}", document, methods=methods, include_in_schema=False)
    router.add_api_route("/id", id_root, methods=methods, include_in_schema=False)
    router.add_api_route("/id/{kind}", id_registry, methods=methods, include_in_schema=False)
    router.add_api_route("/id/{kind}/{ref}", identifier, methods=methods, include_in_schema=False)
    router.add_api_route("/graph/{name}", graph, methods=methods, include_in_schema=False)

    async def unknown(request: Request, rest: str) -> Response:
        return web.not_found(request)

    # Anything else under our prefixes (deeper paths, empty segments): the same 404 page.
    for prefix in ("/id", "/doc", "/graph"):
        router.add_api_route(prefix + "/{rest:path}", unknown, methods=methods, include_in_schema=False)
    router.add_api_route("/search", search, methods=methods, include_in_schema=False)
    router.web = web  # for app.py's 404 of any other path
    return router
