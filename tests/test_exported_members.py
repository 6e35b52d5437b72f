"""The package's public surface is explicit and every name in it resolves."""

from __future__ import annotations

import learninngest


def test_public_surface() -> None:
    assert sorted(learninngest.__all__) == ["Settings", "Stack", "__version__", "create_app", "get_settings"]
    for name in learninngest.__all__:
        assert getattr(learninngest, name) is not None
