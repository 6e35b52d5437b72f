"""LearnInngest: slow LLM calls in the background with FastAPI + Inngest + LangChain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Settings", "Stack", "__version__", "create_app", "get_settings"]

if TYPE_CHECKING:
    from learninngest.app import create_app
    from learninngest.config import Settings, get_settings
    from learninngest.kit.stack import Stack


def __getattr__(name: str) -> Any:
    # Lazy: `import learninngest` stays cheap (no FastAPI/LangChain import) for the CLI's --help.
    if name == "create_app":
        from learninngest.app import create_app

        return create_app
    if name in {"Settings", "get_settings"}:
        from learninngest import config

        return getattr(config, name)
    if name == "Stack":
        from learninngest.kit.stack import Stack

        return Stack
    raise AttributeError(f"module 'learninngest' has no attribute {name!r}")
