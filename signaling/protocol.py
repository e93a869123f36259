"""The socket.io protocol as data: every client event's payload model and who may send it,
the limits, and the refusals the edge gives before anything reaches the domain.

Handlers never read a raw payload: the dispatcher looks the event up in ``CLIENT_EVENTS``,
checks the sender kind, the size and the shape, and hands over a validated model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from rooms.errors import DomainError
from rooms.text import Text

# ---------------------------------------------------------------------------------- limits

MAX_MESSAGE_BYTES = 96 * 1024
"""Largest payload (as compact UTF-8 JSON) a client may send in one event."""
MAX_SDP_BYTES = 64 * 1024
"""Largest SDP accepted; a hearing's offers are a few kilobytes, so this is generous."""
MAX_TRANSPORT_BYTES = 256 * 1024
"""Engine.IO drops the connection on a frame larger than this (before any parsing)."""
MAX_CHAT_CHARS = 2000
MAX_REASON_CHARS = 500
MAX_ROOM_NAME_CHARS = 80
MAX_CONSULTATION_PEOPLE = 50
MAX_ICE_CANDIDATE_CHARS = 1024
MAX_MEDIA_SOURCES = 8
MAX_REF_CHARS = 64

RATE_BURST = 40
"""Messages a connection may send at once (a browser trickles a dozen ICE candidates)."""
RATE_PER_SECOND = 10.0
"""Sustained messages per second per connection."""
ABUSE_REFUSALS = 20
ABUSE_WINDOW_SECONDS = 60.0
"""This many refused messages within the window and the server closes the connection."""

PING_INTERVAL_SECONDS = 10
PING_TIMEOUT_SECONDS = 10
"""A silent connection counts as lost after about twenty seconds: the courtroom's loss must
suspend the hearing quickly, so the Engine.IO defaults (45 s) are shortened."""

# ---------------------------------------------------------------------------------- refusals


class Refusal(DomainError):
    """A message refused at the edge, before the domain saw it; shaped like a domain error
    so clients read one kind of error."""

    def __init__(
        self,
        code: str,
        rule: str,
        message: Text,
        fields: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(rule, message)
        self.code = code
        self.fields = fields or []
        """Which payload fields were wrong, for a malformed message."""


def unknown_event(event: str) -> Refusal:
    return Refusal(
        "unknown_event",
        "protocol.unknown_event",
        Text(f"Sự kiện không được hỗ trợ: «{event}».", f"Unknown event '{event}'."),
    )


def not_for_sender(event: str, sender: Sender) -> Refusal:
    return Refusal(
        "forbidden",
        "protocol.sender",
        Text(
            f"Kết nối loại «{sender.value}» không được gửi sự kiện «{event}».",
            f"A {sender.value} connection may not send '{event}'.",
        ),
    )


def too_large(limit: int, rule: str = "protocol.message_too_large") -> Refusal:
    return Refusal(
        "message_too_large",
        rule,
        Text(
            f"Dữ liệu gửi lên vượt quá giới hạn {limit} byte.",
            f"The payload is larger than the {limit}-byte limit.",
        ),
    )


def malformed(detail: str, fields: list[dict[str, str]] | None = None) -> Refusal:
    return Refusal(
        "malformed",
        "protocol.malformed",
        Text(f"Dữ liệu không hợp lệ: {detail}", f"Malformed payload: {detail}"),
        fields,
    )


# Refusals raised often are made afresh each time: a raised exception keeps the traceback of
# every raise, and with it every frame's locals (the connection, the payload), so one shared
# instance would keep everything every refusal ever touched.


def rate_limited() -> Refusal:
    return Refusal(
        "rate_limited",
        "protocol.rate_limited",
        Text("Gửi quá nhiều yêu cầu; hãy chậm lại.", "Too many messages; slow down."),
    )


def abuse() -> Refusal:
    return Refusal(
        "abuse",
        "protocol.abuse",
        Text(
            "Quá nhiều yêu cầu bị từ chối; kết nối bị đóng.",
            "Too many refused messages; the connection is closed.",
        ),
    )


def abuse_cooling_off() -> Refusal:
    return Refusal(
        "abuse",
        "protocol.abuse",
        Text(
            "Quá nhiều yêu cầu bị từ chối; hãy thử lại sau một phút.",
            "Too many refused messages; try again in a minute.",
        ),
    )


def server_error() -> Refusal:
    return Refusal(
        "server_error",
        "server.error",
        Text(
            "Máy chủ gặp lỗi khi xử lý yêu cầu; không có gì thay đổi. Hãy thử lại.",
            "The server failed to handle this message; nothing changed. Try again.",
        ),
    )


def storage_full() -> Refusal:
    return Refusal(
        "unavailable",
        "server.storage_full",
        Text(
            "Bộ nhớ của máy chủ đã đầy; không lưu được gì. "
            "Bộ phận kỹ thuật cần giải phóng dung lượng.",
            "The server's storage is full; nothing can be saved. IT staff must free space.",
        ),
    )


RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "*"})
"""Names socket.io keeps for itself; a client sending one is refused like an unknown event."""


