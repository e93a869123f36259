"""The audit log as a person reads it: who by name and role, what in words, details as facts.

The entries keep their codes (``session.admit``, ``staff:<id>``); this page names them. A
code without a name here is shown as it is, so a new action is never hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rooms.audit import SealedEntry
from rooms.cases import CASE_TYPE_LABELS, CaseType
from rooms.ids import ParticipantId, PointId
from rooms.points import POINT_KIND_LABELS, PointKind
from rooms.roles import Role
from rooms.session import CourtSession
from rooms.text import Text

ACTIONS: dict[str, Text] = {
    "auth.login": Text("Đăng nhập", "Log in"),
    "auth.logout": Text("Đăng xuất", "Log out"),
    "auth.missing_token": Text("Truy cập không có mã đăng nhập", "Access without a token"),
    "user.add": Text("Tạo tài khoản", "Create an account"),
    "user.set_active": Text("Khóa/mở khóa tài khoản", "Deactivate/reactivate an account"),
    "user.list": Text("Xem danh sách tài khoản", "List accounts"),
    "court.add": Text("Thêm Tòa án", "Add a court"),
    "court.list": Text("Xem danh sách Tòa án", "List courts"),
    "court.read": Text("Xem thông tin Tòa án", "Read a court"),
    "audit.read": Text("Xem nhật ký kiểm tra", "Read the audit log"),
    "audit.verify": Text("Kiểm tra chuỗi nhật ký", "Verify the audit chain"),
    "alert.raise": Text("Cảnh báo", "Alert"),
    "alert.list": Text("Xem cảnh báo", "List alerts"),
    "alert.acknowledge": Text("Xác nhận đã xem cảnh báo", "Acknowledge an alert"),
    "link.issue": Text("Cấp đường dẫn tham gia", "Issue a join link"),
    "link.list": Text("Xem đường dẫn tham gia", "List join links"),
    "link.revoke": Text("Thu hồi đường dẫn tham gia", "Revoke a join link"),
    "link.export": Text("In hoặc tải về đường dẫn tham gia", "Print or export join links"),
    "join.short_code": Text("Mở đường dẫn rút gọn", "Open a short link"),
    "monitor.watch": Text("Giám sát phiên", "Watch a session"),
    "hearing.schedule": Text("Lên lịch phiên tòa", "Schedule a hearing"),
    "meeting.schedule": Text("Lên lịch cuộc họp", "Schedule a meeting"),
    "session.update": Text("Sửa thông tin phiên", "Change a session"),
    "session.read": Text("Xem phiên", "Read a session"),
    "session.list": Text("Xem danh sách phiên", "List sessions"),
    "session.add_point": Text("Thêm điểm cầu", "Add a connection point"),
    "session.add_participant": Text("Thêm người tham gia", "Add a participant"),
    "session.cancel": Text("Hủy phiên", "Cancel a session"),
    "session.admit": Text("Cho vào phiên", "Admit"),
    "session.deny": Text("Không cho vào phiên", "Refuse entry"),
    "session.remove": Text("Mời ra khỏi phiên", "Remove"),
    "session.verify_identity": Text("Xác nhận danh tính", "Verify identity"),
    "session.mute": Text("Tắt micro", "Mute"),
    "session.mute_all": Text("Tắt micro tất cả", "Mute everyone"),
    "session.unmute": Text("Bật micro", "Unmute"),
    "session.unlock": Text("Mở khóa micro", "Unlock the microphone"),
    "session.give_floor": Text("Cho phát biểu", "Give the floor"),
    "session.take_floor": Text("Dừng phát biểu", "Take the floor back"),
    "session.raise_hand": Text("Xin phát biểu", "Raise a hand"),
    "session.lower_hand": Text("Thôi xin phát biểu", "Lower a hand"),
    "session.call_witness": Text("Mời vào phòng xử án", "Call into the courtroom"),
    "session.dismiss_witness": Text("Mời ra khỏi phòng xử án", "Dismiss from the courtroom"),
    "session.move_to_consultation": Text(
        "Chuyển vào phòng trao đổi riêng", "Move to a private room"
    ),
    "session.return_from_consultation": Text(
        "Đưa trở lại phòng xử án", "Return from a private room"
    ),
    "session.start": Text("Bắt đầu phiên", "Start the session"),
    "session.suspend": Text("Tạm ngừng phiên tòa", "Suspend the session"),
    "session.resume": Text("Tiếp tục phiên tòa", "Resume the session"),
    "session.close": Text("Kết thúc phiên", "Close the session"),
    "session.postpone": Text("Hoãn phiên tòa", "Postpone the session"),
    "session.start_recording": Text("Bắt đầu ghi âm, ghi hình", "Start recording"),
    "session.pause_recording": Text("Tạm ngừng ghi âm, ghi hình", "Pause recording"),
    "session.set_screening": Text("Biện pháp bảo vệ người tham gia", "Protective measure"),
    "session.screen_share": Text("Chia sẻ màn hình", "Share the screen"),
    "participant.join": Text("Vào phiên", "Join"),
    "participant.leave": Text("Rời phiên", "Leave"),
    "participant.disconnect": Text("Mất kết nối", "Connection lost"),
    "participant.device_check": Text("Kiểm tra thiết bị", "Device check"),
    "chat.message": Text("Gửi tin nhắn", "Chat message"),
    "media.negotiation": Text("Thiết lập kết nối hình ảnh, âm thanh", "Media negotiation"),
    "alert.acknowledge_session": Text(
        "Xác nhận đã xem mọi cảnh báo của phiên", "Acknowledge a session's alerts"
    ),
    "session.end_abandoned": Text("Kết thúc phiên bị bỏ dở", "End an abandoned session"),
    "minutes.edit": Text("Sửa biên bản phiên tòa", "Edit the minutes"),
    "minutes.insert": Text("Thêm mục vào biên bản", "Add an entry to the minutes"),
    "minutes.section": Text("Chuyển phần của biên bản", "Move to another part of the minutes"),
    "minutes.sign": Text("Ký biên bản phiên tòa", "Sign the minutes"),
    "minutes.amendment": Text("Yêu cầu sửa đổi, bổ sung biên bản", "Ask for an amendment"),
    "minutes.amendment_decision": Text(
        "Quyết định về yêu cầu sửa đổi, bổ sung biên bản", "Decide on an amendment"
    ),
    "minutes.amendment_sign": Text("Ký phần sửa đổi, bổ sung biên bản", "Sign an amendment"),
    "minutes.pdf": Text("Lập bản PDF có chữ ký của biên bản", "Issue the signed minutes (PDF)"),
    "minutes.read": Text("Đọc biên bản phiên tòa đã ký", "Read the signed minutes"),
    "case_file.export": Text("Xuất hồ sơ vụ án", "Export the case file"),
    "recording.register": Text("Lưu bản ghi vào danh mục", "Register a recording"),
    "recording.search": Text("Tìm bản ghi", "Search recordings"),
    "recording.view": Text("Xem bản ghi", "View a recording"),
    "recording.download_link": Text("Cấp đường dẫn tải bản ghi", "Issue a download link"),
    "recording.download": Text("Tải bản ghi", "Download a recording"),
    "recording.legal_hold": Text("Giữ bản ghi theo yêu cầu pháp lý", "Place a legal hold"),
    "recording.legal_hold_lifted": Text("Bỏ giữ bản ghi", "Lift a legal hold"),
    "recording.retention_report": Text("Xem thời hạn lưu trữ bản ghi", "Retention report"),
    "recording.delete": Text("Xóa bản ghi hết thời hạn lưu trữ", "Delete an expired recording"),
    "webhook.register": Text("Đăng ký địa chỉ nhận thông báo", "Register a webhook"),
    "webhook.remove": Text("Xóa địa chỉ nhận thông báo", "Remove a webhook"),
    "webhook.list": Text("Xem địa chỉ nhận thông báo", "List webhooks"),
    "webhook.deliveries": Text("Xem lịch sử gửi thông báo", "List webhook deliveries"),
    "signal.connect": Text("Kết nối vào phiên", "Connect to a session"),
    "signal.message": Text("Lệnh gửi qua kết nối phiên", "Message on the session connection"),
    "signal.abuse": Text("Lạm dụng kết nối phiên", "Abuse of the session connection"),
    "signal.coalesced": Text("Các lần từ chối lặp lại (gộp)", "Repeated refusals (counted)"),
    "signal.transport": Text("Kết nối phiên bị ngắt", "Session connection dropped"),
}

DETAIL_KEYS: dict[str, Text] = {
    "participant_id": Text("Người", "Person"),
    "protected": Text("Người được bảo vệ", "Protected person"),
    "hidden_from": Text("Không hiển thị với", "Hidden from"),
    "reason": Text("Lý do", "Reason"),
    "code": Text("Mã", "Code"),
    "why": Text("Lý do từ chối", "Why refused"),
    "events": Text("Sự kiện", "Events"),
    "kind": Text("Loại", "Kind"),
    "alert": Text("Cảnh báo", "Alert"),
    "name": Text("Tên", "Name"),
    "role": Text("Vai trò", "Role"),
    "username": Text("Tên đăng nhập", "Username"),
    "count": Text("Số lần", "Times"),
    "participant": Text("Người", "Person"),
    "invitation": Text("Đường dẫn", "Link"),
    "replaced_by": Text("Thay bằng đường dẫn", "Replaced by link"),
    "replaces": Text("Thay cho đường dẫn", "Replaces link"),
    "format": Text("Hình thức", "Form"),
    "participants": Text("Những người", "People"),
    "point_id": Text("Điểm cầu", "Connection point"),
    "case_number": Text("Số thụ lý", "Case number"),
    "case_type": Text("Loại vụ án", "Case type"),
    "title": Text("Tiêu đề", "Title"),
}

EVENTS: dict[str, Text] = {
    "session_scheduled": Text("đã lên lịch", "scheduled"),
    "session_details_changed": Text("thông tin phiên thay đổi", "details changed"),
    "session_state_changed": Text("trạng thái phiên thay đổi", "session state changed"),
    "point_added": Text("thêm điểm cầu", "point added"),
    "participant_added": Text("thêm người tham gia", "participant added"),
    "participant_state_changed": Text(
        "trạng thái người tham gia thay đổi", "person's state changed"
    ),
    "identity_verified": Text("đã xác nhận danh tính", "identity verified"),
    "media_control_changed": Text("micro/camera thay đổi", "microphone/camera changed"),
    "floor_changed": Text("quyền phát biểu thay đổi", "floor changed"),
    "hand_changed": Text("xin phát biểu thay đổi", "hand changed"),
    "consultation_changed": Text("phòng trao đổi riêng thay đổi", "private room changed"),
    "recording_state_changed": Text("ghi âm, ghi hình thay đổi", "recording changed"),
    "recording_not_started": Text(
        "không tự động ghi âm, ghi hình được", "automatic recording did not start"
    ),
    "screening_changed": Text("biện pháp bảo vệ thay đổi", "protective measure changed"),
    "screen_share_changed": Text("chia sẻ màn hình thay đổi", "screen sharing changed"),
}

_PEOPLE_KEYS = frozenset(
    {"participant_id", "participant", "participants", "protected", "hidden_from", "holder"}
)
EXPORT_FORMATS = {"csv": Text("tệp CSV", "CSV file"), "print": Text("bản in", "print-out")}

_ROLES = frozenset(role.value for role in Role)
_CASE_TYPES = frozenset(kind.value for kind in CaseType)
_POINT_KINDS = frozenset(kind.value for kind in PointKind)

SYSTEM = Text("Hệ thống", "The system")
COMMAND_LINE = Text("Dòng lệnh máy chủ", "Server command line")
ADDRESS = Text("Địa chỉ {address}", "Address {address}")
LOGIN_NAME = Text("Tên đăng nhập «{name}»", "Username «{name}»")


@dataclass(frozen=True, slots=True)
class Staff:
    name: str
    role: Text


@dataclass(frozen=True, slots=True)
class Reader:
    """Names for one page of entries, in one language."""

    code: str
    staff: Mapping[str, Staff]
    """Staff accounts by user id."""
    sessions: Mapping[str, CourtSession]
    """The sessions the page's entries name, by id."""

    def _say(self, text: Text) -> str:
        return text.vi if self.code == "vi" else text.en

    def person(self, actor: str, session_id: str | None) -> str:
        """``Trần Thị Bình (Thư ký Tòa án)``; an id nobody is known by stays as it is."""
        if actor == "system":
            return self._say(SYSTEM)
        if actor == "cli":
            return self._say(COMMAND_LINE)
        if actor.startswith("login:"):
            return self._say(LOGIN_NAME.format(name=actor.removeprefix("login:")))
        if actor.startswith("address:"):
            return self._say(ADDRESS.format(address=actor.removeprefix("address:")))
        if actor.startswith("staff:"):
            account = self.staff.get(actor.removeprefix("staff:"))
            return f"{account.name} ({self._say(account.role)})" if account else actor
        session = self.sessions.get(session_id or "")
        participant = session.participants.get(ParticipantId(actor)) if session else None
        if participant is None:
            return actor
        return f"{participant.name} ({self._say(participant.role.label)})"

    def action(self, code: str) -> str:
        text = ACTIONS.get(code)
        return self._say(text) if text else code

    def details(self, entry: SealedEntry) -> list[tuple[str, str]]:
        """The entry's details as (what, value) lines, people by name."""
        lines: list[tuple[str, str]] = []
        session_id = entry.entry.session_id
        for key, value in entry.entry.detail.items():
            label = DETAIL_KEYS.get(key)
            shown = self._value(key, value, session_id)
            lines.append((self._say(label) if label else key, shown))
        return lines

    def _value(self, key: str, value: Any, session_id: str | None) -> str:
        if key in _PEOPLE_KEYS:
            people = value if isinstance(value, list) else [value]
            return ", ".join(self.person(str(p), session_id) for p in people)
        if key == "why" and isinstance(value, dict):
            return str(value.get(self.code) or value.get("vi") or "")
        if key == "events" and isinstance(value, list):
            return ", ".join(self._say(EVENTS[e]) if e in EVENTS else str(e) for e in value)
        if key == "format" and value in EXPORT_FORMATS:
            return self._say(EXPORT_FORMATS[value])
        if key == "role" and value in _ROLES:
            return self._say(Role(value).label)
        if key == "case_type" and value in _CASE_TYPES:
            return self._say(CASE_TYPE_LABELS[CaseType(value)])
        if key == "kind" and value in _POINT_KINDS:
            return self._say(POINT_KIND_LABELS[PointKind(value)])
        session = self.sessions.get(session_id or "")
        if key == "point_id" and session is not None:
            point = session.points.get(PointId(str(value)))
            return point.name if point else str(value)
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        if isinstance(value, dict):
            return "; ".join(f"{k}: {v}" for k, v in value.items())
        if isinstance(value, bool):
            return self._say(Text("có", "yes") if value else Text("không", "no"))
        return str(value)


def staff_ids(entries: Iterable[SealedEntry]) -> set[str]:
    return {
        e.entry.actor.removeprefix("staff:") for e in entries if e.entry.actor.startswith("staff:")
    }
