"""The one table that decides who may do what; every service call asks it first."""

from __future__ import annotations

from enum import StrEnum

from rooms.errors import PermissionDenied
from rooms.ids import CourtId
from rooms.participants import Actor
from rooms.roles import OFFICIAL_ROLES, Role, StaffRole
from rooms.text import Text


class Action(StrEnum):
    """Controls a participant may give inside a live session."""

    START = "start"
    SUSPEND = "suspend"
    RESUME = "resume"
    CLOSE = "close"
    POSTPONE = "postpone"
    ADMIT = "admit"
    DENY = "deny"
    REMOVE = "remove"
    VERIFY_IDENTITY = "verify_identity"
    MUTE_OTHERS = "mute_others"
    UNMUTE_OTHERS = "unmute_others"
    LOCK_MEDIA = "lock_media"
    GIVE_FLOOR = "give_floor"
    CALL_WITNESS = "call_witness"
    START_RECORDING = "start_recording"
    PAUSE_RECORDING = "pause_recording"
    SHARE_SCREEN = "share_screen"
    SEE_CLOSED_SESSION = "see_closed_session"
    MANAGE_CONSULTATION = "manage_consultation"
    SET_SCREENING = "set_screening"
    RAISE_HAND = "raise_hand"
    CHAT_WITH_COURT = "chat_with_court"


_PRESIDING = frozenset({Role.PRESIDING_JUDGE, Role.CHAIR})
_RUNNING = _PRESIDING | {Role.CLERK, Role.TECHNICIAN}
_EVERYONE = frozenset(Role)

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.START: _PRESIDING,
    Action.SUSPEND: _PRESIDING,
    Action.RESUME: _PRESIDING,
    Action.CLOSE: _PRESIDING,
    Action.POSTPONE: _PRESIDING,
    Action.ADMIT: _RUNNING,
    Action.DENY: _RUNNING,
    Action.REMOVE: _PRESIDING,
    Action.VERIFY_IDENTITY: frozenset({Role.PRESIDING_JUDGE, Role.CLERK}),
    Action.MUTE_OTHERS: _RUNNING,
    Action.UNMUTE_OTHERS: _PRESIDING | {Role.CLERK},
    Action.LOCK_MEDIA: _PRESIDING,
    Action.GIVE_FLOOR: _PRESIDING,
    Action.CALL_WITNESS: frozenset({Role.PRESIDING_JUDGE}),
    Action.START_RECORDING: _RUNNING,
    Action.PAUSE_RECORDING: _RUNNING,
    Action.SHARE_SCREEN: frozenset(
        {
            Role.PRESIDING_JUDGE,
            Role.CLERK,
            Role.PROCURATOR,
            Role.DEFENCE_COUNSEL,
            Role.EXPERT,
            Role.COURT_IT,
            Role.CHAIR,
            Role.SPEAKER,
            Role.TECHNICIAN,
        }
    ),
    Action.SEE_CLOSED_SESSION: _EVERYONE - {Role.OBSERVER},
    Action.MANAGE_CONSULTATION: frozenset({Role.PRESIDING_JUDGE, Role.CLERK}),
    Action.SET_SCREENING: frozenset({Role.PRESIDING_JUDGE}),
    Action.RAISE_HAND: _EVERYONE,
    Action.CHAT_WITH_COURT: _EVERYONE,
}


def may(role: Role, action: Action) -> bool:
    return role in PERMISSIONS[action]


def ensure_may(role: Role, action: Action) -> None:
    if not may(role, action):
        raise PermissionDenied(
            f"permission.{action.value}",
            Text(
                f"Vai trò «{role.label.vi}» không được phép thực hiện thao tác «{action.value}».",
                f"The role '{role.label.en}' may not perform '{action.value}'.",
            ),
        )


class StaffAction(StrEnum):
    """What a staff account may do through the API, outside any one session."""

    SCHEDULE = "schedule"
    ISSUE_OFFICIAL_LINK = "issue_official_link"
    MONITOR = "monitor"
    VIEW_AUDIT = "view_audit"
    MANAGE_USERS = "manage_users"
    MANAGE_COURTS = "manage_courts"
    MANAGE_WEBHOOKS = "manage_webhooks"
    VIEW_RECORDINGS = "view_recordings"
    HOLD_RECORDINGS = "hold_recordings"
    DELETE_RECORDINGS = "delete_recordings"
    END_ABANDONED = "end_abandoned"
    EXPORT_CASE_FILE = "export_case_file"


