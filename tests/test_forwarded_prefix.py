"""ForwardedPrefix: a loopback proxy's X-Forwarded-Prefix becomes the root path, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.forwarded_prefix import ForwardedPrefix, trusted_prefix
from learninngest.kit.servers import BackgroundServer

PREFIX = "/user/ana/proxy/8123"


@pytest.fixture
def backend(sqlite_path: object) -> Iterator[BackgroundServer]:
    app = create_app(get_settings(result_store_url=f"sqlite:///{sqlite_path}"))
    with BackgroundServer(app, name="backend") as server:
        yield server


def test_swagger_loads_its_assets_and_schema_under_the_prefix(backend: BackgroundServer) -> None:
    page = httpx.get(f"{backend.url}/docs", headers={"X-Forwarded-Prefix": PREFIX}).text
    assert f"{PREFIX}/openapi.json" in page
    assert f"{PREFIX}/static-offline-docs/swagger-ui-bundle.js" in page
    schema = httpx.get(f"{backend.url}/openapi.json", headers={"X-Forwarded-Prefix": PREFIX + "/"}).json()
    assert schema["servers"][0]["url"] == PREFIX  # "Try it out" goes through the proxy too
    # The assets themselves are served with the prefix in the scope (mounts route on it).
    asset = httpx.get(
        f"{backend.url}/static-offline-docs/swagger-ui.css", headers={"X-Forwarded-Prefix": PREFIX}
    )
    assert asset.status_code == 200
    chat_js = httpx.get(f"{backend.url}/web/chat.js", headers={"X-Forwarded-Prefix": PREFIX})
    assert chat_js.status_code == 200


def test_without_the_header_nothing_changes(backend: BackgroundServer) -> None:
    page = httpx.get(f"{backend.url}/docs").text
    assert "'/openapi.json'" in page or '"/openapi.json"' in page
    assert "servers" not in httpx.get(f"{backend.url}/openapi.json").json()


def test_the_page_links_the_dashboard_through_the_same_proxy(backend: BackgroundServer) -> None:
    direct = httpx.get(f"{backend.url}/web/config.json").json()
    engine_port = direct["dashboard_url"].rsplit(":", 1)[1].strip("/")
    proxied = httpx.get(f"{backend.url}/web/config.json", headers={"X-Forwarded-Prefix": PREFIX}).json()
    assert proxied == {
        "dashboard_url": f"/user/ana/proxy/{engine_port}/",
        "run_url": f"/user/ana/proxy/{engine_port}/runs/{{run_id}}",
    }


def scope(client: str, prefix: bytes) -> dict[str, object]:
    return {"type": "http", "client": (client, 5000), "headers": [(b"x-forwarded-prefix", prefix)]}


@pytest.mark.parametrize(
    "prefix",
    [
        b"/user/ana/proxy/8123'</script>",  # it ends up in HTML: only plain path characters
        b'/a"b',
        b"/user/../proxy/1",
        b"relative/path",
        b"/" + b"a" * 600,
    ],
)
def test_only_a_plain_path_is_used(prefix: bytes) -> None:
    assert trusted_prefix(scope("127.0.0.1", prefix)) == ""


def test_only_a_proxy_on_this_machine_is_trusted() -> None:
    assert trusted_prefix(scope("127.0.0.1", b"/user/ana%40x/proxy/1/")) == "/user/ana%40x/proxy/1"
    assert trusted_prefix(scope("::1", b"/p")) == "/p"
    assert trusted_prefix(scope("203.0.113.9", b"/user/ana/proxy/1")) == ""


def test_the_scope_keeps_the_asgi_rule_path_includes_root_path() -> None:
    seen: dict[str, str] = {}
    inner = FastAPI()

    @inner.get("/where")
    async def where(request: Request) -> dict[str, str]:
        seen.update(root=request.scope["root_path"], path=request.scope["path"], url=str(request.url))
        return seen

    with BackgroundServer(ForwardedPrefix(inner), name="inner") as server:
        reply = httpx.get(f"{server.url}/where", headers={"X-Forwarded-Prefix": "/p/proxy/1"})
    assert reply.status_code == 200
    assert seen == {"root": "/p/proxy/1", "path": "/p/proxy/1/where", "url": f"{server.url}/p/proxy/1/where"}
