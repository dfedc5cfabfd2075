"""The SPARQL 1.1 Graph Store HTTP Protocol at /store, read-only: GET and HEAD a graph by its IRI.

`/store?graph=IRI` is one named graph, `/store?default` the default graph (for the NAP graph the union of
its named graphs, as the endpoint's default graph is), and `/store` alone the whole dataset as N-Quads or
TriG, as Oxigraph server's /store does. Graphs are named indirectly (?graph=), never by the request path:
direct identification would make every path under /store a graph name. PUT, POST, DELETE and PATCH get
405: the store is read-only while served. Reading a graph runs no user query, so it happens here, on the
web process's own store, in a thread: a large graph must not stop the event loop while it is written.
A graph is written as it is read from the store into a spooled file (in memory up to SPOOL bytes, on disk
beyond), and at most WRITERS are written at once, so a large dataset asked for many times over cannot
take the server's memory. A named graph's own IRI (/graph/{name}, web.py) answers an RDF client through
the same respond().
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..graph.namespaces import PREFIXES
from ..sparql.results import DATASET_TYPES, FORMAT_PARAM, GRAPH_TYPES
from .context import Context
from .negotiation import acceptable
from .protocol import error, invalid_iri, matches, weak_etag

WRITE = ("PUT", "POST", "DELETE", "PATCH")
SPOOL = 8 * 1024 * 1024  # bytes of a written graph kept in memory; more goes to a temporary file
WRITERS = 2  # graphs written at once; more requests wait their turn
# A thread's gate, not the event loop's: write() runs in a thread, for /store and /graph/{name} alike.
_writers = threading.BoundedSemaphore(WRITERS)
CHUNK = 256 * 1024


def target(request: Request) -> tuple[str, str | None] | Response:
    """("graph", IRI), ("default", None) or ("dataset", None) from the query string; a 400 otherwise."""
    params = parse_qsl(request.url.query, keep_blank_values=True)
    graphs = [v for k, v in params if k == "graph"]
    default = any(k == "default" for k, _ in params)
    if len(graphs) > 1 or (graphs and default):
        return error(400, "Name one graph: ?graph=IRI or ?default, once (SPARQL 1.1 Graph Store Protocol, 4.2).")
    if graphs:
        iri = graphs[0]
        if (why := invalid_iri(iri)) is not None:
            return error(400, f"?graph= must be an absolute IRI; {iri!r} is not: {why}.")
        return "graph", iri
    return ("default", None) if default else ("dataset", None)


def content(context: Context, kind: str, iri: str | None) -> Iterator:
    """The triples (or, for the dataset, quads) to send, read lazily."""
    store = context.store
    if kind == "dataset":
        return iter(store)
    if kind == "graph":
        assert iri is not None, "a graph comes with its IRI (target(), web.py)"
        return (
            ox.Triple(q.subject, q.predicate, q.object)
            for q in store.quads_for_pattern(None, None, None, ox.NamedNode(iri))
        )
    if context.union_default_graph:
        return _once(ox.Triple(q.subject, q.predicate, q.object) for q in store)
    return (
        ox.Triple(q.subject, q.predicate, q.object)
        for q in store.quads_for_pattern(None, None, None, ox.DefaultGraph())
    )


def _once(triples: Iterator) -> Iterator:
    """The union of the named graphs: each triple once, though several graphs hold it."""
    seen = set()
    for triple in triples:
        if triple not in seen:
            seen.add(triple)
            yield triple


def write(context: Context, kind: str, iri: str | None, fmt: ox.RdfFormat, options: dict[str, Any]) -> IO[bytes]:
    """The serialized graph in a spooled file (left at its end); at most WRITERS at once."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL)
    try:
        with _writers:
            ox.serialize(content(context, kind, iri), out, format=fmt, **options)
    except BaseException:
        out.close()
        raise
    return out


