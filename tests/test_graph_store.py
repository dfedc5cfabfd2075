"""The read-only SPARQL 1.1 Graph Store HTTP Protocol at /store, against real `napkg serve` processes.

GET and HEAD give a named graph (?graph=IRI), the default graph (?default) or the whole dataset (no
parameter) in the negotiated format; every write gets 405 and changes nothing. The W3C graph store
manifests (vendored in tests/w3c-sparql11/) are replayed too: all their requests are writes followed
by reads of what was written, so on a read-only store each write must get 405, and each read must find
the store as it was (docs/endpoint.md, "Deviations").
"""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pyoxigraph as ox
import pytest
import rdflib
import rdflib.compare

from napkg.graph.namespaces import BASE
from server import running_server
from w3c_manifest import W3C, protocol_tests

RDF_FORMATS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}
ORGANISATIONS = f"{BASE}graph/organisations"
WRITES = ("PUT", "POST", "DELETE", "PATCH")


@pytest.fixture(scope="module")
def nap():
    with running_server("--workers", "1") as s:
        yield s


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gsp")
    (folder / "default.ttl").write_text("<http://example.org/a> <http://example.org/p> 'in the default graph' .\n")
    (folder / "named.ttl").write_text("<http://example.org/b> <http://example.org/p> 'in the named graph' .\n")
    return folder


@pytest.fixture(scope="module")
def served_files(files):
    with running_server(
        "--workers", "1", "--data", str(files / "default.ttl"), "--graph", f"http://example.org/g={files / 'named.ttl'}"
    ) as s:
        yield s


def get(server, params: str = "", method: str = "GET", **headers) -> httpx.Response:
    return httpx.request(method, f"{server.url}/store{params}", headers=headers, timeout=60)


def graph_of(response: httpx.Response) -> rdflib.Graph:
    media = response.headers["content-type"].split(";")[0]
    return rdflib.Graph().parse(data=response.content, format=RDF_FORMATS[media])


@pytest.mark.parametrize("media", list(RDF_FORMATS))
def test_a_named_graph_in_every_format(nap, project, media):
    response = get(nap, f"?graph={quote(ORGANISATIONS, safe='')}", accept=media)
    assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == media
    assert "accept" in response.headers["vary"].lower()
    assert rdflib.compare.isomorphic(graph_of(response), project.graphs[ORGANISATIONS])


def test_the_nap_default_graph_is_the_union_of_its_graphs(nap, graph):
    response = get(nap, "?default", accept="application/n-triples")
    assert response.status_code == 200
    served = graph_of(response)
    assert len(served) == len(graph) and set(served) == set(graph)


@pytest.mark.parametrize("media, fmt", [("application/n-quads", "nquads"), ("application/trig", "trig")])
def test_the_whole_dataset(nap, project, media, fmt):
    response = get(nap, accept=media)
    assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == media
    dataset = rdflib.Dataset()
    dataset.parse(data=response.content, format=fmt)
    names = {str(c.identifier) for c in dataset.contexts() if len(c)}
    assert names == {name for name, g in project.graphs.items() if len(g)}
    for name in names:
        assert rdflib.compare.isomorphic(dataset.graph(rdflib.URIRef(name)), project.graphs[name]), name
    assert get(nap, "?format=trig").headers["content-type"].startswith("application/trig")


def test_head_and_etag(nap):
    params = f"?graph={quote(ORGANISATIONS, safe='')}"
    full = get(nap, params, accept="text/turtle")
    head = get(nap, params, method="HEAD", accept="text/turtle")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(full.content)) and head.headers["etag"] == full.headers["etag"]
    assert get(nap, params, accept="text/turtle", **{"if-none-match": full.headers["etag"]}).status_code == 304
    other = get(nap, params, accept="application/n-triples", **{"if-none-match": full.headers["etag"]})
    assert other.status_code == 200


@pytest.mark.parametrize(
    "params, status, says",
    [
        (f"?graph={quote('http://example.org/none', safe='')}", 404, "no graph <http://example.org/none>"),
        ("?graph=relative", 400, "absolute IRI"),
        ("?default&graph=http%3A%2F%2Fexample.org%2F", 400, "Name one graph"),
        ("?graph=http%3A%2F%2Fa.org%2F&graph=http%3A%2F%2Fb.org%2F", 400, "Name one graph"),
        ("/person/1.ttl", 404, "names graphs indirectly"),
    ],
)
def test_errors(nap, params, status, says):
    response = get(nap, params)
    assert response.status_code == status and says in response.text, response.text


