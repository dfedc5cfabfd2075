"""The web app: the SPARQL endpoint, the query editor and the health check, around a worker pool."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import pyoxigraph as ox
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from . import __version__
from .catalogue import api
from .endpoint import graphstore, protocol
from .endpoint.connections import arriving
from .endpoint.context import Context
from .endpoint.federation import Forwarder
from .endpoint.pool import WORKER_NICE, PoolSettings, WorkerPool
from .endpoint.protocol import Endpoint, ResponseCache, Settings
from .endpoint.servicedescription import ServiceDescription
from .graph.load import load_project, to_store
from .graph.namespaces import PREFIXES
from .graph.validate import as_text, validate
from .sparql import guard
from .sparql.engine import Dataset, build_store, read_nquads
from .web import docs, metadata, overview
from .web import routes as web

STATIC = Path(__file__).resolve().parent / "web" / "static"


@dataclass
class ServerConfig:
    data: list[Path] = field(default_factory=list)  # --data: files into the default graph
    graphs: dict[str, list[Path]] = field(default_factory=dict)  # --graph IRI=FILE
    workers: int = 2
    timeout: float = 30.0
    max_rows: int = 10_000
    max_body: int = 1024 * 1024
    max_depth: int = 64
    max_query_length: int = 64 * 1024
    queue: int = 16
    allow_service: tuple[str, ...] = ()
    cors: tuple[str, ...] = ()
    cache: bool = True
    memory_limit: int = 0
    worker_nice: int = WORKER_NICE
    host: str = "127.0.0.1"
    port: int = 8000
    service_timeout: float = 10.0
    service_max_bytes: int = 10 * 1024 * 1024

    @property
    def nap(self) -> bool:
        """No data options: serve the validated NAP graph, its default graph the union of its graphs."""
        return not self.data and not self.graphs


class InvalidGraph(Exception):
    pass


def prepare_data(config: ServerConfig, folder: Path) -> Path:
    """Write the dataset to serve as one N-Quads file that every worker loads; returns its path."""
    target = folder / "dataset.nq"
    if config.nap:
        loaded = load_project()
        report = validate(loaded)
        if not report.conforms:
            raise InvalidGraph(as_text(report))
        store = to_store(loaded)
    else:
        store = build_store(Dataset(default=config.data, named=config.graphs))
    store.dump(str(target), format=ox.RdfFormat.N_QUADS)
    return target


def create_app(config: ServerConfig) -> Front:
    folder = Path(tempfile.mkdtemp(prefix="napkg-"))
    try:
        data = prepare_data(config, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    fingerprint = hashlib.sha256(data.read_bytes()).hexdigest()
    pool = WorkerPool(
        PoolSettings(
            data=data,
            workers=config.workers,
            timeout=config.timeout,
            queue=config.queue,
            union_default_graph=config.nap,
            memory_limit=config.memory_limit,
            nice=config.worker_nice,
            prefixes=tuple(PREFIXES.items()) if config.nap else (),
        )
    )
    settings = Settings(
        timeout=config.timeout,
        max_rows=config.max_rows,
        max_body=config.max_body,
        limits=guard.Limits(config.max_query_length, config.max_depth, config.allow_service),
        cache_size=1024 if config.cache else 0,
    )
    if config.allow_service:
        own = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
        settings.forwarder = Forwarder(
            own_url=f"http://{own}:{config.port}", timeout=config.service_timeout, max_bytes=config.service_max_bytes
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()
        shutil.rmtree(folder, ignore_errors=True)

    # FastAPI's /docs page loads Swagger UI from a CDN; FastAPIOffline serves it with the files of its own
    # package, so it works offline and tells no CDN who reads it. No /redoc: ReDoc fetches its logo from
    # cdn.redoc.ly whatever it is given.
    app = FastAPIOffline(
        title="NAP knowledge graph",
        version=__version__,
        lifespan=lifespan,
        redoc_url=None,
        description="SPARQL endpoint and linked data of the Dutch National Action Plan on "
        "Business and Human Rights (NAP 2022-2026).",
    )
    # The workers load the data while this process loads its own copy and builds its pages (start-up with
    # the 100x benchmark graph: 5.5-5.6 -> 4.7 s, the NAP graph 2.5 -> 2.4 s); start() then waits for them.
    pool.spawn()
    try:
        # The server's own fixed queries (pages, catalogue listings) run on a store in this process; user
        # queries never do.
        store = read_nquads(data)
        context = Context(
            pool=pool,
            settings=settings,
            store=store,
            union_default_graph=config.nap,
            fingerprint=fingerprint,
            nap=config.nap,
        )
        pages = web.make_router(context)
        routers = [
            api.make_router(context),
            pages,
            docs.make_router(context),
            metadata.make_router(context),
            graphstore.make_router(context),
            overview.make_router(context),
        ]
        pool.start()
        statistics = pool.statistics()
    except BaseException:
        pool.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    description = ServiceDescription(
        statistics,
        union_default_graph=config.nap,
        allow_service=config.allow_service,
        timeout=config.timeout,
        max_rows=config.max_rows,
        title="NAP knowledge graph" if config.nap else "napkg",
    )
    endpoint = Endpoint(pool, settings, description, fingerprint)
    if settings.forwarder is not None:
        app.include_router(settings.forwarder.router())
    app.state.pool, app.state.cache, app.state.config = pool, endpoint.cache, config
    app.state.context = context
    for router in routers:
        app.include_router(router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A path nothing serves gets the site's 404 (a page with search, or plain text for an RDF client), not
        # FastAPI's {"detail": "Not Found"}; the API keeps its JSON errors.
        if exc.status_code == 404 and not request.url.path.startswith("/api/"):
            return pages.web.not_found(request)
        return await http_exception_handler(request, exc)

    generated = app.openapi

    def openapi() -> dict[str, Any]:
        # /sparql is served beside the FastAPI app (Front), so its description is added to the generated one.
        if app.openapi_schema is None:
            schema = generated()
            schema["paths"] = {"/sparql": protocol.openapi_path(), **schema["paths"]}
        assert app.openapi_schema is not None, "generated() keeps the schema it makes"
        return app.openapi_schema

    app.openapi = openapi

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        # Never touches the workers: it answers while every one of them is busy.
        hits = endpoint.cache.hits + (responses.hits if responses else 0)
        # Counters since start, for an operator's monitoring: a rise in timeouts or 503s is the sign to act.
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "uptime_s": round(time.time() - pool.started),
                "workers": config.workers,
                "busy": pool.busy(),
                "restarts": pool.restarts,
                "timeouts": pool.timeouts,
                "crashes": pool.crashes,
                "overloaded": pool.overloads,
                "cache_hits": hits,
            }
        )

    @app.get("/", include_in_schema=False)
    async def editor() -> Response:
        page = STATIC / "index.html"
        if page.exists():
            return FileResponse(page, media_type="text/html")
        return PlainTextResponse("Query editor not installed; the endpoint is at /sparql.\n")

    @app.get("/editor-config.json", include_in_schema=False)
    async def editor_config() -> JSONResponse:
        return JSONResponse({"endpoint": "/sparql", "prefixes": PREFIXES, "examples": api.examples()})

    if STATIC.exists():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Compress what is worth compressing; CORS for browsers on other origins, never with credentials.
    # /sparql gets the same middleware, around the response cache of repeated requests.
    sparql: ASGIApp = compressed(endpoint)
    responses = ResponseCache(sparql) if config.cache else None
    sparql = responses or sparql
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if config.cors:
        cors = CorsOptions(
            allow_origins=list(config.cors),
            allow_credentials=False,
            allow_methods=["GET", "POST", "HEAD"],
            allow_headers=["Accept", "Content-Type"],
            expose_headers=["X-Result-Truncated", "X-Result-Max-Rows", "ETag"],
        )
        app.add_middleware(CORSMiddleware, **cors)
        sparql = CORSMiddleware(sparql, **cors)
    return Front(app, sparql)


class CorsOptions(TypedDict):
    """CORSMiddleware's options, for the app and for /sparql alike."""

    allow_origins: list[str]
    allow_credentials: bool
    allow_methods: list[str]
    allow_headers: list[str]
    expose_headers: list[str]


