"""Checks about when events become runs: rate limit (drop), throttle (delay), debounce (the last
of a burst), batching (many events, one run)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from learninngest.kit.checks.base import (
    HOUR,
    NotYet,
    advance_clock,
    amount,
    batched_into,
    check,
    count,
    distinct_runs,
    engine,
    failed,
    finished,
    only_run,
    rows,
    runs,
    send,
    send_many,
    tag,
    wait_until,
)
from learninngest.kit.stack import Stack


# --- 11. alerts: at most one per sensor per hour, the rest dropped
class Pager:
    def __init__(self) -> None:
        self.pages: list[tuple[str, float]] = []

    def page(self, sensor: str, reading: float) -> str:
        self.pages.append((sensor, reading))
        return f"paged on-call: {sensor} reads {reading}"


@check
def rate_limit(function: Any, pager: Pager) -> None:
    """In a burst, each sensor's first alert pages and the rest start no run; an hour later, again."""
    pager.pages.clear()
    noisy, quiet = f"sensor-{tag(4)}", f"sensor-{tag(4)}"
    burst = [(noisy, amount(80, 120)) for _ in range(4)] + [(quiet, amount(80, 120)) for _ in range(2)]
    ids = send_many("exercise/sensor.alert", [{"sensor": s, "reading": r} for s, r in burst])
    started = [bool(runs(e, function)) for e in ids]
    if not any(started):
        raise NotYet(
            "none of the alerts started a run when it arrived: the first alert of the hour should page "
            "at once (a debounce would wait and keep the last one instead)"
        )
    if sum(started[:4]) > 1:
        raise NotYet(
            f"{sum(started[:4])} of {noisy}'s 4 alerts in one burst started runs; at most one per hour "
            "should, and the others be dropped (not queued for later)"
        )
    if not started[0]:
        raise NotYet(f"a later alert of {noisy} started the run, not the first one")
    if not started[4]:
        raise NotYet(f"{quiet}'s alerts started no run: the limit is per sensor, not for all sensors")
    if started[5]:
        raise NotYet(f"both of {quiet}'s alerts started a run; the second should be dropped")
    for e in (ids[0], ids[4]):
        run = only_run(e, function, "exercise/sensor.alert")
        if run["status"] != "Completed":
            raise failed(run)
    if sorted(pager.pages) != sorted([burst[0], burst[4]]):
        raise NotYet(f"the pager got {pager.pages}; expected the first alert of each sensor")
    advance_clock(HOUR + 60)
    later = send("exercise/sensor.alert", {"sensor": noisy, "reading": amount(80, 120)})
    if not runs(later, function):
        raise NotYet(f"an hour later, {noisy}'s next alert still started no run: the limit is one per hour")
    only_run(later, function, "exercise/sensor.alert")


# --- 12. the partner API: 2 calls a minute, none dropped
class PartnerApi:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def submit(self, order_id: str) -> str:
        self.calls.append(order_id)
        return f"partner accepted {order_id}"


PER_MINUTE = 2  # the partner's rate...
AT_ONCE = 3  # ...and the burst it tolerates (a throttle's limit plus its burst)


