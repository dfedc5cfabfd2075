"""What the web app's routers share: the query workers for user queries, and a trusted store for ours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

if TYPE_CHECKING:
    from .pool import WorkerPool
    from .protocol import Settings


@dataclass
class Context:
    pool: WorkerPool  # runs user queries (async run(Job) -> Answer)
    settings: Settings  # limits, negotiation defaults
    store: ox.Store  # the same data, in this process, for the server's own fixed queries only
    union_default_graph: bool
    fingerprint: str  # changes when the served data changes: for ETags
    nap: bool = False  # serving the NAP graph (with its DCAT description), not files given on the command line

    def select(self, query: str, **options: Any) -> list[dict]:
        """Rows of one of the server's own SELECT queries (never a user's: those go to the pool)."""
        result = self.store.query(query, use_default_graph_as_union=self.union_default_graph, **options)
        assert isinstance(result, ox.QuerySolutions), "a SELECT query"
        variables = [v.value for v in result.variables]
        return [{v: s[v] for v in variables} for s in result]
