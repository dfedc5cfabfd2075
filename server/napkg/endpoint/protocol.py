"""The SPARQL 1.1 Protocol at /sparql, as a plain ASGI app (Endpoint), and a cache of whole responses.

Order of work for a request: read and bound the body (413), find the query and dataset (400, 415),
check the query's text (guard: depth, length, updates, SERVICE), negotiate the result format (406),
answer from the ETag (304) or the cache, and only then hand the query to the engine.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..sparql import guard
from ..sparql.engine import Answer, Job
from ..sparql.results import FORMAT_PARAM, GRAPH_TYPES, TABLE_TYPES
from .negotiation import HTML, Page, acceptable, page_or_rdf
from .pool import Crashed, Overloaded, TimedOut
from .servicedescription import ServiceDescription

if TYPE_CHECKING:
    from .federation import Forwarder

TEXT_TYPES = {"text/csv", "text/tab-separated-values", "text/turtle", "application/n-triples"}


@dataclass
class Settings:
    timeout: float = 30.0
    max_rows: int = 10_000
    max_body: int = 1024 * 1024
    limits: guard.Limits = field(default_factory=guard.Limits)
    cache_size: int = 1024  # 0: no cache
    retry_after: int = 5
    forwarder: Forwarder | None = None  # for allowed SERVICE calls


class AsyncEngine(Protocol):
    """What runs the endpoint's Jobs: a WorkerPool."""

    async def run(self, job: Job) -> Answer: ...


