"""Pure: flow-control key expressions (engine/flow/keys.py)."""

from __future__ import annotations

import pytest

from learninngest.engine.flow.keys import NoKey, evaluate_key


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
