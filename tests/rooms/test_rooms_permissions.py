"""The permission tables: every role against every action, for participants and staff."""

from __future__ import annotations

import pytest
from rooms_testkit import COURT, scheduled_hearing

from rooms import (
    Action,
    Actor,
    CourtId,
    ParticipantId,
    PermissionDenied,
    Role,
    StaffAction,
    StaffRole,
)
from rooms.permissions import (
    OFFICIAL_LINK_ROLES,
    PERMISSIONS,
    STAFF_PERMISSIONS,
    ensure_may,
    ensure_staff_in_court,
    ensure_staff_may,
    link_action,
    may,
    staff_may,
)
from rooms.roles import COURT_ROLES, OFFICIAL_ROLES

ROLE_ACTION_PAIRS = [(role, action) for action in Action for role in Role]
STAFF_PAIRS = [(role, action) for action in StaffAction for role in StaffRole]


def test_every_action_has_a_row() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert set(STAFF_PERMISSIONS) == set(StaffAction)


@pytest.mark.parametrize(("role", "action"), ROLE_ACTION_PAIRS, ids=lambda v: v.value)
def test_participant_permission_follows_the_table(role: Role, action: Action) -> None:
    allowed = role in PERMISSIONS[action]
    assert may(role, action) is allowed
    if allowed:
        assert ensure_may(role, action) is None
        return
    with pytest.raises(PermissionDenied) as refused:
        ensure_may(role, action)
    error = refused.value
    assert error.rule == f"permission.{action.value}"
    assert error.code == "forbidden"
    assert role.label.vi in error.message.vi
    assert role.label.en in error.message.en
    assert action.value in error.message.vi
    assert action.value in error.message.en
    assert error.message.vi != error.message.en
    assert str(error) == error.message.en


@pytest.mark.parametrize(("role", "action"), STAFF_PAIRS, ids=lambda v: v.value)
def test_staff_permission_follows_the_table(role: StaffRole, action: StaffAction) -> None:
    allowed = role in STAFF_PERMISSIONS[action]
    assert staff_may(role, action) is allowed
    if allowed:
        assert ensure_staff_may(role, action) is None
        return
    with pytest.raises(PermissionDenied) as refused:
        ensure_staff_may(role, action)
    error = refused.value
    assert error.rule == f"staff_permission.{action.value}"
    assert role.label.vi in error.message.vi
    assert role.label.en in error.message.en
    assert action.value in error.message.en
    assert error.message.vi != error.message.en


# The rules the law and the court's practice fix, written out independently of the table so
# that a careless edit of the table is caught here.
KEY_RULES = [
    (Role.PRESIDING_JUDGE, Action.START, True),
    (Role.PRESIDING_JUDGE, Action.CALL_WITNESS, True),
    (Role.PRESIDING_JUDGE, Action.SET_SCREENING, True),
    (Role.PRESIDING_JUDGE, Action.REMOVE, True),
    (Role.CHAIR, Action.START, True),
    (Role.CLERK, Action.VERIFY_IDENTITY, True),
    (Role.CLERK, Action.ADMIT, True),
    (Role.CLERK, Action.START_RECORDING, True),
    (Role.CLERK, Action.START, False),
    (Role.CLERK, Action.CALL_WITNESS, False),
    (Role.CLERK, Action.LOCK_MEDIA, False),
    (Role.CLERK, Action.REMOVE, False),
    (Role.JUDGE, Action.START, False),
    (Role.PEOPLES_ASSESSOR, Action.ADMIT, False),
    (Role.PROCURATOR, Action.SHARE_SCREEN, True),
    (Role.PROCURATOR, Action.MUTE_OTHERS, False),
    (Role.DEFENCE_COUNSEL, Action.SHARE_SCREEN, True),
    (Role.DEFENDANT, Action.SHARE_SCREEN, False),
    (Role.DEFENDANT, Action.START, False),
    (Role.DEFENDANT, Action.MUTE_OTHERS, False),
    (Role.DEFENDANT, Action.RAISE_HAND, True),
    (Role.WITNESS, Action.CHAT_WITH_COURT, True),
    (Role.OBSERVER, Action.SEE_CLOSED_SESSION, False),
    (Role.OBSERVER, Action.RAISE_HAND, True),
    (Role.VICTIM, Action.SEE_CLOSED_SESSION, True),
    (Role.TECHNICIAN, Action.ADMIT, True),
    (Role.TECHNICIAN, Action.START, False),
    (Role.PARTICIPANT, Action.SHARE_SCREEN, False),
    (Role.SPEAKER, Action.SHARE_SCREEN, True),
]


@pytest.mark.parametrize(("role", "action", "allowed"), KEY_RULES, ids=str)
def test_key_rules_of_the_court(role: Role, action: Action, allowed: bool) -> None:
    assert may(role, action) is allowed


PARTY_ROLES = (Role.DEFENDANT, Role.VICTIM, Role.PLAINTIFF, Role.WITNESS, Role.OBSERVER)
CONTROLS = sorted(
    set(Action)
    - {Action.RAISE_HAND, Action.CHAT_WITH_COURT, Action.SHARE_SCREEN, Action.SEE_CLOSED_SESSION}
)


