"""The napkg command: validate and build the NAP knowledge graph."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .build import write_documentation, write_dumps
from .endpoint.pool import WORKER_NICE
from .graph.load import LoadError, load_project
from .graph.paths import BUILD, DATA, shown
from .graph.validate import FORMATS, validate

if TYPE_CHECKING:
    from .catalogue.queries import NamedQuery

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2


def cmd_validate(args: argparse.Namespace) -> int:
    loaded = load_project([Path(p) for p in args.paths] or None)
    report = validate(loaded, lang=args.lang)
    print(FORMATS[args.format](report))
    return report.exit_code


def cmd_build(args: argparse.Namespace) -> int:
    loaded = load_project()
    report = validate(loaded)
    if not report.conforms:
        print(FORMATS["text"](report), file=sys.stderr)
        print("napkg build: the graph does not conform; no dump written.", file=sys.stderr)
        return EXIT_INVALID
    for path in write_dumps(loaded, Path(args.out)) + write_documentation(Path(args.out)):
        print(f"wrote {path}")
    return EXIT_OK


def _at_least(low: float, kind: Callable[[str], int] = int) -> Callable[[str], int]:
    """An argparse type: a number of this kind, at least low (a limit of 0 workers or -5 s means nothing)."""

    def parse(value: str) -> int:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
        if not number >= low:  # also refuses NaN, which compares false with everything
            raise argparse.ArgumentTypeError(f"must be at least {low:g}, got {value}")
        return number

    return parse


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not 0 < seconds < float("inf"):  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {value}")
    return seconds


def _port(value: str) -> int:
    port = _at_least(0)(value)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, got {value}")
    return port


def _nice(value: str) -> int:
    nice = _at_least(0)(value)
    if nice > 19:
        raise argparse.ArgumentTypeError(f"must be from 0 to 19, as nice values go, got {value}")
    return nice


def _graph_option(value: str) -> tuple[str, Path]:
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected IRI=FILE, got {value!r}")
    return name, Path(path)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import InvalidGraph, ServerConfig, create_app
    from .endpoint.connections import Deadlines

    graphs: dict[str, list[Path]] = {}
    for name, path in args.graph:
        graphs.setdefault(name, []).append(path)
    config = ServerConfig(
        data=[Path(p) for p in args.data],
        graphs=graphs,
        workers=args.workers,
        timeout=args.timeout,
        max_rows=args.max_rows,
        max_body=args.max_body,
        max_depth=args.max_depth,
        max_query_length=args.max_query_length,
        queue=args.queue,
        allow_service=tuple(args.allow_service),
        cors=tuple(args.cors),
        cache=not args.no_cache,
        memory_limit=args.memory_limit * 1024 * 1024,
        worker_nice=args.worker_nice,
        host=args.host,
        port=args.port,
        service_timeout=args.service_timeout,
        service_max_bytes=args.service_max_bytes,
    )
    # The server's own messages (napkg.*: queries killed, workers lost, 503s) on stderr beside uvicorn's.
    log = logging.getLogger("napkg")
    if not log.handlers:  # once, however often main() runs in one process (tests)
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
    log.setLevel(args.log_level.upper())
    try:
        app = create_app(config)
    except InvalidGraph as invalid:
        print(invalid, file=sys.stderr)
        print("napkg serve: the graph does not conform; not serving it.", file=sys.stderr)
        return EXIT_INVALID
    print(f"napkg: serving on http://{args.host}:{args.port}/ (SPARQL at /sparql)", flush=True)
    # proxy_headers: app.Front reads a local reverse proxy's forwarding headers itself.
    # http: uvicorn's own protocol, with a time limit on receiving each request (connections.py).
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        proxy_headers=False,
        http=Deadlines(args.request_timeout),  # type: ignore[arg-type]  # uvicorn calls it as a protocol class
    )
    return EXIT_OK


# --- napkg query: the catalogue's named queries (or a .rq file) on the project graph or any endpoint ---

QUERY_FORMATS = ("table", "csv", "tsv", "json", "xml", "ttl", "nt", "jsonld", "rdf")
CELL_WIDTH = 60  # characters of a table cell at most; --format csv or tsv gives whole values
QUERY_EPILOG = "\n\n".join(
    textwrap.fill(paragraph, 100)
    for paragraph in (
        "Parameters are bound as RDF terms, never pasted into the query text. On the project graph they are "
        "substitutions (SEP-0007). An --endpoint takes no substitutions, so there they go in VALUES blocks of "
        "serialized terms: right after the opening brace of the WHERE clause, and of each group inside it that uses "
        "them (an OPTIONAL, a UNION branch, the WHERE of a subquery that projects them), so the rows are those of a "
        "substitution (not so for a MINUS that shares no variable but the parameter).",
        "A --file without a #+ header takes each ?_name variable as a parameter: a string, or an IRI when written "
        "--param name='<https://...>'.",
        "A query that calls SERVICE (the catalogue's federated examples) does not run on the project graph in this "
        "process, which calls no other endpoint: serve the graph with `napkg serve --allow-service ENDPOINT` and run "
        "it "
        "there with --endpoint.",
        "Exit codes: 0 ok; 1 the query failed (engine or endpoint, or a SERVICE refused); 2 usage or parameter error.",
    )
)


class UsageError(Exception):
    """A usage or parameter error of napkg query (exit 2)."""


class QueryFailed(Exception):
    """The engine or the endpoint refused or failed the query (exit 1)."""


def _file_query(path: Path) -> tuple[NamedQuery, bool]:
    """A query file outside the catalogue, and whether it had no header. With a #+ header it is read as the
    catalogue reads one (summary and description may be left out); without one, every ?_name variable is a
    parameter, a string unless its value is written <IRI>."""
    import dataclasses
    import re
    import tempfile

    from .catalogue.queries import CatalogueError, NamedQuery, Parameter, parse
    from .sparql import guard

    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    if any(line.startswith("#+") for line in text.splitlines()):
        missing = [k for k in ("summary", "summary_nl", "description") if not re.search(rf"^#\+\s*{k}\s*:", text, re.M)]
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / path.name
            copy.write_text("".join(f"#+ {k}: {path.name}\n" for k in missing) + text, encoding="utf-8")
            try:
                query = parse(copy)
            except CatalogueError as e:
                raise UsageError(str(e)) from None
        return dataclasses.replace(query, path=path, text=text), False
    names = sorted(
        {t.text[2:] for t in guard.tokens(text) if t.kind == "word" and t.text[:2] in ("?_", "$_") and len(t.text) > 2}
    )
    query = NamedQuery(
        name=path.stem,
        path=path,
        text=text,
        summary="",
        summary_nl="",
        description="",
        params=tuple(Parameter(name) for name in names),
        operation=guard.inspect(text).operation,
    )
    return query, True


def _param_values(query: NamedQuery, pairs: list[str], headerless: bool) -> tuple[NamedQuery, dict[str, str]]:
    """(query, {name: value}) from KEY=VALUE pairs; in a file without a header, <...> values are IRIs."""
    import dataclasses

    from .catalogue.queries import ParameterError

    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {pair!r}: expected KEY=VALUE")
        if key in values:
            raise ParameterError(key, "given twice")
        values[key] = value
    if headerless:
        iris = {k for k, v in values.items() if len(v) > 1 and v[0] == "<" and v[-1] == ">"}
        values = {k: v[1:-1] if k in iris else v for k, v in values.items()}
        query = dataclasses.replace(
            query, params=tuple(dataclasses.replace(p, type="iri") if p.name in iris else p for p in query.params)
        )
    return query, values


def _remote(endpoint: str, text: str, media_type: str) -> bytes:
    """The body the endpoint answers for this query, asked for in media_type, through SPARQLWrapper."""
    import urllib.error

    from SPARQLWrapper import POST, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    client = SPARQLWrapper(endpoint, agent=f"napkg/{__version__}")
    client.setQuery(text)
    client.setOnlyConneg(True)  # the Accept header alone: no format= parameters other endpoints may not know
    client.addCustomHttpHeader("Accept", media_type)
    if len(text) > 2000:  # long queries in a form body, not in the URL
        client.setMethod(POST)
    try:
        return client.query().response.read()
    except SPARQLWrapperException as e:
        from .sparql.remote import refusal

        status, said = refusal(e)
        raise QueryFailed(f"{endpoint} answered {status}" + (f": {said}" if said else "")) from None
    except urllib.error.HTTPError as e:
        raise QueryFailed(f"{endpoint} answered {e.code}: {e.read().decode('utf-8', 'replace').strip()}") from None
    except (urllib.error.URLError, OSError) as e:
        raise QueryFailed(f"{endpoint}: {getattr(e, 'reason', e)}") from None


def _compact(iri: str) -> str:
    import re

    from .graph.namespaces import PREFIXES

    for prefix, namespace in sorted(PREFIXES.items(), key=lambda p: -len(p[1])):
        local = iri[len(namespace) :]
        if iri.startswith(namespace) and re.fullmatch(r"[A-Za-z0-9_-]*", local):
            return f"{prefix}:{local}"
    return iri


def _cell(term: dict | None) -> str:
    if term is None:
        return ""
    value = term["value"]
    if term["type"] == "uri":
        value = _compact(value)
    elif term["type"] == "bnode":
        value = "_:" + value
    value = " ".join(value.split())
    return value if len(value) <= CELL_WIDTH else value[: CELL_WIDTH - 1] + "…"


def _table(results: dict) -> str:
    """SPARQL JSON results as aligned columns for a terminal (IRIs with the graph's prefixes, long cells cut)."""
    if "boolean" in results:
        return "true" if results["boolean"] else "false"
    variables = results["head"]["vars"]
    rows = [[_cell(b.get(v)) for v in variables] for b in results["results"]["bindings"]]
    widths = [max([len(v)] + [len(r[i]) for r in rows]) for i, v in enumerate(variables)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    out = [line(variables), line(["-" * w for w in widths])] + [line(r) for r in rows]
    out.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(out)


def _listing(queries: dict) -> str:
    out = []
    width = max((len(name) for name in queries), default=0)
    for query in queries.values():
        out.append(f"{query.name.ljust(width)}  {query.operation:<9}  {query.summary}")
        for p in query.params:
            facts = (
                [p.type]
                + (["enum " + "|".join(p.enum)] if p.enum else [])
                + ([f"default {p.default}"] if p.default is not None else [])
                + (["required"] if p.required else [])
            )
            out.append(f"{'':{width}}    --param {p.name}=…  ({', '.join(facts)}) {p.description}".rstrip())
        if query.endpoints:
            needs = ", ".join(query.endpoints)
            out.append(f"{'':{width}}    needs SERVICE to {needs} (napkg serve --allow-service …)")
    return "\n".join(out) if out else "(the catalogue is empty)"


def _run_query(args: argparse.Namespace) -> int:
    import json

    from .catalogue import api, local
    from .catalogue.queries import catalogue
    from .sparql.results import FORMAT_PARAM

    folder = api.queries_folder(args.queries)
    if args.list:
        if args.name or args.file:
            raise UsageError("--list takes no query name or --file")
        queries = catalogue(folder)
        if args.format == "json":
            print(json.dumps([api.describe(q) for q in queries.values()], ensure_ascii=False, indent=2))
        elif args.format == "table":
            print(_listing(queries))
        else:
            raise UsageError("--list writes --format table or json")
        return EXIT_OK
    if bool(args.name) == bool(args.file):
        raise UsageError("give a query NAME or --file FILE.rq (napkg query --list shows the names)")
    if args.file:
        query, headerless = _file_query(Path(args.file))
    else:
        queries = catalogue(folder)
        if args.name not in queries:
            raise UsageError(f"no query named {args.name!r} in {folder} (napkg query --list shows them)")
        query, headerless = queries[args.name], False
    query, values = _param_values(query, args.param, headerless)
    bound = query.substitutions(values)  # ParameterError names the parameter
    kind = api.kind(query)
    media_type: str | None
    if args.format == "table":
        media_type = "application/sparql-results+json" if kind == "table" else "text/turtle"
    else:
        media_type = FORMAT_PARAM[kind].get(args.format)
        if media_type is None:
            fitting = [f for f in QUERY_FORMATS if f == "table" or f in FORMAT_PARAM[kind]]
            raise UsageError(
                f"--format {args.format} does not fit a {query.operation or 'query'} result; use {', '.join(fitting)}"
            )
    for option in ("limit", "offset"):
        value = getattr(args, option)
        if value is not None and value < 0:
            raise UsageError(f"--{option} must be 0 or more")
    if (args.limit is not None or args.offset) and not query.listable:
        raise UsageError(
            f"--{'limit' if args.limit is not None else 'offset'}: this query cannot be paged "
            "(only a SELECT without a LIMIT of its own can)"
        )
    if args.endpoint:
        text = query.paged(args.limit, args.offset) if (args.limit is not None or args.offset) else query.text
        try:
            text = api.with_values(text, bound)
        except ValueError as e:
            raise UsageError(f"the parameters cannot be sent to an endpoint: {e}") from None
        body = _remote(args.endpoint, text, media_type)
    else:
        try:
            local.refuse_services(query)  # this process calls no other endpoint (local.py)
        except local.ServiceNotAllowed as e:
            raise QueryFailed(e.message) from None
        answer = local.engine().run(local.job(query, values, (media_type,), args.limit, args.offset))
        if answer.status != 200:
            raise QueryFailed(answer.error)
        body = answer.body
    if args.format == "table" and kind == "table":
        try:
            print(_table(json.loads(body)))
        except (ValueError, KeyError, TypeError) as e:
            raise QueryFailed(f"the endpoint's answer is not SPARQL JSON results: {e}") from None
    else:
        text = body.decode("utf-8", "replace")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def cmd_query(args: argparse.Namespace) -> int:
    from .catalogue.queries import CatalogueError, ParameterError

    try:
        return _run_query(args)
    except (UsageError, ParameterError, CatalogueError) as e:
        print(f"napkg query: {e}", file=sys.stderr)
        return EXIT_ERROR
    except QueryFailed as e:
        print(f"napkg query: the query failed: {e}", file=sys.stderr)
        return EXIT_INVALID


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="napkg", description=__doc__)
    p.add_argument("--version", action="version", version=f"napkg {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser(
        "validate",
        help="check data against the shapes and the violation queries",
        description="Load the ontology and the data (default: the project's data/), run the SHACL "
        "shapes and queries/checks/*-violation.rq. Exit 0: conforms; 1: violations; "
        "2: error (a file that does not parse).",
    )
    v.add_argument("paths", nargs="*", metavar="PATH", help=f"data files or folders (default: {shown(DATA)})")
    v.add_argument("--format", choices=sorted(FORMATS), default="text", help="report format (default: text)")
    v.add_argument("--lang", choices=["en", "nl"], default="en", help="language of the messages (default: en)")
    v.set_defaults(run=cmd_validate)

    b = sub.add_parser(
        "build",
        help="write validated dumps (Turtle, N-Triples, TriG, JSON-LD) and the model's docs",
        description="Validate, then write nap.ttl, nap.nt, nap.trig and nap.jsonld, and the "
        "documentation of the model in docs/ (def.html, model.svg). Writes nothing "
        "when validation fails (exit 1).",
    )
    b.add_argument(
        "--out", default=str(BUILD), help="output folder (default: build/ in the checkout, else in the current folder)"
    )
    b.set_defaults(run=cmd_build)

    s = sub.add_parser(
        "serve",
        help="serve the graph: SPARQL endpoint, query editor",
        description="Serve the validated NAP graph (or the given RDF files) as a read-only SPARQL 1.1 "
        "endpoint at /sparql, with the query editor at /.",
    )
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=_port, default=8000)
    s.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="FILE",
        help="an RDF file for the default graph (repeatable); with --data or --graph the NAP graph is not served",
    )
    s.add_argument(
        "--graph",
        action="append",
        default=[],
        type=_graph_option,
        metavar="IRI=FILE",
        help="an RDF file for the named graph IRI (repeatable)",
    )
    s.add_argument("--workers", type=_at_least(1), default=2, help="query worker processes (default: 2)")
    s.add_argument("--timeout", type=_positive_seconds, default=30.0, help="seconds a query may run (default: 30)")
    s.add_argument("--max-rows", type=_at_least(1), default=10_000, help="rows or triples per result (default: 10000)")
    s.add_argument(
        "--max-body", type=_at_least(1), default=1024 * 1024, help="bytes of a request body (default: 1 MiB)"
    )
    s.add_argument("--max-depth", type=_at_least(1), default=64, help="nesting depth of a query (default: 64)")
    s.add_argument(
        "--max-query-length", type=_at_least(1), default=64 * 1024, help="characters of a query (default: 65536)"
    )
    s.add_argument("--queue", type=_at_least(0), default=16, help="requests that may wait for a worker (default: 16)")
    s.add_argument(
        "--memory-limit",
        type=_at_least(0),
        default=0,
        metavar="MIB",
        help="address space per worker in MiB (default: no limit)",
    )
    s.add_argument(
        "--worker-nice",
        type=_nice,
        default=WORKER_NICE,
        metavar="N",
        help=f"how much nicer (lower CPU priority) the query workers run than the web process, "
        f"0-19 (default: {WORKER_NICE})",
    )
    s.add_argument(
        "--allow-service",
        action="append",
        default=[],
        metavar="IRI-PREFIX",
        help="allow SERVICE calls to endpoints under this IRI prefix (repeatable; default: none)",
    )
    s.add_argument(
        "--service-timeout",
        type=_positive_seconds,
        default=10.0,
        help="seconds an allowed SERVICE call may take (default: 10)",
    )
    s.add_argument(
        "--service-max-bytes",
        type=_at_least(1),
        default=10 * 1024 * 1024,
        help="bytes an allowed SERVICE call may return (default: 10 MiB)",
    )
    s.add_argument(
        "--cors",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browsers on this origin ('*' for any; never with credentials)",
    )
    s.add_argument("--no-cache", action="store_true", help="do not cache the results of repeated queries")
    s.add_argument(
        "--request-timeout",
        type=_positive_seconds,
        default=20.0,
        metavar="SECONDS",
        help="seconds a client has to send a whole request, from its first byte or from connecting; then "
        "the connection is closed (default: 20)",
    )
    s.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="what goes to stderr (default: warning: queries killed at the time limit, workers lost, 503s; "
        "info adds worker replacements; debug adds uvicorn's access log)",
    )
    s.set_defaults(run=cmd_serve)

    q = sub.add_parser(
        "query",
        help="run a named query of the catalogue, or a .rq file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a named query of the catalogue (queries/*.rq) or a query file on the project "
        "graph, in this process; or, with --endpoint, on any SPARQL endpoint.",
        epilog=QUERY_EPILOG,
    )
    q.add_argument("name", nargs="?", metavar="NAME", help="the query's name (napkg query --list)")
    q.add_argument("--list", action="store_true", help="list the catalogue's queries and their parameters")
    q.add_argument("--file", metavar="FILE.rq", help="run this query file instead (a #+ header is optional)")
    q.add_argument(
        "--param", "-p", action="append", default=[], metavar="KEY=VALUE", help="a parameter value (repeatable)"
    )
    q.add_argument(
        "--format",
        choices=QUERY_FORMATS,
        default="table",
        help="table (aligned columns; Turtle for CONSTRUCT), csv, tsv, json, xml as the endpoint writes "
        "them; ttl, nt, jsonld, rdf for CONSTRUCT and DESCRIBE (default: table)",
    )
    q.add_argument("--limit", type=int, help="at most this many rows (a SELECT without a LIMIT of its own)")
    q.add_argument("--offset", type=int, help="skip this many rows first")
    q.add_argument("--endpoint", metavar="URL", help="run on this SPARQL endpoint (through SPARQLWrapper)")
    q.add_argument(
        "--queries", metavar="DIR", help="the catalogue folder (default: $NAPKG_QUERIES, else the project's queries/)"
    )
    q.set_defaults(run=cmd_query)

    # napkg links check|snapshot: outbound links against their registers; options and commands in napkg.links.
    from . import links

    links.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except LoadError as error:
        print(f"napkg {args.command}: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
