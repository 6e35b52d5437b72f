"""RunHooks: what the run loop asks of the rest of the engine, handed in when it is built.

Like the Go executor's options (`WithSendingEventHandler`, `WithInvokeEventHandler`,
`WithLifecycleListeners`): the composer (engine/compose.py) builds one and gives it to every
part that needs it; nothing is patched in later, and nothing has a default that drops events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from learninngest.engine.sync.functions import FunctionDef

# emit(event body, match triggers?) -> the stored event's internal id.
Emit = Callable[[dict[str, Any], bool], str]
# start_invoked(function, `inngest/function.invoked` event, its id): step.invoke starts a run.
StartInvoked = Callable[["FunctionDef", dict[str, Any], str], None]
# run_finished(run id): drop what was kept in memory for the run.
RunFinished = Callable[[str], None]


@dataclass(frozen=True)
class RunHooks:
    emit: Emit
    start_invoked: StartInvoked
    run_finished: Sequence[RunFinished] = field(default_factory=tuple)

    def finished(self, run_id: str) -> None:
        for listener in self.run_finished:
            listener(run_id)
