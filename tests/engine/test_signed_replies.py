"""Signed mode: the engine verifies the app's replies; a missing, tampered, day-old or
future-dated signature is a retriable failure whose error says the signature was invalid.

The app here is a tiny FastAPI app (not the SDK), registered through POST /fn/register with
the SDK's bearer, so it can answer with whatever signature the test wants.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from inngest._internal import transforms

from learninngest.engine.wire import signing
from learninngest.kit.servers import BackgroundServer
from tests.engine.harness import TEST_SIGNING_KEY, Host, local_engine
from tests.support import wait_for

APP_ID = "raw-signed"
KINDS = ("good", "unsigned", "tampered", "old", "future")
DAY_S = 86_400


def make_app(box: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.post("/api/inngest")
    async def call(request: Request, fnId: str) -> Response:  # noqa: N803 - the protocol's name
        raw = await request.body()
        box.setdefault("verified", []).append(
            signing.verify(raw, request.headers.get("x-inngest-signature"), [TEST_SIGNING_KEY])
        )
        kind = fnId.removeprefix(f"{APP_ID}-")
        body = json.dumps(f"{kind} reply").encode()
        headers = {"content-type": "application/json"}
        if kind == "good":
            headers["x-inngest-signature"] = signing.sign(body, TEST_SIGNING_KEY)
        elif kind == "tampered":
            headers["x-inngest-signature"] = signing.sign(b'"another reply"', TEST_SIGNING_KEY)
        elif kind == "old":  # a genuine reply captured yesterday, replayed
            headers["x-inngest-signature"] = signing.sign(body, TEST_SIGNING_KEY, int(time.time()) - DAY_S)
        elif kind == "future":
            headers["x-inngest-signature"] = signing.sign(
                body, TEST_SIGNING_KEY, int(time.time()) + 365 * DAY_S
            )
        return Response(body, 200, headers=headers)

    return app


def register(host: Host, app_url: str) -> None:
    functions = [
        {
            "id": f"{APP_ID}-{kind}",
            "name": kind,
            "triggers": [{"event": f"raw/{kind}"}],
            "steps": {
                "step": {
                    "id": "step",
                    "name": "step",
                    "retries": {"attempts": 1},
                    "runtime": {"type": "http", "url": f"{app_url}?fnId={APP_ID}-{kind}&stepId=step"},
                }
            },
        }
        for kind in KINDS
    ]
    body = {"appname": APP_ID, "url": app_url, "deploy_type": "ping", "functions": functions}
    bearer = transforms.hash_signing_key(TEST_SIGNING_KEY)
    assert isinstance(bearer, str)
    resp = httpx.post(f"{host.url}/fn/register", json=body, headers={"authorization": f"Bearer {bearer}"})
    assert resp.status_code == 200 and resp.json()["ok"], resp.text


def test_the_engine_rejects_unsigned_tampered_and_stale_replies() -> None:
    box: dict[str, Any] = {}
    with (
        local_engine(signing_key=TEST_SIGNING_KEY) as host,
        BackgroundServer(make_app(box), name=APP_ID) as server,
    ):
        app_url = f"{server.url}/api/inngest"
        register(host, app_url)
        events = {kind: send(host, f"raw/{kind}") for kind in KINDS}

        good = wait_run(host, events["good"], "Completed")
        assert good["output"] == "good reply"
        reasons = {
            "unsigned": r"is not signed with this engine's signing key \(unsigned\)",
            "tampered": r"is not signed with this engine's signing key \(wrong key\)",
            "old": r"has a stale signature 8640\d s old \(more than 300 s",
            "future": r"has a stale signature 3153\d{4} s in the future \(more than 300 s",
        }
        for kind, reason in reasons.items():
            run = wait_run(host, events[kind], "Failed")
            assert run["output"]["name"] == "InvalidSignature"
            assert re.search(reason, run["output"]["message"]), run["output"]
            steps = get(host, f"/v1/runs/{run['run_id']}/steps")
            rows = [(r["op"], r["status"], r["attempt"], r["error"]["name"]) for r in steps]
            # retries=1: the first invalid reply is retried like any failed call, the second fails.
            assert rows == [
                ("Call", "Retrying", 0, "InvalidSignature"),
                ("Call", "Failed", 1, "InvalidSignature"),
            ]
        # Every call the engine made was signed with its key.
        assert box["verified"] and all(box["verified"])


def get(host: Host, path: str) -> Any:
    with host.rest() as rest:
        resp = rest.get(path)
        resp.raise_for_status()
        return resp.json()["data"]


def wait_run(host: Host, event_id: str, status: str) -> dict[str, Any]:
    def check() -> dict[str, Any]:
        runs = get(host, f"/v1/events/{event_id}/runs")
        assert len(runs) == 1 and runs[0]["status"] == status, runs
        return dict(runs[0])

    return wait_for(check, timeout=15)


def send(host: Host, name: str) -> str:
    with host.rest() as rest:
        resp = rest.post("/e/test-key", json={"name": name, "data": {}})
        resp.raise_for_status()
        return str(resp.json()["ids"][0])
