"""napkg build writes four validated dumps, and writes nothing when the data does not conform; the served
store is the same at every start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import rdflib

from napkg import cli
from napkg.graph import load


@pytest.mark.slow
def test_build_writes_the_four_dumps(tmp_path, graph):
    assert cli.main(["build", "--out", str(tmp_path)]) == 0
    expected = {"nap.ttl": "turtle", "nap.nt": "nt", "nap.trig": "trig", "nap.jsonld": "json-ld"}
    assert {p.name for p in tmp_path.iterdir() if p.is_file()} == set(expected)
    # and the model's documentation, generated from ontology/
    assert {p.suffix for p in (tmp_path / "docs").iterdir()} >= {".html", ".svg"}
    for name, fmt in expected.items():
        if fmt == "trig":
            ds = rdflib.Dataset()
            ds.parse(tmp_path / name, format="trig")
            names = {str(g.identifier) for g in ds.graphs() if len(g)}
            assert "https://w3id.org/nap-bhr/graph/report-2024" in names
            assert "https://w3id.org/nap-bhr/graph/ontology" in names
            assert sum(len(g) for g in ds.graphs()) >= len(graph)
        else:
            dumped = rdflib.Graph().parse(tmp_path / name, format=fmt)
            assert len(dumped) == len(graph), name


def test_build_refuses_invalid_data(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    shutil.copytree(load.DATA, data)
    # Remove every status assessment of one report: the per-report check must fail.
    text = (data / "report-2024" / "pillar-3.ttl").read_text(encoding="utf-8")
    (data / "report-2024" / "pillar-3.ttl").write_text(
        text.replace("nap:status status:", "nap:status theme:"), encoding="utf-8"
    )
    monkeypatch.setattr(load, "DATA", data)
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out)]) == 1
    assert not out.exists()
    assert "no dump written" in capsys.readouterr().err


def test_validate_exits_zero_on_the_project(capsys):
    assert cli.main(["validate"]) == 0
    assert "Conforms: 0 violation(s)" in capsys.readouterr().out


def test_the_served_store_is_the_same_whatever_the_hash_seed(tmp_path):
    """rdflib's order of triples follows Python's hash seed; the served store (and so the order of
    unordered results, the pages and the ETags) must not. Two processes with different seeds dump it."""
    script = (
        "import sys; import pyoxigraph as ox; from napkg.graph.load import to_store; "
        "from napkg.graph.load import load_project; "
        "to_store(load_project()).dump(sys.argv[1], format=ox.RdfFormat.N_QUADS)"
    )
    dumps = []
    for seed in ("1", "2"):
        target = tmp_path / f"seed-{seed}.nq"
        subprocess.run(
            [sys.executable, "-c", script, str(target)], check=True, env={**os.environ, "PYTHONHASHSEED": seed}
        )
        dumps.append(target.read_bytes())
    assert len(dumps[0]) > 100_000
    assert dumps[0] == dumps[1]
