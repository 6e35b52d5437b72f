"""make_room closes the longest-idle connections and stops counting them at once.

uvicorn answers 503 while its set of connections is at the cap; a closed connection that
stayed in the set until its connection_lost callback (later, under uvloop) made a health
check arriving just then fail (tests/test_idle_connections.py saw it in CI).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from learninngest.serving.idle_connections import forget, make_room


@dataclass
class Transport:
    closing: bool = False

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing


@dataclass(eq=False)
class Connection:
    idle_since: float | None
    transport: Transport = field(default_factory=Transport)


def test_the_oldest_idle_connections_go_and_leave_the_set_at_once() -> None:
    busy = [Connection(None) for _ in range(3)]
    idle = [Connection(float(t)) for t in (5, 1, 3)]
    new = Connection(None)
    connections = {*busy, *idle, new}

    assert make_room(connections, limit=6)

    # 7 open, the cap is 6: two must go (fewer than the cap stay), the two idle longest.
    gone = [c for c in idle if c.transport.is_closing()]
    assert sorted(c.idle_since for c in gone) == [1.0, 3.0]
    assert len(connections) == 5 and not any(c in connections for c in gone)
    assert all(not c.transport.is_closing() for c in [*busy, new])


def test_without_enough_idle_connections_nothing_is_closed() -> None:
    connections = {*(Connection(None) for _ in range(5)), Connection(2.0)}

    assert not make_room(connections, limit=5)

    assert len(connections) == 6 and not any(c.transport.is_closing() for c in connections)


def test_forget_closes_and_uncounts_a_refused_connection() -> None:
    refused = Connection(None)
    connections = {refused}

    forget(connections, refused)

    assert refused.transport.is_closing() and not connections
