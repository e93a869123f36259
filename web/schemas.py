"""Request and response shapes of the API; the OpenAPI document is generated from these."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
)
from pydantic import Strict as StrictMode

from rooms.accounts import Invitation, StaffUser
from rooms.cases import CASE_TYPE_LABELS, INSTANCE_LABELS, CaseType, Instance
from rooms.courts import Court
from rooms.media import RecordingState
from rooms.minutes import SECTION_HEADINGS, Minutes
from rooms.participants import Participant
from rooms.points import POINT_KIND_LABELS, ConnectionPoint, PointKind
from rooms.recordings import Recording, RecordingStatus
from rooms.roles import Role, SessionKind, StaffRole
from rooms.session import CourtSession
from rooms.states import (
    PARTICIPANT_STATE_LABELS,
    SESSION_STATE_LABELS,
    ParticipantState,
    SessionState,
)

if TYPE_CHECKING:
    from hearing_server.services import JoinLink, PersonLink

# ---------------------------------------------------------------------- shared field types

PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""No control characters: none belongs in a name, a title or an id, and NUL cannot be stored
in PostgreSQL text. The document carries the same pattern, so clients know before sending."""

Line = Annotated[str, StringConstraints(pattern=PRINTABLE)]
"""Every text field of a request: one line of printable text. Passwords are not ``Line``: they
are only hashed, never stored or shown, so any character may be part of one."""

ID_CHARACTERS = r"^[^\s\x00-\x1f\x7f-\x9f]+$"
"""No spaces either: an id is never padded, and a padded one would be stripped to empty."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_CHARACTERS)]
"""An id in a body, a query or a path."""

MAX_INT32 = 2**31 - 1
"""The largest offset or audit position: the audit sequence is a 32-bit column, and no list
holds more rows than that."""


def _written_as(pattern: str, what: str) -> Callable[[Any], Any]:
    """Times must be text of the documented shape: pydantic would also read ``0`` or ``"0.5"``
    as a Unix time, which the document (``format: date-time``) does not allow."""
    shape = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, date) or (isinstance(value, str) and shape.fullmatch(value)):
            return value
        raise ValueError(f"expected {what}")

    return check


_DATE = r"\d{4}-\d{2}-\d{2}"
# Lax inside: after a before-validator the text no longer counts as JSON, and strict mode
# would refuse every string; the shape check above is the stricter rule.
Moment = Annotated[
    AwareDatetime,
    StrictMode(strict=False),
    BeforeValidator(
        _written_as(
            _DATE + r"[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})",
            "an RFC 3339 date-time with an offset, e.g. 2026-12-01T08:00:00+07:00",
        )
    ),
]
Day = Annotated[
    date, StrictMode(strict=False), BeforeValidator(_written_as(_DATE, "a date such as 2026-12-01"))
]


TIME_ZONES = sorted(available_timezones())
"""The IANA zones this server knows; the document lists them, so clients know them too."""
_KNOWN_TIME_ZONES = frozenset(TIME_ZONES)


class Strict(BaseModel):
    """Request bodies: exactly the documented types (no ``"true"`` for true, no ``0`` for a
    time) and no undocumented fields. Queries arrive as text and are read in lax mode."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class Label(BaseModel):
    vi: str
    en: str


# ---------------------------------------------------------------------- requests


class LoginIn(Strict):
    username: Line = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserIn(Strict):
    username: Line = Field(min_length=3, max_length=64)
    password: str = Field(min_length=10, max_length=1024)
    role: StaffRole
    display_name: Line = Field(default="", max_length=200)
    court_id: Identifier | None = None


class UserUpdateIn(Strict):
    active: bool = Field(description="False: the account's tokens are refused at once.")


class CourtIn(Strict):
    code: Line = Field(min_length=1, max_length=64)
    name: Line = Field(min_length=1, max_length=300)
    time_zone: Line = Field(
        default="Asia/Ho_Chi_Minh",
        max_length=64,
        json_schema_extra={"enum": list[JsonValue](TIME_ZONES)},
    )

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        """Days are counted in the court's zone; an unknown one would fail every search."""
        if value not in _KNOWN_TIME_ZONES:
            raise ValueError(f"unknown IANA time zone: {value!r}")
        return value


