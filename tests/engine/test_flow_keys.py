"""Pure: flow-control key expressions (engine/flow/keys.py)."""

from __future__ import annotations

import pytest

from learninngest.engine.flow.keys import NoKey, evaluate_key, slot_keys
from learninngest.engine.sync.payload import Concurrency


def test_values_become_key_text() -> None:
    event = {"data": {"user_id": "u-1", "n": 3, "org": {"id": 7}}}
    assert evaluate_key("event.data.user_id", event) == "u-1"
    assert evaluate_key("event.data.n", event) == "3"
    assert evaluate_key("event.data.org", event) == '{"id": 7}'
    assert evaluate_key(None, event) == ""


def test_a_missing_field_is_one_empty_key() -> None:
    assert evaluate_key("event.data.user_id", {"data": {}}) == ""


def test_false_means_the_option_does_not_apply() -> None:
    with pytest.raises(NoKey):
        evaluate_key("event.data.vip == true", {"data": {"vip": False}})


def test_slot_keys_are_scoped_like_the_real_queue() -> None:
    event = {"data": {"user": "ana", "team": "ana"}}
    limits = [
        Concurrency(limit=5),
        Concurrency(limit=1, key="event.data.user", scope="env"),
        Concurrency(limit=2, key="event.data.user", scope="account"),
    ]
    # env and account are distinct limits even with the same key and value (e:… vs a:…).
    assert slot_keys("app-f", limits, event) == [("fn:app-f", 5), ("e:ana", 1), ("a:ana", 2)]
    # The key is the evaluated value: two expressions that give the same value share a
    # slot (one count, under the lower limit), as the real queue's hash of the value does.
    same = [
        Concurrency(limit=3, key="event.data.user", scope="fn"),
        Concurrency(limit=2, key="event.data.team", scope="fn"),
    ]
    assert slot_keys("app-f", same, event) == [("f:app-f:ana", 2)]
    assert slot_keys("app-g", same, event) == [("f:app-g:ana", 2)]  # fn scope: per function
