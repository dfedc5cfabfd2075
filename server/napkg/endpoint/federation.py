"""SERVICE calls the operator allowed, run through the server's own forwarder with a time and size limit.

pyoxigraph calls SERVICE endpoints itself, with no limit on how long it waits or how much it reads
(tests/test_limits.py). So the server rewrites each allowed SERVICE IRI to a forwarder route on itself, behind a
secret per server start; the forwarder makes the call with a deadline and stops reading at a byte limit,
and the engine sees an error instead of a hang or a flood. IRIs outside the allow-list never get this far:
guard.check refuses them.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from .. import __version__
from ..graph.namespaces import BASE

PATH = "/_service"
#: Sent with every forwarded call: public endpoints (Wikidata's among them) ask callers to say who they are.
USER_AGENT = f"napkg/{__version__} (+{BASE}; SPARQL SERVICE forwarder)"


@dataclass
class Forwarder:
    own_url: str  # how the workers reach this server, e.g. http://127.0.0.1:8000
    timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    endpoints: list[str] = field(default_factory=list)
    calls: int = 0

    def target(self, endpoint: str) -> str:
        """The forwarder URL that stands for endpoint in a rewritten query."""
        if endpoint not in self.endpoints:
            self.endpoints.append(endpoint)
        return f"{self.own_url}{PATH}/{self.secret}/{self.endpoints.index(endpoint)}"

    def router(self) -> APIRouter:
        router = APIRouter()

        async def forward(request: Request, secret: str, index: int) -> Response:
            if not secrets.compare_digest(secret, self.secret) or not 0 <= index < len(self.endpoints):
                return Response("Not found\n", status_code=404, media_type="text/plain")
            endpoint = self.endpoints[index]
            self.calls += 1
            headers = {k.lower(): v for k, v in request.headers.items() if k.lower() in ("accept", "content-type")}
            headers["user-agent"] = USER_AGENT
            body = await request.body()
            if headers.get("content-type", "").partition(";")[0].strip().lower() == "application/sparql-query":
                # pyoxigraph posts the query as the raw body; it goes on as a form, the POST that SPARQL
                # clients send by default (SPARQLWrapper's) and endpoints take most widely: the raw-body POST
                # is the protocol's least implemented form (rdf4j's QueryResponder and QLever lacked it).
                body = urlencode({"query": body.decode("utf-8")}).encode("ascii")
                headers["content-type"] = "application/x-www-form-urlencoded"
            url = endpoint + (("&" if "?" in endpoint else "?") + request.url.query if request.url.query else "")

            async def call() -> Response:
                async with httpx.AsyncClient(timeout=httpx.Timeout(self.timeout)) as client:
                    async with client.stream(request.method, url, headers=headers, content=body) as upstream:
                        chunks, size = [], 0
                        async for chunk in upstream.aiter_bytes():
                            size += len(chunk)
                            if size > self.max_bytes:
                                return Response(
                                    f"The SERVICE endpoint {endpoint} sent more than {self.max_bytes} "
                                    "bytes, this server's limit.\n",
                                    status_code=502,
                                    media_type="text/plain",
                                )
                            chunks.append(chunk)
                        return Response(
                            b"".join(chunks),
                            status_code=upstream.status_code,
                            media_type=upstream.headers.get("content-type"),
                        )

            try:
                # One deadline for the whole call: a server that trickles bytes is cut too.
                return await asyncio.wait_for(call(), self.timeout)
            except (TimeoutError, httpx.TimeoutException):
                return Response(
                    f"The SERVICE endpoint {endpoint} did not answer within {self.timeout:g} s.\n",
                    status_code=504,
                    media_type="text/plain",
                )
            except httpx.HTTPError as error:
                return Response(
                    f"The SERVICE endpoint {endpoint} could not be reached: {error}\n",
                    status_code=502,
                    media_type="text/plain",
                )

        router.add_api_route(PATH + "/{secret}/{index}", forward, methods=["GET", "POST"], include_in_schema=False)
        return router
