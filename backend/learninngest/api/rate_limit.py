"""Rate limits on /api/v1, counted in the result store so every replica enforces one limit.

- RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW_S, per API key (per client address when
  authentication is off): a fixed window aligned on the epoch, counted by store.hit()
  (one atomic increment in Redis, PostgreSQL or SQLite). Every answer carries
  RateLimit-Limit / -Remaining / -Reset and RateLimit-Policy (IETF draft
  "RateLimit header fields for HTTP"); past the limit, 429 with Retry-After.
- RATE_LIMIT_MAX_PENDING: POST /chat is refused (429) while the key already has that many
  requests pending (store.count_pending()). Two POSTs arriving at the same instant may both
  pass the check, so the bound can be exceeded by the number of simultaneous POSTs.

Why not a library: `limits` (behind slowapi) is maintained and has fixed and moving
windows, but no PostgreSQL or SQLite storage; the store already is the one place every
replica shares, so a fixed-window counter there (one statement per store) is all it takes.
"""

from __future__ import annotations

import logging
import math
from typing import Annotated

from fastapi import Depends, Request, Response

from learninngest.api.auth import Caller, authenticate
from learninngest.api.errors import ApiError
from learninngest.config import Settings
from learninngest.store.base import ResultStore

log = logging.getLogger("learninngest.api")
PENDING_RETRY_AFTER_S = 2
"""What a key at its pending limit is told to wait: about one short LLM call."""


class RateLimited(ApiError):
    status_code = 429


def _bucket(caller: Caller) -> str:
    return f"key:{caller.owner}" if caller.owner is not None else f"addr:{caller.address}"


async def limit_requests(
    request: Request, response: Response, caller: Annotated[Caller, Depends(authenticate)]
) -> Caller:
    """Authenticate, then count the request against its key's (or address's) window."""
    settings: Settings = request.app.state.settings
    limit = settings.rate_limit_requests
    if not limit:
        return caller
    store: ResultStore = request.app.state.store
    window = settings.rate_limit_window_s
    hits, reset_s = await store.hit(_bucket(caller), window)
    reset = max(1, math.ceil(reset_s))
    headers = {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(0, limit - hits)),
        "RateLimit-Reset": str(reset),
        "RateLimit-Policy": f"{limit};w={window}",
    }
    if hits > limit:
        who = caller.owner or caller.address
        log.warning("rate limited %s: %d requests in %ds window (limit %d)", who, hits, window, limit)
        raise RateLimited(
            f"Too many requests: the limit is {limit} per {window} s. Retry after {reset} s.",
            headers={**headers, "Retry-After": str(reset)},
        )
    response.headers.update(headers)
    request.state.rate_limit_headers = headers  # api/errors.py adds them to an error answer too
    return caller


async def limit_pending(request: Request, caller: Annotated[Caller, Depends(authenticate)]) -> None:
    """POST /chat only: refuse a new request while the key has too many pending."""
    settings: Settings = request.app.state.settings
    most = settings.rate_limit_max_pending
    if not most or caller.owner is None:
        return
    store: ResultStore = request.app.state.store
    pending = await store.count_pending(caller.owner)
    if pending >= most:
        log.warning("rate limited %s: %d requests pending (limit %d)", caller.owner, pending, most)
        raise RateLimited(
            f"This API key already has {pending} requests pending (limit {most}): read their "
            f"results first, or retry after {PENDING_RETRY_AFTER_S} s.",
            headers={"Retry-After": str(PENDING_RETRY_AFTER_S)},
        )