STAFF_PERMISSIONS: dict[StaffAction, frozenset[StaffRole]] = {
    # Every staff role of a court prepares sessions: clerks and IT staff day to day, judges
    # their own hearings (and only a judge may decide to postpone one), administrators when
    # helping out. The court boundary (ensure_staff_in_court) keeps each to its own court.
    StaffAction.SCHEDULE: frozenset(StaffRole),
    # A link for someone who runs the session (see OFFICIAL_LINK_ROLES) lets its holder
    # control the hearing, so it is not routine scheduling: the court's judges (they know
    # their panel), its IT staff (they set up the courtroom and its technical accounts) and
    # administrators may issue one; a clerk may not mint the presiding judge's link.
    StaffAction.ISSUE_OFFICIAL_LINK: frozenset(
        {StaffRole.ADMIN, StaffRole.IT_STAFF, StaffRole.JUDGE}
    ),
    StaffAction.MONITOR: frozenset({StaffRole.ADMIN, StaffRole.IT_STAFF, StaffRole.JUDGE}),
    StaffAction.VIEW_AUDIT: frozenset({StaffRole.ADMIN, StaffRole.IT_STAFF}),
    StaffAction.MANAGE_USERS: frozenset({StaffRole.ADMIN}),
    StaffAction.MANAGE_COURTS: frozenset({StaffRole.ADMIN, StaffRole.IT_STAFF}),
    # Notifications leave the server for a system outside it (the case registry): only
    # an administrator points them somewhere.
    StaffAction.MANAGE_WEBHOOKS: frozenset({StaffRole.ADMIN}),
    # A hearing's recording is part of the case file: every staff member of the hearing's
    # court may watch it (the court boundary applies); a participant never does through a
    # join link, whatever their role in the hearing, since a join link is not a staff account.
    StaffAction.VIEW_RECORDINGS: frozenset(StaffRole),
    # A legal hold keeps evidence from retention: a judge orders it, IT staff or an
    # administrator apply it.
    StaffAction.HOLD_RECORDINGS: frozenset({StaffRole.ADMIN, StaffRole.IT_STAFF, StaffRole.JUDGE}),
    # Deleting evidence past its retention period is an administrator's act alone.
    StaffAction.DELETE_RECORDINGS: frozenset({StaffRole.ADMIN}),
    # A suspended session that nobody will resume (the courtroom never came back) still has
    # to end: a judge of the court decides it, an administrator may clear it up; a reason is
    # always given and audited. Routine scheduling staff may not end a hearing.
    StaffAction.END_ABANDONED: frozenset({StaffRole.ADMIN, StaffRole.JUDGE}),
    # The case-file bundle carries the identity checks and the hearing's audit extract to
    # the case registry: the court's clerks keep the case file, its judges answer for it, an
    # administrator helps out. IT staff run the hearing's technology, not its file.
    StaffAction.EXPORT_CASE_FILE: frozenset({StaffRole.ADMIN, StaffRole.JUDGE, StaffRole.CLERK}),
}

OFFICIAL_LINK_ROLES = OFFICIAL_ROLES | {Role.CHAIR}
"""Roles whose join link is a privileged act: the panel, the clerk, court IT and the
procurator conduct the proceedings (no lobby, no identity check), and a meeting's chair runs
it as the presiding judge runs a hearing."""


def link_action(role: Role) -> StaffAction:
    """The staff permission it takes to add a person of ``role`` or issue them a link."""
    return StaffAction.ISSUE_OFFICIAL_LINK if role in OFFICIAL_LINK_ROLES else StaffAction.SCHEDULE


def may_handle_link(actor: Actor, role: Role) -> bool:
    """Whether ``actor`` may see, print or export the join link of a person of ``role``:
    the permission it takes to issue that link, so a clerk who may not mint the presiding
    judge's link never reads it off a list either. (The court boundary is checked apart.)"""
    if actor.is_system:
        return True
    return actor.staff_role is not None and staff_may(actor.staff_role, link_action(role))


