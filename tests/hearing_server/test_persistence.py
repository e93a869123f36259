"""The schema, the migrations and the aggregate mapping, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from hearing_server.persistence.database import MIGRATIONS_DIR, Database, head_revision
from hearing_server.persistence.repositories import ConcurrentUpdate, SessionFilter
from hearing_server.persistence.tables import metadata
from rooms import (
    VIETNAM,
    Actor,
    Case,
    CaseType,
    CourtId,
    CourtSession,
    Instance,
    MediaSource,
    PointKind,
    Role,
    StaffRole,
)
from rooms.accounts import Invitation
from rooms.alerts import AlertKind, raise_alert
from rooms.audit import AuditEntry, verify_chain
from rooms.courts import Court
from rooms.errors import InvalidTransition
from rooms.ids import InvitationId
from rooms.short_codes import ShortCode, read_short_code

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
STAFF = Actor.staff("u-1", StaffRole.IT_STAFF, court_id=CourtId("court-1"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, VIETNAM)
    await db.upgrade()
    async with db.unit_of_work() as uow:
        await uow.courts.add(Court(CourtId("court-1"), "TAND-HN", "TAND Hà Nội"))
        await uow.commit()
    yield db
    await db.dispose()


async def test_migrations_build_exactly_the_schema_the_code_uses(database: Database) -> None:
    assert await database.current_revision() == head_revision()
    async with database.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert diff == []


async def test_upgrading_twice_changes_nothing(database: Database) -> None:
    await database.upgrade()
    assert await database.current_revision() == head_revision()


async def test_links_issued_before_short_codes_get_one_on_upgrade(database: Database) -> None:
    """Revision 0009 gives every invitation already issued its own short code (so a link
    still valid can be handed out short), and going back to 0008 takes the codes away."""
    session = _hearing()
    people = list(session.participants)
    async with database.unit_of_work() as uow:
        await uow.sessions.add(session, NOW)
        for number, person in enumerate(people[:2]):
            await uow.invitations.add(
                Invitation(
                    InvitationId(f"inv-{number}"),
                    session.id,
                    person,
                    NOW,
                    NOW + timedelta(days=1),
                    "staff:u-1",
                    ShortCode(f"ABCDEFGHJ{number}"),
                )
            )
        await uow.commit()

    def migrate(to: str, down: bool) -> Callable[[Connection], None]:
        def run(sync: Connection) -> None:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR))
            config.attributes["connection"] = sync
            (command.downgrade if down else command.upgrade)(config, to)

        return run

    async with database.engine.begin() as conn:
        await conn.run_sync(migrate("0008", down=True))
        columns = await conn.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("invitations")}
        )
        assert "short_code" not in columns and "replaced_by" not in columns
    async with database.engine.begin() as conn:
        await conn.run_sync(migrate("head", down=False))
    async with database.unit_of_work() as uow:
        invitations = await uow.invitations.for_session(session.id)
    codes = [i.short_code for i in invitations]
    assert len(codes) == 2 and len(set(codes)) == 2
    assert all(read_short_code(code) == code for code in codes)
    assert all(i.replaced_by is None for i in invitations)
    async with database.unit_of_work() as uow:
        assert await uow.invitations.by_short_code(codes[0]) == invitations[0]
        clash = replace(invitations[1], id=InvitationId("inv-9"), short_code=codes[0])
        with pytest.raises(IntegrityError):
            await uow.invitations.add(clash)


def _hearing() -> CourtSession:
    case = Case(
        CourtId("court-1"),
        "12/2026/HS-ST",
        CaseType.CRIMINAL,
        Instance.FIRST_INSTANCE,
        title="Trộm cắp tài sản",
        closed_hearing=True,
        penal_chapters=frozenset({16}),
    )
    session = CourtSession.schedule_hearing(
        STAFF, case, VIETNAM, NOW + timedelta(hours=1), NOW + timedelta(hours=3)
    )
    remote = session.add_point(STAFF, "Trại tạm giam", PointKind.DETENTION_CENTRE, "Hà Nội")
    court = session.central_point.id
    judge = session.add_participant(STAFF, "Thẩm phán An", Role.PRESIDING_JUDGE, court)
    clerk = session.add_participant(STAFF, "Thư ký Bình", Role.CLERK, court)
    accused = session.add_participant(STAFF, "Bị cáo Cường", Role.DEFENDANT, remote.id)
    lawyer = session.add_participant(STAFF, "Luật sư Dũng", Role.DEFENCE_COUNSEL, remote.id)
    witness = session.add_participant(STAFF, "Nhân chứng Em", Role.WITNESS, remote.id)
    for person in (judge, clerk, accused, lawyer, witness):
        session.join(person.id)
    for person in (accused, lawyer, witness):
        session.verify_identity(Actor.participant(clerk.id), person.id)
    session.admit(Actor.participant(clerk.id), accused.id)
    session.admit(Actor.participant(clerk.id), lawyer.id)
    session.start(Actor.participant(judge.id))
    session.start_recording(Actor.participant(clerk.id))
    session.mute(Actor.participant(judge.id), lawyer.id, lock=True)
    session.call_witness(Actor.participant(judge.id), witness.id)
    session.set_screening(Actor.participant(judge.id), witness.id, accused.id, audio=True)
    session.move_to_consultation(Actor.participant(judge.id), [accused.id], "Phòng riêng")
    session.give_floor(Actor.participant(judge.id), witness.id)
    session.collect_events()
    return session


async def test_a_live_hearing_round_trips_whole(database: Database) -> None:
    original = _hearing()
    async with database.unit_of_work() as uow:
        await uow.sessions.add(original, NOW)
        await uow.commit()
    async with database.unit_of_work() as uow:
        loaded = await uow.sessions.get(original.id)
    assert loaded == original
    assert loaded.scheduled_start == original.scheduled_start
    assert list(loaded.participants) == list(original.participants)
    witness, accused = (
        next(p.id for p in loaded.participants.values() if p.role is role)
        for role in (Role.WITNESS, Role.DEFENDANT)
    )
    assert not loaded.may_receive(accused, witness, MediaSource.MICROPHONE)


async def test_two_writers_cannot_both_win(database: Database) -> None:
    session = _hearing()
    async with database.unit_of_work() as uow:
        await uow.sessions.add(session, NOW)
        await uow.commit()
    async with database.unit_of_work() as uow:
        theirs = await uow.sessions.get(session.id)  # read, then the other writer goes first
    async with database.unit_of_work() as uow:
        mine = await uow.sessions.get(session.id)
        judge = next(p.id for p in mine.participants.values() if p.role is Role.PRESIDING_JUDGE)
        mine.suspend(Actor.participant(judge), "recess")
        await uow.sessions.save(mine, NOW)
        await uow.commit()
    theirs.close(Actor.participant(judge))
    async with database.unit_of_work() as uow:
        with pytest.raises(ConcurrentUpdate):
            await uow.sessions.save(theirs, NOW)
    async with database.unit_of_work() as uow:
        assert (await uow.sessions.get(session.id)).state.value == "suspended"


async def test_filters_find_by_case_number_state_and_time(database: Database) -> None:
    session = _hearing()
    async with database.unit_of_work() as uow:
        await uow.sessions.add(session, NOW)
        await uow.commit()
        found = await uow.sessions.find(SessionFilter(case_number="12/2026/HS-ST"))
        none = await uow.sessions.find(SessionFilter(starts_before=NOW))
    assert [s.id for s in found] == [session.id] and none == []


async def test_the_audit_table_refuses_edits_and_the_chain_verifies(database: Database) -> None:
    async with database.unit_of_work() as uow:
        for n in range(3):
            await uow.audit.append(AuditEntry(NOW, "system", f"test.{n}", "accepted"))
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert verify_chain(await uow.audit.read()) == []
        with pytest.raises(DBAPIError, match="append-only"):
            await uow.audit._conn.execute(text("UPDATE audit_events SET actor = 'x'"))
    async with database.unit_of_work() as uow:
        with pytest.raises(DBAPIError, match="append-only"):
            await uow.audit._conn.execute(text("DELETE FROM audit_events"))


async def test_alerts_are_kept_with_their_session_and_acknowledged_once(
    database: Database,
) -> None:
    session = _hearing()
    accused = next(p for p in session.participants.values() if p.role is Role.DEFENDANT)
    raised = raise_alert(
        session.id, accused.id, AlertKind.MEDIA_SILENT, NOW, name=accused.name, seconds=12
    )
    async with database.unit_of_work() as uow:
        await uow.sessions.add(session, NOW)
        await uow.alerts.add(raised)
        await uow.commit()
    async with database.unit_of_work() as uow:
        [loaded] = await uow.alerts.for_session(session.id, open_only=True)
        assert loaded == raised
        assert (
            loaded.message.vi
            == "Không nhận được hình ảnh, âm thanh của Bị cáo Cường trong 12 giây."
        )
        done = loaded.acknowledge("u-7", "Kỹ thuật viên Giang", NOW + timedelta(minutes=1))
        await uow.alerts.save(done)
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await uow.alerts.for_session(session.id, open_only=True) == []
        assert await uow.alerts.for_session(session.id, open_only=False) == [done]
        assert await uow.alerts.get(raised.id) == done
    with pytest.raises(InvalidTransition):
        done.acknowledge("u-8", "someone else", NOW + timedelta(minutes=2))


async def test_a_mute_writes_the_session_row_and_the_muted_person_only(database: Database) -> None:
    session = _hearing()
    for n in range(10):  # a bigger hearing must not cost a bigger save
        session.add_participant(
            STAFF, f"Người làm chứng {n}", Role.WITNESS, session.central_point.id
        )
    async with database.unit_of_work() as uow:
        await uow.sessions.add(session, NOW)
        await uow.commit()
    judge, witness = (
        next(p.id for p in session.participants.values() if p.role is role)
        for role in (Role.PRESIDING_JUDGE, Role.WITNESS)
    )
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()[:3]))

    async with database.unit_of_work() as uow:
        loaded = await uow.sessions.get(session.id, for_update=True)
        loaded.mute(Actor.participant(judge), witness)
        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        try:
            await uow.sessions.save(loaded, NOW + timedelta(minutes=1))
            await uow.commit()
        finally:
            event.remove(database.engine.sync_engine, "before_cursor_execute", count)

    assert statements == ["UPDATE sessions SET", "UPDATE participants SET"]
    async with database.unit_of_work() as uow:
        again = await uow.sessions.get(session.id)
    assert again == loaded and again.participants[witness].muted


async def test_a_save_by_a_unit_of_work_that_did_not_load_writes_the_difference(
    database: Database,
) -> None:
    session = _hearing()
    async with database.unit_of_work() as uow:
        await uow.sessions.add(session, NOW)
        await uow.commit()
    async with database.unit_of_work() as uow:
        loaded = await uow.sessions.get(session.id)
    judge = next(p.id for p in loaded.participants.values() if p.role is Role.PRESIDING_JUDGE)
    accused, witness, lawyer = (
        next(p.id for p in loaded.participants.values() if p.role is role)
        for role in (Role.DEFENDANT, Role.WITNESS, Role.DEFENCE_COUNSEL)
    )
    presiding = Actor.participant(judge)
    loaded.return_from_consultation(presiding, [accused])
    loaded.set_screening(presiding, witness, accused, active=False)
    loaded.set_screening(presiding, witness, lawyer, audio=False)
    loaded.move_to_consultation(presiding, [lawyer], "Phòng luật sư")
    async with database.unit_of_work() as uow:
        await uow.sessions.save(loaded, NOW)
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await uow.sessions.get(session.id) == loaded
