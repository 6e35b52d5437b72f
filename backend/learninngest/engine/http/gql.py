"""POST /v0/gql: the part of the Dev Server's GraphQL API that SDK test helpers and tools use.

Names, types and enums are the Dev Server's (pkg/coreapi/gql.*.graphql); only the fields
this engine can answer truthfully are in the schema, so asking for any other is a GraphQL
validation error, as for a misspelt field on the Dev Server. Answers come from the same
state queries as rest_api.py. Built on graphql-core (why: docs/architecture.md).

HTTP statuses follow the Dev Server's server (gqlgen): an unparsable or invalid query
answers 422 with `errors`, a query that runs answers 200 (with `errors` beside `data` when
a resolver failed, e.g. an unknown run), never 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from graphql import GraphQLError, build_schema, execute_sync

from learninngest.engine.clock import iso
from learninngest.engine.flow import TIMELINE_OPS
from learninngest.engine.http.gql_bounds import prepare_query
from learninngest.engine.ids import is_ulid
from learninngest.engine.run import defers
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.state.models import Defer, DeferStatus, Run, RunStatus, StepRow
from learninngest.engine.sync.functions import FunctionDef
from learninngest.engine.sync.registry import Registry
from learninngest.engine.wire import signing

log = logging.getLogger("learninngest.engine")

SDL = """
scalar Time
scalar ULID
scalar UUID
scalar Bytes

type Query {
  event(query: EventQuery!): Event
  eventV2(id: ULID!): EventV2!
  functionRun(query: FunctionRunQuery!): FunctionRun
  run(runID: String!): FunctionRunV2
  runTrigger(runID: String!): RunTraceTrigger!
  runTrace(runID: String!): RunTraceSpan!
  runTraceSpanOutputByID(outputID: String!): RunTraceSpanOutput!
}

input EventQuery { workspaceId: ID! = "local", eventId: ID! }
input FunctionRunQuery { workspaceId: ID! = "local", functionRunId: ID! }

enum EventStatus { RUNNING COMPLETED PAUSED FAILED PARTIALLY_FAILED NO_FUNCTIONS }
enum FunctionRunStatus { COMPLETED FAILED CANCELLED RUNNING QUEUED }
enum RunTraceSpanStatus { FAILED QUEUED RUNNING COMPLETED WAITING CANCELLED }
enum StepOp { INVOKE RUN SLEEP WAIT_FOR_EVENT AI_GATEWAY }

type Event {
  id: ULID!
  externalID: String
  name: String
  createdAt: Time
  payload: String
  raw: String
  status: EventStatus
  pendingRuns: Int
  totalRuns: Int
  functionRuns: [FunctionRun!]
}

type EventV2 {
  id: ULID!
  name: String!
  idempotencyKey: String
  occurredAt: Time!
  receivedAt: Time!
  raw: String!
  version: String
  runs: [FunctionRunV2!]!
}

type App { id: ID!, externalID: String!, name: String!, url: String }

type Function {
  id: String!, name: String!, slug: String!, config: String!, url: String!, appID: String!, app: App!
}

type FunctionRun {
  id: ID!
  functionID: String!
  function: Function
  event: Event
  events: [Event!]!
  status: FunctionRunStatus
  startedAt: Time
  finishedAt: Time
  output: String
  eventID: ID!
  cron: String
}

type FunctionRunV2 {
  id: ULID!
  appID: UUID!
  app: App!
  functionID: UUID!
  function: Function!
  traceID: String!
  queuedAt: Time!
  startedAt: Time
  endedAt: Time
  status: FunctionRunStatus!
  sourceID: String
  triggerIDs: [ULID!]!
  eventName: String
  isBatch: Boolean!
  cronSchedule: String
  output: Bytes
  trace: RunTraceSpan
  hasAI: Boolean!
  defers: [RunDefer!]!
  siblingDefers: [RunDefer!]!
  deferredFrom: [RunDeferredFrom!]!
  isDeferred: Boolean!
}

enum RunDeferStatus { SCHEDULED ABORTED REJECTED }

type RunDefer {
  hashedDeferID: String!
  userlandDeferID: String!
  fnSlug: String!
  status: RunDeferStatus!
  function: Function
  runID: ULID
  run: FunctionRunV2
}