def compressed(app: ASGIApp) -> ASGIApp:
    """app behind gzip for clients that accept it; the others skip the compression middleware's work."""
    gzip = GZipMiddleware(app, minimum_size=1024)

    async def choose(scope: Scope, receive: Receive, send: Send) -> None:
        accepts = any(k == b"accept-encoding" and b"gzip" in v for k, v in scope["headers"])
        await (gzip if accepts else app)(scope, receive, send)

    return choose


#: Clients whose X-Forwarded-Proto and X-Forwarded-For are believed: a reverse proxy on this machine.
TRUSTED_PROXIES = ("127.0.0.1", "::1")


class Front:
    """The server's ASGI app: /sparql goes straight to the protocol endpoint, everything else to the
    FastAPI app (pages, API, documentation, health check), which also runs the lifespan.

    It also reads the forwarding headers of a reverse proxy on this machine, so that behind one that
    terminates TLS the endpoint's URL (the base IRI, the service description, links in pages) is https,
    and tells the connection's time limit (endpoint/connections.py) when each request has arrived and
    when it is answered. Reading the forwarding headers here rather than in uvicorn's middleware saves a
    layer on every request."""

    def __init__(self, app: FastAPI, sparql: ASGIApp):
        self.app, self.sparql = app, sparql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        if client and client[0] in TRUSTED_PROXIES:
            forwarded(scope)
        connection, receive = arriving(scope, receive)
        try:
            if scope["path"] in ("/sparql", scope.get("root_path", "") + "/sparql"):
                await self.sparql(scope, receive, send)
            else:
                await self.app(scope, receive, send)
        finally:
            if connection is not None:
                connection.answered()


def forwarded(scope: Scope) -> None:
    """Apply X-Forwarded-Proto (http or https) and X-Forwarded-For (the nearest address that is not a
    trusted proxy) to the scope, as uvicorn's --proxy-headers does."""
    addresses: list[str] = []
    for name, value in scope["headers"]:
        if name == b"x-forwarded-proto":
            proto = value.decode("latin-1").strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
        elif name == b"x-forwarded-for":
            addresses += [a.strip() for a in value.decode("latin-1").split(",") if a.strip()]
    if addresses:
        outside = [a for a in addresses if a not in TRUSTED_PROXIES]
        scope["client"] = ((outside or addresses)[-1], 0)
