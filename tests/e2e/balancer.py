"""A tiny round-robin HTTP load balancer for the multi-backend e2e test (stands in for nginx).

Each request goes to the next backend in turn; a backend that refuses the connection is
skipped (the request is tried on the next one), as a real balancer's passive health check
would. A backend that dies mid-request leaves the client a 502, as nginx answers. The Host
header is passed on unchanged, so the SDK registers the balancer's URL with the engine.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


def create_balancer(upstreams: list[str]) -> Starlette:
    turn = itertools.cycle(range(len(upstreams)))
    lock = threading.Lock()
    served: Counter[str] = Counter()

    async def forward(request: Request) -> Response:
        body = await request.body()
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        with lock:
            first = next(turn)
        async with httpx.AsyncClient(timeout=120) as http:
            for offset in range(len(upstreams)):
                upstream = upstreams[(first + offset) % len(upstreams)]
                try:
                    reply = await http.request(
                        request.method,
                        f"{upstream}{request.url.path}",
                        params=request.query_params,
                        headers=headers,
                        content=body,
                    )
                except httpx.ConnectError:
                    continue  # that backend is down: the next one takes the request
                except httpx.HTTPError as exc:
                    return Response(f"bad gateway: {upstream} failed mid-request ({exc!r})", status_code=502)
                served[upstream] += 1
                kept = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP_BY_HOP}
                return Response(reply.content, status_code=reply.status_code, headers=kept)
        return Response("bad gateway: no backend is up", status_code=502)

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    app = Starlette(routes=[Route("/{path:path}", forward, methods=methods)])
    app.state.served = served
    return app
