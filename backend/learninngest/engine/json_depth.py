"""Pure: parse a JSON body the engine was sent, refusing nesting deeper than it can handle.

json.loads raises RecursionError (not ValueError) past ~1,000 levels, which reached the
client as a 500; a value a little less deep parses, then breaks whatever walks it next
(the CEL library, json.dumps in a deeper stack, the SDK that receives the event). So a
body is refused as invalid JSON (ValueError) when it nests deeper than MAX_DEPTH, far
beyond any real event (Ruby's JSON parser stops at 100 too).
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 100


def loads_bounded(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads(raw), or ValueError naming the problem (also for nesting past `max_depth`)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
    if depth_exceeds(value, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return value


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether objects and arrays in `value` nest deeper than `max_depth` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
