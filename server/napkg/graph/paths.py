"""Where the graph's files are: the checkout's top-level folders when napkg runs from one, else the copy
the wheel bundles in the package (napkg/bundle/, put there by the build from those same folders).

A checkout is recognised by its layout (this package at server/napkg with ontology/ beside server/), so an
editable install, the tests and a copy of the tree (benchmarks/run.py) read and edit the one source.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The napkg package's folder, wherever in it this module sits (napkg.paths or a sub-package's).
_PACKAGE = Path(__file__).resolve().parents[__name__.count(".") - 1]
_PARTS = ("ontology", "data", "shapes", "queries")


def _checkout() -> Path | None:
    root = _PACKAGE.parents[1]
    if _PACKAGE.parent.name == "server" and all((root / part).is_dir() for part in _PARTS):
        return root
    return None


def _bundle() -> Path:
    bundle = files("napkg") / "bundle"
    if not isinstance(bundle, Path):  # a zip import: the loaders need real files
        raise RuntimeError(f"napkg's bundled graph files are not on the file system ({bundle}); install it as files")
    return bundle


#: The repository root when napkg runs from a checkout, else None.
CHECKOUT = _checkout()
#: The folder that holds ontology/, data/, shapes/ and queries/: the checkout, or the bundled copy.
ROOT = CHECKOUT or _bundle()
ONTOLOGY = ROOT / "ontology"
DATA = ROOT / "data"
SHAPES = ROOT / "shapes"
QUERIES = ROOT / "queries"
CHECKS = QUERIES / "checks"
#: Where `napkg build` writes by default: the checkout's build/, else build/ in the current directory.
BUILD = CHECKOUT / "build" if CHECKOUT else Path("build")


def shown(path: Path) -> str:
    """A path for a help text: relative to the checkout when in one (data), else in full."""
    return str(path.relative_to(CHECKOUT)) if CHECKOUT and path.is_relative_to(CHECKOUT) else str(path)
