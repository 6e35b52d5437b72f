"""Pure: did an app's answer to the engine's sync PUT say the sync worked?

The real server (`pkg/deploy`, `GetDeployError`) counts a 2xx answer as a success unless
it carries an error; each SDK words its success its own way:

- inngest-py hands back the register reply: `{"ok": true, "modified": …}`, and answers
  200 with `{"error": "…"}` when the server refused (the status is lost on the way);
- the TypeScript SDK answers `{"message": "Successfully registered", "modified": …}`, and
  on a refusal the reply's `status` (hence the engine's error bodies carry one) with the
  refusal as `message`.

So: a 2xx answer is a success unless its body has an `error` or `"ok": false`. An answer
that is not a JSON object is not an SDK's (a web page, a proxy's error): a failure.
"""

from __future__ import annotations

from typing import Any


def sync_error(status: int, body: Any, text: str) -> str | None:
    """Why the sync failed, in a sentence; None when it worked."""
    if not isinstance(body, dict):
        return f"sync failed (HTTP {status}): the answer is not an Inngest SDK's: {text[:300] or 'no body'}"
    if 200 <= status < 300 and not body.get("error") and body.get("ok") is not False:
        return None
    detail = body.get("error") or body.get("message") or text[:300]
    return f"sync failed (HTTP {status}): {detail}"
