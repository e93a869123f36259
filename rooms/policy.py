"""Jurisdiction rules as data: Vietnam's by default, another court's by configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from rooms.cases import CASE_TYPE_LABELS, INSTANCE_LABELS, Case, CaseType, Instance
from rooms.errors import InvalidInput, PolicyViolation
from rooms.penal_code import roman
from rooms.roles import OFFICIAL_ROLES, Role
from rooms.text import Text

_COUNT_SETTINGS = frozenset({"max_remote_points", "max_meeting_points"})
_TEXT_SETTINGS = frozenset({"name", "time_zone"})
_FLAG_SETTINGS = frozenset(
    {
        "refuse_state_secrets",
        "observers_in_closed_hearings",
        "record_consultations",
        "suspend_on_courtroom_disconnect",
    }
)


def _checked_scalar(key: str, raw: Any) -> Any:
    """A limit is a whole number ≥ 0 or None, a name is text, a flag is true or false."""
    if key in _COUNT_SETTINGS:
        if raw is None or (type(raw) is int and raw >= 0):
            return raw
        raise ValueError(f"{key} must be a whole number ≥ 0 or empty, not {raw!r}")
    if key in _TEXT_SETTINGS:
        if isinstance(raw, str):
            return raw
        raise ValueError(f"{key} must be text, not {raw!r}")
    if key in _FLAG_SETTINGS and not isinstance(raw, bool):
        raise ValueError(f"{key} must be true or false, not {raw!r}")
    return raw


@dataclass(frozen=True)
class JurisdictionPolicy:
    """The rules a court works under; Resolution 33/2021/QH15 gives the defaults."""

    name: str = "vn"
    online_case_types: frozenset[CaseType] = frozenset(
        {
            CaseType.CRIMINAL,
            CaseType.CIVIL,
            CaseType.ADMINISTRATIVE,
            CaseType.BUSINESS,
            CaseType.LABOUR,
            CaseType.FAMILY,
        }
    )
    online_instances: frozenset[Instance] = frozenset({Instance.FIRST_INSTANCE, Instance.APPEAL})
    excluded_penal_chapters: frozenset[int] = frozenset({13, 26})
    """XIII: national security; XXVI: crimes against peace and humanity, war crimes."""
    refuse_state_secrets: bool = True
    max_remote_points: int | None = 3
    max_meeting_points: int | None = None
    identity_check_exempt_roles: frozenset[Role] = OFFICIAL_ROLES
    """Everyone else must be confirmed by the clerk before admission."""
    direct_entry_roles: frozenset[Role] = OFFICIAL_ROLES | {Role.CHAIR, Role.TECHNICIAN}
    """Roles that skip the lobby: the court does not wait for itself."""
    observers_in_closed_hearings: bool = False
    record_consultations: bool = False
    suspend_on_courtroom_disconnect: bool = True
    time_zone: str = "Asia/Ho_Chi_Minh"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> JurisdictionPolicy:
        """Build from configuration (e.g. a TOML table); unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidInput(
                "policy.unknown_keys",
                Text(
                    f"Khóa cấu hình không hợp lệ: {sorted(unknown)}",
                    f"Unknown policy settings: {sorted(unknown)}",
                ),
            )
        values: dict[str, Any] = {}
        try:
            for key, raw in data.items():
                if key == "online_case_types":
                    values[key] = frozenset(CaseType(v) for v in raw)
                elif key == "online_instances":
                    values[key] = frozenset(Instance(v) for v in raw)
                elif key == "excluded_penal_chapters":
                    values[key] = frozenset(int(v) for v in raw)
                elif key in ("identity_check_exempt_roles", "direct_entry_roles"):
                    values[key] = frozenset(Role(v) for v in raw)
                else:
                    values[key] = _checked_scalar(key, raw)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                "policy.invalid_value",
                Text(f"Giá trị cấu hình không hợp lệ: {exc}", f"Invalid policy value: {exc}"),
            ) from exc
        return cls(**values)

    def ensure_online_hearing_allowed(self, case: Case) -> None:
        """Refuse to schedule an online hearing the law keeps in the courtroom."""
        if self.refuse_state_secrets and case.state_secret:
            raise PolicyViolation(
                "policy.state_secret",
                Text(
                    "Không được xét xử trực tuyến vụ án có tài liệu, chứng cứ thuộc bí mật "
                    "nhà nước.",
                    "A case involving state secrets may not be heard online.",
                ),
            )
        if case.case_type not in self.online_case_types:
            label = CASE_TYPE_LABELS[case.case_type]
            raise PolicyViolation(
                "policy.case_type",
                Text(
                    f"Loại vụ việc «{label.vi}» không được xét xử trực tuyến.",
                    f"{label.en} cases may not be heard online.",
                ),
            )
        if case.instance not in self.online_instances:
            label = INSTANCE_LABELS[case.instance]
            raise PolicyViolation(
                "policy.instance",
                Text(
                    f"Không được tổ chức phiên tòa trực tuyến ở cấp «{label.vi}».",
                    f"{label.en} hearings may not be held online.",
                ),
            )
        excluded = sorted(case.penal_chapters & self.excluded_penal_chapters)
        if excluded:
            chapters = ", ".join(roman(c) for c in excluded)
            raise PolicyViolation(
                "policy.penal_chapter",
                Text(
                    f"Vụ án có tội danh thuộc Chương {chapters} Bộ luật Hình sự không được "
                    "xét xử trực tuyến.",
                    f"Charges under Penal Code chapter {chapters} may not be heard online.",
                ),
            )

    def ensure_remote_point_allowed(self, remote_points_now: int) -> None:
        if self.max_remote_points is not None and remote_points_now >= self.max_remote_points:
            raise PolicyViolation(
                "policy.max_remote_points",
                Text(
                    f"Phiên tòa trực tuyến chỉ có tối đa {self.max_remote_points} điểm cầu "
                    "thành phần.",
                    f"An online hearing may have at most {self.max_remote_points} remote "
                    "connection points.",
                ),
            )

    def ensure_meeting_point_allowed(self, points_now: int) -> None:
        if self.max_meeting_points is not None and points_now >= self.max_meeting_points:
            raise PolicyViolation(
                "policy.max_meeting_points",
                Text(
                    f"Cuộc họp chỉ có tối đa {self.max_meeting_points} điểm cầu.",
                    f"A meeting may have at most {self.max_meeting_points} connection points.",
                ),
            )

    def needs_identity_check(self, role: Role) -> bool:
        return role not in self.identity_check_exempt_roles

    def enters_directly(self, role: Role) -> bool:
        return role in self.direct_entry_roles


VIETNAM = JurisdictionPolicy()
