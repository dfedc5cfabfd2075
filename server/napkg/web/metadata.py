"""The graph as a dataset: its DCAT description, its downloads and its VoID statistics.

* /download/ lists the dumps with the DCAT description of data/dataset.ttl (HTML for a browser; the
  description itself as RDF for any other client);
* /download/{nap.ttl,nap.nt,nap.trig,nap.jsonld} are the dumps of the served data. They are written from
  the very store the server serves, so they exist on a fresh clone and can never be staler than the
  endpoint: the first time one of them (or the page listing their sizes) is asked for, into a folder of the
  server process's own that goes when the process ends, and served from there as files. Their canonical
  addresses are https://w3id.org/nap-bhr/download/...;
* /.well-known/void is the VoID description (RFC 5785 and the VoID note, section 7): the DCAT description
  plus counts per class, per property and per named graph, computed from the served data.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import heapq
import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import rdflib
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, PROV, RDF, RDFS, XSD

from ..endpoint.context import Context
from ..endpoint.negotiation import HTML, Page, page_or_rdf
from ..endpoint.protocol import matches, weak_etag
from ..endpoint.rdfmedia import RDF_MEDIA
from ..graph.load import DATA
from ..graph.namespaces import BASE, OVERHEID, PREFIXES, SD, VCARD, VOID
from .templating import page_lang, render

DATASET_FILE = DATA / "dataset.ttl"
DATASET = rdflib.URIRef(BASE + "id/dataset/nap-bhr")
DOWNLOAD_BASE = BASE + "download/"

#: The properties DCAT-AP-DONL 1.1 requires of a dcat:Dataset.
DONL_REQUIRED = (
    DCTERMS.identifier,
    DCTERMS.title,
    DCTERMS.description,
    DCTERMS.modified,
    DCTERMS.language,
    DCAT.theme,
    OVERHEID.authority,
    DCTERMS.publisher,
    DCAT.contactPoint,
)


@dataclass(frozen=True)
class Dump:
    name: str
    media: str
    label: str
    fmt: ox.RdfFormat
    quads: bool  # with the named graphs (TriG), or the union of the graphs as triples


DUMPS = {
    d.name: d
    for d in (
        Dump("nap.ttl", "text/turtle", "Turtle", ox.RdfFormat.TURTLE, False),
        Dump("nap.nt", "application/n-triples", "N-Triples", ox.RdfFormat.N_TRIPLES, False),
        Dump("nap.trig", "application/trig", "TriG", ox.RdfFormat.TRIG, True),
        Dump("nap.jsonld", "application/ld+json", "JSON-LD", ox.RdfFormat.JSON_LD, False),
    )
}


#: Statements sorted in memory at a time while the dumps are written; more are merged from sorted files.
SORT_CHUNK = 100_000
#: Dumps up to this size are sent in one piece (compressed as a whole, with a Content-Length); larger stream.
WHOLE = 4 * 1024 * 1024


def write_sorted_nquads(store: ox.Store, target: Path) -> None:
    """Every quad of store as N-Quads, sorted by its text: the same data gives the same file.

    A quad's line is str(quad) + " .", and sorting the lines sorts by str(quad) (the suffix cannot change
    which of two lines comes first). Memory holds SORT_CHUNK lines at most: larger stores are sorted in
    runs written beside target, then merged."""
    runs: list[Path] = []
    lines: list[str] = []

    def write(path: Path) -> None:
        lines.sort()
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            out.writelines(lines)
        lines.clear()

    for quad in store.quads_for_pattern(None, None, None, None):
        lines.append(f"{quad} .\n")
        if len(lines) >= SORT_CHUNK:
            runs.append(target.with_name(f"{target.name}.run{len(runs)}"))
            write(runs[-1])
    if not runs:
        write(target)
        return
    runs.append(target.with_name(f"{target.name}.run{len(runs)}"))
    write(runs[-1])
    with contextlib.ExitStack() as stack, open(target, "wb") as out:
        # UTF-8 bytes sort as their characters do; a line holds no newline but its last character.
        out.writelines(heapq.merge(*(stack.enter_context(open(run, "rb")) for run in runs)))
    for run in runs:
        run.unlink()


def _triples(quads: Iterable[ox.Quad]) -> Iterator[ox.Triple]:
    """The triples of sorted quads, each once: a triple's quads are next to each other."""
    previous = None
    for quad in quads:
        triple = quad.triple
        if triple != previous:
            yield triple
            previous = triple