def reserved_event(event: str) -> Refusal:
    return Refusal(
        "unknown_event",
        "protocol.reserved_event",
        Text(
            f"«{event}» là tên dành riêng của socket.io, không gửi được.",
            f"'{event}' is reserved by socket.io and cannot be sent.",
        ),
    )


def not_watching() -> Refusal:
    return Refusal(
        "forbidden",
        "monitor.not_watching",
        Text(
            "Hãy theo dõi phiên này trước khi xử lý cảnh báo của nó.",
            "Watch this session before handling its alerts.",
        ),
    )


def left() -> Refusal:
    return Refusal(
        "invalid_state",
        "connection.left",
        Text("Bạn đã rời phiên.", "You have left the session."),
    )


# ---------------------------------------------------------------------------------- types


class Sender(StrEnum):
    """The two kinds of connection; each may send only its own events."""

    PARTICIPANT = "participant"
    """A person in a session, connected with their personal join link."""
    MONITOR = "monitor"
    """A staff account watching sessions read-only (court IT, judges, administrators)."""


def _sdp_size(sdp: str) -> str:
    size = len(sdp.encode("utf-8"))
    if size > MAX_SDP_BYTES:
        raise PydanticCustomError(
            "sdp_too_large",
            "SDP of {size} bytes is larger than {limit} bytes",
            {"size": size, "limit": MAX_SDP_BYTES},
        )
    if not sdp.startswith("v=0"):
        raise PydanticCustomError("sdp_shape", "an SDP starts with v=0", {})
    return sdp


Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
"""A participant or session id as clients send it (ids are hex; staff ids have a colon)."""
Sdp = Annotated[str, AfterValidator(_sdp_size)]
Reason = Annotated[str, StringConstraints(max_length=MAX_REASON_CHARS)]
RoomName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ROOM_NAME_CHARS, strip_whitespace=True)
]
ChatText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_CHAT_CHARS, strip_whitespace=True)
]
MediaSourceName = Literal["microphone", "camera", "screen"]
Mid = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class Payload(BaseModel):
    """Every client payload: strict types, no unknown fields, an optional ``ref`` echoed in the
    acknowledgement and in any error, so a client can match replies to requests."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    ref: Annotated[str, StringConstraints(max_length=MAX_REF_CHARS)] | None = None


class Empty(Payload):
    pass


class Target(Payload):
    participant_id: Id


class OptionalTarget(Payload):
    participant_id: Id | None = None
    """Omitted: yourself."""


class Mute(Payload):
    participant_id: Id | None = None
    """Omitted: yourself."""
    lock: bool = False
    """Also stop the person unmuting themselves (presiding judge only)."""


class MuteAll(Payload):
    lock: bool = False


class WithReason(Payload):
    reason: Reason = ""


class ConsultationMove(Payload):
    participant_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_CONSULTATION_PEOPLE)]
    room_name: RoomName


class ConsultationReturn(Payload):
    participant_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_CONSULTATION_PEOPLE)]


class ScreeningChange(Payload):
    protected: Id
    hidden_from: Id
    active: bool = True
    audio: bool = False
    """Withhold the voice too, not only the picture."""


class ScreenShare(Payload):
    sharing: bool


class Chat(Payload):
    text: ChatText
    to: Id | None = None
    """Court staff address one participant; everyone else writes to the court (omit it)."""
    room: bool = False
    """To the people of the sender's private consultation room only (``to`` omitted)."""


