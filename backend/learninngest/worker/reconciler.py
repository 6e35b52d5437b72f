"""Every request ends: finish the requests whose run ended but whose record did not.

A run's end reaches the store only through the run itself (step "save") or its
failure or cancel handler; if the backend or the store was down at that moment,
or the event started no run, the record would stay `pending` forever. A task in
the backend's lifespan sweeps every RECONCILE_INTERVAL_S: each request pending for
longer than RECONCILE_AFTER_S is looked up in the Inngest REST API and finished
from what its runs say (worker/run_verdict.py). It writes only on a definite
answer: while the Inngest server is unreachable it waits for the next sweep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from learninngest.api.errors import InngestUnavailable
from learninngest.api.runs import rest_headers
from learninngest.config import Settings
from learninngest.events import CHAT_REQUESTED
from learninngest.logs import request_context
from learninngest.store.base import ChatRecord, ResultStore, StoreUnavailable
from learninngest.worker.run_verdict import verdict

log = logging.getLogger("learninngest.reconciler")

SWEEP_LIMIT = 200
"""Oldest pending requests looked at per sweep."""
CLOCK_SKEW_S = 60.0
"""Events are looked for from this long before the record's creation (clocks of two hosts)."""
EVENT_PAGES = 20
"""At most this many pages of 100 events are read to find a request's event by its id."""


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class RestAnswer(RuntimeError):
    """The Inngest REST API answered, but with an error for this one request (not an outage)."""


async def rest_get(settings: Settings, path: str, params: dict[str, Any] | None = None) -> Any:
    """`data` of a REST v1 answer; 404 is None. Unreachable: InngestUnavailable (the sweep waits)."""
    url = f"{settings.inngest_api_url}{path}"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for headers in rest_headers(settings):
                reply = await http.get(url, params=params, headers=headers)
                if reply.status_code not in (401, 403):
                    break  # during a key rotation the fallback key is tried on 401
    except httpx.HTTPError as exc:
        raise InngestUnavailable(
            f"Could not reach the Inngest REST API at {url} ({type(exc).__name__})"
        ) from exc
    if reply.status_code == 404:
        return None
    if reply.status_code >= 500:
        raise InngestUnavailable(f"The Inngest REST API answered {reply.status_code} for {url}")
    if reply.status_code >= 400:
        raise RestAnswer(f"The Inngest REST API answered {reply.status_code} for {url}: {reply.text[:200]}")
    return reply.json().get("data")


async def fetch_runs(settings: Settings, event_ids: list[str]) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for event_id in event_ids:
        runs.extend(await rest_get(settings, f"/v1/events/{event_id}/runs") or [])
    return runs


async def find_event_ids(settings: Settings, record: ChatRecord) -> list[str]:
    """Internal ids of the events sent for this request (sender id = request id), newest first.

    Needed when the backend never learnt them: a send that timed out, a POST killed
    mid-way, or a re-send that Inngest de-duplicated (its id starts no run).
    """
    params: dict[str, Any] = {
        "name": CHAT_REQUESTED,
        "limit": 100,
        "received_after": rfc3339(record.created_at - timedelta(seconds=CLOCK_SKEW_S)),
    }
    found: list[str] = []
    for _page in range(EVENT_PAGES):
        events = await rest_get(settings, "/v1/events", params) or []
        found += [str(e["internal_id"]) for e in events if e.get("id") == record.request_id]
        if len(events) < params["limit"]:
            break
        params["cursor"] = events[-1]["internal_id"]
    return found


class Reconciler:
    def __init__(self, settings: Settings, store: ResultStore, notify: Callable[[str], None]) -> None:
        self.settings = settings
        self.store = store
        self.notify = notify

    async def run_forever(self) -> None:
        """Sweep now (a restarted backend catches up at once), then every interval."""
        while True:
            try:
                await self.sweep()
            except (InngestUnavailable, StoreUnavailable) as exc:
                log.warning("reconciler: sweep skipped, will retry: %s", exc)
            except Exception:  # one bad record or answer must not end the loop
                log.exception("reconciler: sweep failed, will retry")
            await asyncio.sleep(self.settings.reconcile_interval_s)

    async def sweep(self) -> int:
        """Check every request pending for longer than RECONCILE_AFTER_S; returns how many it finished."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.reconcile_after_s)
        finished = 0
        for record in await self.store.pending_before(cutoff, SWEEP_LIMIT):
            with request_context(record.request_id):
                try:
                    finished += await self.reconcile(record)
                except RestAnswer as exc:
                    log.warning("reconciler: cannot check this request: %s", exc)
        return finished

    async def reconcile(self, record: ChatRecord) -> bool:
        """Finish one pending request if its runs are over; True when it was finished here."""
        runs = await fetch_runs(self.settings, record.event_ids)
        event_found = bool(record.event_ids)
        if not runs:
            # Its own ids started nothing: the event may have arrived under an id we never learnt.
            found = [i for i in await find_event_ids(self.settings, record) if i not in record.event_ids]
            if found:
                await self.store.add_event_ids(record.request_id, found)
                runs = await fetch_runs(self.settings, found)
            event_found = event_found or bool(found)
        outcome = verdict(runs, event_found=event_found)
        if outcome is None:
            return False
        final = await self.store.finish(record.request_id, **outcome.fields)
        if final is None:
            return False
        log.warning("reconciler: request finished as %s (%s)", final.status, outcome.reason)
        self.notify(record.request_id)
        return True