@pytest.mark.parametrize("role", PARTY_ROLES, ids=str)
@pytest.mark.parametrize("action", CONTROLS, ids=str)
def test_no_party_runs_the_hearing(role: Role, action: Action) -> None:
    """Parties may raise a hand, chat with the court and (counsel) show a document; they
    never control the hearing."""
    assert not may(role, action)


STAFF_KEY_RULES = [
    (StaffRole.CLERK, StaffAction.SCHEDULE, True),
    (StaffRole.JUDGE, StaffAction.MONITOR, True),
    (StaffRole.CLERK, StaffAction.MONITOR, False),
    (StaffRole.IT_STAFF, StaffAction.VIEW_AUDIT, True),
    (StaffRole.JUDGE, StaffAction.VIEW_AUDIT, False),
    (StaffRole.ADMIN, StaffAction.MANAGE_USERS, True),
    (StaffRole.IT_STAFF, StaffAction.MANAGE_USERS, False),
    (StaffRole.CLERK, StaffAction.ISSUE_OFFICIAL_LINK, False),
    (StaffRole.JUDGE, StaffAction.ISSUE_OFFICIAL_LINK, True),
    (StaffRole.IT_STAFF, StaffAction.ISSUE_OFFICIAL_LINK, True),
    (StaffRole.ADMIN, StaffAction.ISSUE_OFFICIAL_LINK, True),
]


@pytest.mark.parametrize(("role", "action", "allowed"), STAFF_KEY_RULES, ids=str)
def test_key_staff_rules(role: StaffRole, action: StaffAction, allowed: bool) -> None:
    assert staff_may(role, action) is allowed


# ---------------------------------------------------------------------- the court boundary

HANOI = COURT
HUE = CourtId("tand-hue")
SYSTEM_ADMIN = Actor.staff("u-root", StaffRole.ADMIN)
HANOI_ADMIN = Actor.staff("u-admin-hn", StaffRole.ADMIN, court_id=HANOI)


@pytest.mark.parametrize("role", list(StaffRole), ids=str)
def test_staff_act_on_their_own_court_only(role: StaffRole) -> None:
    actor = Actor.staff("u-1", role, court_id=HANOI)
    assert ensure_staff_in_court(actor, HANOI) is None
    for elsewhere in (HUE, None):
        with pytest.raises(PermissionDenied) as refused:
            ensure_staff_in_court(actor, elsewhere)
        assert refused.value.rule == "staff_permission.other_court"
        assert refused.value.message.vi != refused.value.message.en


def test_only_an_administrator_without_a_court_is_system_wide() -> None:
    assert SYSTEM_ADMIN.is_system_wide_admin and not HANOI_ADMIN.is_system_wide_admin
    for court in (HANOI, HUE, None):
        assert ensure_staff_in_court(SYSTEM_ADMIN, court) is None
        assert ensure_staff_in_court(Actor.system(), court) is None


@pytest.mark.parametrize("role", sorted(set(StaffRole) - {StaffRole.ADMIN}), ids=str)
def test_a_staff_account_without_a_court_fails_closed(role: StaffRole) -> None:
    for court in (HANOI, None):
        with pytest.raises(PermissionDenied) as refused:
            ensure_staff_in_court(Actor.staff("u-2", role), court)
        assert refused.value.rule == "staff_permission.no_court"


def test_participants_never_pass_the_staff_court_check() -> None:
    with pytest.raises(PermissionDenied) as refused:
        ensure_staff_in_court(Actor.participant(ParticipantId("pj")), HANOI)
    assert refused.value.rule == "staff_permission.court"


def test_another_courts_staff_change_nothing_in_a_session() -> None:
    session = scheduled_hearing().session
    for role in StaffRole:
        stranger = Actor.staff("u-hue", role, court_id=HUE)
        with pytest.raises(PermissionDenied):
            session.cancel(stranger)
        with pytest.raises(PermissionDenied):
            session.add_participant(stranger, "Người lạ", Role.WITNESS, session.central_point.id)
    session.cancel(HANOI_ADMIN)


# ---------------------------------------------------------------------- links for officials


def test_a_link_for_whoever_conducts_the_session_is_privileged() -> None:
    assert COURT_ROLES <= OFFICIAL_LINK_ROLES and OFFICIAL_ROLES <= OFFICIAL_LINK_ROLES
    assert Role.CHAIR in OFFICIAL_LINK_ROLES
    for role in Role:
        expected = (
            StaffAction.ISSUE_OFFICIAL_LINK if role in OFFICIAL_LINK_ROLES else StaffAction.SCHEDULE
        )
        assert link_action(role) is expected


def test_a_clerk_adds_parties_but_not_the_presiding_judge() -> None:
    session = scheduled_hearing().session
    clerk = Actor.staff("u-clerk-2", StaffRole.CLERK, court_id=HANOI)
    judge = Actor.staff("u-judge", StaffRole.JUDGE, court_id=HANOI)
    courtroom = session.central_point.id
    session.add_participant(clerk, "Người làm chứng", Role.WITNESS, courtroom)
    for official in (Role.JUDGE, Role.PEOPLES_ASSESSOR, Role.PROCURATOR):
        with pytest.raises(PermissionDenied) as refused:
            session.add_participant(clerk, "Cán bộ", official, courtroom)
        assert refused.value.rule == "staff_permission.issue_official_link"
    assert session.add_participant(judge, "Thẩm phán", Role.JUDGE, courtroom).role is Role.JUDGE
