"""napkg links: every outbound link against its register, with a real Oxigraph server as the register.

tests/fixtures/links/register.ttl is a small TOOI register written for these tests: the TOOI identifiers of
data/organisations.ttl with the names the register would give them, but SZW named "Ministerie van
Defensie" and KGG's identifier left out. register-fixed.ttl mends both. Each is loaded into its own
`oxigraph serve-read-only` on 127.0.0.1; the check reaches it through SPARQLWrapper like any endpoint.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import time
from difflib import SequenceMatcher
from pathlib import Path

import httpx
import pytest
import rdflib
from rdflib.namespace import DCTERMS, RDF, VOID

from napkg.cli import main
from napkg.graph.load import load_project
from napkg.graph.namespaces import NAP, PREFIXES
from napkg.links import REGISTERS, citation_problem, citation_problems, find_links, normalise, similarity
from server import free_port

HERE = Path(__file__).parent
ROOT = HERE.parent
FIXTURES = HERE / "fixtures" / "links"
REGISTER = FIXTURES / "register.ttl"
FIXED = FIXTURES / "register-fixed.ttl"
ORGANISATIONS = ROOT / "data" / "organisations.ttl"
ORG = PREFIXES["organisation"]
SZW, KGG = ORG + "szw", ORG + "kgg"
TOOI_SPACE = REGISTERS["tooi"][0]

OXIGRAPH = Path(sys.executable).parent / "oxigraph"
if not OXIGRAPH.exists() and shutil.which("oxigraph"):
    OXIGRAPH = Path(shutil.which("oxigraph"))
needs_oxigraph = pytest.mark.skipif(
    not OXIGRAPH.exists(),
    reason="the oxigraph CLI is not installed (pip install oxigraph, or pip install -e '.[bench]')",
)


def line_of(path: Path, text: str) -> int:
    """The first line of path that contains text (how we expect the report to point at a link)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


EXPECTED = [
    ("mismatch", SZW, ORGANISATIONS, line_of(ORGANISATIONS, "owl:sameAs tooimin:mnre1073")),
    ("missing", KGG, ORGANISATIONS, line_of(ORGANISATIONS, "owl:sameAs tooimin:mnre1182")),
]


