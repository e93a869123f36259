"""IT staff are warned, once, when space for recordings runs low on a server that records:
measured on the real disk, with a warning mark set above what any disk here has free."""

from __future__ import annotations

import asyncio

import pytest

from hearing_server.settings import Settings
from rooms.alerts import Alert, AlertKind
from rooms.participants import Actor
from rooms.roles import StaffRole
from tests.media_e2e.conftest import MediaHearing
from tests.signaling.harness import staff_token

HUGE_MARK_MB = 10**12


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "ice_servers": [],
            "link_report_seconds": 0.2,
            "recording_warn_free_mb": HUGE_MARK_MB,
            "recording_min_free_mb": 0,
        }
    )


async def space_warnings(media: MediaHearing) -> list[Alert]:
    alerts = await media.hearing.service.alerts(Actor.system(), media.hearing.session_id)
    return [a for a in alerts if a.kind is AlertKind.RECORDING_SPACE_LOW]


async def test_staff_are_warned_once_that_recording_space_runs_low(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    # The disk is watched from the start, whether or not anything records yet.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not (warnings := await space_warnings(media)):
        assert loop.time() < deadline, "no warning in time"
        await asyncio.sleep(0.05)
    [warning] = warnings
    assert warning.session_id is None
    assert "Dung lượng lưu bản ghi sắp hết: còn" in warning.message.vi
    assert "MB left" in warning.message.en

    token = await staff_token(media.hearing.client, "it_staff", StaffRole.IT_STAFF)
    it = await media.hearing.connect("monitor", {"staff_token": token})
    await it.wait_for("welcome")
    await media.join("judge")
    watched = await it.call("watch", {"session_id": media.hearing.session_id})
    assert "recording_space_low" in [a["kind"] for a in watched["alerts"]]
    # Rounds of measuring go on (each sends a quality report); no second warning.
    for _ in range(5):
        seen = len(it.received("quality"))
        await it.wait_for("quality", lambda _b, seen=seen: len(it.received("quality")) > seen)
    assert len(await space_warnings(media)) == 1
