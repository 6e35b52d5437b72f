"""Durable endpoints as functions: an HTTP route that runs steps (`inngest.endpoint()` in the
TypeScript SDK 4.x) is never synced; its first checkpoint (POST /v1/checkpoint) names it.

As on the real server (`CheckpointNewRunRequest.Fn`): the app is the request's origin
(`http://host:port`), the function is `event.data.fn` or else "METHOD /path", and it has no
trigger. The engine calls it back at origin + path when a run goes on in the background (a
sleep, a retry: run/checkpoint.py), replaying the request that started it.
"""

from __future__ import annotations

from typing import Any

from learninngest.engine.sync.functions import FunctionDef
from learninngest.engine.wire import retries

# `driver.metadata.type` of an endpoint's stored config, as the real server writes it.
ENDPOINT_TYPE = "sync"
FRAMEWORK = "durable-endpoint"


def endpoint_slug(data: dict[str, Any]) -> str:
    """The function of an `http/run.started` event: `fn`, else "METHOD /path"."""
    return str(data.get("fn") or f"{data.get('method') or 'GET'} {data.get('path') or '/'}")


def endpoint_config(data: dict[str, Any], attempts_retries: int | None) -> dict[str, Any]:
    """The stored config of the endpoint an `http/run.started` event's data names."""
    slug = endpoint_slug(data)
    domain = str(data.get("domain") or "")
    url = domain + str(data.get("path") or "/")
    count = retries.DEFAULT_RETRIES if attempts_retries is None or attempts_retries < 0 else attempts_retries
    return {
        "id": slug,
        "name": slug,
        "triggers": [],
        "driver": {"uri": domain, "metadata": {"type": ENDPOINT_TYPE, "method": data.get("method") or ""}},
        "steps": {
            "step": {
                "id": "step",
                "name": slug,
                "runtime": {"type": "http", "url": url},
                "retries": {"attempts": count},
            }
        },
    }


def is_endpoint(config: Any) -> bool:
    driver = config.get("driver") if isinstance(config, dict) else None
    metadata = driver.get("metadata") if isinstance(driver, dict) else None
    return isinstance(metadata, dict) and metadata.get("type") == ENDPOINT_TYPE


def endpoint_function(app_id: str, config: dict[str, Any], version: int = 1) -> FunctionDef:
    """The FunctionDef of a stored endpoint config (no trigger: only its own requests start runs)."""
    step = config["steps"]["step"]
    return FunctionDef(
        slug=str(config["id"]),
        app_id=app_id,
        name=str(config.get("name") or config["id"]),
        config=config,
        version=version,
        url=str(step["runtime"]["url"]),
        max_attempts=int(step["retries"]["attempts"]) + 1,
    )