class ResultCache:
    """Answers of repeated queries. The graph does not change while served, so entries never go stale."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[Job, Answer] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: Job) -> Answer | None:
        answer = self.entries.get(key)
        if answer is None:
            self.misses += 1
            return None
        self.entries.move_to_end(key)
        self.hits += 1
        return answer

    def put(self, key: Job, answer: Answer) -> None:
        if self.size <= 0 or answer.status != 200:
            return
        self.entries[key] = answer
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        message.rstrip() + "\n", status_code=status, media_type="text/plain; charset=utf-8", headers=headers
    )


class ProtocolError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def invalid_iri(value: str) -> str | None:
    """Why value is not an absolute IRI, as the engine's own parser says; None if it is one. A dataset IRI
    the engine cannot read must be refused here: in a worker it ended the worker (seen: default-graph-uri=foo)."""
    try:
        ox.NamedNode(value)
    except ValueError as e:
        return str(e)
    return None


def _dataset(params: list[tuple[str, str]], name: str) -> tuple[str, ...]:
    values = tuple(v for k, v in params if k == name)
    for value in values:
        if (why := invalid_iri(value)) is not None:
            raise ProtocolError(
                400, f"{name} must be an absolute IRI (it names a graph of this dataset); {value!r} is not: {why}."
            )
    return values


def _single(params: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise ProtocolError(400, f"The request has {len(values)} '{name}' parameters; the protocol allows one.")
    return values[0] if values else None


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ProtocolError(413, f"The request body is {declared} bytes; this endpoint accepts at most {limit}.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProtocolError(413, f"The request body is over {limit} bytes, the most this endpoint accepts.")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError(400, f"The {what} is not valid UTF-8 (byte {e.start}).") from None


def _params(raw: bytes, what: str) -> list[tuple[str, str]]:
    """Percent-decoded parameters; a byte sequence that is not UTF-8 is an error, not a U+FFFD in the query."""
    try:
        return parse_qsl(_decode(raw, what), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as e:
        raise ProtocolError(
            400, f"The {what} is not valid UTF-8 once percent-decoded ({e.reason} at byte {e.start} of a value)."
        ) from None


async def operation(request: Request, settings: Settings) -> tuple[str | None, list[tuple[str, str]]]:
    """(query text or None, parameters) of a protocol request, or ProtocolError."""
    # The raw query string: request.url would build a whole URL object first.
    url_params = _params(request.scope["query_string"], "query string")
    if request.method in ("GET", "HEAD"):
        if any(k == "update" for k, _ in url_params):
            raise ProtocolError(
                405,
                "SPARQL Update is not allowed over GET, and this endpoint is read-only.",
                {"Allow": "GET, HEAD, POST"},
            )
        return _single(url_params, "query"), url_params
    body = await _read_body(request, settings.max_body)
    content_type, _, parameters = request.headers.get("content-type", "").partition(";")
    content_type = content_type.strip().lower()
    charset = next(
        (
            p.split("=", 1)[1].strip().strip('"').lower()
            for p in parameters.split(";")
            if p.strip().lower().startswith("charset=")
        ),
        "utf-8",
    )
    if charset not in ("utf-8", "utf8"):
        raise ProtocolError(415, f"The body is declared as {charset}; this endpoint reads UTF-8 only.")
    if content_type == "application/x-www-form-urlencoded":
        form = _params(body, "form body")
        if any(k == "update" for k, _ in form):
            if any(k == "query" for k, _ in form):
                raise ProtocolError(400, "The request has both 'query' and 'update'.")
            raise ProtocolError(403, "This endpoint is read-only: SPARQL Update requests are refused.")
        query = _single(form, "query")
        if query is None:
            raise ProtocolError(400, "The form has no 'query' parameter.")
        # Dataset parameters may come in the body or in the URL.
        return query, form + [(k, v) for k, v in url_params if k in ("default-graph-uri", "named-graph-uri")]
    if content_type == "application/sparql-query":
        return _decode(body, "query"), url_params
    if content_type == "application/sparql-update":
        raise ProtocolError(403, "This endpoint is read-only: SPARQL Update requests are refused.")
    if not content_type:
        raise ProtocolError(
            415, "A POST needs a Content-Type: application/x-www-form-urlencoded or application/sparql-query."
        )
    raise ProtocolError(
        415,
        f"Content-Type {content_type} is not a SPARQL query; use "
        "application/x-www-form-urlencoded or application/sparql-query.",
    )


def openapi_path() -> dict:
    """/sparql in the OpenAPI description (/docs): it is not a FastAPI route (app.Front sends it here
    directly), so the app adds this to its generated description."""
    text = {"text/plain": {"schema": {"type": "string"}}}
    results = {media: {"schema": {"type": "string"}} for media in [*TABLE_TYPES, *GRAPH_TYPES]}
    dataset = [
        {
            "name": "default-graph-uri",
            "in": "query",
            "required": False,
            "description": "a graph of this dataset as the default graph (repeatable; never fetched)",
            "schema": {"type": "string", "format": "uri"},
        },
        {
            "name": "named-graph-uri",
            "in": "query",
            "required": False,
            "description": "a graph of this dataset as a named graph (repeatable; never fetched)",
            "schema": {"type": "string", "format": "uri"},
        },
        {
            "name": "format",
            "in": "query",
            "required": False,
            "description": "result format, instead of Accept",
            "schema": {"type": "string", "enum": sorted({*FORMAT_PARAM["table"], *FORMAT_PARAM["graph"]})},
        },
    ]
    responses = {
        "200": {
            "description": "the result (SELECT/ASK: SPARQL JSON, XML, CSV, TSV; CONSTRUCT/DESCRIBE: Turtle, "
            "N-Triples, JSON-LD, RDF/XML), or without a query the service description",
            "content": results,
        },
        "400": {
            "description": "a syntax error (with its line and column), a query too deep or too long, SERVICE "
            "not allowed, a dataset IRI that is no IRI",
            "content": text,
        },
        "403": {"description": "an update: the endpoint is read-only", "content": text},
        "406": {"description": "no acceptable format for this kind of result", "content": text},
        "503": {"description": "every worker busy and the waiting line full (Retry-After)", "content": text},
        "504": {"description": "the query ran past the time limit", "content": text},
    }
    summary = "Run a SPARQL 1.1 query (read-only)"
    return {
        "get": {
            "summary": summary,
            "operationId": "sparql_get",
            "tags": ["SPARQL"],
            "parameters": [
                {
                    "name": "query",
                    "in": "query",
                    "required": False,
                    "description": "the SPARQL query; without it, the service description",
                    "schema": {"type": "string"},
                },
                *dataset,
            ],
            "responses": responses,
        },
        "post": {
            "summary": summary,
            "operationId": "sparql_post",
            "tags": ["SPARQL"],
            "parameters": dataset,
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"type": "object", "required": ["query"], "properties": {"query": {"type": "string"}}}
                    },
                    "application/sparql-query": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                **responses,
                "413": {"description": "a body over the size limit", "content": text},
                "415": {"description": "not a query media type", "content": text},
            },
        },
    }


def negotiate(request: Request, operation: str, formats: list[str]) -> tuple[str, ...]:
    """The media types a result of this operation (SELECT, CONSTRUCT, ...) can be written in for this request,
    best first: format= values, then the Accept header. ProtocolError 406 when there is none."""
    kind = "graph" if operation in ("CONSTRUCT", "DESCRIBE") else "table"
    offers = list(GRAPH_TYPES if kind == "graph" else TABLE_TYPES)
    media_types = acceptable(offers, request.headers.get("accept"), formats, kind)
    if not media_types:
        raise ProtocolError(
            406,
            f"None of the accepted media types can carry a {operation or 'query'} "
            f"result; this endpoint offers {', '.join(offers)} (or format=...).",
        )
    return tuple(media_types)


class Reply(Response):
    """A response whose headers are already bytes: the endpoint's answers skip Starlette's header handling
    (about 10 us a request). A Response, so FastAPI routes can return it too."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b""):
        self.status_code, self.raw_headers, self.body, self.background = status, headers, body, None