type RunDeferredFrom { runID: ULID!, function: Function!, run: FunctionRunV2 }

type RunTraceSpan {
  appID: UUID!
  functionID: UUID!
  runID: ULID!
  spanID: String!
  traceID: String!
  name: String!
  status: RunTraceSpanStatus!
  attempts: Int
  duration: Int
  outputID: String
  queuedAt: Time!
  startedAt: Time
  endedAt: Time
  childrenSpans: [RunTraceSpan!]!
  stepOp: StepOp
  stepID: String
  isRoot: Boolean!
  parentSpanID: String
  isUserland: Boolean!
}

type RunTraceSpanOutput { input: Bytes, data: Bytes, error: StepError }
type StepError { message: String!, name: String, stack: String }

type RunTraceTrigger {
  eventName: String
  IDs: [ULID!]!
  payloads: [Bytes!]!
  timestamp: Time!
  isBatch: Boolean!
  batchID: ULID
  cron: String
}
"""
SCHEMA = build_schema(SDL)

RUN_STATUS = {
    "Running": "RUNNING",
    "Completed": "COMPLETED",
    "Failed": "FAILED",
    "Cancelled": "CANCELLED",
    "Skipped": "CANCELLED",  # singleton skip: ended without running; the enum has no SKIPPED
}
STEP_OP = {
    "StepRun": "RUN",
    "Step": "RUN",
    "StepError": "RUN",
    "StepFailed": "RUN",
    "StepPlanned": "RUN",
    "Sleep": "SLEEP",
    "WaitForEvent": "WAIT_FOR_EVENT",
    "InvokeFunction": "INVOKE",
    "AIGateway": "AI_GATEWAY",
}
DEFER_STATUS = {  # the server's ToRunDeferStatus
    DeferStatus.AFTER_RUN: "SCHEDULED",
    DeferStatus.ABORTED: "ABORTED",
    DeferStatus.REJECTED: "REJECTED",
}
SPAN_STATUS = {
    "Completed": "COMPLETED",
    "Planned": "QUEUED",
    "Inferring": "RUNNING",  # step.ai.infer: the engine is making the request
    "Sleeping": "WAITING",
    "Waiting": "WAITING",
    "Invoking": "WAITING",
    "Cancelled": "CANCELLED",
    "TimedOut": "COMPLETED",  # a wait or invoke that timed out still ends the step
    "Throttled": "QUEUED",  # flow control: waiting for the throttle
    "Skipped": "CANCELLED",
}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class Resolver:
    """Turns state rows into the Dev Server's GraphQL objects (dicts; callables resolve lazily)."""

    def __init__(self, state: State, registry: Registry) -> None:
        self.state = state
        self.registry = registry

    # --- lookups
    def _run(self, run_id: str) -> Run:
        run = self.state.get_run(run_id) if is_ulid(run_id) else None
        if run is None:
            raise GraphQLError(f"run {run_id} not found")
        return run

    def _run_status(self, run: Run) -> str:
        if run.status == "Scheduled":
            # Queued until its first call has started; then it is running (between steps too).
            # (Flow control's rows, a debounce or a throttle wait, are not calls.)
            calls = [s for s in self.state.steps_of(run.run_id) if s["op"] not in TIMELINE_OPS]
            return "RUNNING" if calls else "QUEUED"
        return RUN_STATUS.get(run.status, "RUNNING")

    def _app(self, fn: FunctionDef | None) -> dict[str, Any]:
        row = self.state.get_app(fn.app_id) if fn else None
        return {
            "id": row["uuid"] if row else "",
            "externalID": fn.app_id if fn else "",
            "name": fn.app_id if fn else "",
            "url": row["url"] if row else None,
        }

    def _function(self, fn: FunctionDef | None, slug: str) -> dict[str, Any]:
        return {
            "id": fn.uuid if fn else slug,
            "name": fn.name if fn else slug,
            "slug": slug,
            "config": _json(fn.config if fn else {}),
            "url": fn.url if fn else "",
            "appID": (self._app(fn)["id"]) if fn else "",
            "app": lambda _info: self._app(fn),
        }

    # --- Query fields
    def event(self, _info: Any, query: dict[str, Any]) -> dict[str, Any] | None:
        event_id = str(query["eventId"])
        row = self.state.get_event(event_id) if is_ulid(event_id) else None
        return None if row is None else self._event(row)

    def _event(self, row: dict[str, Any]) -> dict[str, Any]:
        body = json.loads(row["body"])
        # As REST /v1/events/{id}/runs: a singleton-skipped run is no function run of the event.
        runs = [r for r in self.state.runs_for_event(row["internal_id"]) if r.status != RunStatus.SKIPPED]
        statuses = [self._run_status(r) for r in runs]
        return {
            "id": row["internal_id"],
            "externalID": body.get("id"),
            "name": row["name"],
            "createdAt": iso(row["received"]),
            "payload": _json(body.get("data")),
            "raw": _json(body),
            "status": _event_status(statuses),
            "pendingRuns": sum(s in ("QUEUED", "RUNNING") for s in statuses),
            "totalRuns": len(runs),
            "functionRuns": lambda _info: [self._function_run(r) for r in runs],
        }

    def event_v2(self, _info: Any, id: str) -> dict[str, Any]:  # noqa: A002 (schema name)
        row = self.state.get_event(id) if is_ulid(id) else None
        if row is None:
            raise GraphQLError(f"event {id} not found")
        body = json.loads(row["body"])
        return {
            "id": row["internal_id"],
            "name": row["name"],
            "idempotencyKey": row["id"],  # the sender's id, else the event's own ULID
            "occurredAt": iso(row["ts"] / 1000),
            "receivedAt": iso(row["received"]),
            "raw": _json(body),
            "version": body.get("v"),
            "runs": lambda _info: [self._run_v2(r) for r in self.state.runs_for_event(id)],
        }

    def function_run(self, _info: Any, query: dict[str, Any]) -> dict[str, Any] | None:
        run_id = str(query["functionRunId"])
        run = self.state.get_run(run_id) if is_ulid(run_id) else None
        return None if run is None else self._function_run(run)

    def _function_run(self, run: Run) -> dict[str, Any]:
        fn = self.registry.get(run.function_slug)
        return {
            "id": run.run_id,
            "functionID": fn.uuid if fn else run.function_slug,
            "function": lambda _info: self._function(fn, run.function_slug),
            "event": lambda _info: self._event_or_none(run.event_id),
            "events": lambda _info: [e for e in (self._event_or_none(run.event_id),) if e],
            "status": self._run_status(run),
            "startedAt": iso(run.started),
            "finishedAt": iso(run.ended),
            "output": _json(run.output) if run.finished else None,
            "eventID": run.event_id,
            "cron": run.cron,
        }

    def _event_or_none(self, event_id: str) -> dict[str, Any] | None:
        row = self.state.get_event(event_id)
        return None if row is None else self._event(row)

    def run(self, _info: Any, runID: str) -> dict[str, Any] | None:  # noqa: N803 (schema name)
        run = self.state.get_run(runID) if is_ulid(runID) else None
        return None if run is None else self._run_v2(run)

    def _run_v2(self, run: Run) -> dict[str, Any]:
        fn = self.registry.get(run.function_slug)
        parents = defers.parents_of(run)
        return {
            "id": run.run_id,
            "appID": self._app(fn)["id"],
            "app": lambda _info: self._app(fn),
            "functionID": fn.uuid if fn else "",
            "function": lambda _info: self._function(fn, run.function_slug),
            "traceID": run.run_id,
            "queuedAt": iso(run.started),
            "startedAt": iso(run.started),
            "endedAt": iso(run.ended),
            "status": self._run_status(run),
            "sourceID": run.parent_run_id,
            "triggerIDs": [run.event_id],
            "eventName": run.event.get("name"),
            "isBatch": len(run.events) > 1,
            "cronSchedule": run.cron,
            "output": _json(run.output) if run.finished else None,
            "trace": lambda _info: self._trace(run, fn),
            "hasAI": any(s["op"] == "AIGateway" for s in self.state.steps_of(run.run_id)),
            "defers": lambda _info: [self._defer(run, hid) for hid in sorted(run.defers)],
            "siblingDefers": lambda _info: self._sibling_defers(run, parents),
            "deferredFrom": lambda _info: [self._deferred_from(p) for p in parents],
            "isDeferred": bool(parents),
        }

    # --- defer(): a run's defers and, for a run a defer started, where it came from
    def _defer(self, run: Run, hashed_id: str) -> dict[str, Any]:
        defer = run.defers[hashed_id]
        child = self._deferred_run(run, hashed_id, defer)
        fn = self.registry.get(defer["fn_slug"])
        return {
            "hashedDeferID": hashed_id,
            "userlandDeferID": defer["id"],
            "fnSlug": defer["fn_slug"],
            "status": DEFER_STATUS[defer["status"]],
            "function": lambda _info: self._function(fn, defer["fn_slug"]) if fn else None,
            "runID": child.run_id if child else None,
            "run": lambda _info: self._run_v2(child) if child else None,
        }

    def _deferred_run(self, run: Run, hashed_id: str, defer: Defer) -> Run | None:
        """The run the defer started: its function's, from the event the engine sent for it
        (the server stamps that run's id on the defer's span when it schedules it)."""
        if not run.finished or defer["status"] != DeferStatus.AFTER_RUN:
            return None
        started = self.state.runs_for_sender_id(defers.event_id(run.run_id, hashed_id))
        return next((r for r in started if r.function_slug == defer["fn_slug"]), None)

    def _deferred_from(self, parent: tuple[str, str]) -> dict[str, Any]:
        run_id, slug = parent
        return {
            "runID": run_id,
            "function": lambda _info: self._function(self.registry.get(slug), slug),
            "run": lambda _info: self.run(_info, run_id),
        }

    def _sibling_defers(self, run: Run, parents: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """The defers of the runs that started this one, but the one that did (its peers)."""
        out = []
        for run_id, _slug in parents:
            parent = self.state.get_run(run_id)
            if parent is None:  # past its retention
                continue
            for hashed_id in sorted(parent.defers):
                sibling = self._defer(parent, hashed_id)
                if sibling["runID"] != run.run_id:
                    out.append(sibling)
        return out

    def run_trigger(self, _info: Any, runID: str) -> dict[str, Any]:  # noqa: N803
        run = self._run(runID)
        row = self.state.get_event(run.event_id)
        return {
            "eventName": None if run.cron else run.event.get("name"),
            "IDs": [run.event_id],
            "payloads": [_json(e) for e in run.events],
            "timestamp": iso(row["received"] if row else run.started),
            "isBatch": len(run.events) > 1,
            "batchID": None,
            "cron": run.cron,
        }

    def run_trace(self, _info: Any, runID: str) -> dict[str, Any]:  # noqa: N803
        run = self._run(runID)
        return self._trace(run, self.registry.get(run.function_slug))

    def span_output(self, _info: Any, outputID: str) -> dict[str, Any]:  # noqa: N803
        run_id, _, seq = outputID.partition(":")
        run = self._run(run_id)
        if seq == "run":
            if not run.finished:
                return {"input": None, "data": None, "error": None}
            if run.status == "Completed":
                return {"input": None, "data": _json(run.output), "error": None}
            return {"input": None, "data": None, "error": _step_error(run.output)}
        row = next((s for s in self.state.steps_of(run.run_id) if str(s["seq"]) == seq), None)
        if row is None:
            raise GraphQLError(f"output {outputID} not found")
        if row["error"] is not None and row["status"] != "Completed":
            return {"input": None, "data": None, "error": _step_error(row["error"])}
        return {"input": None, "data": _json(row["output"]), "error": None}

    # --- the trace: a root span for the run, one child per step (attempts folded in)
    def _trace(self, run: Run, fn: FunctionDef | None) -> dict[str, Any]:
        rows = self.state.steps_of(run.run_id)
        app_id = self._app(fn)["id"]
        base = {"appID": app_id, "functionID": fn.uuid if fn else "", "runID": run.run_id}
        status = self._run_status(run)  # FunctionRunStatus names are also RunTraceSpanStatus names
        root = base | {
            "spanID": f"{run.run_id}:root",
            "traceID": run.run_id,
            "name": fn.name if fn else run.function_slug,
            "status": status,
            "attempts": run.attempt,
            "duration": _ms(run.started, run.ended),
            "outputID": f"{run.run_id}:run" if run.finished else None,
            "queuedAt": iso(run.started),
            "startedAt": iso(rows[0]["started"]) if rows else None,
            "endedAt": iso(run.ended),
            "stepOp": None,
            "stepID": None,
            "isRoot": True,
            "parentSpanID": None,
            "isUserland": False,
            "childrenSpans": [],
        }
        steps: dict[str, list[StepRow]] = {}
        for row in rows:
            if row["step_id"] != "step":  # function-level rows (final call, errors) are the root
                steps.setdefault(row["step_id"], []).append(row)
        for step_id, attempts in steps.items():
            last = attempts[-1]
            span_status = SPAN_STATUS.get(last["status"])
            if span_status is None:  # Failed / Retrying: failed only once the run gave up
                span_status = "FAILED" if run.finished and run.status != "Completed" else "RUNNING"
            with_output = [a for a in attempts if a["output"] is not None or a["error"] is not None]
            root["childrenSpans"].append(
                base
                | {
                    "spanID": f"{run.run_id}:{step_id}",
                    "traceID": run.run_id,
                    "name": last["name"],
                    "status": span_status,
                    "attempts": len([a for a in attempts if a["status"] != "Planned"]),
                    "duration": _ms(attempts[0]["started"], last["ended"]),
                    "outputID": f"{run.run_id}:{with_output[-1]['seq']}" if with_output else None,
                    "queuedAt": iso(attempts[0]["started"]),
                    "startedAt": iso(attempts[0]["started"]),
                    "endedAt": iso(last["ended"]),
                    "stepOp": STEP_OP.get(last["op"]),
                    "stepID": step_id,
                    "isRoot": False,
                    "parentSpanID": root["spanID"],
                    "isUserland": False,
                    "childrenSpans": [],
                }
            )
        return root

    def root(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "eventV2": self.event_v2,
            "functionRun": self.function_run,
            "run": self.run,
            "runTrigger": self.run_trigger,
            "runTrace": self.run_trace,
            "runTraceSpanOutputByID": self.span_output,
        }


def _ms(start: float | None, end: float | None) -> int | None:
    return None if start is None or end is None else round((end - start) * 1000)


def _step_error(err: Any) -> dict[str, Any]:
    if not isinstance(err, dict):
        return {"message": str(err), "name": None, "stack": None}
    return {
        "message": str(err.get("message") or err.get("error") or ""),
        "name": err.get("name"),
        "stack": err.get("stack"),
    }


def _event_status(statuses: list[str]) -> str:
    if not statuses:
        return "NO_FUNCTIONS"
    if any(s in ("QUEUED", "RUNNING") for s in statuses):
        return "RUNNING"
    failed = sum(s == "FAILED" for s in statuses)
    if failed == len(statuses):
        return "FAILED"
    return "PARTIALLY_FAILED" if failed else "COMPLETED"


def _errors(errors: list[GraphQLError], code: str | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in errors:
        item: dict[str, Any] = dict(err.formatted)
        if code:
            item = item | {"extensions": {"code": code}}
        out.append(item)
    return out


def endpoint(
    settings: EngineSettings, state: State, registry: Registry
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The handler of POST /v0/gql (gql_route.py serves it, importing this module on first use)."""
    resolver = Resolver(state, registry)

    async def gql(request: Request) -> JSONResponse:
        if settings.signing_key and not signing.check_bearer(
            request.headers.get("authorization"), registry.keys()
        ):
            message = "unauthorized: send Authorization: Bearer <signing key>"
            return JSONResponse({"errors": [{"message": message}], "data": None}, 401)
        try:
            body = json.loads(await request.body())
            source = body["query"]
            variables = body.get("variables") or {}
            operation = body.get("operationName")
            if not isinstance(source, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            message = 'body must be JSON {"query": "...", "variables": {...}}'
            return JSONResponse({"errors": [{"message": message}], "data": None}, 400)
        # Parsed, bounded and validated in a worker thread: a huge query never holds the loop.
        prepared = await asyncio.to_thread(prepare_query, SCHEMA, source)
        if prepared.document is None:
            return JSONResponse({"errors": _errors(prepared.errors, prepared.code), "data": None}, 422)
        result = execute_sync(
            SCHEMA,
            prepared.document,
            root_value=resolver.root(),
            variable_values=variables,
            operation_name=operation,
        )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            for err in result.errors:
                if err.original_error is not None and not isinstance(err.original_error, GraphQLError):
                    log.error("gql resolver error: %s", err.message, exc_info=err.original_error)
            out["errors"] = _errors(result.errors)
        return JSONResponse(out)

    return gql
