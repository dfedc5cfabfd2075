"""The napkg command: validate and build the NAP knowledge graph."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .build import write_dumps
from .load import DATA, ROOT, LoadError, load_project
from .validate import FORMATS, validate

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
    for path in write_dumps(loaded, Path(args.out)):
        print(f"wrote {path}")
    return EXIT_OK


def _graph_option(value: str) -> tuple[str, Path]:
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected IRI=FILE, got {value!r}")
    return name, Path(path)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import InvalidGraph, ServerConfig, create_app

    graphs: dict[str, list[Path]] = {}
    for name, path in args.graph:
        graphs.setdefault(name, []).append(path)
    config = ServerConfig(data=[Path(p) for p in args.data], graphs=graphs, workers=args.workers,
                          timeout=args.timeout, max_rows=args.max_rows, max_body=args.max_body,
                          max_depth=args.max_depth, max_query_length=args.max_query_length, queue=args.queue,
                          allow_service=tuple(args.allow_service), cors=tuple(args.cors), cache=not args.no_cache,
                          memory_limit=args.memory_limit * 1024 * 1024, host=args.host, port=args.port,
                          service_timeout=args.service_timeout, service_max_bytes=args.service_max_bytes)
    try:
        app = create_app(config)
    except InvalidGraph as invalid:
        print(invalid, file=sys.stderr)
        print("napkg serve: the graph does not conform; not serving it.", file=sys.stderr)
        return EXIT_INVALID
    print(f"napkg: serving on http://{args.host}:{args.port}/ (SPARQL at /sparql)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=args.log_level == "debug")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="napkg", description=__doc__)
    p.add_argument("--version", action="version", version=f"napkg {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="check data against the shapes and the violation queries",
                       description="Load the ontology and the data (default: the project's data/), run the SHACL "
                                   "shapes and queries/checks/*-violation.rq. Exit 0: conforms; 1: violations; "
                                   "2: error (a file that does not parse).")
    v.add_argument("paths", nargs="*", metavar="PATH", help=f"data files or folders (default: {DATA.relative_to(ROOT)})")
    v.add_argument("--format", choices=sorted(FORMATS), default="text", help="report format (default: text)")
    v.add_argument("--lang", choices=["en", "nl"], default="en", help="language of the messages (default: en)")
    v.set_defaults(run=cmd_validate)

    b = sub.add_parser("build", help="write validated dumps (Turtle, N-Triples, TriG, JSON-LD)",
                       description="Validate, then write nap.ttl, nap.nt, nap.trig and nap.jsonld. Writes nothing "
                                   "when validation fails (exit 1).")
    b.add_argument("--out", default=str(ROOT / "build"), help="output folder (default: build/)")
    b.set_defaults(run=cmd_build)

    s = sub.add_parser("serve", help="serve the graph: SPARQL endpoint, query editor",
                       description="Serve the validated NAP graph (or the given RDF files) as a read-only SPARQL 1.1 "
                                   "endpoint at /sparql, with the query editor at /.")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--data", action="append", default=[], metavar="FILE",
                   help="an RDF file for the default graph (repeatable); with --data or --graph the NAP graph is not served")
    s.add_argument("--graph", action="append", default=[], type=_graph_option, metavar="IRI=FILE",
                   help="an RDF file for the named graph IRI (repeatable)")
    s.add_argument("--workers", type=int, default=2, help="query worker processes (default: 2)")
    s.add_argument("--timeout", type=float, default=30.0, help="seconds a query may run (default: 30)")
    s.add_argument("--max-rows", type=int, default=10_000, help="rows or triples per result (default: 10000)")
    s.add_argument("--max-body", type=int, default=1024 * 1024, help="bytes of a request body (default: 1 MiB)")
    s.add_argument("--max-depth", type=int, default=64, help="nesting depth of a query (default: 64)")
    s.add_argument("--max-query-length", type=int, default=64 * 1024, help="characters of a query (default: 65536)")
    s.add_argument("--queue", type=int, default=16, help="requests that may wait for a worker (default: 16)")
    s.add_argument("--memory-limit", type=int, default=0, metavar="MIB",
                   help="address space per worker in MiB (default: no limit)")
    s.add_argument("--allow-service", action="append", default=[], metavar="IRI-PREFIX",
                   help="allow SERVICE calls to endpoints under this IRI prefix (repeatable; default: none)")
    s.add_argument("--service-timeout", type=float, default=10.0,
                   help="seconds an allowed SERVICE call may take (default: 10)")
    s.add_argument("--service-max-bytes", type=int, default=10 * 1024 * 1024,
                   help="bytes an allowed SERVICE call may return (default: 10 MiB)")
    s.add_argument("--cors", action="append", default=[], metavar="ORIGIN",
                   help="allow browsers on this origin ('*' for any; never with credentials)")
    s.add_argument("--no-cache", action="store_true", help="do not cache the results of repeated queries")
    s.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    s.set_defaults(run=cmd_serve)
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
