"""The recordings catalogue: registered from the disk, found by case number, kept to the
hearing's court, downloaded through short-lived links, held and retained as the court says."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hearing_server.bus import LocalEventBus
from hearing_server.persistence.database import Database
from hearing_server.persistence.repositories import RecordingFilter
from hearing_server.recordings import DownloadLinks, RecordingCatalog
from hearing_server.services import HearingService
from hearing_server.tokens import TokenSigner
from recorder.layout import RecordingPaths
from rooms import VIETNAM, Actor, Case, CaseType, CourtId, Instance
from rooms.errors import NotFound, PermissionDenied
from rooms.ids import ParticipantId, SessionId
from rooms.recordings import RecordingStatus
from rooms.roles import StaffRole
from tests.conftest import TEST_SECRET, FakeClock
from tests.recorder.recording_fixture import METADATA, make_recording

CASE_NUMBER = METADATA["case_number"]


@dataclass
class World:
    catalog: RecordingCatalog
    service: HearingService
    court_id: CourtId
    session_id: SessionId
    recordings_dir: Path
    clock: FakeClock

    def staff(self, role: StaffRole = StaffRole.CLERK, court: CourtId | None = None) -> Actor:
        return Actor.staff("u-1", role, court_id=court or self.court_id)

    def record(self, recording_id: str = "r-1", *, stopped: bool = True) -> RecordingPaths:
        return make_recording(
            self.recordings_dir,
            segments=1,
            pause=False,
            session_id=self.session_id,
            recording_id=recording_id,
            stopped=stopped,
        )

    async def audited(self) -> list[tuple[str, str]]:
        async with self.service.database.unit_of_work() as uow:
            return [(e.entry.action, e.entry.outcome) for e in await uow.audit.read()]


@pytest.fixture
async def world(database_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[World]:
    database = Database(database_url, VIETNAM)
    await database.upgrade()
    service = HearingService(
        database, TokenSigner(TEST_SECRET), LocalEventBus(), "http://t", clock=clock
    )
    await service.ensure_court("TAND-HN", "TAND Hà Nội", "Asia/Ho_Chi_Minh")
    court = (await service.courts(Actor.system()))[0]
    case = Case(CourtId(court.id), CASE_NUMBER, CaseType.CRIMINAL, Instance.FIRST_INSTANCE)
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    session = await service.schedule_hearing(
        Actor.system(), case, start, start + timedelta(hours=3)
    )
    recordings_dir = tmp_path / "recordings"
    catalog = RecordingCatalog(
        service, recordings_dir, DownloadLinks(TEST_SECRET), retention_days={"criminal": 30}
    )
    yield World(catalog, service, CourtId(court.id), session.id, recordings_dir, clock)
    await database.dispose()


async def test_a_recording_is_registered_with_its_case_and_follows_its_state(world: World) -> None:
    paths = world.record(stopped=False)
    recording = await world.catalog.register_recording(paths)
    assert (recording.court_id, recording.case_number, recording.case_type) == (
        world.court_id,
        CASE_NUMBER,
        "criminal",
    )
    assert recording.status is RecordingStatus.RECORDING
    world.record(stopped=True)  # the capture stopped: the journal ends it
    paths.composed_dir.mkdir()
    progress = {"state": "running", "percent": 40.0, "eta_seconds": 12, "error": None}
    (paths.composed_dir / "progress.json").write_text(json.dumps(progress))
    (reconciled,) = await world.catalog.reconcile()
    assert (reconciled.status, reconciled.progress) == (RecordingStatus.COMPOSING, 40.0)
    paths.composed_video.write_bytes(b"composed")
    (ready,) = await world.catalog.reconcile()
    assert ready.status is RecordingStatus.READY and ready.ended_at is not None


async def test_search_by_case_number_stays_in_the_hearings_court(world: World) -> None:
    await world.catalog.register_recording(world.record())
    found = await world.catalog.search(world.staff(), RecordingFilter(case_number="123/2030"))
    assert [r.id for r in found] == ["r-1"]
    assert await world.catalog.search(world.staff(), RecordingFilter(case_number="999/")) == []
    other_court = world.staff(court=CourtId("court-elsewhere"))
    with pytest.raises(PermissionDenied):
        await world.catalog.get(other_court, "r-1")
    with pytest.raises(PermissionDenied):
        await world.catalog.search(other_court, RecordingFilter(court_id=world.court_id))
    with pytest.raises(PermissionDenied):  # a participant's join link is never enough
        await world.catalog.get(Actor.participant(ParticipantId("p-1")), "r-1")
    assert (await world.catalog.get(world.staff(), "r-1")).id == "r-1"
    audited = await world.audited()
    assert ("recording.view", "accepted") in audited
    assert ("recording.view", "refused") in audited


async def test_download_links_are_short_lived_and_name_one_closed_file(world: World) -> None:
    await world.catalog.register_recording(world.record())
    file = "tracks/p1-camera-1/00001.webm"
    link = await world.catalog.download_link(world.staff(), "r-1", file)
    _recording, path = await world.catalog.open_link(link.token, "127.0.0.1")
    assert path == world.recordings_dir / world.session_id / "r-1" / file
    with pytest.raises(PermissionDenied):
        await world.catalog.open_link(link.token[:-2] + "AA", "127.0.0.1")
    for bad in ("../../../etc/passwd", file + ".part", "tracks/none.webm"):
        with pytest.raises(NotFound):
            await world.catalog.download_link(world.staff(), "r-1", bad)
    world.clock.advance(timedelta(minutes=11))
    with pytest.raises(PermissionDenied, match="expired"):
        await world.catalog.open_link(link.token, "127.0.0.1")
    assert ("recording.download", "accepted") in await world.audited()


async def test_retention_reports_then_deletes_what_is_due_and_a_legal_hold_stops_it(
    world: World,
) -> None:
    paths = world.record()
    await world.catalog.register_recording(paths)
    admin = world.staff(StaffRole.ADMIN)
    (composing,) = await world.catalog.retention_report(admin)
    assert not composing.delete and "not finished" in composing.reason.en
    paths.composed_dir.mkdir()
    paths.composed_video.write_bytes(b"composed")
    await world.catalog.reconcile()
    (kept,) = await world.catalog.retention_report(admin)
    assert not kept.delete and "30" in kept.reason.en
    world.clock.now = datetime(2030, 5, 1, tzinfo=UTC)  # past the fixture's end + 30 days
    (due,) = await world.catalog.retention_report(admin)
    assert due.delete and "expired" in due.reason.en
    await world.catalog.set_legal_hold(world.staff(StaffRole.JUDGE), "r-1", True)
    assert await world.catalog.apply_retention(admin) == []
    assert paths.root.is_dir()
    with pytest.raises(PermissionDenied):  # a clerk may not lift it, nor delete
        await world.catalog.set_legal_hold(world.staff(), "r-1", False)
    await world.catalog.set_legal_hold(admin, "r-1", False)
    (deleted,) = await world.catalog.apply_retention(admin)
    assert deleted.recording_id == "r-1" and not paths.root.exists()
    assert await world.catalog.search(admin, RecordingFilter()) == []
    audited = await world.audited()
    assert ("recording.legal_hold", "accepted") in audited
    assert ("recording.delete", "accepted") in audited