def _at(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@check
def throttle(function: Any, partner: PartnerApi, orders: int = 9) -> None:
    """All orders reach the partner, later rather than dropped: 3 at once, then 2 a minute."""
    partner.calls.clear()
    ids = send_many("exercise/partner.order", [{"order_id": f"po-{tag(6)}"} for _ in range(orders)])
    if len(distinct_runs(ids, function)) < orders:
        dropped = orders - len(distinct_runs(ids, function))
        raise NotYet(
            f"{count(dropped, 'order')} of {orders} sent together started no run: dropped; the partner "
            "wants every order, only no more than 2 a minute"
        )
    ended = [only_run(e, function, "exercise/partner.order", timeout=60) for e in ids]
    for run in ended:
        if run["status"] != "Completed":
            raise failed(run)
    waited = [run for run in ended if any(r["op"] == "Throttle" for r in rows(run))]
    if len(ended) - len(waited) > AT_ONCE:
        raise NotYet(
            f"{len(ended) - len(waited)} of the {orders} orders sent together went to the partner without "
            f"waiting for their turn; it takes {AT_ONCE} at once, then {PER_MINUTE} a minute, so the "
            "others must wait, whatever else holds them back"
        )
    # Starts are never early, whatever the machine's speed: the last of n can start no sooner
    # than (n - 3) / 2 minutes after the orders arrived (virtual time, from the timeline).
    scale = _scale()
    arrived = min(_at(engine(f"/v1/events/{e}")["received_at"]) for e in ids)
    first_steps = [min(_at(r["started_at"]) for r in rows(run) if r["op"] == "StepRun") for run in ended]
    span_min = (max(first_steps) - arrived) / scale / 60
    least = (orders - AT_ONCE) / PER_MINUTE
    if span_min < least * 0.9:
        raise NotYet(
            f"the {orders} orders all reached the partner within {span_min:.1f} minutes; at "
            f"{PER_MINUTE} a minute that takes at least {least:.0f}"
        )
    if sorted(partner.calls) != sorted(engine(f"/v1/events/{e}")["data"]["order_id"] for e in ids):
        raise NotYet(f"the partner got {partner.calls}; expected each order once")


def _scale() -> float:
    from learninngest.kit.cells import _stack

    stack: Stack = _stack(None)
    return float(stack.settings.engine_time_scale)


# --- 13. a wiki page published when its author pauses, and at least every two hours
class SearchIndex:
    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []

    def publish(self, page: str, text: str) -> str:
        self.published.append((page, text))
        return f"published {page}"


PAUSE = 30 * 60  # the author's pause that publishes (virtual seconds)...
AT_LEAST_EVERY = 2 * HOUR  # ...and the longest a page waits while the author keeps editing
EDIT_EVERY = 20 * 60  # the check's author edits this often: never pausing long enough


def _edit(page: str) -> dict[str, str]:
    return {"page": page, "text": f"{page} draft {tag(6)}"}


def _taken(event_id: str, function: Any) -> str | None:
    """The run that took the event (10 s at most: the debounce's timer fires after the clock moved)."""
    found: str | None = wait_until(lambda: batched_into(event_id, function), 10.0)
    return found


def _published(index: SearchIndex, page: str) -> list[str]:
    return [text for p, text in index.published if p == page]


@check
def debounce(function: Any, index: SearchIndex) -> None:
    """A burst of edits publishes each page once, with its last text, after the pause; a long
    session publishes at least every two hours, and the last text once it ends."""
    index.published.clear()
    page, other, long_one = f"page-{tag(4)}", f"page-{tag(4)}", f"page-{tag(4)}"
    burst = [_edit(page) for _ in range(4)] + [_edit(other) for _ in range(2)]
    ids = send_many("exercise/page.edited", burst)
    if any(runs(e, function) for e in ids):
        raise NotYet(
            "an edit started a run as soon as it arrived: the page should be published once its author "
            "pauses, with the latest text (the edits of a burst make one run)"
        )
    advance_clock(PAUSE + 60)
    for event_id in (ids[3], ids[5]):
        run_id = _taken(event_id, function)
        run = finished(run_id) if run_id else None
        if run is None or run["status"] != "Completed":
            raise NotYet(f"half an hour after the last edit, no run had published {page} and {other}")
    if _published(index, page) != [burst[3]["text"]] or _published(index, other) != [burst[5]["text"]]:
        raise NotYet(
            f"after a burst of edits the index got {index.published}; expected each page once, with its "
            "last text (one run per page: the pages do not wait for each other)"
        )
    session = []
    for _ in range(8):  # 8 edits, 20 minutes apart: 2 h 40 min without a half-hour pause
        session.append(_edit(long_one))
        send("exercise/page.edited", session[-1])
        advance_clock(EDIT_EVERY)
    during = list(_published(index, long_one))
    if not during:
        raise NotYet(
            f"{long_one} was edited for {len(session) * EDIT_EVERY // 60} minutes without a pause and never "
            "published: it should be, at least every two hours, while the edits go on"
        )
    advance_clock(PAUSE + 60)
    last = session[-1]["text"]
    if not wait_until(lambda: last in _published(index, long_one), 10.0):
        raise NotYet(f"half an hour after the last edit of {long_one}, its last text was still not published")
    texts = [e["text"] for e in session]
    if not set(_published(index, long_one)) <= set(texts):
        raise NotYet(f"{long_one} was published with {_published(index, long_one)}, not its edits")


# --- 14. readings: inserted in batches
class Database:
    def __init__(self) -> None:
        self.inserts: list[list[dict[str, Any]]] = []

    def insert_many(self, readings: list[dict[str, Any]]) -> int:
        self.inserts.append(list(readings))
        return len(readings)


BATCH = 10


def _all_taken(ids: list[str], function: Any) -> list[str | None] | None:
    taken = [batched_into(e, function) for e in ids]
    return taken if all(taken) else None


@check
def batch(function: Any, db: Database, readings: int = 23) -> None:
    """23 readings sent together are inserted by 3 runs, of at most 10 each, every reading once."""
    db.inserts.clear()
    sent = [{"sensor": f"s-{tag(3)}", "value": amount(0, 50)} for _ in range(readings)]
    ids = send_many("exercise/reading", sent)
    advance_clock(60)  # the last, partial batch waits at most a few seconds for more readings
    # Every reading belongs to a run once the last batch has started (at once without batching).
    taken = wait_until(lambda: _all_taken(ids, function), 10.0) or [batched_into(e, function) for e in ids]
    started = {run_id for run_id in taken if run_id}
    for run_id in started:
        run = finished(run_id)
        if run is None or run["status"] != "Completed":
            raise failed(run or {"status": "unfinished", "output": None})
    if len(started) == readings:
        raise NotYet(f"each of the {readings} readings started a run of its own: collect them into batches")
    inserted = [row for call in db.inserts for row in call]
    key = lambda r: (r.get("sensor"), r.get("value"))  # noqa: E731 - a sort key
    if sorted(inserted, key=key) != sorted(sent, key=key):
        missing = len(sent) - len([r for r in inserted if r in sent])
        raise NotYet(
            f"{len(inserted)} rows were inserted for {readings} readings ({missing} missing): a run of a "
            "batch gets all its events, not only the first"
        )
    biggest = max(len(call) for call in db.inserts)
    if biggest > BATCH:
        raise NotYet(f"a run inserted {biggest} readings at once; batches hold at most {BATCH}")
    if len(started) > -(-readings // BATCH):
        raise NotYet(
            f"{readings} readings took {len(started)} runs; batches of {BATCH} need {-(-readings // BATCH)}"
        )
