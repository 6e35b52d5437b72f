"""Pure: reading an app's answer to the engine's sync PUT (engine/sync/answer.py)."""

from __future__ import annotations

from learninngest.engine.sync.answer import sync_error


def test_the_python_sdk_success_and_refusal() -> None:
    assert sync_error(200, {"ok": True, "modified": True}, "") is None
    # inngest-py answers 200 with the server's refusal in the body.
    refusal = sync_error(200, {"error": "sync refused: duplicate function ids"}, "")
    assert refusal == "sync failed (HTTP 200): sync refused: duplicate function ids"
    assert sync_error(200, {"ok": False}, '{"ok": false}') == 'sync failed (HTTP 200): {"ok": false}'


def test_the_typescript_sdk_success_is_a_message_without_ok() -> None:
    assert sync_error(200, {"message": "Successfully registered", "modified": False}, "") is None
    # On a refusal it answers with the status the register reply carried, the refusal as message.
    assert (
        sync_error(400, {"message": "sync refused: duplicate function ids", "modified": False}, "")
        == "sync failed (HTTP 400): sync refused: duplicate function ids"
    )


def test_an_answer_that_is_not_an_sdk_s_is_a_failure() -> None:
    assert sync_error(200, None, "<html>hello</html>") == (
        "sync failed (HTTP 200): the answer is not an Inngest SDK's: <html>hello</html>"
    )
    assert sync_error(404, {"detail": "Not Found"}, '{"detail":"Not Found"}') == (
        'sync failed (HTTP 404): {"detail":"Not Found"}'
    )
