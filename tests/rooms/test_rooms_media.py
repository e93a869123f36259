"""What the forwarder may send and the recorder may keep: the session's one answer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rooms_testkit import (
    CLERK,
    DEFENDANT,
    EVERYONE,
    LAWYER,
    OBSERVER,
    PJ,
    WITNESS,
    act,
    live_hearing,
    scheduled_hearing,
)

from rooms import CourtSession, JurisdictionPolicy, MediaSource, Screening

MIC, CAM, SCREEN = MediaSource.MICROPHONE, MediaSource.CAMERA, MediaSource.SCREEN
Setup = Callable[[CourtSession], object] | None


def _call_witness(s: CourtSession) -> None:
    s.call_witness(act(PJ), WITNESS)


def _screen_witness(audio: bool) -> Callable[[CourtSession], None]:
    def setup(s: CourtSession) -> None:
        _call_witness(s)
        s.set_screening(act(PJ), WITNESS, DEFENDANT, audio=audio)

    return setup


def _consultation(s: CourtSession) -> None:
    s.move_to_consultation(act(CLERK), [DEFENDANT, LAWYER], "Bào chữa")


def _two_rooms(s: CourtSession) -> None:
    s.move_to_consultation(act(CLERK), [DEFENDANT], "Phòng 1")
    s.move_to_consultation(act(CLERK), [LAWYER], "Phòng 2")


def _deliberation(s: CourtSession) -> None:
    s.move_to_consultation(act(PJ), [PJ, CLERK], "Nghị án")


# (receiver, publisher, source, expected, setup)
RECEIVE = {
    # Someone in the lobby: only the clerk or presiding judge taking part sees their camera.
    "lobby-cam-to-clerk": (CLERK, WITNESS, CAM, True, None),
    "lobby-cam-to-pj": (PJ, WITNESS, CAM, True, None),
    "lobby-mic-to-clerk": (CLERK, WITNESS, MIC, False, None),
    "lobby-screen-to-clerk": (CLERK, WITNESS, SCREEN, False, None),
    "lobby-cam-to-defendant": (DEFENDANT, WITNESS, CAM, False, None),
    "lobby-cam-to-lawyer": (LAWYER, WITNESS, CAM, False, None),
    "lobby-cam-to-observer": (OBSERVER, WITNESS, CAM, False, None),
    "lobby-cam-to-clerk-in-room": (CLERK, WITNESS, CAM, False, _deliberation),
    "lobby-cam-to-gone-clerk": (CLERK, WITNESS, CAM, False, lambda s: s.leave(CLERK)),
    # Someone in the lobby receives nothing at all.
    "lobby-gets-no-cam": (WITNESS, PJ, CAM, False, None),
    "lobby-gets-no-mic": (WITNESS, PJ, MIC, False, None),
    "lobby-gets-no-clerk": (WITNESS, CLERK, CAM, False, None),
    # Ordinary hearing.
    "pj-mic-to-defendant": (DEFENDANT, PJ, MIC, True, None),
    "defendant-cam-to-observer": (OBSERVER, DEFENDANT, CAM, True, None),
    "called-witness-to-pj": (PJ, WITNESS, MIC, True, _call_witness),
    "suspended-still-connected": (DEFENDANT, PJ, CAM, True, lambda s: s.suspend(act(PJ))),
    # Muted: no voice, still a picture.
    "muted-mic": (PJ, DEFENDANT, MIC, False, lambda s: s.mute(act(CLERK), DEFENDANT)),
    "muted-cam": (PJ, DEFENDANT, CAM, True, lambda s: s.mute(act(CLERK), DEFENDANT)),
    "unmuted-again": (
        PJ,
        DEFENDANT,
        MIC,
        True,
        lambda s: (s.mute(act(CLERK), DEFENDANT), s.unmute(act(DEFENDANT), DEFENDANT)),
    ),
    # Screening: only the shielded person loses the picture (and the voice if audio=True).
    "screened-cam-from-defendant": (DEFENDANT, WITNESS, CAM, False, _screen_witness(False)),
    "screened-mic-still-heard": (DEFENDANT, WITNESS, MIC, True, _screen_witness(False)),
    "screened-cam-to-lawyer": (LAWYER, WITNESS, CAM, True, _screen_witness(False)),
    "screened-cam-to-pj": (PJ, WITNESS, CAM, True, _screen_witness(False)),
    "screening-is-one-way": (WITNESS, DEFENDANT, CAM, True, _screen_witness(True)),
    "audio-screened-mic": (DEFENDANT, WITNESS, MIC, False, _screen_witness(True)),
    "audio-screened-cam": (DEFENDANT, WITNESS, CAM, False, _screen_witness(True)),
    "audio-screened-mic-to-lawyer": (LAWYER, WITNESS, MIC, True, _screen_witness(True)),
    "screening-lifted": (
        DEFENDANT,
        WITNESS,
        CAM,
        True,
        lambda s: (
            _screen_witness(False)(s),
            s.set_screening(act(PJ), WITNESS, DEFENDANT, active=False),
        ),
    ),
    # Consultation rooms are private both ways.
    "room-mic-inside": (LAWYER, DEFENDANT, MIC, True, _consultation),
    "room-cam-inside": (DEFENDANT, LAWYER, CAM, True, _consultation),
    "room-to-court": (PJ, DEFENDANT, MIC, False, _consultation),
    "room-cam-to-court": (PJ, DEFENDANT, CAM, False, _consultation),
    "court-to-room": (DEFENDANT, PJ, MIC, False, _consultation),
    "observer-to-room": (LAWYER, OBSERVER, CAM, False, _consultation),
    "room-to-room": (LAWYER, DEFENDANT, MIC, False, _two_rooms),
    "deliberation-inside": (CLERK, PJ, MIC, True, _deliberation),
    "deliberation-to-public": (OBSERVER, PJ, MIC, False, _deliberation),
    "deliberation-to-defendant": (DEFENDANT, PJ, CAM, False, _deliberation),
    "back-from-room": (
        PJ,
        DEFENDANT,
        MIC,
        True,
        lambda s: (_consultation(s), s.return_from_consultation(act(CLERK), [DEFENDANT])),
    ),
    # A screen only while it is shared.
    "screen-not-shared": (PJ, LAWYER, SCREEN, False, None),
    "screen-shared": (PJ, LAWYER, SCREEN, True, lambda s: s.set_screen_share(act(LAWYER), True)),
    "screen-to-public": (
        OBSERVER,
        LAWYER,
        SCREEN,
        True,
        lambda s: s.set_screen_share(act(LAWYER), True),
    ),
    "screen-taken-over": (
        PJ,
        LAWYER,
        SCREEN,
        False,
        lambda s: (s.set_screen_share(act(LAWYER), True), s.set_screen_share(act(CLERK), True)),
    ),
    # Gone people.
    "disconnected-publisher": (PJ, DEFENDANT, CAM, False, lambda s: s.disconnect(DEFENDANT)),
    "disconnected-receiver": (DEFENDANT, PJ, CAM, False, lambda s: s.disconnect(DEFENDANT)),
    "removed-publisher": (PJ, OBSERVER, CAM, False, lambda s: s.remove(act(PJ), OBSERVER)),
    "unknown-receiver": ("ghost", PJ, CAM, False, None),
    "unknown-publisher": (PJ, "ghost", CAM, False, None),
    # The session is over.
    "closed": (DEFENDANT, PJ, CAM, False, lambda s: s.close(act(PJ))),
    "closed-lobby-cam": (CLERK, WITNESS, CAM, False, lambda s: s.close(act(PJ))),
    "postponed": (
        DEFENDANT,
        PJ,
        MIC,
        False,
        lambda s: (s.suspend(act(PJ)), s.postpone(act(PJ))),
    ),
}


@pytest.mark.parametrize(
    ("receiver", "publisher", "source", "expected", "setup"),
    list(RECEIVE.values()),
    ids=list(RECEIVE),
)
def test_may_receive(
    receiver: str, publisher: str, source: MediaSource, expected: bool, setup: Setup
) -> None:
    session = live_hearing().session
    if setup is not None:
        setup(session)
    assert session.may_receive(receiver, publisher, source) is expected


@pytest.mark.parametrize("source", list(MediaSource), ids=str)
@pytest.mark.parametrize("who", EVERYONE, ids=str)
def test_nobody_receives_themselves(who: str, source: MediaSource) -> None:
    session = live_hearing().session
    session.set_screen_share(act(LAWYER), True)
    assert not session.may_receive(who, who, source)


def test_before_the_lobby_opens_nothing_flows() -> None:
    session = scheduled_hearing().session
    assert not session.may_receive(DEFENDANT, PJ, CAM)


def test_before_the_start_the_court_already_sees_and_hears_itself() -> None:
    session = scheduled_hearing().session
    session.join(PJ)
    session.join(CLERK)
    assert session.may_receive(CLERK, PJ, MIC)
    assert session.may_receive(PJ, CLERK, CAM)


def test_screening_withholds() -> None:
    picture_only = Screening(WITNESS, DEFENDANT)
    assert picture_only.withholds(CAM)
    assert picture_only.withholds(SCREEN)
    assert not picture_only.withholds(MIC)
    assert Screening(WITNESS, DEFENDANT, audio=True).withholds(MIC)


# ----------------------------------------------------------------------------- recording


def _recording(s: CourtSession) -> None:
    s.start_recording(act(CLERK))


def _then(*steps: Callable[[CourtSession], object]) -> Callable[[CourtSession], None]:
    def setup(s: CourtSession) -> None:
        for step in steps:
            step(s)

    return setup


# (publisher, source, expected, setup)
RECORD = {
    "off": (PJ, MIC, False, None),
    "pj-mic": (PJ, MIC, True, _recording),
    "pj-cam": (PJ, CAM, True, _recording),
    "defendant-cam": (DEFENDANT, CAM, True, _recording),
    "screen-not-shared": (LAWYER, SCREEN, False, _recording),
    "screen-shared": (
        LAWYER,
        SCREEN,
        True,
        _then(_recording, lambda s: s.set_screen_share(act(LAWYER), True)),
    ),
    "muted-mic": (DEFENDANT, MIC, False, _then(_recording, lambda s: s.mute(act(PJ), DEFENDANT))),
    "muted-cam": (DEFENDANT, CAM, True, _then(_recording, lambda s: s.mute(act(PJ), DEFENDANT))),
    "paused": (PJ, MIC, False, _then(_recording, lambda s: s.pause_recording(act(PJ)))),
    "suspended": (PJ, CAM, False, _then(_recording, lambda s: s.suspend(act(PJ)))),
    "resumed": (
        PJ,
        CAM,
        True,
        _then(_recording, lambda s: s.suspend(act(PJ)), lambda s: s.resume(act(PJ))),
    ),
    "closed": (PJ, CAM, False, _then(_recording, lambda s: s.close(act(PJ)))),
    "consultation-cam": (DEFENDANT, CAM, False, _then(_recording, _consultation)),
    "consultation-mic": (LAWYER, MIC, False, _then(_recording, _consultation)),
    "deliberation": (PJ, MIC, False, _then(_recording, _deliberation)),
    "outside-the-room": (OBSERVER, MIC, True, _then(_recording, _consultation)),
    "lobby": (WITNESS, CAM, False, _recording),
    "called-witness": (WITNESS, MIC, True, _then(_recording, _call_witness)),
    "disconnected": (DEFENDANT, CAM, False, _then(_recording, lambda s: s.disconnect(DEFENDANT))),
    "unknown": ("ghost", CAM, False, _recording),
}


@pytest.mark.parametrize(
    ("publisher", "source", "expected", "setup"), list(RECORD.values()), ids=list(RECORD)
)
def test_may_record(publisher: str, source: MediaSource, expected: bool, setup: Setup) -> None:
    session = live_hearing().session
    if setup is not None:
        setup(session)
    assert session.may_record(publisher, source) is expected


RECORDED_ROOMS = JurisdictionPolicy.from_mapping({"record_consultations": True})

# A court that records consultation rooms still never records a muted voice or a screen that
# is not shared, and records nothing while the hearing stands still.
RECORD_ROOMS = {
    "room-cam": (DEFENDANT, CAM, True, _then(_recording, _consultation)),
    "room-mic": (DEFENDANT, MIC, True, _then(_recording, _consultation)),
    "room-muted-mic": (
        DEFENDANT,
        MIC,
        False,
        _then(_recording, lambda s: s.mute(act(PJ), DEFENDANT), _consultation),
    ),
    "room-screen-not-shared": (LAWYER, SCREEN, False, _then(_recording, _consultation)),
    "room-suspended": (
        DEFENDANT,
        CAM,
        False,
        _then(_recording, _consultation, lambda s: s.suspend(act(PJ))),
    ),
    "lobby": (WITNESS, CAM, False, _recording),
}


@pytest.mark.parametrize(
    ("publisher", "source", "expected", "setup"),
    list(RECORD_ROOMS.values()),
    ids=list(RECORD_ROOMS),
)
def test_may_record_when_the_policy_records_consultations(
    publisher: str, source: MediaSource, expected: bool, setup: Setup
) -> None:
    session = live_hearing(RECORDED_ROOMS).session
    if setup is not None:
        setup(session)
    assert session.may_record(publisher, source) is expected