def _chunks(out: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := out.read(CHUNK):
            yield chunk
    finally:
        out.close()


async def respond(
    context: Context, request: Request, kind: str, iri: str | None, media: str, headers: dict[str, str]
) -> Response:
    """A graph (or the dataset) in this media type, with its ETag: /store and a named graph's own IRI
    (web.py) both answer through here."""
    headers = {
        **headers,
        "ETag": weak_etag(hashlib.sha256(f"{context.fingerprint}|{kind}|{iri}|{media}".encode()).hexdigest()),
    }
    if matches(headers["ETag"].encode(), request.headers.get("if-none-match", "").encode("latin-1") or None):
        return Response(status_code=304, headers=headers)
    fmt = DATASET_TYPES.get(media) or GRAPH_TYPES[media]
    # The graph's own prefixes make the NAP graph's Turtle and TriG readable; other data gets none.
    options = (
        {"prefixes": PREFIXES}
        if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) and context.union_default_graph
        else {}
    )
    out = await run_in_threadpool(write, context, kind, iri, fmt, options)
    size = out.tell()
    out.seek(0)
    headers["Content-Length"] = str(size)
    content_type = media + ("; charset=utf-8" if media != "application/ld+json" else "")
    if request.method == "HEAD":
        out.close()
        return Response(status_code=200, headers=headers, media_type=content_type)
    if size <= SPOOL:  # in memory: one piece, which the compression middleware compresses whole
        with out:
            return Response(out.read(), headers=headers, media_type=content_type)
    return StreamingResponse(_chunks(out), headers=headers, media_type=content_type)


def make_router(context: Context) -> APIRouter:
    router = APIRouter()

    async def graph_store(request: Request) -> Response:
        if request.method in WRITE:
            return error(
                405,
                f"{request.method} is not allowed: this graph store is read-only (GET and HEAD "
                "read a graph; SPARQL queries go to /sparql).",
                {"Allow": "GET, HEAD"},
            )
        found = target(request)
        if isinstance(found, Response):
            return found
        kind, iri = found
        # target() names a graph by its IRI; the default graph and the dataset have none.
        if iri is not None and not context.store.contains_named_graph(ox.NamedNode(iri)):
            return error(
                404,
                f"There is no graph <{iri}> in this dataset; the service description at /sparql "
                "lists its named graphs.",
            )
        offers = list(DATASET_TYPES if kind == "dataset" else GRAPH_TYPES)
        media_types = acceptable(
            offers,
            request.headers.get("accept"),
            request.query_params.getlist("format"),
            "dataset" if kind == "dataset" else "graph",
        )
        if not media_types:
            return error(
                406,
                f"This {'dataset' if kind == 'dataset' else 'graph'} is offered as {', '.join(offers)}.",
                {"Vary": "Accept"},
            )
        return await respond(context, request, kind, iri, media_types[0], {"Vary": "Accept"})

    async def direct(request: Request, rest: str) -> Response:
        if request.method in WRITE:
            return await graph_store(request)  # 405, as for any write
        return error(404, "This graph store names graphs indirectly: /store?graph=IRI, /store?default or /store.")

    text = {"text/plain": {"schema": {"type": "string"}}}
    router.add_api_route(
        "/store",
        graph_store,
        methods=["GET"],
        tags=["SPARQL"],
        operation_id="graph_store_get",
        summary="Read a graph (SPARQL 1.1 Graph Store Protocol, read-only)",
        openapi_extra={
            "parameters": [
                {
                    "name": "graph",
                    "in": "query",
                    "required": False,
                    "description": "a named graph; without graph and default, the whole dataset",
                    "schema": {"type": "string", "format": "uri"},
                },
                {
                    "name": "default",
                    "in": "query",
                    "required": False,
                    "allowEmptyValue": True,
                    "description": "the default graph",
                    "schema": {"type": "string"},
                },
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": sorted({*FORMAT_PARAM["graph"], *FORMAT_PARAM["dataset"]})},
                },
            ],
            "responses": {
                "200": {
                    "description": "the graph, or the dataset as N-Quads or TriG",
                    "content": {m: {"schema": {"type": "string"}} for m in [*GRAPH_TYPES, *DATASET_TYPES]},
                },
                "400": {"description": "graph is not an absolute IRI, or two graphs are named", "content": text},
                "404": {"description": "no such graph in this dataset", "content": text},
                "406": {"description": "no acceptable format", "content": text},
            },
        },
    )
    router.add_api_route("/store", graph_store, methods=["HEAD", *WRITE], include_in_schema=False)
    router.add_api_route("/store/{rest:path}", direct, methods=["GET", "HEAD", *WRITE], include_in_schema=False)
    return router
