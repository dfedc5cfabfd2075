"""Each file declares its own prefixes; every declaration must agree with napkg.graph.namespaces.PREFIXES."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from napkg.graph.namespaces import PREFIXES

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    p
    for folder in ("ontology", "data", "shapes", "queries")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in {".ttl", ".rq"}
)
DECLARATION = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([\w-]*):\s*<([^>]*)>", re.MULTILINE | re.IGNORECASE)


def test_files_were_found():
    assert len(FILES) > 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_prefixes_agree_with_the_registry(path):
    for prefix, iri in DECLARATION.findall(path.read_text(encoding="utf-8")):
        if prefix in PREFIXES:
            assert PREFIXES[prefix] == iri, f"{path.name}: {prefix}: is <{iri}>, the registry says <{PREFIXES[prefix]}>"
        else:
            # A prefix the registry does not know must not reuse one of its namespaces under another name.
            assert iri not in PREFIXES.values(), f"{path.name}: <{iri}> is registered as another prefix"


def test_a_disagreeing_prefix_is_caught(tmp_path):
    bad = "@prefix nap: <https://example.org/not-ours#> .\n"
    ((prefix, iri),) = DECLARATION.findall(bad)
    assert PREFIXES[prefix] != iri