class Offer(Payload):
    sdp: Sdp
    sources: Annotated[dict[Mid, MediaSourceName], Field(max_length=MAX_MEDIA_SOURCES)] = Field(
        default_factory=dict
    )
    """What each of the client's sending m-lines (by mid) carries."""


class Answer(Payload):
    sdp: Sdp


class IceCandidate(Payload):
    candidate: Annotated[str, StringConstraints(max_length=MAX_ICE_CANDIDATE_CHARS)] | None
    """``null`` or empty: end of candidates."""
    sdp_mid: Mid | None = None
    sdp_mline_index: Annotated[int, Field(ge=0, le=255)] | None = None


class Watch(Payload):
    session_id: Id


class ViewRequest(Payload):
    """A participant asks for their own session's view; a monitor names a watched session."""

    session_id: Id | None = None


class AcknowledgeAlert(Payload):
    session_id: Id
    alert_id: Id | None = None
    """One alert; omitted, every open alert of the session at once."""


DeviceResult = Literal["ok", "denied", "missing", "failed", "skipped"]


class DeviceCheck(Payload):
    """What the join page's device check found, before the person entered."""

    passed: bool
    camera: DeviceResult
    microphone: DeviceResult
    speaker: Literal["ok", "failed", "untested"] = "untested"
    network: Literal["ok", "poor", "failed", "untested"] = "untested"
    detail: Reason = ""


@dataclass(frozen=True, slots=True)
class EventSpec:
    model: type[Payload]
    senders: frozenset[Sender]
    summary: str


_P = frozenset({Sender.PARTICIPANT})
_M = frozenset({Sender.MONITOR})
_ALL = frozenset(Sender)

COMMAND_PAYLOADS: dict[str, type[Payload]] = {
    "admit": Target,
    "deny": Target,
    "remove": Target,
    "verify_identity": Target,
    "mute": Mute,
    "mute_all": MuteAll,
    "unmute": OptionalTarget,
    "unlock": Target,
    "give_floor": Target,
    "take_floor": Empty,
    "raise_hand": Empty,
    "lower_hand": OptionalTarget,
    "call_witness": Target,
    "dismiss_witness": Target,
    "move_to_consultation": ConsultationMove,
    "return_from_consultation": ConsultationReturn,
    "start": Empty,
    "suspend": WithReason,
    "resume": Empty,
    "close": Empty,
    "postpone": WithReason,
    "start_recording": Empty,
    "pause_recording": Empty,
    "set_screening": ScreeningChange,
    "screen_share": ScreenShare,
}
"""Control commands on the session; the domain decides who may give each one."""

CLIENT_EVENTS: dict[str, EventSpec] = {
    **{
        name: EventSpec(model, _P, f"control command: {name.replace('_', ' ')}")
        for name, model in COMMAND_PAYLOADS.items()
    },
    "leave": EventSpec(Empty, _P, "leave the session for good (not a dropped connection)"),
    "chat": EventSpec(Chat, _P, "a message between a participant and the court"),
    "offer": EventSpec(Offer, _P, "WebRTC offer from the browser; acknowledged with the answer"),
    "answer": EventSpec(Answer, _P, "the browser's answer to a server offer"),
    "ice_candidate": EventSpec(IceCandidate, _P, "a trickled ICE candidate from the browser"),
    "renegotiate": EventSpec(Empty, _P, "ask the server for a fresh offer"),
    "device_check": EventSpec(DeviceCheck, _P, "the result of the join page's device check"),
    "view": EventSpec(ViewRequest, _ALL, "the whole view again, after a gap in versions"),
    "watch": EventSpec(Watch, _M, "start watching a session"),
    "unwatch": EventSpec(Watch, _M, "stop watching a session"),
    "acknowledge_alert": EventSpec(AcknowledgeAlert, _M, "take charge of an alert"),
    "ping": EventSpec(Empty, _ALL, "liveness and clock check; acknowledged with server time"),
}

