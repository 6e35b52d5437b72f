"""Flow control: the decisions about *whether* and *when* a run starts.

Pure modules (no IO) decide: `config` (read and check the options), `keys`, `gcra`
(throttle and rate limit), `debounce`, `batch`, `priority`, `timeouts`. `slots` holds the
keyed, priority-ordered concurrency slots of running calls. `control.FlowControl` is what
intake and the executor ask; it keeps each option's state in the engine's SQLite state
(tables `flow_*` in state.sql) through `store`.
"""

# Ops of the timeline rows flow control writes (they are waits and decisions, not calls).
TIMELINE_OPS = frozenset({"Debounce", "Batch", "Throttle", "Singleton", "Timeout"})