def write_dump_files(store: ox.Store, folder: Path) -> dict[str, Path]:
    """The four dumps of everything in store, into folder: the union of its graphs, or (TriG) graph by
    graph, statements in the order of their N-Triples (N-Quads) text."""
    folder.mkdir(parents=True, exist_ok=True)
    nquads = folder / "sorted.nq"
    write_sorted_nquads(store, nquads)
    written = {}
    try:
        for dump in DUMPS.values():
            quads = ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS)
            prefixes = None if dump.fmt == ox.RdfFormat.N_TRIPLES else PREFIXES
            target = folder / dump.name
            ox.serialize(
                quads if dump.quads else _triples(quads), output=str(target), format=dump.fmt, prefixes=prefixes
            )
            written[dump.name] = target
    finally:
        nquads.unlink()
    return written


def _etag(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return weak_etag(digest.hexdigest())


def _remove(folder: Path, owner: int) -> None:
    if os.getpid() == owner:  # not a forked child's to remove
        shutil.rmtree(folder, ignore_errors=True)


class Dumps:
    """The dump files of a store, written the first time they are needed into a temporary folder of this
    process's own, which is removed when the process exits (or close() is called)."""

    def __init__(self, store: ox.Store):
        self.store = store
        self.folder: Path | None = None
        self.etags: dict[str, str] = {}
        self._lock = threading.Lock()
        self._cleanup: weakref.finalize | None = None

    def present(self) -> bool:
        folder = self.folder
        return folder is not None and all((folder / name).is_file() for name in DUMPS)

    def ready(self) -> Path:
        """The folder with the four dumps, written now if they are not yet (blocks: call it in a thread).
        Written again if they went (a cleaner of /tmp may remove the files of a server that runs for weeks)."""
        with self._lock:
            if not self.present():
                if self._cleanup is not None:
                    self._cleanup()
                folder = Path(tempfile.mkdtemp(prefix="napkg-dumps-"))
                cleanup = weakref.finalize(self, _remove, folder, os.getpid())
                try:
                    paths = write_dump_files(self.store, folder)
                except BaseException:
                    cleanup()
                    raise
                self.etags = {name: _etag(path) for name, path in paths.items()}
                self._cleanup, self.folder = cleanup, folder
            assert self.folder is not None, "present, or written just now"
            return self.folder

    def size(self, name: str) -> int:
        return (self.ready() / name).stat().st_size

    def close(self) -> None:
        with self._lock:
            if self._cleanup is not None:
                self._cleanup()
            self._cleanup, self.folder, self.etags = None, None, {}


class DumpResponse(FileResponse):
    """A dump file. One up to WHOLE bytes goes in one piece, as when the dumps were bodies in memory (so the
    compression middleware compresses it whole and gives its Content-Length); a larger one streams."""

    def __init__(self, path: Path, size: int, **options: Any):
        super().__init__(path, **options)
        if size <= WHOLE:
            self.chunk_size = size + 1  # read at once, and the read says it was the last


@functools.cache
def description() -> rdflib.Graph:
    """data/dataset.ttl: the DCAT description of the NAP graph."""
    graph = rdflib.Graph()
    graph.parse(DATASET_FILE, format="turtle")
    for prefix, ns in {**PREFIXES, "overheid": str(OVERHEID), "vcard": str(VCARD)}.items():
        graph.bind(prefix, ns, override=True, replace=True)
    return graph


# --- VoID --------------------------------------------------------------------------------------------

ALL_TRIPLES = "{ { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"


def _rows(store: ox.Store, query: str) -> list[dict]:
    result = store.query(query, use_default_graph_as_union=False)
    assert isinstance(result, ox.QuerySolutions), "a SELECT query"
    names = [v.value for v in result.variables]
    return [{n: s[n] for n in names} for s in result]


def _int(term: ox.Literal | None) -> int:
    return int(term.value) if term is not None else 0


def statistics(store: ox.Store) -> dict:
    """Counts of the served data, every triple counted once however many graphs hold it."""
    distinct = f"SELECT DISTINCT ?s ?p ?o WHERE {ALL_TRIPLES}"
    totals = _rows(
        store,
        "SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects) "
        "(COUNT(DISTINCT ?o) AS ?objects) (COUNT(DISTINCT ?p) AS ?properties) "
        f"WHERE {{ {{ {distinct} }} }}",
    )[0]
    classes = _rows(
        store,
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { { ?s a ?c } UNION { GRAPH ?g { ?s a ?c } } } "
        "GROUP BY ?c ORDER BY ?c",
    )
    properties = _rows(
        store,
        f"SELECT ?p (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?subjects) "
        f"(COUNT(DISTINCT ?o) AS ?objects) WHERE {{ {{ {distinct} }} }} GROUP BY ?p ORDER BY ?p",
    )
    graphs = _rows(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g")
    default = _int(_rows(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"])
    return {
        "triples": _int(totals["triples"]),
        "subjects": _int(totals["subjects"]),
        "objects": _int(totals["objects"]),
        "properties": {r["p"].value: (_int(r["n"]), _int(r["subjects"]), _int(r["objects"])) for r in properties},
        "classes": {r["c"].value: _int(r["n"]) for r in classes if isinstance(r["c"], ox.NamedNode)},
        "graphs": {r["g"].value: _int(r["n"]) for r in graphs},
        "default_graph": default,
    }


def void_graph(stats: dict, *, nap: bool, endpoint: str, void_iri: str) -> rdflib.Graph:
    g = rdflib.Graph()
    for prefix, ns in {**PREFIXES, "sd": str(SD)}.items():
        g.bind(prefix, ns, override=True, replace=True)
    if nap:
        g += description()
        for prefix, ns in description().namespaces():
            g.bind(prefix, ns, override=False)
        ds = DATASET
    else:
        ds = rdflib.URIRef(void_iri + "#dataset")
        g.add((ds, DCTERMS.title, rdflib.Literal("The data of this SPARQL endpoint", lang="en")))
    doc = rdflib.URIRef(void_iri)
    g.add((doc, RDF.type, VOID.DatasetDescription))
    g.add((doc, FOAF.primaryTopic, ds))
    g.add((doc, DCTERMS.title, rdflib.Literal("VoID-beschrijving van de kennisgraaf NAP", lang="nl")))
    g.add((doc, DCTERMS.title, rdflib.Literal("VoID description of the NAP knowledge graph", lang="en")))
    g.add((ds, RDF.type, VOID.Dataset))
    if not nap:  # the NAP graph's description names its canonical endpoint already
        g.add((ds, VOID.sparqlEndpoint, rdflib.URIRef(endpoint)))
    count = lambda n: rdflib.Literal(n, datatype=XSD.integer)  # noqa: E731
    g.add((ds, VOID.triples, count(stats["triples"])))
    g.add((ds, VOID.distinctSubjects, count(stats["subjects"])))
    g.add((ds, VOID.distinctObjects, count(stats["objects"])))
    g.add((ds, VOID.classes, count(len(stats["classes"]))))
    g.add((ds, VOID.properties, count(len(stats["properties"]))))
    # Partitions get IRIs of their own (not blank nodes), so that the description can be linked into.
    for i, (cls, n) in enumerate(sorted(stats["classes"].items()), 1):
        part = rdflib.URIRef(f"{void_iri}#class-{i}")
        g.add((ds, VOID.classPartition, part))
        g.add((part, VOID["class"], rdflib.URIRef(cls)))
        g.add((part, VOID.entities, count(n)))
    for i, (prop, (n, subjects, objects)) in enumerate(sorted(stats["properties"].items()), 1):
        part = rdflib.URIRef(f"{void_iri}#property-{i}")
        g.add((ds, VOID.propertyPartition, part))
        g.add((part, VOID.property, rdflib.URIRef(prop)))
        g.add((part, VOID.triples, count(n)))
        g.add((part, VOID.distinctSubjects, count(subjects)))
        g.add((part, VOID.distinctObjects, count(objects)))
    for name, n in sorted(stats["graphs"].items()):
        graph = rdflib.URIRef(name)
        g.add((ds, VOID.subset, graph))
        g.add((graph, RDF.type, VOID.Dataset))
        g.add((graph, SD.name, graph))
        g.add((graph, VOID.triples, count(n)))
    if stats["default_graph"]:
        default = rdflib.URIRef(f"{void_iri}#default-graph")
        g.add((ds, VOID.subset, default))
        g.add((default, RDF.type, VOID.Dataset))
        g.add((default, RDFS.label, rdflib.Literal("default graph", lang="en")))
        g.add((default, VOID.triples, count(stats["default_graph"])))
    return g


# --- The /download/ page ---------------------------------------------------------------------------------


def _text(graph: rdflib.Graph, subject: rdflib.term.Node, prop: rdflib.term.Node, lang: str) -> str:
    values = [o for o in graph.objects(subject, prop) if isinstance(o, rdflib.Literal)]
    for wanted in (lang, "en", "nl", None):
        for v in values:
            if (v.language or None) == wanted:
                return str(v)
    return str(values[0]) if values else ""


def owms_label(iri: str) -> str:
    """An OWMS term's readable name from its IRI: Internationale_samenwerking_(thema) -> Internationale samenwerking."""
    name = iri.rsplit("/", 1)[-1]
    return re.sub(r"\s*\((thema)\)$", "", name.replace("_", " "))


def page_facts(lang: str) -> dict:
    g = description()
    ds = DATASET
    iri = lambda p: [str(o) for o in g.objects(ds, p)]  # noqa: E731
    publisher = g.value(ds, DCTERMS.publisher)
    contact = g.value(ds, DCAT.contactPoint)
    period = g.value(ds, DCTERMS.temporal)
    provenance = g.value(ds, DCTERMS.provenance)
    distributions = []
    for dist in g.objects(ds, DCAT.distribution):
        url = str(g.value(dist, DCAT.downloadURL))
        distributions.append(
            {
                "iri": str(dist),
                "title": _text(g, dist, DCTERMS.title, lang),
                "description": _text(g, dist, DCTERMS.description, lang),
                "url": url,
                "name": url.rsplit("/", 1)[-1],
                "media": str(g.value(dist, DCAT.mediaType)).split("media-types/")[-1],
                "format": str(g.value(dist, DCTERMS.format) or ""),
            }
        )
    order = list(DUMPS)
    distributions.sort(key=lambda d: order.index(d["name"]) if d["name"] in order else len(order))
    service = next(g.subjects(DCAT.servesDataset, ds), None)
    return {
        "iri": str(ds),
        "title": _text(g, ds, DCTERMS.title, lang),
        "description": _text(g, ds, DCTERMS.description, lang),
        "identifier": str(g.value(ds, DCTERMS.identifier) or ""),
        "version": str(g.value(ds, OWL.versionInfo) or ""),
        "modified": str(g.value(ds, DCTERMS.modified) or ""),
        "license": str(g.value(ds, DCTERMS.license) or ""),
        "publisher": _text(g, publisher, FOAF.name, lang) if publisher is not None else "",
        "contact": str(g.value(contact, VCARD.fn) or "") if contact is not None else "",
        "contact_url": str(g.value(contact, VCARD.hasURL) or "") if contact is not None else "",
        "authority": [(i, owms_label(i)) for i in iri(OVERHEID.authority)],
        "themes": sorted((i, owms_label(i)) for i in iri(DCAT.theme)),
        "languages": sorted(iri(DCTERMS.language)),
        "derived_from": sorted(iri(PROV.wasDerivedFrom)),
        "source": sorted(iri(DCTERMS.source)),
        "provenance": _text(g, provenance, RDFS.label, lang) if provenance else "",
        "start": str(g.value(period, DCAT.startDate) or "")[:4] if period is not None else "",
        "end": str(g.value(period, DCAT.endDate) or "")[:4] if period is not None else "",
        "landing": str(g.value(ds, DCAT.landingPage) or ""),
        "keywords": sorted(str(o) for o in g.objects(ds, DCAT.keyword) if getattr(o, "language", None) == lang),
        "distributions": distributions,
        "endpoint": str(g.value(service, DCAT.endpointURL)) if service is not None else "",
        "missing": [PREFIXES_SHORT(p) for p in DONL_REQUIRED if g.value(ds, p) is None],
    }


def PREFIXES_SHORT(iri: object) -> str:  # noqa: N802 - reads like the constant it formats with
    text = str(iri)
    for prefix, ns in {**PREFIXES, "overheid": str(OVERHEID)}.items():
        if text.startswith(ns):
            return f"{prefix}:{text[len(ns) :]}"
    return text


def human_size(n: float, lang: str) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            text = f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
            return text.replace(".", ",") if lang == "nl" else text
        n /= 1024
    return str(n)


# --- Routes ----------------------------------------------------------------------------------------------


class MetadataRouter(APIRouter):
    """The routes of this module, with the dump files they serve (for tests and the app to inspect)."""

    dumps: Dumps


def make_router(context: Context) -> MetadataRouter:
    from starlette.concurrency import run_in_threadpool

    dumps = Dumps(context.store)  # written when first asked for

    @contextlib.asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        yield
        # Here, not only at exit: uvicorn ends on SIGTERM by raising the signal again, and exit hooks do not run.
        dumps.close()

    router = MetadataRouter(lifespan=lifespan)  # FastAPI runs it inside the app's own
    router.dumps = dumps
    state: dict = {}

    async def written() -> None:
        if not dumps.present():
            await run_in_threadpool(dumps.ready)  # pages keep being served while the dumps are written

    def stats() -> dict:
        if "stats" not in state:
            state["stats"] = statistics(context.store)
        return state["stats"]

    def rdf(graph: rdflib.Graph, media: str, filename: str, request: Request) -> Response:
        body = graph.serialize(format=RDF_MEDIA[media].rdflib_format, encoding="utf-8")
        headers = {"Vary": "Accept", "Content-Disposition": f'inline; filename="{filename}.{RDF_MEDIA[media].suffix}"'}
        if request.method == "HEAD":
            return Response(status_code=200, media_type=media, headers={**headers, "Content-Length": str(len(body))})
        return Response(body, media_type=media, headers=headers)

    def labels(iris: list[str], lang: str) -> dict[str, str]:
        """rdfs:label of things of the served graph (the plan, the report), in lang or else Dutch."""
        found = {}
        for iri in iris:
            rows = context.select(
                f"SELECT ?thing ?label WHERE {{ ?thing <{RDFS.label}> ?label "
                f'FILTER(lang(?label) IN ("{lang}", "nl")) }} ORDER BY DESC(lang(?label) = "{lang}")',
                substitutions={ox.Variable("thing"): ox.NamedNode(iri)},
            )
            if rows:
                found[iri] = rows[0]["label"].value
        return found

    def negotiate(request: Request, page: Page) -> str | None:
        accept, formats = request.headers.get("accept"), request.query_params.getlist("format")
        return page_or_rdf(accept, formats, RDF_MEDIA, page)

    def not_acceptable(what: str) -> Response:
        return Response(
            f"Not acceptable: {what} is available as " + ", ".join(RDF_MEDIA) + ".\n",
            status_code=406,
            media_type="text/plain",
            headers={"Vary": "Accept"},
        )

    @router.get("/download", include_in_schema=False)
    async def download_redirect(request: Request) -> RedirectResponse:
        query = request.url.query
        return RedirectResponse("/download/" + (f"?{query}" if query else ""), status_code=308)

    @router.api_route("/download/", methods=["GET", "HEAD"], include_in_schema=False)
    async def download_page(request: Request) -> Response:
        media = negotiate(request, Page.ONLY_FOR_BROWSERS)
        if media is None:
            return not_acceptable("/download/ (the DCAT description)")
        if media != HTML:
            return rdf(description(), media, "dataset", request)
        lang = page_lang(request)
        facts = page_facts(lang)
        await written()
        for d in facts["distributions"]:
            d["size"] = human_size(dumps.size(d["name"]), lang) if d["name"] in DUMPS else ""
            d["local"] = "/download/" + d["name"]
        html = render(
            "download.html",
            request,
            lang,
            active="data",
            d=facts,
            nap=context.nap,
            stats=stats(),
            dumps=DUMPS,
            labels=labels(facts["derived_from"], lang),
        )
        return HTMLResponse(html, headers={"Vary": "Accept"})

    @router.api_route("/download/{name}", methods=["GET", "HEAD"], include_in_schema=False)
    async def download_file(name: str, request: Request) -> Response:
        dump = DUMPS.get(name)
        if dump is None:
            return Response(
                f"No such file: {name}. The downloads are: {', '.join(DUMPS)}.\n",
                status_code=404,
                media_type="text/plain",
            )
        await written()
        etag = dumps.etags[name]
        headers = {
            "ETag": etag,
            "Cache-Control": "public, max-age=3600",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Link": f'<{DOWNLOAD_BASE}{name}>; rel="canonical"',
        }
        if matches(etag.encode(), request.headers.get("if-none-match", "").encode("latin-1") or None):
            return Response(status_code=304, headers=headers)
        media = dump.media + ("; charset=utf-8" if dump.media.startswith("text/") else "")
        size = dumps.size(name)
        if request.method == "HEAD":
            return Response(status_code=200, media_type=media, headers={**headers, "Content-Length": str(size)})
        return DumpResponse(dumps.ready() / name, size, media_type=media, headers=headers)

    @router.api_route("/.well-known/void", methods=["GET", "HEAD"], include_in_schema=False)
    async def void(request: Request) -> Response:
        # Turtle unless the client asks for another RDF format (a browser's */* gets Turtle, the first offered).
        media = negotiate(request, Page.NONE)
        if media is None:
            return not_acceptable("/.well-known/void")
        base = str(request.base_url)
        nap = context.nap
        graph = void_graph(
            stats(), nap=nap, endpoint=base + "sparql", void_iri=(BASE if nap else base) + ".well-known/void"
        )
        response = rdf(graph, media, "void", request)
        return response

    return router