class CaseIn(Strict):
    number: Line = Field(min_length=1, max_length=100, examples=["123/2026/HS-ST"])
    case_type: CaseType
    instance: Instance = Instance.FIRST_INSTANCE
    title: Line = Field(default="", max_length=500)
    closed_hearing: bool = False
    state_secret: bool = False
    penal_chapters: list[int] = Field(default_factory=list, max_length=26)


class HearingIn(Strict):
    court_id: Identifier | None = Field(default=None, description="Default: this server's court.")
    case: CaseIn
    scheduled_start: Moment
    scheduled_end: Moment | None = None
    courtroom_name: Line = Field(default="Phòng xử án", min_length=1, max_length=300)
    record_automatically: bool = Field(
        default=False,
        description="Start recording by itself when the presiding judge starts the hearing. "
        "If the server cannot record then, the hearing still starts and the judge is told why.",
    )


class MeetingIn(Strict):
    court_id: Identifier | None = None
    title: Line = Field(min_length=1, max_length=500)
    organiser: Line = Field(default="", max_length=200)
    chair: Line = Field(default="", max_length=200)
    scheduled_start: Moment
    scheduled_end: Moment | None = None
    main_point_name: Line = Field(default="Điểm cầu trung tâm", min_length=1, max_length=300)


class SessionUpdateIn(Strict):
    case: CaseIn | None = None
    title: Line | None = Field(default=None, min_length=1, max_length=500)
    organiser: Line | None = Field(default=None, max_length=200)
    chair: Line | None = Field(default=None, max_length=200)
    scheduled_start: Moment | None = None
    scheduled_end: Moment | None = None
    record_automatically: bool | None = Field(
        default=None, description="Hearings only: start recording when the hearing starts."
    )


class SessionEndIn(Strict):
    """Ending a suspended session nobody will resume: closed, or postponed (hoãn)."""

    outcome: Literal["closed", "postponed"]
    reason: Line = Field(min_length=1, max_length=1000)


class PointIn(Strict):
    name: Line = Field(min_length=1, max_length=300)
    kind: PointKind
    location: Line = Field(default="", max_length=500)


class ParticipantIn(Strict):
    name: Line = Field(min_length=1, max_length=200)
    role: Role
    point_id: Identifier


class SessionQuery(Strict):
    court_id: Identifier | None = None
    kind: SessionKind | None = None
    state: list[SessionState] | None = None
    case_number: Line | None = Field(default=None, max_length=100)
    on: Day | None = Field(default=None, description="Sessions starting on this day (court time).")
    starts_from: Moment | None = None
    starts_before: Moment | None = None
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_INT32)


class AuditQuery(Strict):
    session_id: Identifier | None = None
    after_seq: int = Field(default=0, ge=0, le=MAX_INT32)
    limit: int = Field(default=200, ge=1, le=1000)


# ---------------------------------------------------------------------- responses


class UserOut(BaseModel):
    id: str
    username: str
    role: StaffRole
    role_label: Label
    display_name: str
    court_id: str | None
    active: bool

    @classmethod
    def of(cls, user: StaffUser) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            role_label=Label(**user.role.label.as_dict()),
            display_name=user.display_name,
            court_id=user.court_id,
            active=user.active,
        )


class LoginOut(BaseModel):
    token: str
    token_type: str = "Bearer"
    expires_at: datetime
    user: UserOut


class CourtOut(BaseModel):
    id: str
    code: str
    name: str
    time_zone: str

    @classmethod
    def of(cls, court: Court) -> CourtOut:
        return cls(id=court.id, code=court.code, name=court.name, time_zone=court.time_zone)


class CaseOut(BaseModel):
    number: str
    case_type: CaseType
    case_type_label: Label
    instance: Instance
    instance_label: Label
    title: str
    closed_hearing: bool
    state_secret: bool
    penal_chapters: list[int]


class MeetingOut(BaseModel):
    title: str
    organiser: str
    chair: str


class PointOut(BaseModel):
    id: str
    name: str
    kind: PointKind
    kind_label: Label
    location: str

    @classmethod
    def of(cls, point: ConnectionPoint) -> PointOut:
        return cls(
            id=point.id,
            name=point.name,
            kind=point.kind,
            kind_label=Label(**POINT_KIND_LABELS[point.kind].as_dict()),
            location=point.location,
        )


