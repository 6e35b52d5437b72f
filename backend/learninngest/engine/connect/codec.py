"""The connect wire: the SDK's protobuf messages in and out, and a worker's reply as an outcome.

The message classes are the ones inngest-py generated from `connect.proto` (the server's
own file, package `connect.v1`): the engine and the worker then read one definition and
cannot drift apart. They come from a private module of the pinned SDK (inngest==0.5.19,
installed with its `connect` extra), so this is the only module that imports it: shipping
our own generated module instead would change this file and nothing else.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError, Message
from inngest.connect._internal import connect_pb2 as pb

from learninngest.engine.wire import protocol

# The WebSocket subprotocol the SDK asks for and the server answers with.
SUBPROTOCOL = "v0.connect.inngest.com"

Kind = pb.GatewayMessageType
ConnectMessage = pb.ConnectMessage
WorkerConnectRequestData = pb.WorkerConnectRequestData
GatewayConnectionReadyData = pb.GatewayConnectionReadyData
GatewayExecutorRequestData = pb.GatewayExecutorRequestData
WorkerRequestAckData = pb.WorkerRequestAckData
WorkerRequestExtendLeaseData = pb.WorkerRequestExtendLeaseData
WorkerRequestExtendLeaseAckData = pb.WorkerRequestExtendLeaseAckData
SDKResponse = pb.SDKResponse
WorkerReplyAckData = pb.WorkerReplyAckData
StartRequest = pb.StartRequest
StartResponse = pb.StartResponse
FlushResponse = pb.FlushResponse
SystemErrorData = pb.SystemError  # SYNC_FAILED's payload (named apart from the builtin)

__all__ = [
    "SUBPROTOCOL",
    "BadMessage",
    "ConnectMessage",
    "FlushResponse",
    "GatewayConnectionReadyData",
    "GatewayExecutorRequestData",
    "Kind",
    "SDKResponse",
    "StartRequest",
    "StartResponse",
    "SystemErrorData",
    "WorkerConnectRequestData",
    "WorkerReplyAckData",
    "WorkerRequestAckData",
    "WorkerRequestExtendLeaseAckData",
    "WorkerRequestExtendLeaseData",
    "encode",
    "kind_name",
    "parse",
    "reply_outcome",
]


class BadMessage(ValueError):
    """Bytes that are not the protobuf message they should be."""


def encode(kind: int, payload: Message | None = None) -> bytes:
    """One frame: a ConnectMessage of `kind` carrying `payload` serialized."""
    body = payload.SerializeToString() if payload is not None else b""
    return pb.ConnectMessage(kind=kind, payload=body).SerializeToString()  # type: ignore[arg-type]


def parse(cls: type[Any], data: bytes) -> Any:
    """`data` as a message of `cls`, or BadMessage."""
    msg = cls()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise BadMessage(f"not a {cls.__name__}: {exc}") from exc
    return msg


def kind_name(kind: int) -> str:
    try:
        return str(Kind.Name(kind))
    except ValueError:
        return f"kind {kind}"


# SDKResponse.status to the HTTP status the same reply has over /api/inngest.
_STATUS = {
    pb.SDKResponseStatus.DONE: 200,
    pb.SDKResponseStatus.NOT_COMPLETED: 206,
    pb.SDKResponseStatus.ERROR: 500,
}


def reply_outcome(reply: Any) -> protocol.Outcome:
    """A worker's SDKResponse read exactly as its HTTP twin (status, no-retry, retry-after)."""
    headers = {"x-inngest-req-version": str(reply.request_version)}
    if reply.no_retry:
        headers["x-inngest-no-retry"] = "true"
    if reply.HasField("retry_after") and reply.retry_after:
        headers["retry-after"] = reply.retry_after
    return protocol.parse_reply(_STATUS.get(reply.status, 500), headers, bytes(reply.body))
