"""The minutes through the service and a real database: the hearing's commands write the
draft in their own transaction; the clerk's text outlives the server; a stale edit is refused
as a conflict; signing is audited with the document's hash and locks the text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from hearing_server.bus import LocalEventBus
from hearing_server.persistence.database import Database
from hearing_server.services import HearingService
from hearing_server.tokens import TokenSigner
from rooms import VIETNAM, Actor, Case, CaseType, CourtId, Instance, PointKind, Role
from rooms.audit import verify_chain
from rooms.errors import InvalidTransition
from rooms.minutes import EntryKind, MinutesConflict
from rooms.participants import Participant
from tests.conftest import TEST_SECRET, FakeClock

CLI = Actor(id="cli", is_system=True)


def _service(url: str, clock: FakeClock) -> HearingService:
    database = Database(url, VIETNAM)
    return HearingService(
        database, TokenSigner(TEST_SECRET), LocalEventBus(), "http://t", clock=clock
    )


@pytest.fixture
async def service(database_url: str, clock: FakeClock) -> AsyncIterator[HearingService]:
    made = _service(database_url, clock)
    await made.database.upgrade()
    await made.ensure_court("TAND-HN", "TAND thành phố Hà Nội", "Asia/Ho_Chi_Minh")
    yield made
    await made.database.dispose()


async def _hearing(service: HearingService) -> tuple[str, dict[Role, Participant]]:
    court = (await service.courts(Actor.system()))[0]
    case = Case(CourtId(court.id), "9/2026/HS-ST", CaseType.CRIMINAL, Instance.FIRST_INSTANCE)
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    session = await service.schedule_hearing(CLI, case, start, start + timedelta(hours=3))
    remote = await service.add_point(CLI, session.id, "Trại tạm giam", PointKind.DETENTION_CENTRE)
    people = {}
    for name, role, point in (
        ("Nguyễn Văn Chủ", Role.PRESIDING_JUDGE, session.central_point.id),
        ("Lê Thị Thư", Role.CLERK, session.central_point.id),
        ("Trần Văn Cáo", Role.DEFENDANT, remote.id),
    ):
        person, _ = await service.add_participant(CLI, session.id, name, role, point)
        people[role] = person
    sid = session.id
    pj, clerk, defendant = (people[r] for r in (Role.PRESIDING_JUDGE, Role.CLERK, Role.DEFENDANT))
    for person in people.values():
        await service.execute(CLI, sid, "join", lambda s, p=person: s.join(p.id))
    await service.execute(
        CLI, sid, "verify", lambda s: s.verify_identity(Actor.participant(clerk.id), defendant.id)
    )
    await service.execute(
        CLI, sid, "admit", lambda s: s.admit(Actor.participant(clerk.id), defendant.id)
    )
    await service.execute(CLI, sid, "start", lambda s: s.start(Actor.participant(pj.id)))
    await service.execute(
        CLI, sid, "floor", lambda s: s.give_floor(Actor.participant(pj.id), defendant.id)
    )
    return sid, people


async def test_draft_follows_the_hearing_and_survives_a_restart(
    service: HearingService, database_url: str, clock: FakeClock
) -> None:
    sid, people = await _hearing(service)
    clerk = people[Role.CLERK]
    minutes = await service.minutes(sid)  # type: ignore[arg-type]
    floor = [e for e in minutes.entries if e.kind is EntryKind.FLOOR]
    assert [e.line.vi for e in floor] == ["Bị cáo Trần Văn Cáo được phát biểu."]
    assert minutes.entries[-2].line.vi == "Chủ tọa phiên tòa khai mạc phiên tòa."
    seq = floor[0].seq
    await service.change_minutes(
        clerk,
        sid,
        "minutes.edit",  # type: ignore[arg-type]
        lambda m: m.edit(Role.CLERK, clerk.id, seq, "Bị cáo khai", 1, clock()),
        {"seq": seq},
    )
    await service.database.dispose()

    restarted = _service(database_url, clock)
    try:
        again = await restarted.minutes(sid)  # type: ignore[arg-type]
        assert again.entry(seq).body == "Bị cáo khai" and again.entry(seq).version == 2
        async with restarted.database.unit_of_work() as uow:
            history = await uow.minutes.history(sid)
        assert len(history) == again.history_length and verify_chain(history) == []
    finally:
        await restarted.database.dispose()


async def test_stale_edit_conflicts_and_signing_locks(
    service: HearingService, clock: FakeClock
) -> None:
    sid, people = await _hearing(service)
    pj, clerk = people[Role.PRESIDING_JUDGE], people[Role.CLERK]
    seq = next(e.seq for e in (await service.minutes(sid)).entries if e.kind is EntryKind.FLOOR)  # type: ignore[arg-type]

    async def edit(who: Participant, text: str, based_on: int) -> None:
        await service.change_minutes(
            who,
            sid,
            "minutes.edit",  # type: ignore[arg-type]
            lambda m: m.edit(who.role, who.id, seq, text, based_on, clock()),
            {"seq": seq},
        )

    await edit(clerk, "Bị cáo khai", 1)
    with pytest.raises(MinutesConflict):
        await edit(pj, "Bị cáo trình bày", 1)
    assert (await service.minutes(sid)).entry(seq).body == "Bị cáo khai"  # type: ignore[arg-type]
    for who in (clerk, pj):
        await service.change_minutes(
            who,
            sid,
            "minutes.sign",  # type: ignore[arg-type]
            lambda m, w=who: m.sign(w.role, w, clock()),
            {},
        )
    with pytest.raises(InvalidTransition):
        await edit(clerk, "đổi", 2)
    signed = await service.minutes(sid)  # type: ignore[arg-type]
    assert signed.signed
    trail = await service.audit_trail(Actor.system(), sid)
    signs = [e for e in trail if e.entry.action == "minutes.sign"]
    assert [e.entry.detail["document_hash"] for e in signs] == [signed.document_hash()] * 2
    refused = [
        e for e in trail if e.entry.action == "minutes.edit" and e.entry.outcome == "refused"
    ]
    assert [e.entry.rule for e in refused] == ["minutes.stale_edit", "minutes.signed"]