SERVER_EVENTS: dict[str, str] = {
    "welcome": "sent once after connecting: who you are, the session view, ICE servers, limits",
    "session_event": "one command's events in a session you are in or watch, with what changed",
    "error": "a refused message: {code, rule, message{vi,en}, event, ref}",
    "chat": "a chat message addressed to you (or your own, echoed)",
    "offer": "a server WebRTC offer (new tracks to receive); reply with 'answer'",
    "goodbye": "the server is about to close the connection, and why",
    "quality": "link quality measured by the server: your own, or every watched participant's",
    "alert": "(monitors) something in a watched session needs a person, or was acknowledged",
}


class ConnectAuth(BaseModel):
    """The ``auth`` object of the socket.io handshake: exactly one kind of credential."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    """A participant's personal join token (the last part of the join link)."""
    staff_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    """A staff bearer token from ``POST /api/v1/auth/login``: a read-only monitor."""

    @model_validator(mode="after")
    def _exactly_one(self) -> ConnectAuth:
        if (self.token is None) == (self.staff_token is None):
            raise ValueError("give exactly one of token and staff_token")
        return self


def parse_auth(auth: object) -> ConnectAuth:
    try:
        return ConnectAuth.model_validate(auth if auth is not None else {})
    except ValidationError as exc:
        raise Refusal(
            "unauthenticated",
            "connect.credentials",
            Text(
                "Thiếu mã truy cập: hãy kết nối bằng đường dẫn mời hoặc tài khoản cán bộ.",
                "Connect with auth {token: <join token>} or {staff_token: <staff token>}.",
            ),
            _field_errors(exc),
        ) from None


def parse_payload(model: type[Payload], args: tuple[object, ...]) -> Payload:
    """One JSON object (or nothing) per event, within the size limit, of the event's shape."""
    if len(args) > 1:
        raise malformed("send one payload object per event")
    raw = args[0] if args else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise malformed("the payload must be a JSON object")
    try:
        size = len(json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    except (TypeError, ValueError):
        raise malformed("binary attachments are not accepted") from None
    if size > MAX_MESSAGE_BYTES:
        raise too_large(MAX_MESSAGE_BYTES)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        if any(e["type"] == "sdp_too_large" for e in exc.errors()):
            raise too_large(MAX_SDP_BYTES, "protocol.sdp_too_large") from None
        fields = _field_errors(exc)
        names = ", ".join(f["field"] or "(payload)" for f in fields)
        raise malformed(f"check {names}", fields) from None


def client_ref(args: tuple[object, ...]) -> str | None:
    """The client's ``ref``, when it can be read even from a refused payload."""
    raw = args[0] if args else None
    if isinstance(raw, dict):
        ref = raw.get("ref")
        if isinstance(ref, str) and len(ref) <= MAX_REF_CHARS:
            return ref
    return None


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]),
            "type": error["type"],
            "detail": error["msg"],
        }
        for error in exc.errors()[:10]
    ]


def refusal_body(error: DomainError, event: str, ref: str | None) -> dict[str, Any]:
    """The ``error`` event and the ``error`` of a failed acknowledgement: one shape."""
    body: dict[str, Any] = {
        "code": error.code,
        "rule": error.rule,
        "message": error.message.as_dict(),
        "event": event,
        "ref": ref,
    }
    if isinstance(error, Refusal) and error.fields:
        body["fields"] = error.fields
    return body
