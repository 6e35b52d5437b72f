"""serving/gc_freeze.py: only a process that said it is a server freezes its objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from learninngest.serving import gc_freeze


@pytest.fixture
def restored() -> Iterator[None]:
    was = gc_freeze._enabled
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # back into the collector's generations: this test process is no server
    gc.set_threshold(*thresholds)
    gc_freeze._enabled = was


def test_a_process_that_is_no_server_keeps_its_objects_collectable(restored: None) -> None:
    gc_freeze._enabled = False
    gc_freeze.freeze("test")
    assert gc.get_freeze_count() == 0


def test_a_server_process_freezes_what_is_alive_and_still_collects_later_garbage(restored: None) -> None:
    gc_freeze.enable()
    gc_freeze.freeze("test")
    frozen = gc.get_freeze_count()
    print("objects frozen:", frozen)
    assert frozen > 1000  # the modules, classes and functions of this process at least

    class Cycle:
        other: object

    a, b = Cycle(), Cycle()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2  # garbage made after the freeze is collected as before


def test_a_server_process_collects_its_young_objects_less_often(restored: None) -> None:
    gc.set_threshold(700, 10, 10)  # CPython's defaults
    gc_freeze.enable()
    print("thresholds:", gc.get_threshold())
    assert gc.get_threshold() == (gc_freeze.YOUNG_THRESHOLD, 10, 10)  # older generations kept


def test_a_process_that_is_no_server_keeps_the_collectors_thresholds(restored: None) -> None:
    gc.set_threshold(700, 10, 10)
    gc_freeze._enabled = False
    gc_freeze.freeze("test")
    assert gc.get_threshold() == (700, 10, 10)
