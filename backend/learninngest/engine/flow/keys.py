"""Pure: evaluate a flow-control key expression (`event.data.user_id`) to a key string."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from learninngest.engine.cel.expressions import compile_expression

if TYPE_CHECKING:
    from learninngest.engine.sync.payload import Concurrency


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


def slot_keys(slug: str, limits: Sequence[Concurrency], event: dict[str, Any]) -> list[tuple[str, int]]:
    """The concurrency slots a run of `slug` holds during each call: (slot key, limit).

    Keyed as the real queue keys them (`util.ConcurrencyKey`: scope prefix, scope id, hash
    of the evaluated value): the function's own limit; `fn` per function and value; `env`
    and `account` per value across functions (the key expression itself is not part of
    it), and an `env` limit never counts against an `account` one. Two limits that land
    on the same key are one count, under the lower limit, as the queue counts them.
    """
    wants: dict[str, int] = {}
    for c in limits:
        if c.key is None and c.scope == "fn":
            key = f"fn:{slug}"
        else:
            try:
                value = evaluate_key(c.key, event)
            except NoKey:
                value = ""
            key = {"fn": f"f:{slug}", "env": "e", "account": "a"}[c.scope] + f":{value}"
        wants[key] = min(c.limit, wants.get(key, c.limit))
    return list(wants.items())
