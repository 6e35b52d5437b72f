"""What flow control asks of the run lifecycle (run/lifecycle.py's RunLifecycle is the one).

A protocol, so that flow/ depends on no room above it: the composer hands it the lifecycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from learninngest.engine.state.models import Run, StepStatus
    from learninngest.engine.sync.functions import FunctionDef


class Runs(Protocol):
    def create_run(
        self,
        fn: FunctionDef,
        event: dict[str, Any],
        event_id: str,
        *,
        parent: tuple[str, str] | None = None,
        cron: str | None = None,
        events: list[dict[str, Any]] | None = None,
    ) -> Run: ...

    def cancel(self, run: Run, reason: str) -> None: ...

    def invoke_failed(self, invoked: dict[str, Any], error: dict[str, Any]) -> None: ...

    def row(
        self,
        run: Run,
        *,
        step_id: str,
        name: str,
        op: str,
        status: StepStatus,
        started: float,
        ended: float | None,
        output: Any = None,
        error: Any = None,
        scheduled: float | None = None,
        delay_ms: int | None = None,
        attempt: int | None = None,
    ) -> int: ...

    def schedule(self, run_id: str, due: float) -> None: ...

    def is_active(self, run_id: str) -> bool: ...

    def new_id(self) -> str: ...
