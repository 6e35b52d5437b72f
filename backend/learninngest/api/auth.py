"""Who is calling: `Authorization: Bearer <key>` on every /api/v1 route, when API keys are set.

With no API_KEYS / API_KEYS_FILE (dev mode) every caller is let in and owns nothing, as
before. With keys, a request without a valid key gets 401 and `WWW-Authenticate: Bearer`;
a valid key's name becomes the caller's `owner`: requests it creates carry it, and another
key asking for them gets 404, as if they did not exist (an id reveals nothing). The key
is never logged; only its name is. Failures are counted per address, limited (429) and
logged at a bounded rate (api/auth_failures.py).

app.py adds `authenticate` (through rate_limit.limit_requests) to the /api/v1 router, so a
route added there is covered without saying so; a route that needs the caller asks for
`CallerDep` (FastAPI computes it once per request).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from learninngest.api.auth_failures import AuthFailures
from learninngest.api.errors import ApiError
from learninngest.api.keys import KeyRing

log = logging.getLogger("learninngest.api")
REALM = "learninngest"

# auto_error=False: we answer 401 ourselves (FastAPI's would be 403 without WWW-Authenticate).
# Declaring it puts the bearer scheme in the OpenAPI document, so Swagger's Authorize works.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from API_KEYS (only when the backend has keys set).",
)


class Unauthorized(ApiError):
    status_code = 401


@dataclass(frozen=True)
class Caller:
    owner: str | None
    """The API key's name; None when authentication is off."""
    address: str

    def may_read(self, record_owner: str | None) -> bool:
        # With auth off nobody owns anything. With it on, a record belongs to its key alone.
        return self.owner is None or record_owner == self.owner


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    ring: KeyRing = request.app.state.keys
    address = request.client.host if request.client else "unknown"
    if not ring.enabled:
        return Caller(owner=None, address=address)
    failures: AuthFailures = request.app.state.auth_failures  # counted per address, logged sparingly
    if credentials is None:
        raise await failures.refuse(
            request.method,
            request.url.path,
            address,
            "no API key",
            Unauthorized(
                "This backend needs an API key: send 'Authorization: Bearer <key>'.",
                headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
            ),
        )
    owner = ring.owner_of(credentials.credentials)
    if owner is None:
        raise await failures.refuse(
            request.method,
            request.url.path,
            address,
            "unknown API key",
            Unauthorized(
                "The API key is not valid (revoked or mistyped): check the Authorization header.",
                headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
            ),
        )
    return Caller(owner=owner, address=address)


CallerDep = Annotated[Caller, Depends(authenticate)]
