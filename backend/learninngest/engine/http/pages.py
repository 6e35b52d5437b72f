"""The dashboard's templates (Jinja2, autoescaped) and how a page is rendered.

URLs in the pages are relative: `base.html` sets `<base href>` to the engine's root as seen
from the page (`./` or `../`), so the dashboard also works under a proxy's prefix.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from learninngest.engine.clock import iso

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates


def _json_text(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str, indent=2, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


@functools.cache
def templates() -> Jinja2Templates:
    """Built with the first page: Jinja2 (~2 MiB) is not loaded by an engine nobody looks at."""
    from fastapi.templating import Jinja2Templates

    built = Jinja2Templates(directory=Path(__file__).parent / "templates")
    built.env.filters["json_text"] = _json_text
    built.env.filters["iso"] = lambda t: iso(t) or ""
    return built


def root_of(request: Request) -> str:
    """The engine's root relative to the page asked for: `./` for /x, `../` for /x/y.

    Counted on the path the engine serves (a proxy such as jupyter-server-proxy strips its
    prefix; a mount leaves it in `root_path`), so the browser resolves it under the prefix."""
    path, root_path = request.url.path, request.scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    depth = path.count("/") - 1
    return "../" * depth if depth > 0 else "./"


def render(
    request: Request, name: str, status: int = 200, *, title: str, refresh: bool = False, **context: Any
) -> HTMLResponse:
    context |= {"title": title, "refresh": refresh, "root": root_of(request)}
    return templates().TemplateResponse(request, name, context, status_code=status)


def message(request: Request, title: str, text: str, status: int, back: bool = True) -> HTMLResponse:
    return render(request, "message.html", status, title=title, message=text, back=back)
