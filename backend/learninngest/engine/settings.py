"""EngineSettings: everything the local engine can be told (the CLI flags map onto it)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from learninngest.retention import DEFAULT_RETENTION_S

DEFAULT_DB_PATH = ".learninngest/engine.db"


@dataclass
class EngineSettings:
    host: str = "127.0.0.1"
    port: int = 8288
    # Apps to PUT at start-up and on "re-sync" (like `inngest-cli dev -u URL`).
    app_urls: list[str] = field(default_factory=list)
    # SQLite file; None keeps the state in memory (lost when the engine stops).
    db_path: str | None = DEFAULT_DB_PATH
    # With a signing key the engine behaves like Inngest Cloud: it signs calls, verifies
    # signed replies and wants the SDK's bearer on /fn/register and the REST API.
    signing_key: str | None = None
    signing_key_fallback: str | None = None
    # When set, POST /e/{key} only accepts this key.
    event_key: str | None = None
    # Real wait = intended delay x time_scale (backoff, sleeps, wait timeouts).
    time_scale: float = 1.0
    # Runs being called at the same time, over all functions.
    max_concurrency: int = 64
    # Real seconds one call to an app may take before it counts as a (retriable) failure.
    call_timeout_s: float = 300.0
    # Finished runs, their steps and events no run needs are deleted this long after they end.
    retention_s: float = DEFAULT_RETENTION_S
    # A call body (event + memoized steps) larger than this is sent with `use_api: true`: the
    # SDK then fetches the state from GET /v0/runs/{id}/actions and /batch. The real server
    # does so past its 4 MiB request limit; 1 MiB keeps calls under small body limits
    # (Django's default is 2.5 MiB) and long runs from resending megabytes at every step.
    inline_state_limit: int = 1024 * 1024
    # Connect workers (engine/connect/). The gateway's socket is served on the engine's port
    # at /v0/connect, and also on this port when set (the Dev Server uses its port + 1).
    connect_gateway_port: int | None = None
    # Real seconds a worker's hold on a call lasts unless it extends it (every lease / 4):
    # a worker gone for longer has its call retried. The real server: 2 minutes.
    connect_lease_s: float = 120.0
    # The heartbeat interval told to workers; MISSED_HEARTBEATS of them missed closes the socket.
    connect_heartbeat_s: float = 10.0
    # How long a call waits for a live worker of its app before it fails (and is retried).
    connect_wait_s: float = 10.0
    # Fence checkpoints by their call's dispatch generation (run/dispatches.py). Off unless
    # EXPERIMENTAL_ASYNC_DISPATCH_VALIDATION=true, the Dev Server's own switch for it.
    dispatch_validation: bool = field(
        default_factory=lambda: os.environ.get("EXPERIMENTAL_ASYNC_DISPATCH_VALIDATION") == "true"
    )
    # With it: a checkpoint from a call the SDK began less than this long ago (wall clock) is
    # taken as current; an older call's must still be in flight, else it is a stale dispatch
    # (409). The real server's dispatchValidationSkipDuration; tests set 0 to check every one.
    checkpoint_fresh_s: float = 10.0

    @property
    def signed(self) -> bool:
        return bool(self.signing_key)

    @property
    def server_kind(self) -> str:
        return "cloud" if self.signed else "dev"