class ParticipantOut(BaseModel):
    id: str
    name: str
    role: Role
    role_label: Label
    point_id: str
    state: ParticipantState
    state_label: Label
    identity_verified: bool
    muted: bool
    media_locked: bool
    hand_raised: bool
    screen_sharing: bool
    consultation_room: str | None

    @classmethod
    def of(cls, p: Participant) -> ParticipantOut:
        return cls(
            id=p.id,
            name=p.name,
            role=p.role,
            role_label=Label(**p.role.label.as_dict()),
            point_id=p.point_id,
            state=p.state,
            state_label=Label(**PARTICIPANT_STATE_LABELS[p.state].as_dict()),
            identity_verified=p.identity_verified,
            muted=p.muted,
            media_locked=p.media_locked,
            hand_raised=p.hand_raised,
            screen_sharing=p.screen_sharing,
            consultation_room=p.consultation_room,
        )


class SessionFactsOut(BaseModel):
    """What anyone with a right to the session may know of it."""

    id: str
    kind: SessionKind
    court_id: str
    state: SessionState
    state_label: Label
    scheduled_start: datetime
    scheduled_end: datetime | None
    case: CaseOut | None
    meeting: MeetingOut | None
    recording: RecordingState


class SessionOut(SessionFactsOut):
    """The staff view: every point and every participant."""

    points: list[PointOut]
    participants: list[ParticipantOut]
    floor_holder: str | None
    record_automatically: bool
    """Recording starts by itself when the hearing starts."""
    version: int

    @classmethod
    def of(cls, s: CourtSession) -> SessionOut:
        case = None
        if s.case is not None:
            c = s.case
            case = CaseOut(
                number=c.number,
                case_type=c.case_type,
                case_type_label=Label(**CASE_TYPE_LABELS[c.case_type].as_dict()),
                instance=c.instance,
                instance_label=Label(**INSTANCE_LABELS[c.instance].as_dict()),
                title=c.title,
                closed_hearing=c.closed_hearing,
                state_secret=c.state_secret,
                penal_chapters=sorted(c.penal_chapters),
            )
        meeting = None
        if s.meeting is not None:
            m = s.meeting
            meeting = MeetingOut(title=m.title, organiser=m.organiser, chair=m.chair)
        return cls(
            id=s.id,
            kind=s.kind,
            court_id=s.court_id,
            state=s.state,
            state_label=Label(**SESSION_STATE_LABELS[s.state].as_dict()),
            # Always UTC: a session reads the same whether it was just created (in the
            # caller's offset) or loaded from the database.
            scheduled_start=s.scheduled_start.astimezone(UTC),
            scheduled_end=s.scheduled_end.astimezone(UTC) if s.scheduled_end else None,
            case=case,
            meeting=meeting,
            points=[PointOut.of(p) for p in s.points.values()],
            participants=[ParticipantOut.of(p) for p in s.participants.values()],
            recording=s.recording,
            floor_holder=s.floor_holder,
            record_automatically=s.record_automatically,
            version=s.version,
        )


class InvitationOut(BaseModel):
    id: str
    participant_id: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    replaced_by: str | None = Field(
        description="The link issued in this one's place, when a re-issue revoked it"
    )

    @classmethod
    def of(cls, i: Invitation) -> InvitationOut:
        return cls(
            id=i.id,
            participant_id=i.participant_id,
            issued_at=i.issued_at,
            expires_at=i.expires_at,
            revoked_at=i.revoked_at,
            replaced_by=i.replaced_by,
        )


class JoinLinkOut(BaseModel):
    invitation: InvitationOut
    url: str
    token: str
    short_url: str = Field(description="/j/<short_code>: the same invitation, short enough for SMS")
    short_code: str
    replaced: list[str] = Field(
        description="The person's earlier links that issuing this one revoked"
    )

    @classmethod
    def of(cls, link: JoinLink) -> JoinLinkOut:
        return cls(
            invitation=InvitationOut.of(link.invitation),
            url=link.url,
            token=link.token,
            short_url=link.short_url,
            short_code=link.invitation.short_code,
            replaced=list(link.replaced),
        )


class PersonLinkOut(BaseModel):
    """One person of a session and the link they may use now (null: none is valid)."""

    participant: ParticipantOut
    join_link: JoinLinkOut | None

    @classmethod
    def of(cls, person: PersonLink) -> PersonLinkOut:
        link = person.link
        return cls(
            participant=ParticipantOut.of(person.participant),
            join_link=None if link is None else JoinLinkOut.of(link),
        )


class ParticipantAddedOut(BaseModel):
    participant: ParticipantOut
    join_link: JoinLinkOut