def staff_may(role: StaffRole, action: StaffAction) -> bool:
    return role in STAFF_PERMISSIONS[action]


def ensure_staff_may(role: StaffRole, action: StaffAction) -> None:
    if not staff_may(role, action):
        raise PermissionDenied(
            f"staff_permission.{action.value}",
            Text(
                f"Tài khoản «{role.label.vi}» không được phép thực hiện «{action.value}».",
                f"A '{role.label.en}' account may not perform '{action.value}'.",
            ),
        )


def ensure_staff_actor(actor: Actor, action: StaffAction) -> None:
    """Staff work needs a staff account allowed to do it; the system itself is trusted."""
    if actor.is_system:
        return
    if actor.staff_role is None:
        raise PermissionDenied(
            f"staff_permission.{action.value}",
            Text("Thao tác này dành cho cán bộ Tòa án.", "Only court staff accounts may do this."),
        )
    ensure_staff_may(actor.staff_role, action)


def ensure_staff_in_court(actor: Actor, court_id: CourtId | None) -> None:
    """The one court boundary, asked before every staff read and write.

    Staff act only on their own court's sessions, links, alerts and accounts. ``court_id``
    None stands for every court at once (all courts, all accounts, a new court, an
    administrator of the whole system): only the system itself and a system-wide
    administrator (``StaffRole.ADMIN`` with no court) pass it. A staff account of another
    role without a court belongs to nothing and passes nowhere: it fails closed rather than
    seeing every court. Participants are never staff and never pass.
    """
    if actor.is_system or actor.is_system_wide_admin:
        return
    if actor.staff_role is None:
        raise PermissionDenied(
            "staff_permission.court",
            Text("Thao tác này dành cho cán bộ Tòa án.", "Only court staff accounts may do this."),
        )
    if actor.court_id is None:
        raise PermissionDenied(
            "staff_permission.no_court",
            Text(
                "Tài khoản chưa được gắn với tòa án nào; hãy nhờ quản trị viên gắn tòa án.",
                "This account belongs to no court; ask an administrator to assign one.",
            ),
        )
    if court_id != actor.court_id:
        raise PermissionDenied(
            "staff_permission.other_court",
            Text(
                "Tài khoản này chỉ làm việc với tòa án của mình.",
                "This account may only act on its own court.",
            ),
        )


def ensure_staff_may_in_court(actor: Actor, action: StaffAction, court_id: CourtId | None) -> None:
    """A staff command on one court's data: the role may do it, and the court is the actor's."""
    ensure_staff_actor(actor, action)
    ensure_staff_in_court(actor, court_id)


def court_scope(actor: Actor) -> CourtId | None:
    """The court a list read is limited to when it names none: the actor's own, or None
    (every court) for the system and a system-wide administrator. A court-less account of
    another role gets None too, which ``ensure_staff_in_court`` then refuses."""
    if actor.is_system or actor.is_system_wide_admin:
        return None
    return actor.court_id


class MinutesAction(StrEnum):
    """What may be done to a hearing's minutes."""

    EDIT = "minutes_edit"
    SIGN = "minutes_sign"
    DECIDE_AMENDMENT = "minutes_decide_amendment"
    READ_SIGNED = "minutes_read_signed"


MINUTES_PERMISSIONS: dict[MinutesAction, frozenset[Role]] = {
    # The clerk keeps the minutes; the presiding judge checks them; both sign (CPC art. 258,
    # CivPC art. 236). Amendments are the presiding judge's to decide.
    MinutesAction.EDIT: frozenset({Role.PRESIDING_JUDGE, Role.CLERK}),
    MinutesAction.SIGN: frozenset({Role.PRESIDING_JUDGE, Role.CLERK}),
    MinutesAction.DECIDE_AMENDMENT: frozenset({Role.PRESIDING_JUDGE}),
    MinutesAction.READ_SIGNED: _EVERYONE - {Role.OBSERVER},
}


def ensure_may_minutes(role: Role, action: MinutesAction) -> None:
    if role not in MINUTES_PERMISSIONS[action]:
        raise PermissionDenied(
            f"permission.{action.value}",
            Text(
                f"Vai trò «{role.label.vi}» không được phép thực hiện «{action.value}».",
                f"The role '{role.label.en}' may not perform '{action.value}'.",
            ),
        )
