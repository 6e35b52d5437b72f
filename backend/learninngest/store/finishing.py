"""Pure rules shared by every backend: how `finish` turns a pending record into a final one.

Keeping them here means sqlite, memory and redis cannot disagree about what a
valid final record is; each backend only supplies the atomic read-modify-write.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from learninngest.store.base import ChatRecord, Status, utcnow

# request_id is the key, created_at is history and owner is who may read it: finish may
# not rewrite any of them.
_FINISH_FIELDS = frozenset(ChatRecord.model_fields) - {"request_id", "created_at", "owner"}


def check_finish_fields(fields: dict[str, Any]) -> None:
    """Raise ValueError for a call that could never be valid, before touching the store."""
    unknown = set(fields) - _FINISH_FIELDS
    if unknown:
        raise ValueError(f"finish() got unknown field(s): {', '.join(sorted(unknown))}")
    status = fields.get("status")
    if status is None:
        raise ValueError("finish() needs status=Status.done or status=Status.error")
    if Status(status) is Status.pending:
        raise ValueError("finish() moves a record to a final status; pending is not final")


def finished(record: ChatRecord, fields: dict[str, Any]) -> ChatRecord:
    """The record after `finish(**fields)`; a record that is already final comes back as is."""
    check_finish_fields(fields)
    if record.final:
        return record
    merged = record.model_dump() | fields
    merged.setdefault("completed_at", None)
    if merged["completed_at"] is None:
        merged["completed_at"] = utcnow()
    return ChatRecord.model_validate(merged)


def redact_url(url: str) -> str:
    """The URL without its password, fit for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
