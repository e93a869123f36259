"""Alerts for court IT staff: something in a live session needs a person's attention.

An alert is raised by the system (a link went silent, a device check failed, the storage
filled up), stays open until a staff member acknowledges it, and is kept afterwards as part
of the session's record.
What each kind means and says is decided here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from rooms.errors import InvalidTransition
from rooms.ids import ParticipantId, SessionId, new_id
from rooms.text import Text


class AlertKind(StrEnum):
    DISCONNECTED = "disconnected"
    "A participant's connection dropped without leaving."
    MEDIA_SILENT = "media_silent"
    "A participant is connected but no audio or video has arrived for a while."
    DEVICE_CHECK_FAILED = "device_check_failed"
    "A participant's camera, microphone, speaker or network failed the check before joining."
    CONNECTION_POOR = "connection_poor"
    "Heavy packet loss or delay on a participant's link."
    COURTROOM_LOST = "courtroom_lost"
    "The hearing was suspended because the courtroom or a panel member lost its connection."
    STORAGE_FULL = "storage_full"
    "The server's storage is full: what people do cannot be saved until space is freed."
    SERVER_OVERLOADED = "server_overloaded"
    "The server's own event loop runs late: media and connections are about to suffer."
    RECORDING_FAILED = "recording_failed"
    "The hearing's recording cannot be written (a full disk, a write error); it is retried."
    RECORDING_SPACE_LOW = "recording_space_low"
    "Free space for recordings is running out: staff are warned before recording stops."


ALERT_TEXT: dict[AlertKind, Text] = {
    AlertKind.DISCONNECTED: Text("{name} đã mất kết nối.", "{name} lost the connection."),
    AlertKind.MEDIA_SILENT: Text(
        "Không nhận được hình ảnh, âm thanh của {name} trong {seconds} giây.",
        "No audio or video from {name} for {seconds} seconds.",
    ),
    AlertKind.DEVICE_CHECK_FAILED: Text(
        "Kiểm tra thiết bị của {name} không đạt: {detail}.",
        "{name}'s device check failed: {detail}.",
    ),
    AlertKind.CONNECTION_POOR: Text(
        "Đường truyền của {name} kém: mất {loss}% gói tin, độ trễ {rtt_ms} ms, "
        "độ dao động {jitter_ms} ms.",
        "{name}'s connection is poor: {loss}% packet loss, {rtt_ms} ms delay, "
        "{jitter_ms} ms jitter.",
    ),
    AlertKind.COURTROOM_LOST: Text(
        "Phiên tòa tạm ngừng: {name} mất kết nối.",
        "The hearing was suspended: {name} lost the connection.",
    ),
    AlertKind.STORAGE_FULL: Text(
        "Máy chủ đã hết dung lượng lưu trữ: không ghi được dữ liệu, hãy giải phóng dung lượng.",
        "The server's storage is full: nothing can be saved until space is freed.",
    ),
    AlertKind.SERVER_OVERLOADED: Text(
        "Máy chủ quá tải: xử lý bị trễ tới {max_ms} ms (p99 {p99_ms} ms trong {seconds} giây"
        " qua); hình ảnh, âm thanh và kết nối có thể bị gián đoạn.",
        "Server overloaded: its processing ran up to {max_ms} ms late (p99 {p99_ms} ms over"
        " the last {seconds} seconds); audio, video and connections may suffer.",
    ),
    AlertKind.RECORDING_FAILED: Text(
        "Không ghi được bản ghi phiên tòa ({track}): {detail}. Hệ thống đang thử ghi lại.",
        "The hearing's recording cannot be written ({track}): {detail}. Retrying.",
    ),
    AlertKind.RECORDING_SPACE_LOW: Text(
        "Dung lượng lưu bản ghi sắp hết: còn {free_mb} MB. Dưới {min_mb} MB máy chủ sẽ không"
        " ghi được phiên tòa; hãy giải phóng hoặc bổ sung dung lượng.",
        "Space for recordings is running out: {free_mb} MB left. Below {min_mb} MB the server"
        " cannot record hearings; free or add space.",
    ),
}

ALREADY_ACKNOWLEDGED = Text(
    "Cảnh báo này đã được xác nhận.",
    "This alert has already been acknowledged.",
)


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    session_id: SessionId | None
    """None for an alert about the whole server (storage full, overloaded), shown with
    every session."""
    participant_id: ParticipantId | None
    kind: AlertKind
    message: Text
    raised_at: datetime
    acknowledged_by: str | None = None
    "Staff user id of whoever acknowledged it."
    acknowledged_by_name: str | None = None
    acknowledged_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    def acknowledge(self, by: str, name: str, at: datetime) -> Alert:
        if not self.is_open:
            raise InvalidTransition("alert.already_acknowledged", ALREADY_ACKNOWLEDGED)
        return replace(self, acknowledged_by=by, acknowledged_by_name=name, acknowledged_at=at)


def raise_alert(
    session_id: SessionId | None,
    participant_id: ParticipantId | None,
    kind: AlertKind,
    at: datetime,
    **facts: object,
) -> Alert:
    """A new open alert; ``facts`` fill the kind's message (``name``, ``seconds`` ...)."""
    return Alert(
        id=new_id(),
        session_id=session_id,
        participant_id=participant_id,
        kind=kind,
        message=ALERT_TEXT[kind].format(**facts),
        raised_at=at,
    )


class LowSpaceAlarm:
    """When to warn IT staff that recordings are running out of room: once when free space
    falls under ``warn_mb``, and again only after it has come back above a quarter more (a
    disk hovering at the mark must not bury staff in warnings). Pure: figures are given."""

    REARM = 1.25

    def __init__(self, warn_mb: int) -> None:
        self.warn_mb = warn_mb
        self.__warned = False

    def observe(self, free_mb: int) -> bool:
        """Whether to warn now."""
        if self.warn_mb <= 0:
            return False
        if self.__warned:
            if free_mb >= self.warn_mb * self.REARM:
                self.__warned = False
            return False
        if free_mb >= self.warn_mb:
            return False
        self.__warned = True
        return True
