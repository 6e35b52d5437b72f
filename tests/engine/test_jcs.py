"""Canonical JSON (wire/jcs.py): byte for byte what the rfc8785 package writes, or raises."""

from __future__ import annotations

import enum
import random
from typing import Any

import pytest
import rfc8785

from learninngest.engine.wire import jcs

# Characters where JSON encoders tend to differ: every control character, quote and backslash,
# DEL, the line and paragraph separators, both ends of U+E000-U+FFFF, astral characters.
_CHARS = (
    [chr(c) for c in range(0x20)]
    + list('"\\/ az09~\x7f\x80\xa0é')
    + ["\u2028", "\u2029", "\u4e2d", "\ud7ff", "\ue000", "\uf8ff", "\ufeff", "\uffff"]
    + ["\U00010000", "\U0001f600", "\U0010ffff"]
)
_INTS = [0, 1, -1, 42, 2**31, -(2**31), 2**53 - 1, -(2**53 - 1)]
# Around both ends of the range written as repr writes it (1e-4 <= |f| < 1e16, not integral).
_FLOATS = [0.0, -0.0, 1.0, -1.5, 0.1, 0.7, 1e21, 1e-7, 123456789.125, 5e-324, 1.7976931348623157e308]
_FLOATS += [1e-4, 0.00010000000000000002, 9.999999999999999e-05, -0.0001, 1e15 + 0.5, 9999999999999998.0]
_FLOATS += [1e16, 1e15, 2.0**53, 1e20, 1e-6, 1.5e-5, 123e-7]


def _text(rng: random.Random, ascii_only: bool = False) -> str:
    pool = _CHARS[32:45] if ascii_only else _CHARS
    return "".join(rng.choice(pool) for _ in range(rng.randint(0, 6)))


def _value(rng: random.Random, depth: int, floats: bool) -> Any:
    kinds = ["str", "int", "bool", "null"] + (["float"] if floats else [])
    if depth < 4:
        kinds += ["dict", "list", "dict", "empty"]
    kind = rng.choice(kinds)
    if kind == "str":
        return _text(rng)
    if kind == "int":
        return rng.choice(_INTS + [rng.randint(-(2**53) + 1, 2**53 - 1)])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "float":
        return rng.choice(_FLOATS + [rng.uniform(-1e6, 1e6)])
    if kind == "empty":
        return rng.choice([{}, []])
    if kind == "list":
        return [_value(rng, depth + 1, floats) for _ in range(rng.randint(0, 4))]
    return {_text(rng, ascii_only=rng.random() < 0.5): _value(rng, depth + 1, floats) for _ in range(5)}


@pytest.mark.parametrize("floats", [False, True], ids=["no-floats", "with-floats"])
def test_generated_bodies_are_byte_identical_to_rfc8785(floats: bool) -> None:
    rng = random.Random(19 + floats)
    fast = 0
    for _ in range(3000):
        body = {"event": _value(rng, 0, floats), "steps": _value(rng, 1, floats), "version": 1}
        assert jcs.dumps(body) == rfc8785.dumps(body), body
        fast += jcs._plain(body)
    # Astral keys and some floats send bodies to rfc8785; many must take the fast path being tested.
    assert fast > 1000


def test_astral_keys_sort_by_utf16_code_units() -> None:
    # Code points put U+FFFF first; UTF-16 puts the astral character's high surrogate (D83D) first.
    body = {"\uffff": 1, "\U0001f600": 2, "a": 3}
    assert jcs.dumps(body) == '{"a":3,"\U0001f600":2,"\uffff":1}'.encode()
    assert jcs.dumps(body) == rfc8785.dumps(body)


def test_strings_are_escaped_as_jcs_writes_them() -> None:
    body = {"s": '\x00\x08\x09\x0a\x0c\x0d\x1f"\\/\x7f\u2028\U0001f600'}
    expected = '{"s":"\\u0000\\b\\t\\n\\f\\r\\u001f\\"\\\\/\x7f\u2028\U0001f600"}'.encode()
    assert jcs.dumps(body) == expected == rfc8785.dumps(body)


def test_floats_match_rfc8785_at_both_ends_of_the_fast_range() -> None:
    rng = random.Random(8785)
    samples = [*_FLOATS, *(rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 22) for _ in range(20000))]
    samples += [1e-4 * (1 + k * 2.0**-52) for k in range(-3, 4)] + [1e16 - k for k in range(4)]
    for value in samples:
        assert jcs.dumps([value, -value]) == rfc8785.dumps([value, -value]), value
    assert jcs._plain([0.7, 123.25, -0.5]) and not jcs._plain([2.0]) and not jcs._plain([1e-5])


def test_numbers_outside_the_fast_path_are_rfc8785s() -> None:
    assert jcs.dumps([1.0, 1e21, 1e-7, -0.0]) == b"[1,1e+21,1e-7,0]"
    for big in (2**53, -(2**53), 10**30):
        with pytest.raises(rfc8785.IntegerDomainError):
            jcs.dumps({"n": big})
    with pytest.raises(rfc8785.FloatDomainError):
        jcs.dumps([float("nan")])


class _Color(enum.StrEnum):
    RED = "red"


class _Level(enum.IntEnum):
    HIGH = 3


def test_other_types_behave_as_rfc8785() -> None:
    for body in ({"c": _Color.RED}, {"l": _Level.HIGH}, {"t": (1, "x")}, [True, False, None]):
        assert jcs.dumps(body) == rfc8785.dumps(body)
    with pytest.raises(rfc8785.CanonicalizationError):
        jcs.dumps({1: "int key"})  # json.dumps would write "1": not JCS
    with pytest.raises(rfc8785.CanonicalizationError):
        jcs.dumps({"s": "\ud800"})  # a lone surrogate is not UTF-8
    with pytest.raises(rfc8785.CanonicalizationError):
        jcs.dumps({"set": {1}})


def test_deep_bodies_behave_as_rfc8785() -> None:
    shallow: Any = "leaf"
    for _ in range(200):
        shallow = [{"k": shallow}]
    assert jcs.dumps(shallow) == rfc8785.dumps(shallow)
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RecursionError):
        rfc8785.dumps(deep)
    with pytest.raises(RecursionError):
        jcs.dumps(deep)