class ParticipantSessionOut(SessionFactsOut):
    """The session as one participant may see it: no one else's details, no other point's
    location (a victim's home address is not the defendant's business)."""

    central_point: str
    own_point: PointOut

    @classmethod
    def of(cls, session: CourtSession, participant: Participant) -> ParticipantSessionOut:
        facts = SessionOut.of(session).model_dump(include=set(SessionFactsOut.model_fields))
        return cls(
            **facts,
            central_point=session.central_point.name,
            own_point=PointOut.of(session.points[participant.point_id]),
        )


class JoinViewOut(BaseModel):
    """What a participant's own link shows them before they connect."""

    session: ParticipantSessionOut
    participant: ParticipantOut
    ice_servers: list[dict[str, Any]]
    link_expires_at: datetime


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    outcome: str
    session_id: str | None
    rule: str
    detail: dict[str, Any]
    previous_hash: str
    hash: str


class LoopLagOut(BaseModel):
    """How late the server's event loop woke over the recent window, in milliseconds."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    window_seconds: float
    overloaded: bool
    "Whether the worst lateness now exceeds the alert threshold (``loop_lag_alert_ms``)."


class HealthOut(BaseModel):
    status: str
    version: str
    mode: str
    checks: dict[str, str]
    loop_lag: LoopLagOut


class RecordingKeyOut(BaseModel):
    """The key that signs every recording's manifest, so anyone can check one."""

    algorithm: str = "Ed25519"
    public_key_pem: str
    fingerprint: str
    "SHA-256 of the raw public key; a manifest's ``signing_key`` names it."


class CaseImportIn(Strict):
    """A case registry export, one case per row (see hearing_server/case_import.py)."""

    court_id: Identifier | None = Field(default=None, description="Default: the caller's court.")
    format: Literal["csv", "json"]
    content: str = Field(max_length=2 * 1024 * 1024, description="The file's text (UTF-8).")
    dry_run: bool = Field(default=True, description="Report what would happen; store nothing.")


class CaseImportRowOut(BaseModel):
    line: int
    case_number: str
    status: Literal["accepted", "scheduled", "refused"]
    "accepted: would be scheduled (dry run); scheduled: it was; refused: see reasons."
    reasons: list[dict[str, str]]
    "Why it is refused, each in Vietnamese and English."
    session_id: str | None


class CaseImportOut(BaseModel):
    dry_run: bool
    accepted: int
    scheduled: int
    refused: int
    rows: list[CaseImportRowOut]


class WebhookIn(Strict):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2000, pattern=PRINTABLE)]
    events: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Notification types to send; empty: all of them.",
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    secret: str | None = Field(
        default=None,
        description="Only in the reply to registration: the HMAC key that signs every "
        "notification (X-Hearing-Signature: sha256=HMAC(secret, timestamp + '.' + body)).",
    )

    @classmethod
    def of(cls, hook: Any) -> WebhookOut:
        return cls(
            id=hook.id,
            url=hook.url,
            events=list(hook.events),
            active=hook.active,
            created_at=hook.created_at,
            secret=hook.secret,
        )


class WebhookDeliveryOut(BaseModel):
    id: str
    notification_id: str
    kind: str
    session_id: str | None
    status: Literal["pending", "delivered", "failed", "cancelled"]
    attempts: int
    last_status: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime


# ---------------------------------------------------------------------- minutes


class SpeakerOut(BaseModel):
    participant_id: str
    name: str
    role: Role


class MinutesEntryOut(BaseModel):
    seq: int
    at: datetime
    section: str
    kind: str
    line: Label
    speaker: SpeakerOut | None
    body: str
    version: int


class SignatureOut(BaseModel):
    role: str
    name: str
    at: datetime
    document_hash: str


