"""The permission tables: every role against every action, for participants and staff."""

from __future__ import annotations

import pytest

from rooms import Action, PermissionDenied, Role, StaffAction, StaffRole
from rooms.permissions import (
    PERMISSIONS,
    STAFF_PERMISSIONS,
    ensure_may,
    ensure_staff_may,
    may,
    staff_may,
)

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
]


@pytest.mark.parametrize(("role", "action", "allowed"), STAFF_KEY_RULES, ids=str)
def test_key_staff_rules(role: StaffRole, action: StaffAction, allowed: bool) -> None:
    assert staff_may(role, action) is allowed
