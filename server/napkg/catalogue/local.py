"""Named queries run in this process, on the validated project graph: for the command line and Python.

No server is needed: the project's files are loaded into an in-memory pyoxigraph store once per process.
Only the catalogue's own queries run here (trusted text); the public endpoint never uses this module.

Nothing run here leaves the machine: pyoxigraph would call any SERVICE endpoint with no time or size limit
(tests/test_limits.py), so a query with SERVICE is refused (ServiceNotAllowed) and the message says how to run it on a
server that allows the endpoint, whose forwarder bounds the call.
"""

from __future__ import annotations

import datetime
import decimal
import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from ..graph.load import load_project
from ..graph.namespaces import PREFIXES
from ..sparql import guard
from ..sparql.engine import Job, LocalEngine
from ..sparql.values import with_values
from .queries import NamedQuery, catalogue

if TYPE_CHECKING:
    import pandas

XSD = "http://www.w3.org/2001/XMLSchema#"


@functools.cache
def engine() -> LocalEngine:
    loaded = load_project()
    store = ox.Store()
    for name, graph in loaded.graphs.items():
        store.load(
            graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(name)
        )
    return LocalEngine(store, union_default_graph=True, prefixes=PREFIXES)


class ServiceNotAllowed(guard.Refused):
    """A query that would call another SPARQL endpoint where that is not allowed; the message names the
    endpoints and the --allow-service option that allows them."""

    def __init__(self, message: str, endpoints: tuple[str, ...]):
        super().__init__(400, message)
        self.endpoints = endpoints


def refuse_services(query: NamedQuery) -> None:
    """ServiceNotAllowed if the query calls SERVICE: this process never calls another endpoint."""
    services = tuple(dict.fromkeys(guard.inspect(query.text).services))
    if not services:
        return
    what = (
        "joins our graph with " + ", ".join(services)
        if query.endpoints
        else "calls SERVICE " + ", ".join(f"<{s}>" for s in services)
    )
    flags = " ".join(f"--allow-service {s}" for s in services if not s.startswith(("?", "$")))
    raise ServiceNotAllowed(
        f"Query '{query.name}' {what}; on the project graph in this process no SERVICE endpoint is called. "
        f"Serve the graph with `napkg serve {flags}` and run it there: `napkg query {query.name} --endpoint "
        "http://127.0.0.1:8000/sparql`. A network is needed.",
        services,
    )


def job(
    query: NamedQuery,
    values: dict[str, str],
    media_types: tuple[str, ...],
    limit: int | None = None,
    offset: int | None = None,
    max_rows: int = 1_000_000,
) -> Job:
    """The Job that runs a named query with these parameter values (ParameterError if one is wrong).

    A federated query gets its values in VALUES blocks instead of substitutions: the engine sends a SERVICE
    pattern as written, without substitutions, so only a VALUES block inside it carries the value there."""
    bound = query.substitutions(values)
    text = query.paged(limit, offset) if (limit is not None or offset) else query.text
    if query.endpoints and bound:
        return Job(query=with_values(text, bound), media_types=media_types, max_rows=max_rows)
    return Job(
        query=text,
        media_types=media_types,
        max_rows=max_rows,
        substitutions=tuple((v.value, str(t)) for v, t in bound.items()),
    )


def python_value(
    term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None,
) -> str | int | decimal.Decimal | float | bool | datetime.date | None:
    """A pyoxigraph term as a Python value: IRIs and strings as str, numbers, booleans and dates as such."""
    if term is None:
        return None
    if isinstance(term, (ox.NamedNode, ox.BlankNode)):
        return term.value
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        try:
            if datatype in (XSD + "integer", XSD + "int", XSD + "long", XSD + "gYear"):
                return int(term.value)
            if datatype == XSD + "decimal":
                return decimal.Decimal(term.value)
            if datatype in (XSD + "double", XSD + "float"):
                return float(term.value)
            if datatype == XSD + "boolean":
                return term.value in ("true", "1")
            if datatype == XSD + "date":
                return datetime.date.fromisoformat(term.value)
        except ValueError:
            pass
        return term.value
    return str(term)


class Rows(list):
    """Rows of a named query as dictionaries of Python values; .to_pandas() for a DataFrame."""

    def __init__(self, rows: Iterable[dict[str, Any]], variables: Iterable[str]) -> None:
        super().__init__(rows)
        self.variables = list(variables)

    def to_pandas(self) -> pandas.DataFrame:
        try:
            import pandas
        except ImportError:
            raise ImportError("pandas is not installed: pip install 'napkg[pandas]'") from None
        return pandas.DataFrame(list(self), columns=self.variables)


def rows(name: str, **values: object) -> Rows:
    """Run the named query on the project graph; rows as dictionaries of Python values."""
    queries = catalogue()
    if name not in queries:
        raise KeyError(f"no query named {name!r}; known: {', '.join(sorted(queries))}")
    query = queries[name]
    bound = query.substitutions({k: str(v) for k, v in values.items()})
    refuse_services(query)
    store = engine().store
    assert store is not None, "engine() is kept for the process and never closed"
    result = store.query(query.text, use_default_graph_as_union=True, substitutions=bound)
    if isinstance(result, ox.QueryBoolean):
        return Rows([{"result": bool(result)}], ["result"])
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        return Rows([{v: python_value(s[v]) for v in variables} for s in result], variables)
    triples = [
        {"subject": python_value(t.subject), "predicate": python_value(t.predicate), "object": python_value(t.object)}
        for t in result
    ]
    return Rows(triples, ["subject", "predicate", "object"])
