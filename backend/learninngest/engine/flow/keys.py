"""Pure: evaluate a flow-control key expression (`event.data.user_id`) to a key string."""

from __future__ import annotations

import json
from typing import Any

from learninngest.engine.expressions import compile_expression


class NoKey(Exception):
    """The key expression gave `false`: the option does not apply to this event."""


def evaluate_key(expr: str | None, event: dict[str, Any]) -> str:
    """ "" without an expression; the value as text otherwise (strings unquoted)."""
    if not expr:
        return ""
    value = compile_expression(expr)({"event": event})
    if value is False:
        raise NoKey(expr)
    if value is None:
        return ""  # like the real server: a missing field is one (empty) key
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=repr)
