"""A module that is imported when one of its names is first read, not when it is named.

For modules most processes never use but whose users name them at the top (the connect
codec: protobuf and inngest-py's connect package, ~6 MiB that an engine without connect
workers need not hold). Callers keep the real import under TYPE_CHECKING for the types.
Python 3.11's LazyLoader has no lock: use it for modules first read from one thread (the
codec: the engine's event loop, which also serves the gateway's own port).
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """`name`, loaded on first attribute access (importlib's LazyLoader); the same module later."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