def weak_etag(digest: str) -> str:
    """Every ETag this server sends: weak, since the same answer goes out gzipped to some clients and not to
    others, and a strong ETag may not stand for two different byte sequences (RFC 9110, 8.8.1)."""
    return f'W/"{digest[:32]}"'


def etag_of(fingerprint: str, job: Job) -> bytes:
    """The validator of a Job's answer: the graph's fingerprint and everything the answer depends on."""
    return weak_etag(hashlib.sha256(repr((fingerprint, job)).encode()).hexdigest()).encode()


def matches(etag: bytes, if_none_match: bytes | None) -> bool:
    """If-None-Match by the weak comparison RFC 9110 (13.1.2) prescribes: W/ does not count, "*" matches."""
    if if_none_match is None:
        return False
    opaque = etag.removeprefix(b"W/")
    return any(t == b"*" or t.removeprefix(b"W/") == opaque for t in (t.strip() for t in if_none_match.split(b",")))


async def answer(
    job: Job, etag: bytes, engine: AsyncEngine, settings: Settings, cache: ResultCache, head: bool
) -> Response:
    """The response to a Job from the cache or the engine (a WorkerPool: busy 503, too slow 504, crashed
    500), with ETag, truncation and caching headers; HEAD gets the headers only."""
    result = cache.get(job) if settings.cache_size else None
    if result is None:
        try:
            result = await engine.run(job)
        except (Overloaded, TimedOut, Crashed) as failure:
            return failed(failure, settings)
        cache.put(job, result)
    return reply(result, etag, settings, head)


def failed(failure: Exception, settings: Settings) -> Response:
    """The response when the pool did not answer: busy 503, too slow 504, crashed 500."""
    if isinstance(failure, Overloaded):
        return error(
            503,
            "Every query worker is busy and the waiting line is full; try again shortly.",
            {"Retry-After": str(settings.retry_after)},
        )
    if isinstance(failure, TimedOut):
        return error(
            504,
            f"The query ran longer than this endpoint's limit of {settings.timeout:g} s and was "
            "stopped. Narrow it down (a LIMIT, fewer OPTIONALs) or run it on a copy of the data.",
        )
    return error(500, "The query crashed the worker that ran it; the worker has been replaced.")


def reply(result: Answer, etag: bytes, settings: Settings, head: bool) -> Response:
    """The response to an engine's Answer, with ETag, truncation and caching headers."""
    if result.status != 200:
        return error(result.status, result.error)
    headers = [(b"etag", etag), *CACHING]
    if result.truncated:
        headers += [(b"x-result-truncated", b"true"), (b"x-result-max-rows", str(settings.max_rows).encode())]
    headers += [
        (b"content-length", str(len(result.body)).encode()),
        (b"content-type", content_type(result.media_type).encode()),
    ]
    return Reply(200, headers, b"" if head else result.body)


def content_type(media: str) -> str:
    """The Content-Type of an answer in this media type: the text ones say their charset."""
    return media + "; charset=utf-8" if media in TEXT_TYPES else media


#: What an answer of the endpoint says about caching, after its ETag.
CACHING = [(b"vary", b"Accept"), (b"cache-control", b"public, max-age=300")]


def not_modified(etag: bytes) -> Reply:
    return Reply(304, not_modified_headers(etag))


def not_modified_headers(etag: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"etag", etag), (b"vary", b"Accept")]


async def respond(
    request: Request, job: Job, engine: AsyncEngine, settings: Settings, cache: ResultCache, fingerprint: str
) -> Response:
    """The response to a Job for a Starlette request: 304 for a matching ETag, else answer(). Used by the
    named queries of /api/queries."""
    etag = etag_of(fingerprint, job)
    if matches(etag, request.headers.get("if-none-match", "").encode("latin-1")):
        return not_modified(etag)
    return await answer(job, etag, engine, settings, cache, request.method == "HEAD")


