"""Rate limits on /api/v1, counted in the result store so every replica enforces one limit.

- RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW_S, per API key (per client address when
  authentication is off): a fixed window aligned on the epoch, counted by store.hit()
  (one atomic increment in Redis, PostgreSQL or SQLite). Every answer carries
  RateLimit-Limit / -Remaining / -Reset and RateLimit-Policy (IETF draft
  "RateLimit header fields for HTTP"); past the limit, 429 with Retry-After.
- RATE_LIMIT_MAX_PENDING: POST /chat is refused (429) while the key already has that many
  requests pending. The check is the insert itself: store.create(record, max_pending=N)
  counts and inserts in one atomic step (a lock, a transaction or a Lua script, per store),
  so a burst of simultaneous POSTs cannot pass it together; finishing the record, however
  the request ends, frees the slot. An idempotent replay creates nothing, so it is never
  refused by this limit.

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


def max_pending(settings: Settings, caller: Caller) -> int:
    """How many pending requests the caller's key may have (0: no limit, e.g. without keys)."""
    return settings.rate_limit_max_pending if caller.owner is not None else 0


def too_many_pending(owner: str, most: int) -> RateLimited:
    log.warning("rate limited %s: %d requests pending (limit %d)", owner, most, most)
    return RateLimited(
        f"This API key already has {most} requests pending (limit {most}): read their "
        f"results first, or retry after {PENDING_RETRY_AFTER_S} s.",
        headers={"Retry-After": str(PENDING_RETRY_AFTER_S)},
    )
