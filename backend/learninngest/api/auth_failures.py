"""Failed authentications: counted per client address, limited, and logged at a bounded rate.

Each request refused for a missing or unknown API key counts against its address in the
result store (store.hit, so every replica shares the count), in fixed windows of
WINDOW_S. Past AUTH_FAILURE_LIMIT failures in a window, the address's requests without a
valid key are answered 429 with Retry-After instead of 401; a valid key still passes, so
a client behind the same proxy as a key-guesser is not locked out.

The log gets at most one WARNING per LOG_INTERVAL_S for all of them, saying how many were
held back since the previous line: 40 wrong keys used to make 40 lines.
"""

from __future__ import annotations

import contextlib
import logging
import math

from learninngest.api.errors import ApiError
from learninngest.log_budget import LogBudget
from learninngest.store.base import ResultStore, StoreUnavailable

log = logging.getLogger("learninngest.api")

WINDOW_S = 60
"""Failures are counted per address in fixed windows of a minute."""
LOG_INTERVAL_S = 10.0
"""At most one line about failed authentications this often, per process."""


class TooManyFailures(ApiError):
    status_code = 429


class AuthFailures:
    def __init__(self, store: ResultStore, limit: int, budget: LogBudget | None = None) -> None:
        self.store = store
        self.limit = limit
        self.budget = budget or LogBudget(lambda: LOG_INTERVAL_S)

    async def refuse(
        self, method: str, path: str, address: str, reason: str, unauthorized: ApiError
    ) -> ApiError:
        """The error to answer a failed authentication with: `unauthorized` (401), or 429 past the limit."""
        failures, reset_s = 0, 0.0
        if self.limit:
            # The count is a guard, not a reason to fail the answer: store down, plain 401.
            with contextlib.suppress(StoreUnavailable):
                failures, reset_s = await self.store.hit(f"auth-failures:{address}", WINDOW_S)
        limited = bool(self.limit) and failures > self.limit
        held = self.budget.take()
        if held is not None:
            more = f" ({held} more since the last line)" if held else ""
            limit = f"; over {self.limit} failures a minute: 429" if limited else ""
            log.warning("unauthorized %s %s from %s: %s%s%s", method, path, address, reason, limit, more)
        if not limited:
            return unauthorized
        retry = max(1, math.ceil(reset_s))
        return TooManyFailures(
            f"Too many requests without a valid API key from this address. Retry after {retry} s "
            "with a valid 'Authorization: Bearer <key>'.",
            headers={"Retry-After": str(retry)},
        )
