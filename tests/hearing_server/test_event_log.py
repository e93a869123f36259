"""The server's log tells an operator what happened in each session, with whom; the media
libraries' chatter stays out of it unless asked for."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient

from hearing_server.cli import LIBRARY_LOGGERS, configure_logging
from hearing_server.settings import Settings
from rooms.alerts import AlertKind
from rooms.errors import DomainError
from rooms.participants import Actor
from tests.signaling.harness import CLI, schedule_hearing


async def test_joins_admissions_suspensions_alerts_and_refusals_are_logged_with_the_person(
    client: TestClient[object, object], caplog: pytest.LogCaptureFixture
) -> None:
    hearing = await schedule_hearing(client)
    service, session_id = hearing.service, hearing.session_id
    judge, defendant = hearing.ids["judge"], hearing.ids["defendant"]
    presiding = Actor(id=judge)
    caplog.set_level(logging.INFO, logger="hearing_server")

    for pid in (judge, defendant):
        await service.execute(CLI, session_id, "participant.join", lambda s, p=pid: s.join(p))
    with pytest.raises(DomainError):  # a defendant cannot let anyone in
        await service.execute(
            Actor(id=defendant), session_id, "admit", lambda s: s.admit(Actor(id=defendant), judge)
        )
    await service.execute(
        presiding, session_id, "verify_identity", lambda s: s.verify_identity(presiding, defendant)
    )
    await service.execute(presiding, session_id, "admit", lambda s: s.admit(presiding, defendant))
    await service.execute(presiding, session_id, "start", lambda s: s.start(presiding))
    await service.execute(presiding, session_id, "suspend", lambda s: s.suspend(presiding, "nghỉ"))
    await service.raise_alert(session_id, defendant, AlertKind.MEDIA_SILENT, name="X", seconds=12)

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("hearing_server")]
    ours = [line for line in lines if line.startswith(f"session {session_id}: ")]
    who = f"Nguyễn Văn Bị Cáo (defendant, {defendant})"
    judge_who = f"Trần Văn Chủ Tọa (presiding_judge, {judge})"

    def logged(*parts: str) -> bool:
        return any(all(part in line for part in parts) for line in ours)

    assert logged("participant_state_changed of " + who, "by " + who, "current=in_lobby")
    assert logged("identity_verified of " + who, "by " + judge_who)
    assert logged("participant_state_changed of " + who, "by " + judge_who, "current=in_session")
    assert logged("session_state_changed by " + judge_who, "current=suspended", "reason=nghỉ")
    assert logged("admit by", defendant, "refused (")
    assert logged("alert media_silent about " + defendant, "No audio or video from X for 12")


def test_the_media_libraries_log_only_warnings_unless_asked() -> None:
    saved = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    try:
        configure_logging(Settings())
        assert logging.getLogger("aioice").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("aiortc.rtcpeerconnection").getEffectiveLevel() == logging.WARNING
        configure_logging(Settings(library_log_level="debug"))
        assert logging.getLogger("aioice.ice").getEffectiveLevel() == logging.DEBUG
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
