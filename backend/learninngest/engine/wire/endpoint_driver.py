"""Calling a durable endpoint back: its run went on in the background (a sleep, a retry).

As the real server's `httpv2` driver: the engine replays the HTTP request that started the
run (its method, body, query and content type, kept in the run's `inngest/http.request`
event) to the endpoint's URL, with `X-Run-ID` and `X-Inngest-Signature` (empty in dev mode),
which is how the SDK tells the engine's call from a user's; in signed mode its reply is
verified as any call's. The SDK then fetches the run's steps itself (GET
/v0/runs/{id}/actions). Calls of every other URL go to `inner`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.sync.registry import Registry
from learninngest.engine.wire import protocol, signing
from learninngest.engine.wire.client_pool import ClientPool
from learninngest.engine.wire.driver import Driver


class EndpointDriver:
    def __init__(
        self, settings: EngineSettings, inner: Driver, pool: ClientPool, state: State, registry: Registry
    ) -> None:
        self.settings = settings
        self.inner = inner
        self.pool = pool
        self.state = state
        self.registry = registry

    async def call(self, url: str, body: bytes, generation: int | None = None) -> protocol.Outcome:
        if not self.registry.is_endpoint_url(url):
            return await self.inner.call(url, body, generation)
        run_id = str(((json.loads(body) or {}).get("ctx") or {}).get("run_id") or "")
        run = self.state.get_run(run_id) if run_id else None
        data = (run.event.get("data") if run else None) or {}
        original = str(data.get("body") or "").encode()
        key = self.settings.signing_key
        headers = {
            "content-type": str(data.get("content_type") or "application/json"),
            "user-agent": "learninngest-engine",
            "x-inngest-server-kind": self.settings.server_kind,
            "x-run-id": run_id,
            "x-inngest-signature": signing.sign(original, key) if key else "",
        }
        if generation is not None:
            headers[protocol.GENERATION_HEADER] = str(generation)
        try:
            async with self.pool.lend() as client:
                resp = await client.request(
                    str(data.get("method") or "POST"),
                    _with_query(_run_url(url, data), str(data.get("query_params") or "")),
                    content=original or None,
                    headers=headers,
                )
        except httpx.TimeoutException:
            return protocol.CallFailed(
                protocol.error_object(
                    "CallTimeout", f"no answer from {url} within {self.settings.call_timeout_s:g}s"
                )
            )
        except httpx.HTTPError as exc:
            return protocol.CallFailed(
                protocol.error_object(
                    type(exc).__name__, f"could not reach {url}: {exc or 'connection error'}"
                )
            )
        if key and resp.status_code in (200, 206, 500):
            keys = [k for k in (key, self.settings.signing_key_fallback) if k]
            bad = signing.problem(resp.content, resp.headers.get("x-inngest-signature"), keys)
            if bad is not None:
                why = f"the reply from {url} is not signed with this engine's signing key ({bad})"
                return protocol.CallFailed(protocol.error_object("InvalidSignature", why))
        return protocol.parse_reply(resp.status_code, dict(resp.headers), resp.content)


def _run_url(url: str, data: dict[str, Any]) -> str:
    """The run's own URL (its request's origin and path, as the real server keeps per run)
    with the call's query (`?stepId=…`); the function's URL when the event lacks them."""
    domain, path = data.get("domain"), data.get("path")
    if not isinstance(domain, str) or not isinstance(path, str) or not domain:
        return url
    parts = urlsplit(url)
    return urlunsplit(urlsplit(domain + path)._replace(query=parts.query))


def _with_query(url: str, original: str) -> str:
    """The call URL (`?stepId=…`) with the original request's query parameters added."""
    if not original:
        return url
    parts = urlsplit(url)
    query = parse_qsl(original, keep_blank_values=True) + parse_qsl(parts.query, keep_blank_values=True)
    return urlunsplit(parts._replace(query=urlencode(query)))
