"""The schema, as SQLAlchemy Core tables; Alembic migrations are written against it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as UTC; SQLite forgets time zones, so they are put back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(32)

courts = Table(
    "courts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("time_zone", String(64), nullable=False),
)

staff_users = Table(
    "staff_users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, default=""),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("court_id", ID, ForeignKey("courts.id"), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", ID, primary_key=True),
    Column("court_id", ID, ForeignKey("courts.id"), nullable=False),
    Column("number", String(100), nullable=False),
    Column("case_type", String(32), nullable=False),
    Column("instance", String(32), nullable=False),
    Column("title", String(500), nullable=False, default=""),
    Column("closed_hearing", Boolean, nullable=False, default=False),
    Column("state_secret", Boolean, nullable=False, default=False),
    Column("penal_chapters", JSON, nullable=False, default=list),
    UniqueConstraint("court_id", "number", name="uq_cases_court_number"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("court_id", ID, ForeignKey("courts.id"), nullable=False, index=True),
    Column("case_id", ID, ForeignKey("cases.id"), nullable=True, index=True),
    Column("state", String(16), nullable=False, index=True),
    Column("scheduled_start", UTCDateTime, nullable=False, index=True),
    Column("scheduled_end", UTCDateTime, nullable=True),
    Column("meeting_title", String(500), nullable=True),
    Column("organiser", String(200), nullable=True),
    Column("chair", String(200), nullable=True),
    Column("floor_holder", ID, nullable=True),
    Column("recording", String(16), nullable=False),
    Column("recording_paused_by_suspension", Boolean, nullable=False, default=False),
    Column("record_automatically", Boolean, nullable=False, default=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)

points = Table(
    "points",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("position", Integer, nullable=False),
    Column("name", String(300), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("location", String(500), nullable=False, default=""),
)

participants = Table(
    "participants",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("point_id", ID, ForeignKey("points.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("identity_verified", Boolean, nullable=False),
    Column("muted", Boolean, nullable=False),
    Column("media_locked", Boolean, nullable=False),
    Column("hand_raised", Boolean, nullable=False),
    Column("screen_sharing", Boolean, nullable=False),
    Column("consultation_room", ID, nullable=True),
    Column("state_before_disconnect", String(16), nullable=True),
)

consultation_rooms = Table(
    "consultation_rooms",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("name", String(200), nullable=False),
)

screenings = Table(
    "screenings",
    metadata,
    Column("session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("protected", ID, primary_key=True),
    Column("hidden_from", ID, primary_key=True),
    Column("audio", Boolean, nullable=False),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("participant_id", ID, ForeignKey("participants.id"), nullable=False, index=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("issued_by", String(64), nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("short_code", String(16), nullable=False, unique=True),
    Column("replaced_by", ID, nullable=True),
)

recordings = Table(
    "recordings",
    metadata,
    Column("id", ID, primary_key=True),
    Column("session_id", ID, ForeignKey("sessions.id"), nullable=False, index=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("state", String(16), nullable=False),
    Column("directory", String(1000), nullable=False),
    Column("manifest_sha256", String(64), nullable=True),
    Column("size_bytes", BigInteger, nullable=False, default=0),
    Column("court_id", ID, nullable=True, index=True),
    Column("case_number", String(100), nullable=False, default="", index=True),
    Column("case_type", String(32), nullable=False, default=""),
    Column("progress", Float, nullable=True),
    Column("legal_hold", Boolean, nullable=False, default=False),
    Column("deleted_at", UTCDateTime, nullable=True),
)
"""The recordings catalogue: found by case number, court, date and hearing. The files on disk
and their manifest are the evidence; this row is how a court finds them. ``state`` is a
``rooms.recordings.RecordingStatus``; ``directory`` is relative to the recordings directory;
``court_id`` is the hearing's court, copied so that a search need not join the sessions."""

alerts = Table(
    "alerts",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True, index=True
    ),
    Column("participant_id", ID, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("message_vi", Text, nullable=False),
    Column("message_en", Text, nullable=False),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("acknowledged_by", String(64), nullable=True),
    Column("acknowledged_by_name", String(200), nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(80), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("session_id", ID, nullable=True),
    Column("rule", String(120), nullable=False, default=""),
    Column("detail", Text, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
Index("ix_audit_events_session", audit_events.c.session_id, audit_events.c.seq)

revoked_staff_tokens = Table(
    "revoked_staff_tokens",
    metadata,
    Column("token_id", ID, primary_key=True),
    Column("user_id", ID, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)
"""Staff tokens ended before their time (logout); a row is kept only until the token would
have expired anyway."""

login_failures = Table(
    "login_failures",
    metadata,
    Column("subject_kind", String(16), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False, index=True),
)
"""Failed logins counted per account and per client address, in the database so that every
server process of a cluster applies the same back-off."""

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(100), nullable=False),
    Column("events", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("webhook_id", ID, ForeignKey("webhooks.id"), nullable=False, index=True),
    Column("notification_id", String(100), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("session_id", ID, nullable=True),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("webhook_id", "notification_id"),
)
minutes = Table(
    "minutes",
    metadata,
    Column("session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""A hearing's minutes as they stand (JSON); ``version`` guards every write."""

minutes_history = Table(
    "minutes_history",
    metadata,
    Column("session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(80), nullable=False),
    Column("detail", Text, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
"""Every change to a hearing's minutes, appended only, each sealing the one before."""
