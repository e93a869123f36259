"""The two state machines, every state against every transition."""

from __future__ import annotations

import pytest

from rooms import InvalidTransition, ParticipantState, SessionState
from rooms.states import (
    PARTICIPANT_STATE_LABELS,
    PARTICIPANT_TRANSITIONS,
    SESSION_STATE_LABELS,
    SESSION_TRANSITIONS,
    ParticipantTransition,
    SessionTransition,
    check_participant_transition,
    next_session_state,
)

S = SessionState
ST = SessionTransition
P = ParticipantState
PT = ParticipantTransition

# Written out by hand from the design: a hearing is scheduled, its lobby opens, it runs, it
# may be suspended and resumed, and it ends closed, postponed or cancelled.
EXPECTED_SESSION: dict[tuple[SessionState, SessionTransition], SessionState] = {
    (S.SCHEDULED, ST.OPEN_LOBBY): S.OPEN,
    (S.OPEN, ST.START): S.IN_SESSION,
    (S.IN_SESSION, ST.SUSPEND): S.SUSPENDED,
    (S.SUSPENDED, ST.RESUME): S.IN_SESSION,
    (S.IN_SESSION, ST.CLOSE): S.CLOSED,
    (S.SUSPENDED, ST.CLOSE): S.CLOSED,
    (S.SCHEDULED, ST.POSTPONE): S.POSTPONED,
    (S.OPEN, ST.POSTPONE): S.POSTPONED,
    (S.SUSPENDED, ST.POSTPONE): S.POSTPONED,
    (S.SCHEDULED, ST.CANCEL): S.CANCELLED,
    (S.OPEN, ST.CANCEL): S.CANCELLED,
}

EXPECTED_PARTICIPANT: dict[tuple[ParticipantState, ParticipantTransition], object] = {
    **{(s, PT.ENTER_LOBBY): P.IN_LOBBY for s in (P.INVITED, P.LEFT, P.DISCONNECTED)},
    **{
        (s, PT.ENTER_DIRECTLY): P.IN_SESSION
        for s in (P.INVITED, P.LEFT, P.DISCONNECTED, P.IN_LOBBY)
    },
    (P.IN_LOBBY, PT.ADMIT): P.IN_SESSION,
    (P.IN_LOBBY, PT.DENY): P.DENIED,
    (P.IN_SESSION, PT.SEND_TO_LOBBY): P.IN_LOBBY,
    (P.IN_SESSION, PT.MOVE_TO_CONSULTATION): P.IN_CONSULTATION,
    (P.IN_CONSULTATION, PT.RETURN_FROM_CONSULTATION): P.IN_SESSION,
    **{(s, PT.LEAVE): P.LEFT for s in (P.IN_LOBBY, P.IN_SESSION, P.IN_CONSULTATION)},
    **{
        (s, PT.REMOVE): P.REMOVED
        for s in (P.IN_LOBBY, P.IN_SESSION, P.IN_CONSULTATION, P.INVITED, P.DISCONNECTED)
    },
    **{(s, PT.DISCONNECT): P.DISCONNECTED for s in (P.IN_LOBBY, P.IN_SESSION, P.IN_CONSULTATION)},
    (P.DISCONNECTED, PT.RECONNECT): None,
}

SESSION_PAIRS = [(state, t) for t in SessionTransition for state in SessionState]
PARTICIPANT_PAIRS = [(state, t) for t in ParticipantTransition for state in ParticipantState]


def test_tables_cover_every_transition() -> None:
    assert set(SESSION_TRANSITIONS) == set(SessionTransition)
    assert set(PARTICIPANT_TRANSITIONS) == set(ParticipantTransition)
    assert set(SESSION_STATE_LABELS) == set(SessionState)
    assert set(PARTICIPANT_STATE_LABELS) == set(ParticipantState)


@pytest.mark.parametrize(("state", "transition"), SESSION_PAIRS, ids=str)
def test_session_machine(state: SessionState, transition: SessionTransition) -> None:
    allowed_from, target = SESSION_TRANSITIONS[transition]
    assert (state in allowed_from) is ((state, transition) in EXPECTED_SESSION)
    if state in allowed_from:
        assert next_session_state(state, transition) is target
        assert target is EXPECTED_SESSION[state, transition]
        return
    with pytest.raises(InvalidTransition) as refused:
        next_session_state(state, transition)
    error = refused.value
    assert error.rule == f"session_state.{transition.value}"
    assert error.code == "invalid_state"
    assert state.value in error.message.en
    assert transition.value.replace("_", " ") in error.message.en
    assert SESSION_STATE_LABELS[state].vi in error.message.vi


@pytest.mark.parametrize(("state", "transition"), PARTICIPANT_PAIRS, ids=str)
def test_participant_machine(state: ParticipantState, transition: ParticipantTransition) -> None:
    allowed_from, target = PARTICIPANT_TRANSITIONS[transition]
    assert (state in allowed_from) is ((state, transition) in EXPECTED_PARTICIPANT)
    if state in allowed_from:
        result = check_participant_transition(state, transition)
        assert result is target
        assert result is EXPECTED_PARTICIPANT[state, transition]
        return
    with pytest.raises(InvalidTransition) as refused:
        check_participant_transition(state, transition)
    error = refused.value
    assert error.rule == f"participant_state.{transition.value}"
    assert state.value in error.message.en
    assert transition.value.replace("_", " ") in error.message.en
    assert PARTICIPANT_STATE_LABELS[state].vi in error.message.vi


def test_reconnect_has_no_fixed_target() -> None:
    """A reconnection returns to wherever the drop found the person; the session decides."""
    assert check_participant_transition(P.DISCONNECTED, PT.RECONNECT) is None


@pytest.mark.parametrize("state", [S.CLOSED, S.POSTPONED, S.CANCELLED], ids=str)
def test_ended_sessions_are_final(state: SessionState) -> None:
    for transition in SessionTransition:
        with pytest.raises(InvalidTransition):
            next_session_state(state, transition)
