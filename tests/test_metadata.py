"""The graph as a dataset: its DCAT description (DCAT-AP-DONL), the downloads, and VoID from the served data."""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import rdflib
from fastapi import FastAPI
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, SH

import napkg
from napkg import cli
from napkg.endpoint.context import Context
from napkg.graph.load import ONTOLOGY, load, load_project
from napkg.graph.validate import shapes_graph, validate
from napkg.web import metadata
from napkg.web.metadata import DATASET, DATASET_FILE, DONL_REQUIRED, DUMPS, OVERHEID, VOID
from server import running_server

HERE = Path(__file__).resolve().parent
BASE_FIXTURE = HERE / "fixtures" / "valid" / "base.trig"
INVALID = HERE / "fixtures" / "invalid"
REPORT_2024 = rdflib.URIRef("https://w3id.org/nap-bhr/id/report/2024")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")  # not rdflib's closed DCAT: pytest probes module names
RDFLIB_FORMATS = {"nap.ttl": "turtle", "nap.nt": "nt", "nap.trig": "trig", "nap.jsonld": "json-ld"}


@pytest.fixture(scope="module")
def server():
    with running_server("--workers", "1") as s:
        yield s


@pytest.fixture(scope="module")
def dcat() -> rdflib.Graph:
    return rdflib.Graph().parse(DATASET_FILE, format="turtle")


# --- The DCAT description ----------------------------------------------------------------------------


@pytest.mark.parametrize("prop", DONL_REQUIRED, ids=lambda p: p.n3().split("/")[-1].strip(">"))
def test_the_dataset_has_every_property_donl_requires(dcat, prop):
    assert (DATASET, RDF.type, DCAT.Dataset) in dcat
    assert dcat.value(DATASET, prop) is not None, f"{prop} is missing from data/dataset.ttl"


def test_the_donl_values_come_from_the_lists_donl_uses(dcat):
    languages = set(map(str, dcat.objects(DATASET, DCTERMS.language)))
    assert "http://publications.europa.eu/resource/authority/language/NLD" in languages
    assert all(
        re.fullmatch(r"http://publications\.europa\.eu/resource/authority/language/[A-Z]{3}", x) for x in languages
    )
    for prop in (DCAT.theme, OVERHEID.authority):
        values = list(dcat.objects(DATASET, prop))
        assert values and all(str(v).startswith(str(OVERHEID)) for v in values), prop
    assert (
        len(list(dcat.objects(DATASET, DCTERMS.title))) == 2
        and dcat.value(DATASET, DCTERMS.modified).datatype == rdflib.XSD.date
    )


def test_licence_version_and_provenance(dcat):
    assert "publicdomain/zero/1.0" in str(dcat.value(DATASET, DCTERMS.license))
    assert str(dcat.value(DATASET, OWL.versionInfo)) == napkg.__version__
    assert REPORT_2024 in set(dcat.objects(DATASET, PROV.wasDerivedFrom))
    assert rdflib.URIRef("https://zoek.officielebekendmakingen.nl/kst-32735-401.html") in set(
        dcat.objects(DATASET, DCTERMS.source)
    )


def test_the_distributions_are_the_dumps_of_napkg_build(dcat):
    urls = {}
    for dist in dcat.objects(DATASET, DCAT.distribution):
        assert (dist, RDF.type, DCAT.Distribution) in dcat
        url = str(dcat.value(dist, DCAT.downloadURL))
        media = str(dcat.value(dist, DCAT.mediaType)).split("media-types/")[1]
        urls[url] = media
    assert urls == {f"https://w3id.org/nap-bhr/download/{name}": dump.media for name, dump in DUMPS.items()}
    service = next(dcat.subjects(DCAT.servesDataset, DATASET))
    assert (service, RDF.type, DCAT.DataService) in dcat
    assert str(dcat.value(service, DCAT.endpointURL)) == "https://w3id.org/nap-bhr/sparql"


def test_the_description_is_part_of_the_validated_graph():
    """data/dataset.ttl is loaded with the data, and shapes/dcat-shapes.ttl with the shapes; it conforms."""
    project = load_project()
    assert "https://w3id.org/nap-bhr/graph/dataset" in project.graphs
    assert (
        rdflib.URIRef("https://w3id.org/nap-bhr/shapes#DatasetShape"),
        SH.targetClass,
        DCAT.Dataset,
    ) in shapes_graph()
    assert validate(project).conforms


