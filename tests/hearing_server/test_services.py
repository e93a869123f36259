"""The service layer under contention: many people acting on one session at the same instant.

On PostgreSQL the commands are spread over two services with engines of their own, as two
server processes would be, so only the database can make them take turns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from hearing_server.bus import LocalEventBus
from hearing_server.persistence.database import Database
from hearing_server.services import HearingService
from hearing_server.tokens import TokenSigner
from rooms import VIETNAM, Actor, Case, CaseType, CourtId, CourtSession, Instance, PointKind, Role
from rooms.errors import DomainError
from rooms.ids import ParticipantId, SessionId
from rooms.states import ParticipantState, SessionState
from tests.conftest import TEST_SECRET, FakeClock

PEOPLE = 12
CLI = Actor(id="cli", is_system=True)
Call = tuple[Actor, Callable[[CourtSession], object]]


@pytest.fixture
async def services(database_url: str, clock: FakeClock) -> AsyncIterator[list[HearingService]]:
    """Two services on one PostgreSQL database (one on SQLite: it has a single writer)."""
    nodes = 2 if database_url.startswith("postgresql") else 1
    databases = [Database(database_url, VIETNAM) for _ in range(nodes)]
    await databases[0].upgrade()
    made = [
        HearingService(db, TokenSigner(TEST_SECRET), LocalEventBus(), "http://t", clock=clock)
        for db in databases
    ]
    await made[0].ensure_court("TAND-HN", "TAND Hà Nội", "Asia/Ho_Chi_Minh")
    yield made
    for db in databases:
        await db.dispose()


async def _hearing_of_many(service: HearingService) -> tuple[SessionId, list[ParticipantId]]:
    court = (await service.courts(Actor.system()))[0]
    case = Case(CourtId(court.id), "7/2026/HS-ST", CaseType.CRIMINAL, Instance.FIRST_INSTANCE)
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    session = await service.schedule_hearing(CLI, case, start, start + timedelta(hours=3))
    courtroom = session.central_point.id
    remote = await service.add_point(CLI, session.id, "Trại tạm giam", PointKind.DETENTION_CENTRE)
    people = [("Chủ tọa", Role.PRESIDING_JUDGE, courtroom), ("Thư ký", Role.CLERK, courtroom)]
    people += [(f"Bị cáo {n}", Role.DEFENDANT, remote.id) for n in range(PEOPLE - 2)]
    ids = []
    for name, role, point in people:
        participant, _link = await service.add_participant(CLI, session.id, name, role, point)
        ids.append(participant.id)
    return session.id, ids


async def _all_at_once(
    services: list[HearingService], session_id: SessionId, action: str, calls: list[Call]
) -> list[object]:
    """Run every call together, alternating services; each succeeds or is a domain refusal."""
    results = await asyncio.gather(
        *(
            services[n % len(services)].execute(actor, session_id, action, command)
            for n, (actor, command) in enumerate(calls)
        ),
        return_exceptions=True,
    )
    lost = [r for r in results if isinstance(r, BaseException) and not isinstance(r, DomainError)]
    assert lost == [], f"{len(lost)} of {len(calls)} {action} lost: {lost[:1]!r}"
    return results


def _joins(ids: list[ParticipantId]) -> list[Call]:
    return [(Actor.participant(pid), lambda s, pid=pid: s.join(pid)) for pid in ids]


def _disconnects(ids: list[ParticipantId]) -> list[Call]:
    return [(Actor.system(), lambda s, pid=pid: s.disconnect(pid)) for pid in ids]


async def test_simultaneous_commands_on_one_session_are_all_kept(
    services: list[HearingService],
) -> None:
    service = services[0]
    session_id, ids = await _hearing_of_many(service)

    await _all_at_once(services, session_id, "participant.join", _joins(ids))
    session = await service.session(Actor.system(), session_id)
    assert {p.state for p in session.participants.values()} == {
        ParticipantState.IN_SESSION,  # the court goes straight in
        ParticipantState.IN_LOBBY,  # the defendants wait
    }

    clerk = Actor.participant(ids[1])
    await _all_at_once(
        services,
        session_id,
        "participant.raise_hand",
        [(clerk, lambda s: s.raise_hand(clerk))]
        + [(Actor.participant(p), lambda s, p=p: s.raise_hand(Actor.participant(p))) for p in ids],
    )
    assert (await service.session(Actor.system(), session_id)).participants[clerk.id].hand_raised

    await _all_at_once(services, session_id, "participant.disconnect", _disconnects(ids))
    session = await service.session(Actor.system(), session_id)
    assert {p.state for p in session.participants.values()} == {ParticipantState.DISCONNECTED}
    count, breaks = await service.verify_audit(Actor.system())
    assert breaks == [] and count > 3 * PEOPLE


async def test_a_courtroom_lost_amid_other_disconnects_suspends_the_hearing_once(
    services: list[HearingService],
) -> None:
    service = services[0]
    session_id, ids = await _hearing_of_many(service)
    judge, clerk = Actor.participant(ids[0]), Actor.participant(ids[1])
    await _all_at_once(services, session_id, "participant.join", _joins(ids))
    for pid in ids[2:]:
        await service.execute(
            clerk, session_id, "verify", lambda s, p=pid: s.verify_identity(clerk, p)
        )
        await service.execute(clerk, session_id, "admit", lambda s, p=pid: s.admit(clerk, p))
    await service.execute(judge, session_id, "start", lambda s: s.start(judge))

    results = await _all_at_once(services, session_id, "participant.disconnect", _disconnects(ids))

    assert [r for r in results if r is True] == [True]
    assert (await service.session(Actor.system(), session_id)).state is SessionState.SUSPENDED
