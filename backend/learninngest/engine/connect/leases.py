"""Pure: request leases. A call belongs to the worker that holds its lease while it extends it.

As on the real server a lease is a ULID-named hold on one request for `duration_s`; the
worker extends it (every duration / 4) with the lease id it was given, and gets a new id
each time. An expired, released or unknown lease is not extended: the worker is told
(a lease ack without a new id) and stops working on the request, whose call is retried.
The time is passed in (monotonic seconds), so no clock is read here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Lease:
    lease_id: str
    expires_at: float
    previous: str | None = None  # the id this one replaced: a retried extension gets this one


class Leases:
    def __init__(self, duration_s: float, new_id: Callable[[], str]) -> None:
        self.duration_s = duration_s
        self._new_id = new_id
        self._leases: dict[str, Lease] = {}

    def grant(self, request_id: str, now: float) -> str:
        lease = Lease(self._new_id(), now + self.duration_s)
        self._leases[request_id] = lease
        return lease.lease_id

    def extend(self, request_id: str, lease_id: str, now: float) -> str | None:
        """The new lease id, or None when the lease is gone, expired or someone else's."""
        lease = self._leases.get(request_id)
        if lease is None or lease.expires_at <= now:
            return None
        if lease_id == lease.previous:
            # The worker lost the ack of its last extension and asks again with the old id.
            return lease.lease_id
        if lease_id != lease.lease_id:
            return None
        self._leases[request_id] = Lease(self._new_id(), now + self.duration_s, previous=lease_id)
        return self._leases[request_id].lease_id

    def held(self, request_id: str, now: float) -> bool:
        lease = self._leases.get(request_id)
        return lease is not None and lease.expires_at > now

    def release(self, request_id: str) -> None:
        self._leases.pop(request_id, None)

    def __len__(self) -> int:
        return len(self._leases)
