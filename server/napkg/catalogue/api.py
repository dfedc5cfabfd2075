"""The query catalogue as a REST API: GET /api/queries lists the named queries, GET /api/queries/{name} runs one.

Each named query is a route and an OpenAPI operation of its own (operationId: the query's name; tags from its
header; its parameters typed: enum, integer, year, IRI, string), built at startup from the catalogue, so
/docs documents every query and clients can be generated from /openapi.json. A run goes through the same
worker pool (time limit, worker isolation), guard, negotiation, cache and ETags as /sparql. Parameter values
are bound as RDF terms (Job.substitutions, SEP-0007), never pasted into the query text; those of a federated
query (one that lists `endpoints`) go in VALUES blocks of serialized terms, the only way into a SERVICE.

The query editor's examples come from here too, their parameters in VALUES blocks (napkg.sparql.values).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ..endpoint.context import Context
from ..endpoint.protocol import ProtocolError, ResultCache, error, negotiate, respond
from ..sparql import guard
from ..sparql.results import GRAPH_TYPES, TABLE_TYPES
from ..sparql.values import with_values
from .local import job as make_job
from .queries import QUERIES, CatalogueError, NamedQuery, Parameter, ParameterError, catalogue

#: URL parameters of every named query; a catalogue parameter may not use these names.
RESERVED = ("format", "limit", "offset")
MAX_OFFSET = 1_000_000_000
MAX_INTEGER = 10**18 - 1  # what catalogue.Parameter.term accepts (18 digits)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: the format= short names documented for each kind of result (/sparql takes a few more aliases)
FORMATS = {"table": ["json", "xml", "csv", "tsv"], "graph": ["ttl", "nt", "jsonld", "rdf"]}


def queries_folder(folder: Path | str | None = None) -> Path:
    """The catalogue folder: the one given, else $NAPKG_QUERIES, else the project's queries/."""
    return Path(folder or os.environ.get("NAPKG_QUERIES") or QUERIES)


def kind(query: NamedQuery) -> str:
    return "graph" if query.operation in ("CONSTRUCT", "DESCRIBE") else "table"


# --- the catalogue as data ---


class ParameterInfo(BaseModel):
    name: str
    type: str
    description: str = ""
    default: str | None = None
    enum: list[str] = []
    required: bool = False


class QueryInfo(BaseModel):
    name: str
    summary: str
    summary_nl: str
    description: str
    tags: list[str]
    operation: str
    listable: bool  # takes limit and offset
    parameters: list[ParameterInfo]
    url: str | None = None
    endpoints: list[str] = []  # SPARQL endpoints a federated query calls through SERVICE


def describe(query: NamedQuery, url: str | None = None) -> dict:
    """A named query as the listing shows it."""
    return {
        "name": query.name,
        "summary": query.summary,
        "summary_nl": query.summary_nl,
        "description": query.description,
        "tags": list(query.tags),
        "operation": query.operation,
        "listable": query.listable,
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "description": p.description,
                "default": p.default,
                "enum": list(p.enum),
                "required": p.required,
            }
            for p in query.params
        ],
        "url": url,
        "endpoints": list(query.endpoints),
    }


def check_names(queries: dict[str, NamedQuery]) -> None:
    """Names the API cannot serve: a query name that is no URL path segment, a reserved parameter name."""
    for query in queries.values():
        if not _NAME.fullmatch(query.name):
            raise CatalogueError(f"{query.path.name}: the name {query.name!r} must be letters, digits, '.', '-', '_'")
        for p in query.params:
            if p.name in RESERVED:
                raise CatalogueError(
                    f"{query.path.name}: parameter '{p.name}' is reserved by the API ({', '.join(RESERVED)}); rename it"
                )


def body(query: NamedQuery) -> str:
    """The query's text without its #+ header."""
    lines, header = [], True
    for line in query.text.splitlines():
        if header and line.strip() and not line.startswith("#"):
            header = False
        if not (header and line.startswith("#+")):
            lines.append(line)
    return "\n".join(lines).strip() + "\n"