@contextlib.contextmanager
def oxigraph_register(register: Path, directory: Path):
    """`oxigraph load` the register into a store, `oxigraph serve-read-only` it on a free 127.0.0.1 port, and
    yield its SPARQL query URL once it answers; stop the server afterwards."""
    location = directory / "store"
    subprocess.run(
        [str(OXIGRAPH), "load", "--location", str(location), "--file", str(register)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}/query"
    process = subprocess.Popen(
        [str(OXIGRAPH), "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                said = process.stderr.read().decode()[-2000:]
                raise RuntimeError(f"oxigraph exited with {process.returncode}: {said}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("oxigraph did not answer within 30 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        process.stderr.close()


@pytest.fixture(scope="module")
def register_url(tmp_path_factory):
    with oxigraph_register(REGISTER, tmp_path_factory.mktemp("register")) as url:
        yield url


@pytest.fixture(scope="module")
def fixed_url(tmp_path_factory):
    with oxigraph_register(FIXED, tmp_path_factory.mktemp("register-fixed")) as url:
        yield url


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["links", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys, *args: str) -> tuple[int, dict]:
    code, out, err = run(capsys, *args, "--format", "json")
    assert not err, err
    return code, json.loads(out)


def problems(report: dict) -> list[tuple]:
    return [(r["kind"], r["resource"], Path(r["file"]).resolve(), r["line"]) for r in report["results"]]


def comparable(report: dict) -> list[dict]:
    """The findings without the words naming where the register was read (URL or file)."""
    return [{k: v for k, v in r.items() if k != "message"} for r in report["results"]]


# --- Against a live register -----------------------------------------------------------------------


@needs_oxigraph
def test_endpoint_reports_the_wrong_name_and_the_missing_target(register_url, capsys):
    code, report = run_json(capsys, "check", "--endpoint", f"tooi={register_url}")
    assert code == 1 and report["ok"] is False
    assert problems(report) == EXPECTED
    mismatch, missing = report["results"]
    assert mismatch["theirs"] == ["Ministerie van Defensie"]
    assert "Ministerie van Sociale Zaken en Werkgelegenheid" in mismatch["ours"]
    assert mismatch["similarity"] < 0.85
    assert mismatch["target"] == TOOI_SPACE + "id/ministerie/mnre1073"
    assert missing["target"] == TOOI_SPACE + "id/ministerie/mnre1182" and missing["theirs"] == []
    tooi = report["registers"]["tooi"]
    assert (tooi["source"], tooi["missing"], tooi["mismatch"], tooi["not_checked"]) == (register_url, 1, 1, 0)
    assert tooi["checked"] == tooi["links"] == tooi["fine"] + 2
    for other in ("eli", "wetten", "obk"):
        row = report["registers"][other]
        assert row["source"] is None and row["checked"] == 0 and row["not_checked"] == row["links"] > 0


@needs_oxigraph
def test_the_fixed_register_passes_and_other_registers_are_reported_unchecked(fixed_url, capsys):
    code, report = run_json(capsys, "check", "--endpoint", f"tooi={fixed_url}")
    assert code == 0 and report["ok"] is True and report["results"] == []
    assert report["registers"]["tooi"]["fine"] == report["registers"]["tooi"]["links"] > 0
    assert {link["register"] for link in report["not_checked"]} == {"eli", "wetten", "obk"}

    code, out, _ = run(capsys, "check", "--endpoint", f"tooi={fixed_url}")
    assert code == 0
    for other in ("eli", "wetten", "obk"):
        assert re.search(rf"^no register given for {other}: \d+ link\(s\) not checked$", out, re.MULTILINE), out
    assert out.splitlines()[-1].startswith("All checked links are fine")


@needs_oxigraph
def test_a_snapshot_file_gives_the_same_result_as_the_endpoint(register_url, capsys):
    live_code, live = run_json(capsys, "check", "--endpoint", f"tooi={register_url}")
    file_code, offline = run_json(capsys, "check", "--snapshot", str(REGISTER))
    assert file_code == live_code == 1
    assert comparable(offline) == comparable(live)
    assert problems(offline) == EXPECTED


@needs_oxigraph
def test_links_snapshot_writes_a_file_to_check_offline(fixed_url, register_url, tmp_path, capsys):
    out = tmp_path / "snapshots" / "tooi.ttl"
    code, said, _ = run(capsys, "snapshot", "--endpoint", f"tooi={fixed_url}", "--out", str(out))
    assert code == 0 and f"wrote {out}" in said
    snapshot = rdflib.Graph().parse(out, format="turtle")
    dataset = snapshot.value(None, RDF.type, VOID.Dataset, any=False)
    assert snapshot.value(dataset, VOID.uriSpace) == rdflib.Literal(TOOI_SPACE)
    assert snapshot.value(dataset, VOID.sparqlEndpoint) == rdflib.URIRef(fixed_url)
    assert snapshot.value(dataset, DCTERMS.created) is not None
    # Only what the links need: our targets, with their types and names (not the register's codes).
    targets = {rdflib.URIRef(k.target) for k in find_links(load_project()) if k.register == "tooi"}
    assert {s for s in snapshot.subjects() if isinstance(s, rdflib.URIRef)} == targets
    assert not list(snapshot.triples((None, rdflib.URIRef(TOOI_SPACE + "def/ont/organisatiecode"), None)))

    code, report = run_json(capsys, "check", "--snapshot", str(out))
    assert code == 0 and report["results"] == [] and report["registers"]["tooi"]["source"].endswith("tooi.ttl")

    # A snapshot of the faulty register keeps its faults.
    broken = tmp_path / "broken.ttl"
    assert run(capsys, "snapshot", "--endpoint", f"tooi={register_url}", "--out", str(broken))[0] == 0
    code, report = run_json(capsys, "check", "--snapshot", str(broken))
    assert code == 1 and problems(report) == EXPECTED


def test_an_unreachable_register_is_an_error(tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}/query"  # nothing listens there
    code, out, err = run(capsys, "check", "--endpoint", f"tooi={url}", "--timeout", "5")
    assert code == 2 and out == ""
    assert f"cannot reach the tooi register at {url}" in err and "refused" in err.lower()

    target = tmp_path / "snapshot.ttl"
    code, out, err = run(capsys, "snapshot", "--endpoint", f"tooi={url}", "--out", str(target), "--timeout", "5")
    assert code == 2 and f"cannot reach the tooi register at {url}" in err
    assert not target.exists() and not list(tmp_path.iterdir()), "nothing is written"


# --- Names ---------------------------------------------------------------------------------------


def test_names_differing_only_in_accents_case_and_spacing_are_the_same():
    ours, theirs = "Ministerie van Financiën", "ministerie van  financien"
    assert SequenceMatcher(None, ours, theirs).ratio() < 1.0, "the test needs names that differ as written"
    assert normalise(ours) == normalise(theirs) == "ministerie van financien"
    assert similarity(ours, theirs) == 1.0
    assert similarity("Sociaal-Economische Raad", "SOCIAAL-ECONOMISCHE RAAD") == 1.0
    assert similarity("Ministerie van Sociale Zaken en Werkgelegenheid", "Ministerie van Defensie") < 0.85


def test_a_name_differing_only_in_accents_and_case_passes_even_at_threshold_1(capsys):
    # register-fixed.ttl names FIN "ministerie van financien" (ours: "Ministerie van Financiën") and every
    # ministry in lower case. EZK's rdfs:seeAlso to mnre1045, whose register name is EZ's, passes too:
    # names are compared for owl:sameAs only.
    code, report = run_json(capsys, "check", "--snapshot", str(FIXED), "--threshold", "1.0")
    assert code == 0 and report["results"] == [], report["results"]
    assert report["threshold"] == 1.0


# --- Without registers, and errors ----------------------------------------------------------------


def test_without_a_register_nothing_is_checked_and_it_says_so(capsys):
    code, out, err = run(capsys, "check")
    assert code == 0 and not err
    for name in REGISTERS:
        assert re.search(rf"^no register given for {name}: \d+ link\(s\) not checked$", out, re.MULTILINE), out
    assert out.splitlines()[-1].startswith("No link checked")


def test_a_snapshot_that_does_not_parse_is_an_error(tmp_path, capsys):
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "@prefix tooimin: <https://identifier.overheid.nl/tooi/id/ministerie/> .\n"
        'tooimin:mnre1073 <http://www.w3.org/2000/01/rdf-schema#label> "unterminated .\n',
        encoding="utf-8",
    )
    code, out, err = run(capsys, "check", "--snapshot", str(bad))
    assert code == 2 and out == ""
    assert re.search(rf"{re.escape(str(bad))}:2:\d+:", err), err


def test_a_snapshot_of_no_register_is_an_error(tmp_path, capsys):
    other = tmp_path / "other.ttl"
    other.write_text('<https://example.org/x> <http://www.w3.org/2000/01/rdf-schema#label> "x" .\n', encoding="utf-8")
    code, _, err = run(capsys, "check", "--snapshot", str(other))
    assert code == 2 and "holds nothing of any register" in err
    # Named explicitly, the same file speaks for TOOI: every TOOI target is then missing from it.
    code, report = run_json(capsys, "check", "--snapshot", f"tooi={other}")
    assert code == 1 and {r["kind"] for r in report["results"]} == {"missing"}
    assert len(report["results"]) == report["registers"]["tooi"]["links"]


def test_one_register_given_twice_is_an_error(capsys):
    code, _, err = run(capsys, "check", "--snapshot", str(REGISTER), "--endpoint", "tooi=http://127.0.0.1:9/query")
    assert code == 2 and "given both as --endpoint and by --snapshot" in err


@pytest.mark.parametrize(
    "args",
    [["--endpoint", "wikidata=https://query.wikidata.org/sparql"], ["--endpoint", "tooi"], ["--threshold", "1.5"]],
    ids=["register", "url", "threshold"],
)
def test_bad_options_exit_2(args, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["links", "check", *args])
    assert stop.value.code == 2


def test_github_format_points_at_file_and_line(capsys):
    code, out, _ = run(capsys, "check", "--snapshot", str(REGISTER), "--format", "github")
    assert code == 1
    errors = [
        re.match(r"::error file=([^,]+),line=(\d+),title=links (\w+) \(tooi\)::", line)
        for line in out.splitlines()
        if line.startswith("::error")
    ]
    assert all(errors) and [(m[3], Path(m[1]).resolve(), int(m[2])) for m in errors] == [
        (kind, file, line) for kind, _, file, line in EXPECTED
    ]
    assert sum(line.startswith("::notice ") for line in out.splitlines()) == 3  # eli, wetten, obk


# --- The link records in data/links.ttl -------------------------------------------------------------


def test_every_link_has_a_record_named_after_it_with_its_source():
    """link:{ref}-{kind}: the subject's ref, then the register (or juriconnect); every one names a source."""
    loaded = load_project()
    graph = loaded.union()
    links = find_links(loaded, graph)
    assert len(links) >= 30 and {k.register for k in links} == set(REGISTERS)
    records = {
        (s, graph.value(r, RDF.predicate), graph.value(r, RDF.object)): r for r, s in graph.subject_objects(RDF.subject)
    }
    assert len(records) == len(links), "one record per link, and no record without its link"
    for link in links:
        record = records.get((link.subject, link.predicate, link.value))
        assert record is not None, f"no record of {link.describe()}"
        kind = "juriconnect" if link.predicate == NAP.juriconnect else link.register
        assert str(record) == f"{PREFIXES['link']}{str(link.subject).rsplit('/', 1)[1]}-{kind}"
        assert link.source and link.file.endswith(".ttl") and link.line > 0


# --- What the records cite: public sources, never the workspace -------------------------------------

SOURCE_REPORT = "sources/nap-bhr-voortgangsrapportage-2024.txt"


def test_every_record_cites_a_public_source_by_its_url():
    """Each record names the public page or document that confirms its link, as an http(s) URL, and nothing
    it cites (dct:bibliographicCitation, dct:source) is outside the repository."""
    loaded = load_project()
    graph = loaded.union()
    records = sorted(set(graph.subjects(RDF.subject, None)), key=str)
    assert len(records) >= 30
    assert citation_problems(loaded, graph) == []
    for record in records:
        cited = [str(v) for v in graph.objects(record, DCTERMS.bibliographicCitation)]
        assert cited and all(re.match(r"https?://", c) for c in cited), f"{record}: {cited}"


def test_no_file_in_data_names_the_workspace():
    files = [p for p in (ROOT / "data").rglob("*") if p.is_file()]
    assert len(files) > 5, "the glob must find the data files"
    for path in files:
        text = path.read_text(encoding="utf-8")
        for private in ("facts.md", "../shared"):
            assert private not in text, f"{path.relative_to(ROOT)} names {private}, which no reader can open"


@pytest.mark.parametrize(
    "value, reason",
    [
        ("https://standaarden.overheid.nl/tooi/waardelijsten/", None),
        ("http://data.europa.eu/eli/dir/2024/1760/oj", None),
        (SOURCE_REPORT, None),
        (SOURCE_REPORT + "#L130", None),
        ("sources", None),
        ("facts.md, Organisations (TOOI): SZW, mnre1073", "cites a note of the workspace"),
        ("../shared/docs/facts.md", "cites a note of the workspace"),
        ("https://example.org/facts.md", "cites a note of the workspace"),
        ("../main/data/links.ttl", "neither an http(s) URL nor a path inside the repository"),
        ("/etc/hostname", "neither an http(s) URL nor a path inside the repository"),
        ("file:///etc/hostname", "neither an http(s) URL nor a path inside the repository"),
        ("", "neither an http(s) URL nor a path inside the repository"),
        ("sources/no-such-file.txt", "is no file of the repository"),
        ("Kamerstuk 36 547, nr. 4", "is no file of the repository"),
    ],
    ids=lambda v: v if isinstance(v, str) and v else "-",
)
def test_what_a_citation_may_be(value, reason):
    found = citation_problem(value, (ROOT,))
    assert (found is None) if reason is None else (found is not None and reason in found), found


def test_a_record_citing_the_workspace_fails_the_check_with_its_file_and_line(tmp_path, capsys):
    data = tmp_path / "links.ttl"
    data.write_text(
        f"""@prefix link: <https://w3id.org/nap-bhr/id/link/> .
@prefix organisation: <https://w3id.org/nap-bhr/id/organisation/> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix tooimin: <https://identifier.overheid.nl/tooi/id/ministerie/> .

link:szw-tooi a rdf:Statement ;
    rdf:subject organisation:szw ; rdf:predicate owl:sameAs ; rdf:object tooimin:mnre1073 ;
    dct:bibliographicCitation "facts.md, Organisations (TOOI): Sociale Zaken en Werkgelegenheid (SZW), mnre1073" ;
    dct:source <https://identifier.overheid.nl/tooi/id/ministerie/mnre1073> .

link:jenv-tooi a rdf:Statement ;
    rdf:subject organisation:jenv ; rdf:predicate owl:sameAs ; rdf:object tooimin:mnre1058 ;
    dct:bibliographicCitation "{SOURCE_REPORT}" ;
    dct:source "../shared/docs/facts.md" .
""",
        encoding="utf-8",
    )
    code, report = run_json(capsys, "check", str(data))
    assert code == 1 and report["ok"] is False
    assert [
        (c["record"].rsplit("/", 1)[1], c["property"].rsplit("/", 1)[1], c["line"]) for c in report["citations"]
    ] == [("szw-tooi", "bibliographicCitation", 10), ("jenv-tooi", "source", 16)]
    assert all(Path(c["file"]).resolve() == data and "no reader can open" in c["reason"] for c in report["citations"])

    code, out, _ = run(capsys, "check", str(data))
    assert code == 1
    assert f'{data}:10: citation: link:szw-tooi dct:bibliographicCitation "facts.md, Organisations' in out
    assert "cites a note of the workspace the data was made in, which no reader can open" in out
    assert out.splitlines()[-1].startswith("2 link record citation(s) are neither an http(s) URL nor a file")

    code, out, _ = run(capsys, "check", str(data), "--format", "github")
    assert code == 1 and out.count("::error file=") == 2 and "title=links citation::" in out