def test_not_acceptable(nap):
    assert get(nap, "?default", accept="image/png").status_code == 406
    assert get(nap, accept="text/turtle").status_code == 406  # a dataset is N-Quads or TriG


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("params", ["?default", f"?graph={quote(ORGANISATIONS, safe='')}", "", "/person/1.ttl"])
def test_writes_are_refused_and_change_nothing(nap, method, params):
    before = get(nap, accept="application/n-quads").content
    body = "<http://example.org/s> <http://example.org/p> <http://example.org/o> ."
    response = httpx.request(
        method, f"{nap.url}/store{params}", content=body, headers={"Content-Type": "text/turtle"}, timeout=30
    )
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    assert "read-only" in response.text
    assert get(nap, accept="application/n-quads").content == before


def test_served_files_keep_their_own_default_graph(served_files):
    default = graph_of(get(served_files, "?default", accept="text/turtle"))
    assert [str(o) for o in default.objects()] == ["in the default graph"]
    named = graph_of(get(served_files, f"?graph={quote('http://example.org/g', safe='')}", accept="text/turtle"))
    assert [str(o) for o in named.objects()] == ["in the named graph"]
    quads = list(ox.parse(get(served_files, accept="application/n-quads").content, format=ox.RdfFormat.N_QUADS))
    assert sorted(
        (q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else "", q.object.value) for q in quads
    ) == [("", "in the default graph"), ("http://example.org/g", "in the named graph")]


# --- the W3C graph store manifests, on a read-only store -------------------------------------------------

GSP = W3C / "graph-store-protocol"
GSP_TESTS = [t for m in ("manifest-direct.ttl", "manifest-indirect.ttl") for t in protocol_tests(GSP / m)]


@pytest.mark.parametrize("test", GSP_TESTS, ids=lambda t: t.name)
def test_w3c_graph_store_manifest_on_a_read_only_store(served_files, test):
    """Every request of the test, in order, on /store for /gsp. Writes get 405; so a read finds what was
    there before: no graph of the test's (404, as the manifest itself expects after a DELETE), the default
    graph unchanged, and a graph named by a Location no write returned is no IRI (400)."""
    before = get(served_files, accept="application/n-quads").content
    default = get(served_files, "?default", accept="text/turtle").content
    for request in test.requests:
        path = "/store" + request.path[len("/gsp") :]
        response = httpx.request(
            request.method, served_files.url + path, content=request.body, headers=dict(request.headers), timeout=30
        )
        what = f"{request.method} {request.path}"
        if request.method in WRITES:
            assert response.status_code == 405, what
        elif "$LOCATION$" in path:
            assert response.status_code == 400, what
        elif re.search(r"[?&]default(&|$)", path):
            assert response.status_code == 200 and response.content == (b"" if request.method == "HEAD" else default)
        else:  # a graph of the test's, which no write made: as the manifest expects after its DELETEs
            assert response.status_code == 404, what
    assert get(served_files, accept="application/n-quads").content == before


def test_w3c_graph_store_manifests_were_read():
    assert len(GSP_TESTS) == 13 and sum(len(t.requests) for t in GSP_TESTS) == 39


def test_a_graph_larger_than_the_spool_streams_from_disk(monkeypatch):
    """Past SPOOL bytes a written graph goes to a temporary file and is streamed from it, whole."""
    import asyncio

    from fastapi import FastAPI

    from napkg.endpoint import graphstore
    from napkg.endpoint.context import Context

    store = ox.Store()
    store.extend(
        ox.Quad(
            ox.NamedNode(f"http://example.org/s{i}"),
            ox.NamedNode("http://example.org/p"),
            ox.Literal(f"value {i}"),
            ox.NamedNode("http://example.org/g"),
        )
        for i in range(2000)
    )
    app = FastAPI()
    app.include_router(
        graphstore.make_router(
            Context(pool=None, settings=None, store=store, union_default_graph=False, fingerprint="f")
        )
    )
    streams = []
    chunks = graphstore._chunks
    monkeypatch.setattr(graphstore, "_chunks", lambda out: streams.append(out) or chunks(out))

    async def fetch(spool: int) -> httpx.Response:
        monkeypatch.setattr(graphstore, "SPOOL", spool)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://napkg.test") as client:
            return await client.get(
                "/store", params={"graph": "http://example.org/g"}, headers={"Accept": "application/n-triples"}
            )

    whole = asyncio.run(fetch(graphstore.SPOOL))
    assert streams == []  # under SPOOL: one piece from memory
    streamed = asyncio.run(fetch(1000))
    assert len(streams) == 1 and streams[0].closed
    assert len(whole.content) > 50_000 and streamed.content == whole.content
    assert streamed.headers["content-length"] == str(len(streamed.content))
    assert len(list(ox.parse(streamed.content, format=ox.RdfFormat.N_TRIPLES))) == 2000
