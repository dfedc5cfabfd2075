"""The package's layers, read from the source: every import in server/napkg (those inside functions too) goes
from a layer to the same or a lower one, the sub-packages form no cycle, and no module imports a private name
(one starting with _) of another module.

Layers, low to high: graph -> sparql -> endpoint -> catalogue -> web -> links, build -> app -> cli. The
package's own __init__ (napkg.query, __version__) is the public face: any module may read __version__ from it
(a constant; it imports nothing at load time), and it may call into any layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "server" / "napkg"

#: Each part of the package and its layer; a part may import from its own layer and the ones below.
LAYERS = {
    "graph": 0,
    "sparql": 1,
    "endpoint": 2,
    "catalogue": 3,
    "web": 4,
    "links": 5,
    "build": 5,
    "app": 6,
    "cli": 7,
}
#: What any module may import from napkg/__init__.py.
FROM_ROOT = {"__version__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def part(module: str) -> str | None:
    """The layer's name of napkg.x.y (x), or None for the package's own __init__."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else None


def imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every napkg import of this module, at any depth."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "napkg"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "napkg":
                source = node.module
            else:
                continue
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:  # from . import submodule
                    found.append((f"{source}.{alias.name}", None, node.lineno))
                else:
                    found.append((source, alias.name, node.lineno))
    return found


EDGES = [(m, target, name, line) for m in MODULES for target, name, line in imports(m)]


def test_every_part_has_a_layer_and_says_what_it_owns():
    parts = {part(m) for m in MODULES} - {None}
    assert parts == set(LAYERS), "a new part of napkg needs its place in LAYERS"
    for name, path in MODULES.items():
        if path.name == "__init__.py":
            assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), f"{name} says not what it owns"


def test_the_edges_are_found():
    # a guard against a parser that finds nothing and so passes everything
    assert ("napkg.app", "napkg.catalogue.api", None) in {(m, t, n) for m, t, n, _ in EDGES}
    assert ("napkg.sparql.engine", "napkg.graph.load", "RDF_FORMATS") in {(m, t, n) for m, t, n, _ in EDGES}
    assert all(target in MODULES for _, target, _, _ in EDGES), "an import of a module that does not exist"


def test_imports_only_go_down():
    upward = []
    for module, target, name, line in EDGES:
        if part(module) is None:  # napkg.query calls into the catalogue
            continue
        if part(target) is None:
            if name not in FROM_ROOT:
                upward.append(f"{module}:{line} imports {name} from napkg/__init__.py")
            continue
        if LAYERS[part(target)] > LAYERS[part(module)]:
            upward.append(f"{module}:{line} imports {target} (layer {part(target)} is above {part(module)})")
    assert not upward, "\n".join(upward)


def test_no_cycle_between_parts():
    graph: dict[str, set[str]] = {p: set() for p in LAYERS}
    for module, target, _, _ in EDGES:
        if part(module) and part(target) and part(module) != part(target):
            graph[part(module)].add(part(target))

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    cycles = [p for p in graph if p in reach(p)]
    assert not cycles, f"parts in a cycle: {cycles}"


def test_no_cycle_between_modules():
    # Python copes with some cycles; readers do not, and a lazy import to break one is a layer upside down.
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, target, _, _ in EDGES:
        if part(module) is not None and part(target) is not None and module != target:
            graph[module].add(target)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (found := visit(nxt, [*trail, node])):
                return found
        state[node] = 2
        return None

    for module in MODULES:
        if module not in state and (cycle := visit(module, [])):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_no_private_names_of_another_module():
    private = [
        f"{module}:{line} imports {name} from {target}"
        for module, target, name, line in EDGES
        if name and name.startswith("_") and not name.startswith("__") and target != module
    ]
    assert not private, "\n".join(private)
