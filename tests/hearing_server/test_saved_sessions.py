"""The sessions this process saved last: by version, the most recent kept, the oldest dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from hearing_server.bus import LocalEventBus
from hearing_server.persistence.database import Database
from hearing_server.saved_sessions import SavedSessions
from hearing_server.services import HearingService
from hearing_server.tokens import TokenSigner
from rooms import VIETNAM, Actor, Case, CaseType, CourtId, CourtSession, Instance, Role
from rooms.ids import ParticipantId, SessionId
from rooms.states import ParticipantState
from tests.conftest import TEST_SECRET, FakeClock

CLI = Actor(id="cli", is_system=True)


@dataclass
class Saved:
    """As much of a session as the memo reads: its id and saved version."""

    id: SessionId
    version: int


def saved(session_id: str, version: int) -> CourtSession:
    return Saved(SessionId(session_id), version)  # type: ignore[return-value]


def test_a_kept_session_answers_for_its_version_and_earlier_ones_only() -> None:
    memo = SavedSessions()
    memo.keep(saved("s1", 5))
    kept = memo.at_least(SessionId("s1"), 5)
    assert kept is not None and kept.version == 5
    assert memo.at_least(SessionId("s1"), 4) is kept  # events older than the save
    assert memo.at_least(SessionId("s1"), 6) is None  # saved since by another: load it
    assert memo.at_least(SessionId("s2"), 1) is None


def test_an_older_save_never_replaces_a_newer_one() -> None:
    memo = SavedSessions()
    memo.keep(saved("s1", 7))
    memo.keep(saved("s1", 6))
    kept = memo.at_least(SessionId("s1"), 1)
    assert kept is not None and kept.version == 7


def test_the_least_recently_saved_session_is_dropped_past_the_capacity() -> None:
    memo = SavedSessions(capacity=2)
    memo.keep(saved("s1", 1))
    memo.keep(saved("s2", 1))
    memo.keep(saved("s1", 2))
    memo.keep(saved("s3", 1))
    assert memo.at_least(SessionId("s2"), 1) is None
    assert memo.at_least(SessionId("s1"), 2) is not None
    assert memo.at_least(SessionId("s3"), 1) is not None
    memo.forget(SessionId("s3"))
    assert memo.at_least(SessionId("s3"), 1) is None
    with pytest.raises(ValueError, match="capacity"):
        SavedSessions(capacity=0)


@pytest.fixture
async def two_services(
    database_url: str, clock: FakeClock
) -> AsyncIterator[tuple[HearingService, HearingService]]:
    """Two services on one database, as two server processes are."""
    databases = [Database(database_url, VIETNAM) for _ in range(2)]
    await databases[0].upgrade()
    first, second = (
        HearingService(db, TokenSigner(TEST_SECRET), LocalEventBus(), "http://t", clock=clock)
        for db in databases
    )
    await first.ensure_court("TAND-HN", "TAND Hà Nội", "Asia/Ho_Chi_Minh")
    yield first, second
    for db in databases:
        await db.dispose()


async def test_a_command_reads_only_the_session_row_after_its_own_save_and_all_after_another(
    two_services: tuple[HearingService, HearingService],
) -> None:
    here, elsewhere = two_services
    court = (await here.courts(Actor.system()))[0]
    case = Case(CourtId(court.id), "8/2026/HS-ST", CaseType.CRIMINAL, Instance.FIRST_INSTANCE)
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    session = await here.schedule_hearing(CLI, case, start, start + timedelta(hours=3))
    courtroom = session.central_point.id
    judge, _ = await here.add_participant(
        CLI, session.id, "Chủ tọa", Role.PRESIDING_JUDGE, courtroom
    )
    clerk, _ = await here.add_participant(CLI, session.id, "Thư ký", Role.CLERK, courtroom)
    party, _ = await here.add_participant(CLI, session.id, "Bị cáo", Role.DEFENDANT, courtroom)
    queries: list[str] = []
    event.listen(
        here.database.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: queries.append(statement),
    )

    def join(pid: ParticipantId) -> Callable[[CourtSession], object]:
        return lambda s: s.join(pid)

    await here.execute(Actor.participant(judge.id), session.id, "participant.join", join(judge.id))
    queries.clear()
    await here.execute(Actor.participant(clerk.id), session.id, "participant.join", join(clerk.id))
    read = [q for q in queries if q.lstrip().upper().startswith("SELECT")]
    assert not any("FROM participants" in q for q in read), read  # the saved copy served
    assert any("FROM cases" in q for q in read)  # the case is shared: read again

    # Another process changes the session: this one must not decide on what it saved.
    await elsewhere.execute(
        Actor.participant(party.id), session.id, "participant.join", join(party.id)
    )
    clerk_actor = Actor.participant(clerk.id)
    queries.clear()
    await here.execute(
        clerk_actor,
        session.id,
        "session.verify_identity",
        lambda s: s.verify_identity(clerk_actor, party.id),
    )
    assert any("FROM participants" in q for q in queries)  # loaded afresh
    stored = await elsewhere.session(Actor.system(), session.id)
    assert stored.participants[party.id].identity_verified
    assert stored.participants[party.id].state == ParticipantState.IN_LOBBY


async def test_a_read_after_this_process_saved_copies_the_saved_session(
    two_services: tuple[HearingService, HearingService],
) -> None:
    """A participant's own offer reads the session: after this process saved it, the read
    is the saved copy (no participant rows), and after another process saved it, the read
    is that process's state."""
    here, elsewhere = two_services
    court = (await here.courts(Actor.system()))[0]
    case = Case(CourtId(court.id), "9/2026/HS-ST", CaseType.CRIMINAL, Instance.FIRST_INSTANCE)
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    session = await here.schedule_hearing(CLI, case, start, start + timedelta(hours=3))
    party, _ = await here.add_participant(
        CLI, session.id, "Bị cáo", Role.DEFENDANT, session.central_point.id
    )
    queries: list[str] = []
    event.listen(
        here.database.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: queries.append(statement),
    )
    read = await here.session(Actor.system(), session.id)
    assert not any("FROM participants" in q for q in queries), queries
    assert read.participants[party.id].state == ParticipantState.INVITED
    read.participants[party.id].state = ParticipantState.IN_LOBBY  # the reader's own copy
    again = await here.session(Actor.system(), session.id)
    assert again.participants[party.id].state == ParticipantState.INVITED

    await elsewhere.execute(
        Actor.participant(party.id), session.id, "participant.join", lambda s: s.join(party.id)
    )
    queries.clear()
    fresh = await here.session(Actor.system(), session.id)
    assert any("FROM participants" in q for q in queries)
    assert fresh.participants[party.id].state == ParticipantState.IN_LOBBY