@functools.lru_cache(maxsize=8)
def _examples(folder: Path) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    out = []
    for query in catalogue(folder).values():
        comment = f"# {query.summary}\n# {query.summary_nl}\n# Also at /api/queries/{query.name}"
        if query.params:
            comment += " with parameters " + ", ".join(p.name for p in query.params)
            comment += "; here in the VALUES block" if any(p.default is not None for p in query.params) else ""
        if query.endpoints:
            comment += (
                "\n# Federated: it needs a network and a server started with "
                f"`napkg serve {' '.join('--allow-service ' + e for e in query.endpoints)}`"
            )
        try:
            text = with_values(body(query), query.substitutions({}))
        except (ValueError, ParameterError):
            text = body(query)
        out.append((query.summary, query.name, comment + "\n" + text, query.endpoints))
    return tuple(out)


def examples(folder: Path | str | None = None) -> list[dict]:
    """[{name, id, query, endpoints}] of the catalogue for the query editor: name is the query's summary, id
    its name in the catalogue, query its text without the #+ header and with the parameters' defaults in a
    VALUES block, so that it runs as it is on /sparql; endpoints, those a federated query calls (the server
    must allow them)."""
    return [
        {"name": name, "id": id_, "query": text, "endpoints": list(endpoints)}
        for name, id_, text, endpoints in _examples(queries_folder(folder).resolve())
    ]


# --- OpenAPI ---


def _schema(p: Parameter) -> dict:
    if p.type == "integer":
        schema = {"type": "integer", "minimum": -MAX_INTEGER, "maximum": MAX_INTEGER}
    elif p.type == "year":
        schema = {"type": "string", "pattern": "^[0-9]{4}$"}
    elif p.type == "iri":
        schema = {"type": "string", "format": "uri"}
    elif p.type == "language":
        schema = {"type": "string", "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"}
    else:
        schema = {"type": "string", "maxLength": 1000}
    if p.enum:
        numbers = p.type == "integer" and all(re.fullmatch(r"[+-]?[0-9]{1,18}", v) for v in p.enum)
        schema = {"type": "integer" if numbers else "string", "enum": [int(v) if numbers else v for v in p.enum]}
    if p.default is not None:
        schema["default"] = int(p.default) if p.type == "integer" else p.default
    return schema


def parameters(query: NamedQuery, max_rows: int) -> list[dict]:
    """The OpenAPI parameters of a named query's operation."""
    out = [
        {
            "name": p.name,
            "in": "query",
            "required": p.required and p.default is None,
            "description": p.description or f"{p.type} parameter",
            "schema": _schema(p),
        }
        for p in query.params
    ]
    out.append(
        {
            "name": "format",
            "in": "query",
            "required": False,
            "description": "result format, as on /sparql (instead of an Accept header)",
            "schema": {"type": "string", "enum": FORMATS[kind(query)]},
        }
    )
    if query.listable:
        out.append(
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"at most this many rows (at most {max_rows})",
                "schema": {"type": "integer", "minimum": 0, "maximum": max_rows},
            }
        )
        out.append(
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "description": "skip this many rows first (the query's own ORDER BY keeps pages stable)",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
            }
        )
    return out


def _responses(query: NamedQuery) -> dict:
    offers = GRAPH_TYPES if kind(query) == "graph" else TABLE_TYPES
    text = {"text/plain": {"schema": {"type": "string"}}}
    responses = {}
    if query.endpoints:
        responses[400] = {
            "description": "the server does not allow the SERVICE endpoints this query calls ("
            + ", ".join(query.endpoints)
            + "); the message names them and the "
            "--allow-service option",
            "content": text,
        }
    return {
        **responses,
        200: {
            "description": f"the {query.operation} result, in the negotiated format",
            "content": {media: {"schema": {"type": "string"}} for media in offers},
        },
        406: {"description": "none of the accepted media types fits this result", "content": text},
        422: {
            "description": "a parameter of the wrong type, outside its allowed values, unknown or missing; "
            "the message names it",
            "content": text,
        },
        503: {"description": "every query worker is busy; see Retry-After", "content": text},
        504: {"description": "the query ran past the time limit", "content": text},
    }


def _operation_description(query: NamedQuery) -> str:
    needs = (
        f"\n\n**Federated**: calls {', '.join(query.endpoints)} through SERVICE; it runs only on a server "
        f"started with `{' '.join('--allow-service ' + e for e in query.endpoints)}`, with a network."
        if query.endpoints
        else ""
    )
    return f"{query.description}{needs}\n\n*{query.summary_nl}*\n\n```sparql\n{body(query).strip()}\n```"


# --- the router ---