def test_the_dcat_shapes_catch_each_missing_required_property(tmp_path):
    """Without its DONL-required properties, the fixture's dataset has one violation for each of them."""
    graph = rdflib.Dataset(default_union=True)
    graph.parse(BASE_FIXTURE, format="trig")  # one named graph a part, which the loader keeps
    dataset = next(graph.subjects(RDF.type, DCAT.Dataset))
    for prop in DONL_REQUIRED:
        graph.remove((dataset, prop, None, None))
    broken = tmp_path / "broken.trig"
    graph.serialize(broken, format="trig")
    report = validate(load([ONTOLOGY, broken]))
    found = sorted(f.path for f in report.findings if f.focus == str(dataset) and f.severity == "Violation")
    assert found == sorted(map(str, DONL_REQUIRED))
    assert {f.rule for f in report.findings} <= {
        f"napsh:Dataset-{x}"
        for x in (
            "identifier",
            "title",
            "description",
            "modified",
            "language",
            "theme",
            "authority",
            "publisher",
            "contactPoint",
        )
    }


def test_every_required_property_has_an_invalid_fixture():
    """tests/test_shapes.py runs these; here: each DONL-required property has one that removes it."""
    paths = set()
    for fixture in INVALID.glob("dataset-*.ru"):
        text = fixture.read_text(encoding="utf-8")
        if "-missing" in fixture.stem:
            paths.add(re.search(r"^# path: (\S+)", text, re.M).group(1))
    assert {str(p) for p in DONL_REQUIRED} <= paths


# --- Downloads ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    assert cli.main(["build", "--out", str(out)]) == 0
    return out


def parsed(data: bytes, name: str):
    fmt = RDFLIB_FORMATS[name]
    if fmt == "trig":
        ds = rdflib.Dataset()
        ds.parse(data=data, format="trig")
        return {str(g.identifier): len(g) for g in ds.graphs() if len(g)}
    return len(rdflib.Graph().parse(data=data, format=fmt))


@pytest.mark.parametrize("name", list(DUMPS))
def test_downloads_are_the_same_graph_as_the_build(server, built, name):
    response = httpx.get(f"{server.url}/download/{name}", timeout=60)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == DUMPS[name].media
    assert parsed(response.content, name) == parsed((built / name).read_bytes(), name)
    # Conditional requests: the same file is not sent twice.
    etag = response.headers["etag"]
    for tags in (etag, etag.removeprefix("W/"), "*"):  # weak comparison, as RFC 9110 prescribes
        again = httpx.get(f"{server.url}/download/{name}", headers={"If-None-Match": tags})
        assert again.status_code == 304 and not again.content, tags


def test_download_page_lists_every_file(server):
    page = httpx.get(server.url + "/download/", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name in DUMPS:
        assert f'href="/download/{name}"' in page.text and f"https://w3id.org/nap-bhr/download/{name}" in page.text
    assert 'href="/.well-known/void"' in page.text and 'href="/sparql"' in page.text
    assert httpx.get(server.url + "/download").status_code in (200, 308)
    assert httpx.get(server.url + "/download/nap.xml").status_code == 404


def test_download_page_negotiates_the_dcat_description(server, dcat):
    for headers, fmt in (({"Accept": "text/turtle"}, "turtle"), ({"Accept": "application/ld+json"}, "json-ld")):
        response = httpx.get(server.url + "/download/", headers=headers, timeout=30)
        assert response.status_code == 200
        assert len(rdflib.Graph().parse(data=response.content, format=fmt)) == len(dcat)


def asgi(app, method: str, path: str) -> httpx.Response:
    """One request to an app in this process."""

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://napkg.test") as client:
            return await client.request(method, path)

    return asyncio.run(send())


def test_dumps_are_written_when_first_asked_for(project_store):
    """The dumps are not made at start-up (sorted and kept in memory they cost 0.5 GB and 9 s on a graph 100
    times the NAP's): the first request writes them as files, served from there, removed with the process."""
    context = Context(pool=None, settings=None, store=project_store, union_default_graph=True, fingerprint="")
    router = metadata.make_router(context)
    dumps = router.dumps
    assert dumps.folder is None and not dumps.etags
    app = FastAPI()
    app.include_router(router)
    head = asgi(app, "HEAD", "/download/nap.nt")
    folder = dumps.folder
    assert sorted(path.name for path in folder.iterdir()) == sorted(DUMPS)
    response = asgi(app, "GET", "/download/nap.nt")
    assert head.headers["content-length"] == response.headers["content-length"] == str(len(response.content))
    assert (
        response.headers["etag"]
        == head.headers["etag"]
        == 'W/"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
    )
    assert response.headers["content-disposition"] == 'attachment; filename="nap.nt"'
    # In the order of their text, each triple once: the same data gives the same file.
    lines = response.text.splitlines()
    assert lines == sorted(set(lines)) and len(lines) == len(
        {(q.subject, q.predicate, q.object) for q in project_store}
    )
    again = metadata.Dumps(project_store)
    try:
        assert all((again.ready() / name).read_bytes() == (folder / name).read_bytes() for name in DUMPS)
    finally:
        again.close()
    # A dump that went (a cleaner of /tmp) is written again, not a server error.
    (folder / "nap.ttl").unlink()
    assert asgi(app, "GET", "/download/nap.ttl").status_code == 200
    assert not folder.exists() and dumps.folder.exists()
    rewritten = dumps.folder
    dumps.close()
    assert not rewritten.exists()


def test_a_stopped_server_leaves_no_files(tmp_path):
    """The dumps go when the server stops (uvicorn ends on SIGTERM by raising it again: no exit hooks)."""
    with running_server("--workers", "1", env={**os.environ, "TMPDIR": str(tmp_path)}) as s:
        assert httpx.get(s.url + "/download/nap.ttl", timeout=60).status_code == 200
        assert [p for p in tmp_path.iterdir() if p.name.startswith("napkg-dumps-")]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("napkg-")]


