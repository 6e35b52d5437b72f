"""Names of the events the engine sends itself (the real server's `inngest/...` events)."""

FINISHED = "inngest/function.finished"
FAILED = "inngest/function.failed"
CANCELLED = "inngest/function.cancelled"
INVOKED = "inngest/function.invoked"
SCHEDULED = "inngest/scheduled.timer"
