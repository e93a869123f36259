"""A hearing's recording as the court keeps it: its state, its legal hold, its retention.

Plain rules, no I/O: the recorder and the catalogue (``hearing_server.recordings``) keep the
files and the rows; this module decides what a recording's state means and when the court's
retention rules let it be deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rooms.ids import CourtId, SessionId
from rooms.text import Text

__all__ = ["Recording", "RecordingStatus", "RetentionDecision", "retention_decision"]


class RecordingStatus(StrEnum):
    RECORDING = "recording"
    COMPOSING = "composing"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Recording:
    id: str
    session_id: SessionId
    court_id: CourtId
    case_number: str
    case_type: str
    started_at: datetime
    ended_at: datetime | None
    status: RecordingStatus
    progress: float | None
    "Composition's percent done while composing."
    legal_hold: bool
    deleted_at: datetime | None
    path: str
    "The recording's directory, relative to the recordings directory."
    manifest_sha256: str | None
    "The sealed manifest's hash, None until it is sealed."
    size_bytes: int
    "Every closed file of the recording, together: what it takes on disk."


@dataclass(frozen=True, slots=True)
class RetentionDecision:
    recording_id: str
    delete: bool
    reason: Text


def retention_decision(
    recording: Recording, retention_days: Mapping[str, int], now: datetime
) -> RetentionDecision:
    """Whether the retention rule for the recording's case type lets it go now, and why.

    A case type with no rule is kept for ever: deleting evidence is never a default. A
    recording still being written or composed is kept, and a legal hold stops everything."""
    rid = recording.id
    if recording.deleted_at is not None:
        return RetentionDecision(rid, False, Text("Đã xóa.", "Already deleted."))
    if recording.legal_hold:
        return RetentionDecision(
            rid, False, Text("Đang bị phong tỏa (legal hold).", "Under legal hold.")
        )
    if recording.ended_at is None or recording.status in (
        RecordingStatus.RECORDING,
        RecordingStatus.COMPOSING,
    ):
        return RetentionDecision(
            rid, False, Text("Bản ghi chưa hoàn tất.", "The recording is not finished.")
        )
    days = retention_days.get(recording.case_type)
    if days is None:
        return RetentionDecision(
            rid,
            False,
            Text(
                f"Không có thời hạn lưu trữ cho loại vụ án «{recording.case_type}»: giữ lại.",
                f"No retention period for case type '{recording.case_type}': kept.",
            ),
        )
    due = recording.ended_at + timedelta(days=days)
    if now < due:
        return RetentionDecision(
            rid,
            False,
            Text(
                f"Lưu trữ {days} ngày, đến {due.date().isoformat()}.",
                f"Kept {days} days, until {due.date().isoformat()}.",
            ),
        )
    return RetentionDecision(
        rid,
        True,
        Text(
            f"Đã quá thời hạn lưu trữ {days} ngày (hết hạn {due.date().isoformat()}).",
            f"Past its {days}-day retention period (expired {due.date().isoformat()}).",
        ),
    )
