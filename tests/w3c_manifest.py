"""Read the W3C SPARQL 1.1 test manifests (protocol, graph store, service description) into plain Python objects.

The manifests the tests use are vendored in tests/w3c-sparql11/ (with their licence, LICENSE.md): the W3C
SPARQL 1.1 test suite's protocol, service-description and graph-store-protocol manifests and the data
files they name.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse
from urllib.request import url2pathname

import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS

W3C = Path(__file__).resolve().parent / "w3c-sparql11"

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")

_STATUS_CLASS = re.compile(r"StatusCode(\d)xx$")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # ht:absolutePath as in the manifest, starting with /sparql/
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    expected_status: tuple[str, ...]  # "2xx", "4xx", ... or exact codes such as "200"
    expected_format: str | None  # "boolean", "tabular", "RDF"
    expected_boolean: bool | None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def path_on(self, endpoint_path: str) -> str:
        """The request path with the manifest's leading /sparql/ replaced by endpoint_path (query string kept)."""
        if not self.path.startswith("/sparql/"):
            raise ValueError(f"ht:absolutePath {self.path!r} does not start with /sparql/")
        rest = self.path[len("/sparql/") :]
        if not rest or rest.startswith("?"):
            return endpoint_path + rest
        return endpoint_path.rstrip("/") + "/" + rest

    @property
    def is_update(self) -> bool:
        """A SPARQL Update operation: direct POST, form POST or (wrongly) GET with update=."""
        content_type = (self.header("content-type") or "").split(";")[0].strip().lower()
        if content_type == "application/sparql-update":
            return True
        query = urlparse(self.path).query
        if any(k == "update" for k, _ in parse_qsl(query, keep_blank_values=True)):
            return True
        if content_type == "application/x-www-form-urlencoded" and self.body is not None:
            try:
                form = parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                return False
            return any(k == "update" for k, _ in form)
        return False

    def expects(self, status: int) -> bool:
        return any(e == f"{status // 100}xx" or e == str(status) for e in self.expected_status)


@dataclass(frozen=True)
class ProtocolTest:
    name: str  # the entry's local name
    title: str  # mf:name
    requests: tuple[Request, ...]
    graph_data: tuple[tuple[str, Path], ...]  # (graph IRI, file) from ut:graphData
    default_data: tuple[Path, ...]  # files from ut:data


def local_name(node: rdflib.term.Node) -> str:
    text = str(node)
    return text.rsplit("#", 1)[-1] if "#" in text else text.rstrip("/").rsplit("/", 1)[-1]


def _path(iri: rdflib.term.Node) -> Path:
    parsed = urlparse(str(iri))
    if parsed.scheme != "file":
        raise ValueError(f"{iri} is not a local file")
    return Path(url2pathname(unquote(parsed.path)))


def load(manifest: Path) -> tuple[rdflib.Graph, rdflib.term.Node, list[rdflib.term.Node]]:
    """(graph, manifest node, entries in order)."""
    g = rdflib.Graph()
    g.parse(manifest, format="turtle", publicID=manifest.resolve().as_uri())
    node = g.value(predicate=RDF.type, object=MF.Manifest)
    if node is None:
        raise ValueError(f"{manifest}: no mf:Manifest")
    head = g.value(node, MF.entries)
    return g, node, list(Collection(g, head)) if head is not None else []


def entry_names(manifest: Path) -> list[str]:
    _, _, entries = load(manifest)
    return [local_name(e) for e in entries]


#: The single statuses the graph store manifests name (hts:Created, ...).
_STATUS_NAMES = {"OK": "200", "Created": "201", "NoContent": "204", "NotFound": "404"}


def _status(node: rdflib.term.Node) -> str:
    if isinstance(node, rdflib.Literal):
        return str(node)
    m = _STATUS_CLASS.search(str(node))
    if m:
        return f"{m.group(1)}xx"
    if str(node).startswith(str(HTS)) and local_name(node) in _STATUS_NAMES:
        return _STATUS_NAMES[local_name(node)]
    raise ValueError(f"unknown mf:expectedStatus {node}")


def _request(g: rdflib.Graph, node) -> Request:
    headers = []
    head = g.value(node, HT.headers)
    if head is not None:
        for h in Collection(g, head):
            headers.append((str(g.value(h, HT.fieldName)), str(g.value(h, HT.fieldValue))))
    body = None
    body_node = g.value(node, HT.body)
    if body_node is not None:
        chars = str(g.value(body_node, CNT.chars))
        encoding = str(g.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = chars.encode(codecs.lookup(encoding).name)
    response = g.value(node, HT.resp)
    statuses = tuple(sorted(_status(s) for s in g.objects(response, MF.expectedStatus)))
    if not statuses:
        raise ValueError(f"a request without mf:expectedStatus: {node}")
    fmt = g.value(response, MF.expectedFormat)
    boolean = g.value(response, MF.expectedBoolean)
    return Request(
        method=str(g.value(node, HT.methodName)),
        path=str(g.value(node, HT.absolutePath)),
        headers=tuple(headers),
        body=body,
        expected_status=statuses,
        expected_format=None if fmt is None else str(fmt),
        expected_boolean=None if boolean is None else bool(boolean.toPython()),
    )


def protocol_tests(manifest: Path) -> list[ProtocolTest]:
    g, _, entries = load(manifest)
    tests = []
    for entry in entries:
        action = g.value(entry, MF.action)
        head = g.value(action, HT.requests) if action is not None else None
        if head is None:
            raise ValueError(f"{local_name(entry)}: no ht:requests")
        graph_data = tuple(
            sorted((str(g.value(d, RDFS.label)), _path(g.value(d, UT.graph))) for d in g.objects(entry, UT.graphData))
        )
        default_data = tuple(sorted(_path(d) for d in g.objects(entry, UT.data)))
        tests.append(
            ProtocolTest(
                name=local_name(entry),
                title=str(g.value(entry, MF.name) or ""),
                requests=tuple(_request(g, r) for r in Collection(g, head)),
                graph_data=graph_data,
                default_data=default_data,
            )
        )
    return tests


def dataset(tests: list[ProtocolTest]) -> tuple[dict[str, Path], list[Path]]:
    """One dataset that serves every test: graph IRI -> file (each IRI always the same file), default files."""
    graphs: dict[str, Path] = {}
    default: list[Path] = []
    for test in tests:
        for name, path in test.graph_data:
            if graphs.setdefault(name, path) != path:
                raise ValueError(
                    f"{test.name}: graph {name} is {path} here but {graphs[name]} elsewhere; "
                    "the tests cannot share one server"
                )
        default += [p for p in test.default_data if p not in default]
    return graphs, default
