"""The dashboard behind a proxy that serves it under a prefix (as jupyter-server-proxy does):
every link, form and redirect stays under the prefix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from learninngest.kit.servers import BackgroundServer
from tests.engine.harness import local_engine, served
from tests.engine.test_dashboard import make_functions

PREFIX = "/user/ana/proxy/8288/"
URLS = re.compile(r"""(?:href|action|src)=['"]([^'"]*)['"]""")


def prefix_proxy(target: str) -> FastAPI:
    """A reverse proxy that strips PREFIX and forwards to `target` (the engine), as
    jupyter-server-proxy does; redirects are passed on as they are."""
    app = FastAPI()

    @app.api_route(PREFIX + "{path:path}", methods=["GET", "POST"])
    async def forward(path: str, request: Request) -> Response:
        async with httpx.AsyncClient(base_url=target) as client:
            reply = await client.request(
                request.method,
                "/" + path,
                params=request.query_params,
                content=await request.body(),
                headers={"content-type": request.headers.get("content-type", "")},
            )
        headers = {k: v for k, v in reply.headers.items() if k in ("content-type", "location")}
        return Response(reply.content, reply.status_code, headers)

    return app


@pytest.fixture
def proxied() -> Iterator[tuple[str, Any]]:
    with local_engine() as host, served(host, "dash-prefix", make_functions) as ctx:
        proxy = BackgroundServer(prefix_proxy(host.url), name="proxy")
        proxy.start()
        try:
            yield proxy.url + PREFIX, ctx
        finally:
            proxy.stop()


def _urls(page: str) -> list[str]:
    return [u for u in URLS.findall(page) if not u.startswith("data:")]


def test_every_url_of_the_pages_stays_under_the_prefix(proxied: tuple[str, Any]) -> None:
    base, ctx = proxied
    run = ctx.wait_run(ctx.send("dash/shown"), "Completed")
    home = httpx.get(base)
    assert home.status_code == 200
    assert all(not u.startswith(("/", "http")) for u in _urls(home.text)), _urls(home.text)
    # The page's <base> is the engine's root; every other URL is relative to it.
    root = urljoin(base, re.search(r"<base href='([^']*)'>", home.text).group(1))  # type: ignore[union-attr]
    assert root == base
    run_url = urljoin(root, f"runs/{run['run_id']}")
    assert f"runs/{run['run_id']}" in _urls(home.text)
    page = httpx.get(run_url)
    assert page.status_code == 200 and "visible-step" in page.text
    page_root = urljoin(run_url, re.search(r"<base href='([^']*)'>", page.text).group(1))  # type: ignore[union-attr]
    assert page_root == base
    assert all(not u.startswith(("/", "http")) for u in _urls(page.text)), _urls(page.text)
    # The re-sync form posts under the prefix, and its redirect leads back to the home page.
    resync = httpx.post(urljoin(root, "dashboard/sync"))
    assert resync.status_code == 303
    assert urljoin(urljoin(root, "dashboard/sync"), resync.headers["location"]) == base