def _whole(params: list[tuple[str, str]], name: str, maximum: int) -> int | None:
    values = [v for k, v in params if k == name]
    if not values:
        return None
    if not re.fullmatch(r"[0-9]{1,12}", values[0]) or int(values[0]) > maximum:
        raise ParameterError(name, f"{values[0]!r} is not a whole number from 0 to {maximum}")
    return int(values[0])


def make_router(context: Context, folder: Path | str | None = None) -> APIRouter:
    """Routes for the catalogue in folder (default: $NAPKG_QUERIES, else queries/), read once, now."""
    queries = catalogue(queries_folder(folder))
    check_names(queries)
    _examples(queries_folder(folder).resolve())  # the editor's examples, read with the routes
    settings = context.settings
    cache = ResultCache(settings.cache_size)
    router = APIRouter()
    router.cache = cache  # type: ignore[attr-defined]
    router.queries = queries  # type: ignore[attr-defined]

    def url_of(request: Request, name: str) -> str:
        return str(request.url_for("napkg-api-list")).rstrip("/") + "/" + quote(name)

    async def listing(request: Request) -> list[QueryInfo]:
        return [QueryInfo(**describe(q, url_of(request, q.name))) for q in queries.values()]

    router.add_api_route(
        "/api/queries",
        listing,
        methods=["GET"],
        response_model=list[QueryInfo],
        name="napkg-api-list",
        operation_id="list_queries",
        tags=["catalogue"],
        summary="The named queries: what each does, its parameters and its URL",
    )

    def runner(query: NamedQuery) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            params = parse_qsl(request.url.query, keep_blank_values=True)
            try:
                for key in {k for k, _ in params}:
                    n = sum(1 for k, _ in params if k == key)
                    if n > 1 and key != "format":
                        raise ParameterError(key, f"given {n} times; give it once")
                limit = _whole(params, "limit", settings.max_rows)
                offset = _whole(params, "offset", MAX_OFFSET)
                if (limit is not None or offset) and not query.listable:
                    which = "limit" if limit is not None else "offset"
                    raise ParameterError(
                        which, f"query '{query.name}' cannot be paged (only a SELECT without a LIMIT of its own can)"
                    )
                values = {k: v for k, v in params if k not in RESERVED}
                query.substitutions(values)  # a ParameterError (422) comes before any negotiation (406)
                media_types = negotiate(request, query.operation, [v for k, v in params if k == "format"])
                refusal = query.refusal(settings.limits.allow_service, "this server")
                if refusal:  # the guard would refuse it too; this says which query and how to allow it
                    raise guard.Refused(400, refusal)
                job = make_job(query, values, media_types, limit, offset, max_rows=settings.max_rows)
                found = guard.check(job.query, settings.limits)
                text = job.query
                forwarder = getattr(settings, "forwarder", None)
                limit_at = found.limit_at
                if found.services and forwarder is not None:
                    text = guard.rewrite_services(text, found, forwarder.target)
                    limit_at = None  # the offsets were of the text before
                job = replace(
                    job,
                    query=text,
                    has_from=found.has_from,
                    limit=found.limit if found.operation == "SELECT" else None,
                    limit_at=limit_at,
                )
            except ParameterError as e:
                return error(422, str(e))
            except ProtocolError as e:
                return error(e.status, e.message, e.headers)
            except guard.Refused as e:
                return error(e.status, e.message)
            return await respond(request, job, context.pool, settings, cache, context.fingerprint)

        run.__name__ = "run_" + re.sub(r"\W", "_", query.name)
        return run

    for name, query in queries.items():
        path = "/api/queries/" + name
        run = runner(query)
        router.add_api_route(
            path,
            run,
            methods=["GET"],
            operation_id=name,
            name="napkg-api-" + name,
            tags=list(query.tags) or ["queries"],
            summary=query.summary,
            description=_operation_description(query),
            response_class=Response,
            responses=_responses(query),
            openapi_extra={"parameters": parameters(query, settings.max_rows)},
        )
        router.add_api_route(path, run, methods=["HEAD"], include_in_schema=False)

    async def unknown(request: Request, name: str) -> Response:
        known = ", ".join(queries) or "none"
        return error(404, f"No query named {name!r}. The catalogue has: {known}. The list is at /api/queries.")

    router.add_api_route("/api/queries/{name}", unknown, methods=["GET", "HEAD"], include_in_schema=False)
    return router
