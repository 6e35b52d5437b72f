"""Pure: request leases (granted, extended with the current id, gone once expired or released)."""

from __future__ import annotations

import itertools

from learninngest.engine.connect.leases import Leases


def leases(duration_s: float = 10.0) -> Leases:
    counter = itertools.count(1)
    return Leases(duration_s, lambda: f"L{next(counter)}")


def test_extend_gives_a_new_id_and_moves_the_expiry() -> None:
    table = leases()
    first = table.grant("r", now=0.0)
    second = table.extend("r", first, now=8.0)
    assert second is not None and second != first
    assert table.held("r", now=17.0)
    assert not table.held("r", now=18.0)


def test_a_lost_ack_retried_with_the_old_id_gets_the_current_one() -> None:
    table = leases()
    first = table.grant("r", now=0.0)
    second = table.extend("r", first, now=1.0)
    assert table.extend("r", first, now=2.0) == second


def test_no_extension_for_an_expired_released_unknown_or_foreign_lease() -> None:
    table = leases()
    lease = table.grant("r", now=0.0)
    assert table.extend("r", "someone-else", now=1.0) is None
    assert table.extend("r", lease, now=10.0) is None  # expired
    again = table.grant("r", now=20.0)
    table.release("r")
    assert table.extend("r", again, now=21.0) is None
    assert table.extend("unknown", again, now=21.0) is None
    assert len(table) == 0


def test_a_new_grant_cuts_off_the_previous_holder() -> None:
    """A call re-routed to another worker: the first worker's lease id no longer extends."""
    table = leases()
    old = table.grant("r", now=0.0)
    table.grant("r", now=1.0)
    assert table.extend("r", old, now=2.0) is None
