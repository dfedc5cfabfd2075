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