def test_the_dumps_folder_goes_with_the_process():
    code = (
        "import pyoxigraph as ox\n"
        "from napkg.web.metadata import Dumps\n"
        "store = ox.Store()\n"
        "store.add(ox.Quad(ox.NamedNode('http://example.org/s'), ox.NamedNode('http://example.org/p'), "
        "ox.Literal('o')))\n"
        "dumps = Dumps(store)\n"
        "print(dumps.ready(), flush=True)\n"
    )
    folder = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert Path(folder).name.startswith("napkg-dumps-") and not Path(folder).exists()


# --- VoID ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def void(server) -> rdflib.Graph:
    response = httpx.get(server.url + "/.well-known/void", timeout=60)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    return rdflib.Graph().parse(data=response.content, format="turtle")


def number(graph, subject, prop) -> int:
    value = graph.value(subject, prop)
    assert value is not None, f"{subject} has no {prop}"
    return int(value)


def test_void_describes_the_dataset(void):
    assert (DATASET, RDF.type, VOID.Dataset) in void and (DATASET, RDF.type, DCAT.Dataset) in void
    assert void.value(DATASET, VOID.sparqlEndpoint) is not None


def test_void_counts_equal_the_project(void, project):
    union = project.union()
    assert number(void, DATASET, VOID.triples) == len(union)
    assert number(void, DATASET, VOID.distinctSubjects) == len(set(union.subjects()))

    classes = collections.Counter(
        c for c in set(union.objects(None, RDF.type)) for _ in set(union.subjects(RDF.type, c))
    )
    stated = {
        void.value(p, VOID["class"]): number(void, p, VOID.entities) for p in void.objects(DATASET, VOID.classPartition)
    }
    assert stated == {c: n for c, n in classes.items() if isinstance(c, rdflib.URIRef)}

    properties = collections.Counter(p for _, p, _ in union)
    stated = {
        void.value(p, VOID.property): number(void, p, VOID.triples)
        for p in void.objects(DATASET, VOID.propertyPartition)
    }
    assert stated == dict(properties)

    graphs = {str(g): number(void, g, VOID.triples) for g in void.objects(DATASET, VOID.subset)}
    assert graphs == {name: len(g) for name, g in project.graphs.items()}


def test_void_negotiates(server):
    response = httpx.get(server.url + "/.well-known/void", headers={"Accept": "application/ld+json"}, timeout=60)
    assert response.headers["content-type"].startswith("application/ld+json")
    assert json.loads(response.content)
    response = httpx.get(server.url + "/.well-known/void?format=nt", timeout=60)
    assert response.headers["content-type"].startswith("application/n-triples")
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = httpx.get(server.url + "/.well-known/void", headers={"Accept": browser}, timeout=60)
    assert response.headers["content-type"].startswith("text/turtle")
    assert httpx.get(server.url + "/.well-known/void", headers={"Accept": "image/png"}).status_code == 406
