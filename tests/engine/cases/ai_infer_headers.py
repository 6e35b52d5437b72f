"""step.ai.infer sends header names as Go's `Header.Add` writes them on the wire (`X-Api-Key`,
`X-My-Header`), as the Dev Server does: inngest-py's own test server reads them case-sensitively.

The model here is a plain `http.server` (a real server on a free port) that records each header
name exactly as it came over the wire; ASGI servers lower-case names and could not tell.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import inngest
from inngest.experimental import ai

from tests.engine.harness import CaseContext

APP_ID = "case-ai-infer-headers"

ANSWER = {"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "hi"}]}


@contextlib.contextmanager
def header_recorder() -> Iterator[tuple[str, list[list[tuple[str, str]]]]]:
    """A model endpoint on a free port; yields (its URL, each request's headers as sent)."""
    seen: list[list[tuple[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(list(self.headers.items()))  # names exactly as they came
            body = json.dumps(ANSWER).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="ask", retries=0, trigger=inngest.TriggerEvent(event="case/ai.headers"))
    async def ask(ctx: inngest.Context) -> Any:
        adapter = ai.anthropic.Adapter(
            auth_key="sk-ant-000", base_url=box["model_url"], model="claude-x", headers={"x-my-header": "v"}
        )
        return await ctx.step.ai.infer(
            "ask", adapter=adapter, body={"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
        )

    return [ask]


def check(ctx: CaseContext) -> None:
    with header_recorder() as (url, seen):
        ctx.box["model_url"] = url
        run = ctx.wait_run(ctx.send("case/ai.headers"), "Completed")
        assert run["output"] == ANSWER
        names = dict(seen[0])
        assert names["X-Api-Key"] == "sk-ant-000"
        assert names["X-My-Header"] == "v"
        assert names["Content-Type"] == "application/json"
        assert "x-api-key" not in names and "x-my-header" not in names
