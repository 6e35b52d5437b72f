"""App sync: PUT an app's /api/inngest, accept its POST /fn/register, keep its functions.

The register reply mirrors the real server: `{"ok": true, "modified": …, "app_id", "sync_id"}`,
or a 4xx `{"error": "…"}` that names what was refused (the SDK hands that body back as the
answer to the PUT, so the engine's own sync reads it there).

An app already registered at one URL is not moved to another one by just any sync: the SDK
forwards unauthenticated PUTs (in dev mode, or with unauthenticated sync left on), whose Host
header picks the URL, so a forged PUT could send every later call, signed, to an attacker.
A move is accepted when the new URL is one of the engine's `-u` URLs, when it answers a sync
the engine started itself for one of them (its `deployId` token comes back), or, like the
real Dev Server, in dev mode without `-u` URLs. Otherwise: 409 naming both URLs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
import uuid
from typing import Any

import httpx

from learninngest.engine.clock import Clock
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.sync.answer import sync_error
from learninngest.engine.sync.endpoints import FRAMEWORK, endpoint_function, is_endpoint
from learninngest.engine.sync.functions import FunctionDef, parse_function
from learninngest.engine.sync.payload import ConfigRefused, RegisterBody
from learninngest.engine.wire import signing

log = logging.getLogger("learninngest.engine")
_APP_NS = uuid.UUID("0c4f4a0e-55b7-4b64-9a0e-8d6b1f7f3c21")
# Left out of the checksum: they change between identical syncs, or are spelled two ways.
_VOLATILE = {"deploy_type", "deployType", "deployId", "appname", "appName"}
SYNC_TOKEN_TTL_S = 60.0  # a start-up sync retries for ~5 s; the SDK calls back within its 30 s timeout


def same_url(a: str, b: str) -> bool:
    return a.split("?", 1)[0].rstrip("/") == b.split("?", 1)[0].rstrip("/")


def _base(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/")


class Registry:
    """The functions of every synced app, in memory, backed by the state."""

    def __init__(self, settings: EngineSettings, state: State, clock: Clock) -> None:
        self.settings = settings
        self.state = state
        self.clock = clock
        self._functions: dict[str, FunctionDef] = {}
        # The URLs of durable endpoints (sync/endpoints.py): their calls replay a request.
        self._endpoint_urls: set[str] = set()
        # Last result of syncing each URL (start-up, REST, dashboard): shown by /v1/apps.
        self.sync_results: dict[str, dict[str, Any]] = {}
        # deployId tokens of syncs this engine started for its -u URLs, with their expiry.
        self._sync_tokens: dict[str, float] = {}

    def load(self) -> None:
        """Read the functions synced before (the state must be open)."""
        self._functions.clear()
        self._endpoint_urls.clear()
        for row in self.state.list_functions():
            try:
                if is_endpoint(row["config"]):  # a durable endpoint (sync/endpoints.py)
                    fn = endpoint_function(row["app_id"], row["config"], row["version"])
                else:
                    fn = parse_function(row["app_id"], row["config"], row["version"])
                self._functions[row["slug"]] = fn
                if is_endpoint(fn.config):
                    self._endpoint_urls.add(_base(fn.url))
            except ConfigRefused as exc:  # stored by an older engine that accepted more
                log.error("stored function %s is not usable any more: %s", row["slug"], exc)

    def get(self, slug: str) -> FunctionDef | None:
        return self._functions.get(slug)

    def all(self) -> list[FunctionDef]:
        return list(self._functions.values())

    # --- POST /fn/register
    def is_configured(self, url: str) -> bool:
        """One of the engine's `-u` URLs."""
        return any(same_url(url, known) for known in self.settings.app_urls)

    def _move_refused(self, app_id: str, old: str, new: str, deploy_id: str | None) -> str | None:
        """Why `app_id` may not move from `old` to `new`, or None (see the module docstring)."""
        if same_url(old, new) or self.is_configured(new):
            return None
        now = time.monotonic()
        self._sync_tokens = {t: exp for t, exp in self._sync_tokens.items() if exp > now}
        if deploy_id and self._sync_tokens.pop(deploy_id, None) is not None:
            return None
        if not self.settings.signed and not self.settings.app_urls:
            log.warning("app %s moved from %s to %s", app_id, old, new)
            return None
        known = ", ".join(self.settings.app_urls) or "none"
        return (
            f"sync refused: app {app_id} is registered at {old}; a sync may not move it to {new}, "
            f"which is not one of this engine's app URLs (-u: {known}). If the app really moved, "
            f"start the engine with -u {new}."
        )

    def register(
        self, body: Any, expected_kind: str | None, deploy_id: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        kind = self.settings.server_kind
        if expected_kind and expected_kind != kind:
            hint = "start the engine with --signing-key" if expected_kind == "cloud" else "use a dev-mode app"
            return 400, {
                "error": f"server kind mismatch: the app expects a {expected_kind} server but this engine "
                f"runs as {kind} ({hint})"
            }
        try:
            payload = RegisterBody.read(body)
        except ConfigRefused as exc:
            return 400, {"error": str(exc)}
        app_id, url, raw_functions = payload.app_name, payload.url, payload.functions
        checksum = hashlib.sha256(
            json.dumps(
                {k: v for k, v in body.items() if k not in _VOLATILE} | {"app": app_id}, sort_keys=True
            ).encode()
        ).hexdigest()
        app_uuid = str(uuid.uuid5(_APP_NS, app_id))
        reply = {"ok": True, "app_id": app_uuid, "sync_id": str(uuid.uuid4())}
        previous = self.state.get_app(app_id)
        if previous and previous["checksum"] == checksum:
            return 200, reply | {"modified": False}
        if previous and (refused := self._move_refused(app_id, previous["url"], url, deploy_id)):
            log.error("%s", refused)
            return 409, {"error": refused}
        old = {fn.slug: fn for fn in self._functions.values() if fn.app_id == app_id}
        try:
            functions = [parse_function(app_id, raw) for raw in raw_functions]
        except ConfigRefused as exc:
            log.error("sync of app %s refused: %s", app_id, exc)
            return 400, {"error": f"sync refused: {exc}"}
        slugs = [fn.slug for fn in functions]
        if len(set(slugs)) != len(slugs):
            return 400, {"error": "sync refused: duplicate function ids"}
        for fn in functions:
            before = old.get(fn.slug)
            if before is not None:
                fn.version = before.version + (before.config != fn.config)
        self.state.save_app(
            {
                "app_id": app_id,
                "uuid": app_uuid,
                "url": url,
                "sdk": payload.sdk,
                "framework": payload.framework,
                "checksum": checksum,
                "synced": self.clock.now(),
            },
            [
                {"slug": f.slug, "uuid": f.uuid, "name": f.name, "config": f.config, "version": f.version}
                for f in functions
            ],
        )
        for slug in old:
            self._functions.pop(slug, None)
        self._functions.update({fn.slug: fn for fn in functions})
        log.info("app synced app=%s functions=%d url=%s", app_id, len(functions), url)
        return 200, reply | {"modified": True}

    def upsert_endpoint(self, app_id: str, config: dict[str, Any]) -> FunctionDef:
        """Record a durable endpoint's app and function (its first checkpoint names them); the
        same config again changes nothing. ValueError if a synced function has that id."""
        slug = str(config["id"])
        known = self._functions.get(slug)
        if known is not None and not is_endpoint(known.config):
            raise ValueError(f"function id {slug!r} belongs to synced app {known.app_id}")
        if known is not None and known.config == config and known.app_id == app_id:
            return known
        fn = endpoint_function(app_id, config, 1 if known is None else known.version + 1)
        if known is not None and known.app_id != app_id and (old := self.state.get_app(known.app_id)):
            # Served from another origin now (another port): the old app row lets it go.
            self.state.save_app(old, [self._row(f) for f in self._of_app(known.app_id) if f.slug != slug])
        others = [f for f in self._of_app(app_id) if f.slug != slug]
        self.state.save_app(
            {
                "app_id": app_id,
                "uuid": str(uuid.uuid5(_APP_NS, app_id)),
                "url": app_id,
                "sdk": "",
                "framework": FRAMEWORK,
                "checksum": "",
                "synced": self.clock.now(),
            },
            [self._row(f) for f in [*others, fn]],
        )
        self._functions[slug] = fn
        self._endpoint_urls.add(_base(fn.url))
        log.info("durable endpoint recorded app=%s fn=%s url=%s", app_id, slug, fn.url)
        return fn

    def is_endpoint_url(self, url: str) -> bool:
        """A call of this URL is a call of a durable endpoint."""
        return bool(self._endpoint_urls) and _base(url) in self._endpoint_urls

    def _of_app(self, app_id: str) -> list[FunctionDef]:
        return [f for f in self._functions.values() if f.app_id == app_id]

    @staticmethod
    def _row(f: FunctionDef) -> dict[str, Any]:
        return {"slug": f.slug, "uuid": f.uuid, "name": f.name, "config": f.config, "version": f.version}

    def keys(self) -> list[str]:
        return [k for k in (self.settings.signing_key, self.settings.signing_key_fallback) if k]

    # --- the engine syncing an app (PUT its endpoint)
    async def sync_url(self, url: str, attempts: int = 1, pause_s: float = 0.25) -> dict[str, Any]:
        """PUT `url`; the SDK registers itself and hands back the engine's reply."""
        headers = {"x-inngest-server-kind": self.settings.server_kind}
        params = {}
        if self.is_configured(url):
            # The SDK forwards deployId to /fn/register: that call then answers this sync.
            params["deployId"] = token = secrets.token_urlsafe(16)
            self._sync_tokens[token] = time.monotonic() + SYNC_TOKEN_TTL_S
        result: dict[str, Any] = {"url": url, "ok": False}
        async with httpx.AsyncClient(timeout=30.0) as client:
            for attempt in range(attempts):
                if self.settings.signing_key:  # signed now: a retried PUT must not carry an old time
                    headers["x-inngest-signature"] = signing.sign(b"", self.settings.signing_key)
                try:
                    resp = await client.put(url, headers=headers, params=params)
                except httpx.HTTPError as exc:
                    result["error"] = f"could not reach {url}: {exc or type(exc).__name__}"
                    if attempt + 1 < attempts:
                        await asyncio.sleep(pause_s)
                    continue
                try:
                    body = resp.json()
                except ValueError:
                    body = None
                if (error := sync_error(resp.status_code, body, resp.text)) is None:
                    assert isinstance(body, dict)
                    result = {"url": url, "ok": True, "modified": body.get("modified", True)}
                else:
                    result["error"] = error
                    if resp.status_code >= 500 and attempt + 1 < attempts:
                        # At start-up the app may call /fn/register back before this engine
                        # listens (the SDK then answers 500): try again like an unreachable app.
                        await asyncio.sleep(pause_s)
                        continue
                break
        result["at"] = self.clock.now()
        self.sync_results[url] = result
        if result["ok"]:
            log.info("synced %s", url)
        else:
            log.error("could not sync %s: %s", url, result["error"])
        return result

    async def sync_all(self, urls: list[str] | None = None, attempts: int = 1) -> list[dict[str, Any]]:
        targets = urls if urls is not None else self.settings.app_urls
        return [await self.sync_url(url, attempts=attempts) for url in targets]