class MinutesOut(BaseModel):
    """A hearing's minutes: the form, its sections, the entries in order, the signatures."""

    form: str
    sections: dict[str, str]
    current_section: str
    case_number: str
    court_name: str
    entries: list[MinutesEntryOut]
    signatures: list[SignatureOut]
    signed: bool
    document_hash: str
    amendments: list[dict[str, Any]]

    @classmethod
    def of(cls, m: Minutes) -> MinutesOut:
        return cls(
            form=m.header.form.value,
            sections={k.value: v for k, v in SECTION_HEADINGS[m.header.form].items()},
            current_section=m.current_section.value,
            case_number=m.header.case_number,
            court_name=m.header.court_name,
            entries=[
                MinutesEntryOut(
                    seq=e.seq,
                    at=e.at,
                    section=e.section.value,
                    kind=e.kind.value,
                    line=Label(**e.line.as_dict()),
                    speaker=None
                    if e.speaker is None
                    else SpeakerOut(
                        participant_id=e.speaker.participant_id,
                        name=e.speaker.name,
                        role=e.speaker.role,
                    ),
                    body=e.body,
                    version=e.version,
                )
                for e in m.entries
            ],
            signatures=[
                SignatureOut(role=s.role.value, name=s.name, at=s.at, document_hash=s.document_hash)
                for s in m.signatures.values()
            ],
            signed=m.signed,
            document_hash=m.document_hash(),
            amendments=[
                {
                    "seq": a.seq,
                    "requested_by": a.requested_by.name,
                    "text": a.text,
                    "decision": a.decision.value,
                    "reason": a.reason,
                    "signed_by": [sig.role.value for sig in a.signatures],
                }
                for a in m.amendments
            ],
        )


class MinutesEditIn(BaseModel):
    """The clerk's text for one entry, with the entry version it was typed over."""

    model_config = ConfigDict(extra="forbid")
    body: Annotated[str, Field(max_length=20000)]
    based_on: Annotated[int, Field(ge=1)]


class MinutesInsertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Annotated[str, Field(pattern="^(question|answer|statement)$")]
    speaker_id: Annotated[str, Field(min_length=1, max_length=32)]
    body: Annotated[str, Field(max_length=20000)] = ""


class MinutesSectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    section: Annotated[
        str,
        Field(
            pattern="^(opening|attendance|procedure|questioning|arguments|last_statement|decision)$"
        ),
    ]


class AmendmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(min_length=1, max_length=5000)]


class AmendmentDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: bool
    reason: Annotated[str, Field(max_length=2000)] = ""


# ---------------------------------------------------------------------- recordings


class RecordingQuery(Strict):
    case_number: Line | None = Field(
        default=None, max_length=100, description="A part of the case number, any case."
    )
    court_id: Identifier | None = None
    session_id: Identifier | None = Field(default=None, description="The hearing.")
    started_from: Moment | None = None
    started_before: Moment | None = None
    limit: int = Field(default=100, ge=1, le=500)


class RecordingOut(BaseModel):
    id: str
    session_id: str
    court_id: str
    case_number: str
    case_type: str
    started_at: datetime
    ended_at: datetime | None
    state: RecordingStatus
    progress: float | None = Field(description="Composition's percent done while composing.")
    legal_hold: bool
    size_bytes: int
    manifest_sha256: str | None

    @classmethod
    def of(cls, r: Recording) -> RecordingOut:
        return cls(
            id=r.id,
            session_id=r.session_id,
            court_id=r.court_id,
            case_number=r.case_number,
            case_type=r.case_type,
            started_at=r.started_at,
            ended_at=r.ended_at,
            state=r.status,
            progress=r.progress,
            legal_hold=r.legal_hold,
            size_bytes=r.size_bytes,
            manifest_sha256=r.manifest_sha256,
        )


class VerificationProblemOut(BaseModel):
    kind: str = Field(description="changed, missing, extra, reordered, chain_broken, …")
    file: str
    detail: str


class VerificationOut(BaseModel):
    ok: bool
    checked_files: int
    signed_by_server: bool
    signed_by_court: str | None
    problems: list[VerificationProblemOut]


class RecordingFileOut(BaseModel):
    file: str = Field(description="Relative to the recording: tracks/…/00001.webm, composed/…")
    kind: Literal["segment", "composed", "journal", "manifest"]
    size: int


class RecordingDetailOut(BaseModel):
    recording: RecordingOut
    files: list[RecordingFileOut]
    manifest: dict[str, Any] | None = Field(description="manifest.json as sealed, if it is.")
    verification: VerificationOut


class DownloadLinkIn(Strict):
    file: Line = Field(min_length=1, max_length=300)


class DownloadLinkOut(BaseModel):
    url: str
    expires_at: datetime


class DownloadQuery(Strict):
    token: Line = Field(min_length=1, max_length=2000)


class LegalHoldIn(Strict):
    hold: bool


class RetentionOut(BaseModel):
    recording_id: str
    delete: bool
    reason: Label