def reading_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[bytes | None, bytes | None, bytes | None]:
    """Accept, Host and If-None-Match: the first of each, as Starlette's request.headers.get() reads them."""
    accept = host = if_none_match = None
    for name, value in headers:
        if name == b"accept":
            accept = value if accept is None else accept
        elif name == b"host":
            host = value if host is None else host
        elif name == b"if-none-match":
            if_none_match = value if if_none_match is None else if_none_match
    return accept, host, if_none_match


class Endpoint:
    """/sparql as a plain ASGI app. It is the server's hot path, so it runs without the web framework's
    routing, dependency resolution and page middleware: measured, that machinery cost about 1 ms of CPU a
    request, several times what a cheap query costs. app.py puts it in front of the FastAPI app.

    A GET's reading (its query checked by the guard, the formats negotiated, the Job and its ETag) depends
    only on the request line and a few headers, so it is remembered for recent GETs (bounded): a repeated
    GET skips straight to the engine, which still runs its query every time. This is not the result
    cache: --no-cache turns that off, not this.

    engine: anything with `async run(job) -> Answer` (a WorkerPool)."""

    PLANS = 1024  # GET readings remembered
    PLAN_QUERY_STRING = 8192  # longer query strings are read afresh each time

    def __init__(self, engine: AsyncEngine, settings: Settings, description: ServiceDescription, fingerprint: str):
        self.engine, self.settings, self.description, self.fingerprint = engine, settings, description, fingerprint
        self.cache = ResultCache(settings.cache_size)
        self._urls: dict[tuple, str] = {}
        self._plans: dict[tuple, tuple[Job, bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD", "POST"):
            response = error(
                405,
                f"{method} is not allowed here: use GET or POST for queries (this endpoint is read-only).",
                {"Allow": "GET, HEAD, POST"},
            )
            await response(scope, receive, send)
            return
        accept, host, if_none_match = reading_headers(scope["headers"])
        key = None
        if method != "POST" and len(scope["query_string"]) <= self.PLAN_QUERY_STRING:
            key = (
                method,
                scope.get("scheme"),
                scope.get("server"),
                scope.get("root_path"),
                scope["path"],
                scope["query_string"],
                accept,
                host,
            )
        plan = self._plans.get(key) if key is not None else None
        if plan is None:
            try:
                outcome = await self.read(Request(scope, receive))
            except ClientDisconnect:  # gone before its request was read: nobody to answer
                return
            if isinstance(outcome, Response):
                await outcome(scope, receive, send)
                return
            plan = (outcome, etag_of(self.fingerprint, outcome))
            if key is not None:
                if len(self._plans) >= self.PLANS:
                    del self._plans[next(iter(self._plans))]  # the oldest
                self._plans[key] = plan
        job, etag = plan
        reply: Response
        if matches(etag, if_none_match):
            reply = not_modified(etag)
        else:
            reply = await answer(job, etag, self.engine, self.settings, self.cache, method == "HEAD")
        await reply(scope, receive, send)

    def url(self, request: Request) -> str:
        """The endpoint's own URL as the client addressed it (the base IRI of queries)."""
        scope = request.scope
        key = (
            scope.get("scheme"),
            scope.get("server"),
            scope.get("root_path"),
            scope["path"],
            request.headers.get("host"),
        )
        url = self._urls.get(key)
        if url is None:
            url = str(request.url.replace(query="", fragment=""))
            if len(self._urls) < 64:  # Host headers are the client's choice: remember only a few
                self._urls[key] = url
        return url

    async def read(self, request: Request) -> Job | Response:
        """The Job a protocol request asks for, or the response that ends it here: an error, or the
        service description for a request without a query."""
        settings = self.settings
        try:
            query, params = await operation(request, settings)
            if query is None:
                return self.service_description(request)
            found = guard.check(query, settings.limits)
            limit_at = found.limit_at
            if found.services and settings.forwarder is not None:
                # Allowed SERVICE calls go through the forwarder, which bounds their time and size.
                query = guard.rewrite_services(query, found, settings.forwarder.target)
                limit_at = None  # the offsets were of the text before
            media_types = negotiate(request, found.operation, [v for k, v in params if k == "format"])
            base = self.url(request)
            if (why := invalid_iri(base)) is not None:  # from the client's Host header
                raise ProtocolError(
                    400,
                    f"The Host header {request.headers.get('host')!r} does not make this "
                    f"endpoint's URL, the base IRI of queries, an IRI: {why}.",
                )
            return Job(
                query=query,
                media_types=media_types,
                default_graphs=_dataset(params, "default-graph-uri"),
                named_graphs=_dataset(params, "named-graph-uri"),
                max_rows=settings.max_rows,
                has_from=found.has_from,
                limit=found.limit if found.operation == "SELECT" else None,
                limit_at=limit_at,
                # The protocol lets the service choose the base IRI: the endpoint's own URL.
                base_iri=base,
            )
        except ProtocolError as e:
            return error(e.status, e.message, e.headers)
        except guard.Refused as e:
            return error(e.status, e.message)

    def service_description(self, request: Request) -> Response:
        endpoint = self.url(request)
        offers = list(GRAPH_TYPES)
        chosen = page_or_rdf(
            request.headers.get("accept"), request.query_params.getlist("format"), offers, Page.ONLY_FOR_BROWSERS
        )
        if chosen == HTML:
            return HTMLResponse(self.description.html(endpoint))
        if chosen is None:
            return error(406, f"The service description is offered as {', '.join(offers)} and text/html.")
        body = self.description.serialize(endpoint, chosen)
        media = content_type(chosen)
        headers = {name.decode(): value.decode() for name, value in CACHING}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=200, media_type=media, headers=headers)
        return Response(body, media_type=media, headers=headers)


class ResponseCache:
    """Whole responses to repeated GET and HEAD requests, replayed as recorded without running the
    endpoint's code: the graph does not change while served, so a response depends only on the request
    line, the scheme and the headers in the key. Sits outside the compression, so a hit is not compressed
    again. Bounded in entries and bytes; only 200 responses are kept. Off with --no-cache."""

    KEY_HEADERS = (b"accept", b"accept-encoding", b"host")

    def __init__(
        self, app: ASGIApp, entries: int = 1024, max_bytes: int = 64 * 1024 * 1024, max_entry: int = 1024 * 1024
    ):
        self.app, self.size, self.max_bytes, self.max_entry = app, entries, max_bytes, max_entry
        # key() -> (the response's headers, its body, its ETag)
        self.entries: OrderedDict[tuple, tuple[list[tuple[bytes, bytes]], bytes, bytes | None]] = OrderedDict()
        self.bytes = self.hits = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        # One pass over the headers for the key and If-None-Match: this runs for every GET of /sparql.
        kept, tags = [], None
        for name, value in scope["headers"]:
            if name in self.KEY_HEADERS:
                kept.append((name, value))
            elif name == b"if-none-match" and tags is None:
                tags = value
        # The scheme too: behind a TLS proxy the same request names the endpoint with https.
        key = (scope["method"], scope.get("scheme"), scope["path"], scope["query_string"], tuple(kept))
        entry = self.entries.get(key)
        if entry is not None:
            self.hits += 1
            start, body, etag = entry
            if etag is not None and matches(etag, tags):
                await not_modified(etag)(scope, receive, send)
                return
            # A fresh message each time: middleware outside (CORS) adds headers to the one it is given.
            await send({"type": "http.response.start", "status": 200, "headers": list(start)})
            await send({"type": "http.response.body", "body": body})
            return
        recorded: dict = {"start": None, "chunks": [], "size": 0}

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A copy, taken before middleware outside this one can change the message.
                recorded["start"] = list(message.get("headers", [])) if message["status"] == 200 else None
            elif message["type"] == "http.response.body" and recorded["start"] is not None:
                recorded["chunks"].append(message.get("body", b""))
                recorded["size"] += len(recorded["chunks"][-1])
                if recorded["size"] > self.max_entry:
                    recorded["start"] = None
                elif not message.get("more_body", False):
                    self.put(key, recorded["start"], b"".join(recorded["chunks"]))
            await send(message)

        await self.app(scope, receive, record)

    def put(self, key: tuple, start: list[tuple[bytes, bytes]], body: bytes) -> None:
        """start: the response's headers (the status is 200)."""
        etag = next((v for k, v in start if k.lower() == b"etag"), None)
        if key in self.entries:  # two clients asked at once: keep the latest
            self.bytes -= len(self.entries.pop(key)[1])
        self.entries[key] = (start, body, etag)
        self.bytes += len(body)
        while len(self.entries) > self.size or self.bytes > self.max_bytes:
            _, (_, old, _) = self.entries.popitem(last=False)
            self.bytes -= len(old)
