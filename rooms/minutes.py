"""The hearing's minutes (biên bản phiên tòa): a draft the hearing's own events fill in as it
runs, completed by the clerk, signed by the presiding judge and the clerk, amended only by
appending. Every change is a link of a hash chain built as the audit log's is."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from rooms import events as ev
from rooms.audit import GENESIS_HASH, AuditEntry, SealedEntry, chain_hash
from rooms.cases import CASE_TYPE_LABELS, INSTANCE_LABELS, CaseType, Instance
from rooms.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from rooms.participants import Participant
from rooms.permissions import MINUTES_PERMISSIONS, MinutesAction, ensure_may_minutes
from rooms.roles import Role
from rooms.session import COURTROOM_LOST, PANEL_MEMBER_LOST, CourtSession
from rooms.text import Text


class MinutesConflict(InvalidTransition):
    """An edit based on a version someone else has already replaced: shown, never merged."""

    code = "conflict"

    def __init__(self, entry: MinutesEntry) -> None:
        super().__init__(
            "minutes.stale_edit",
            Text(
                f"Mục {entry.seq} vừa được người khác sửa (phiên bản {entry.version}); hãy xem "
                "nội dung mới rồi sửa lại.",
                f"Entry {entry.seq} was just changed by someone else (version {entry.version}); "
                "read the new text and edit again.",
            ),
        )
        self.entry = entry


class Form(StrEnum):
    """The Judicial Council's official minutes forms."""

    HS_22 = "22-HS"
    """Criminal, first instance (Resolution 05/2017/NQ-HĐTP)."""
    HS_23 = "23-HS"
    """Criminal, appeal (Resolution 05/2017/NQ-HĐTP)."""
    DS_48 = "48-DS"
    """Civil procedure cases (Resolution 01/2017/NQ-HĐTP)."""
    HC = "HC"
    """Administrative cases (Resolution 02/2017/NQ-HĐTP)."""


class Section(StrEnum):
    OPENING = "opening"
    ATTENDANCE = "attendance"
    PROCEDURE = "procedure"
    QUESTIONING = "questioning"
    ARGUMENTS = "arguments"
    LAST_STATEMENT = "last_statement"
    DECISION = "decision"


_CRIMINAL_HEADINGS = {
    Section.OPENING: "Thời gian, địa điểm và thành phần Hội đồng xét xử",
    Section.ATTENDANCE: "Những người tham gia tố tụng có mặt, kiểm tra căn cước",
    Section.PROCEDURE: "Phần thủ tục bắt đầu phiên tòa",
    Section.QUESTIONING: "Phần xét hỏi tại phiên tòa",
    Section.ARGUMENTS: "Phần tranh luận tại phiên tòa",
    Section.LAST_STATEMENT: "Bị cáo nói lời sau cùng",
    Section.DECISION: "Nghị án và tuyên án, hoặc quyết định tạm ngừng, hoãn phiên tòa",
}
_NON_CRIMINAL_HEADINGS = {
    Section.OPENING: "Thời gian, địa điểm và thành phần Hội đồng xét xử",
    Section.ATTENDANCE: "Những người tham gia tố tụng có mặt, kiểm tra căn cước",
    Section.PROCEDURE: "Phần thủ tục bắt đầu phiên tòa",
    Section.QUESTIONING: "Phần tranh tụng: trình bày và hỏi",
    Section.ARGUMENTS: "Phần tranh tụng: tranh luận",
    Section.DECISION: "Nghị án và tuyên án, hoặc quyết định tạm ngừng, hoãn phiên tòa",
}
SECTION_HEADINGS: dict[Form, dict[Section, str]] = {
    Form.HS_22: _CRIMINAL_HEADINGS,
    Form.HS_23: {**_CRIMINAL_HEADINGS, Section.QUESTIONING: "Phần xét hỏi tại phiên tòa phúc thẩm"},
    Form.DS_48: _NON_CRIMINAL_HEADINGS,
    Form.HC: _NON_CRIMINAL_HEADINGS,
}
"""The sections each form has, in order; a civil or administrative form has no last word."""


def form_for(case_type: CaseType, instance: Instance) -> Form:
    if case_type is CaseType.CRIMINAL:
        return Form.HS_23 if instance is Instance.APPEAL else Form.HS_22
    if case_type is CaseType.ADMINISTRATIVE:
        return Form.HC
    return Form.DS_48


class EntryKind(StrEnum):
    EVENT = "event"
    """Written by the server from a domain event."""
    FLOOR = "floor"
    """Someone was given the floor: the slot for what they said."""
    QUESTION = "question"
    ANSWER = "answer"
    STATEMENT = "statement"


SPOKEN_KINDS = frozenset(
    {EntryKind.FLOOR, EntryKind.QUESTION, EntryKind.ANSWER, EntryKind.STATEMENT}
)
_SPOKEN_LABELS = {
    EntryKind.QUESTION: Text("hỏi", "asks"),
    EntryKind.ANSWER: Text("trả lời", "answers"),
    EntryKind.STATEMENT: Text("trình bày", "states"),
}


@dataclass(frozen=True, slots=True)
class Speaker:
    participant_id: str
    name: str
    role: Role

    @property
    def label(self) -> Text:
        return Text(f"{self.role.label.vi} {self.name}", f"{self.role.label.en} {self.name}")


@dataclass(frozen=True, slots=True)
class MinutesEntry:
    seq: int
    at: datetime
    section: Section
    kind: EntryKind
    line: Text
    """What happened, in both languages; the minutes print the Vietnamese."""
    speaker: Speaker | None = None
    body: str = ""
    """What the clerk wrote (a speaking turn's content)."""
    version: int = 1


@dataclass(frozen=True, slots=True)
class Header:
    """The case's metadata and the composition, as the form's opening lists them."""

    court_name: str
    case_number: str
    case_title: str
    case_type: CaseType
    instance: Instance
    place: str
    scheduled_start: datetime
    people: tuple[tuple[str, str, str], ...] = ()
    """(role label, name, connection point) of everyone on the session's list."""

    @property
    def form(self) -> Form:
        return form_for(self.case_type, self.instance)

    @property
    def case_label(self) -> str:
        kind = CASE_TYPE_LABELS[self.case_type].vi.lower()
        return f"vụ án {kind} {INSTANCE_LABELS[self.instance].vi.lower()}"


def header_of(session: CourtSession, court_name: str) -> Header:
    if session.case is None:
        raise InvalidInput(
            "minutes.not_a_hearing",
            Text("Chỉ phiên tòa mới có biên bản phiên tòa.", "Only hearings have minutes."),
        )
    central = session.central_point
    return Header(
        court_name=court_name,
        case_number=session.case.number,
        case_title=session.case.title,
        case_type=session.case.case_type,
        instance=session.case.instance,
        place=", ".join(part for part in (central.name, central.location) if part),
        scheduled_start=session.scheduled_start,
        people=tuple(
            (p.role.label.vi, p.name, session.points[p.point_id].name)
            for p in session.participants.values()
        ),
    )


class SignerRole(StrEnum):
    PRESIDING_JUDGE = "presiding_judge"
    CLERK = "clerk"


@dataclass(frozen=True, slots=True)
class Signature:
    role: SignerRole
    participant_id: str
    name: str
    at: datetime
    document_hash: str


class AmendmentDecision(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Amendment:
    """A request to correct the signed minutes; appended, the signed text never changes."""

    seq: int
    requested_by: Speaker
    at: datetime
    text: str
    decision: AmendmentDecision = AmendmentDecision.PENDING
    reason: str = ""
    decided_at: datetime | None = None
    signatures: tuple[Signature, ...] = ()


@dataclass
class Minutes:
    """One hearing's minutes. Changes go through methods that check who asks; each change is
    a new link in ``history`` (``pending`` until the repository has stored it)."""

    session_id: str
    header: Header
    entries: list[MinutesEntry] = field(default_factory=list)
    current_section: Section = Section.ATTENDANCE
    signatures: dict[SignerRole, Signature] = field(default_factory=dict)
    amendments: list[Amendment] = field(default_factory=list)
    head_hash: str = GENESIS_HASH
    history_length: int = 0
    version: int = 0
    """Bumped by every change; the repository saves only over the version it loaded."""
    pending: list[SealedEntry] = field(default_factory=list, repr=False, compare=False)

    # ------------------------------------------------------------------ the live draft

    @property
    def locked(self) -> bool:
        """The first signature freezes the text: both signers sign the same document."""
        return bool(self.signatures)

    @property
    def signed(self) -> bool:
        return len(self.signatures) == len(SignerRole)

    def refresh_header(self, header: Header) -> None:
        """The composition may grow until the text is locked."""
        if not self.locked and header != self.header:
            self.header = header
            self._changed("system", "header", {}, self.header.scheduled_start)

    def record(self, events: Iterable[ev.Event], session: CourtSession, at: datetime) -> None:
        """Append the entries the minutes must show for ``events``; after signing the record
        of the hearing is closed and events add nothing."""
        if self.locked:
            return
        for event in events:
            line = describe(event, session)
            if line is None:
                continue
            self._section_for(event)
            speaker = None
            kind = EntryKind.EVENT
            if isinstance(event, ev.FloorChanged) and event.holder is not None:
                speaker = _speaker(session.participants[event.holder])
                kind = EntryKind.FLOOR
            self._append(event.actor, at, kind, line, speaker)

    def insert(
        self, role: Role, actor: str, at: datetime, kind: EntryKind, speaker: Speaker, body: str
    ) -> MinutesEntry:
        """A question, answer or statement the clerk adds by hand."""
        ensure_may_minutes(role, MinutesAction.EDIT)
        self._ensure_draft()
        if kind not in _SPOKEN_LABELS:
            raise InvalidInput(
                "minutes.kind",
                Text(
                    "Chỉ thêm được hỏi, trả lời hoặc trình bày.",
                    "Only question, answer or statement.",
                ),
            )
        line = Text(
            f"{speaker.label.vi} {_SPOKEN_LABELS[kind].vi}:",
            f"{speaker.label.en} {_SPOKEN_LABELS[kind].en}:",
        )
        return self._append(actor, at, kind, line, speaker, body)

    def set_section(self, role: Role, actor: str, section: Section, at: datetime) -> None:
        ensure_may_minutes(role, MinutesAction.EDIT)
        self._ensure_draft()
        if section not in SECTION_HEADINGS[self.header.form]:
            raise InvalidInput(
                "minutes.section",
                Text("Mẫu biên bản này không có phần đó.", "This form has no such section."),
            )
        self.current_section = section
        self._changed(actor, "section", {"section": section.value}, at)

    def edit(
        self, role: Role, actor: str, seq: int, body: str, based_on: int, at: datetime
    ) -> MinutesEntry:
        """The clerk's text for a speaking turn, saved as typed; ``based_on`` is the entry
        version the writer saw, and a newer one on file is a conflict."""
        ensure_may_minutes(role, MinutesAction.EDIT)
        self._ensure_draft()
        entry = self.entry(seq)
        if entry.kind not in SPOKEN_KINDS:
            raise InvalidInput(
                "minutes.not_spoken",
                Text("Mục này do hệ thống ghi, không sửa được.", "This entry is the server's."),
            )
        if entry.version != based_on:
            raise MinutesConflict(entry)
        edited = replace(entry, body=body, version=entry.version + 1)
        self.entries[seq - 1] = edited
        self._changed(actor, "edit", {"seq": seq, "body": body, "version": edited.version}, at)
        return edited

    def entry(self, seq: int) -> MinutesEntry:
        if not 1 <= seq <= len(self.entries):
            raise NotFound("minutes.entry", Text("Không có mục này.", f"No entry {seq}."))
        return self.entries[seq - 1]

    # ------------------------------------------------------------------ signing

    def document_hash(self) -> str:
        """The SHA-256 of what is signed: the header and every entry, canonically."""
        return hashlib.sha256(_canonical(self.header, self.entries).encode()).hexdigest()

    def sign(self, role: Role, participant: Participant, at: datetime) -> Signature:
        ensure_may_minutes(role, MinutesAction.SIGN)
        signer = SignerRole(role.value)
        if signer in self.signatures:
            raise InvalidTransition(
                "minutes.already_signed", Text("Đã ký rồi.", "Already signed by this role.")
            )
        signature = Signature(signer, participant.id, participant.name, at, self.document_hash())
        self.signatures[signer] = signature
        self._changed(
            participant.id,
            "sign",
            {"role": signer.value, "document_hash": signature.document_hash},
            at,
        )
        return signature

    # ------------------------------------------------------------------ amendments

    def request_amendment(self, requester: Speaker, at: datetime, text: str) -> Amendment:
        """Anyone who took part may ask, once the minutes are signed."""
        if not self.signed:
            raise InvalidTransition(
                "minutes.not_signed",
                Text("Biên bản chưa được ký.", "The minutes are not signed yet."),
            )
        if not text.strip():
            raise InvalidInput("minutes.amendment_empty", Text("Nội dung trống.", "Empty request."))
        amendment = Amendment(len(self.amendments) + 1, requester, at, text)
        self.amendments.append(amendment)
        self._changed(
            requester.participant_id, "amendment", {"seq": amendment.seq, "text": text}, at
        )
        return amendment

    def decide_amendment(
        self, role: Role, actor: str, seq: int, accept: bool, reason: str, at: datetime
    ) -> Amendment:
        """The presiding judge accepts, or refuses with a reason that is written in."""
        ensure_may_minutes(role, MinutesAction.DECIDE_AMENDMENT)
        amendment = self._amendment(seq)
        if amendment.decision is not AmendmentDecision.PENDING:
            raise InvalidTransition(
                "minutes.amendment_decided", Text("Đã quyết định rồi.", "Already decided.")
            )
        if not accept and not reason.strip():
            raise InvalidInput(
                "minutes.refusal_reason",
                Text("Từ chối phải ghi rõ lý do.", "A refusal needs its reason."),
            )
        decision = AmendmentDecision.ACCEPTED if accept else AmendmentDecision.REFUSED
        decided = replace(amendment, decision=decision, reason=reason, decided_at=at)
        self.amendments[seq - 1] = decided
        self._changed(actor, "amendment_decision", {"seq": seq, "decision": decision.value}, at)
        return decided

    def sign_amendment(self, role: Role, participant: Participant, seq: int, at: datetime) -> None:
        ensure_may_minutes(role, MinutesAction.SIGN)
        amendment = self._amendment(seq)
        signer = SignerRole(role.value)
        if amendment.decision is AmendmentDecision.PENDING or any(
            s.role is signer for s in amendment.signatures
        ):
            raise InvalidTransition(
                "minutes.amendment_sign",
                Text("Chưa quyết định hoặc đã ký.", "Not decided yet, or already signed."),
            )
        digest = hashlib.sha256(f"{self.head_hash}:{seq}:{amendment.text}".encode()).hexdigest()
        signature = Signature(signer, participant.id, participant.name, at, digest)
        self.amendments[seq - 1] = replace(amendment, signatures=(*amendment.signatures, signature))
        self._changed(participant.id, "amendment_sign", {"seq": seq, "role": signer.value}, at)

    # ------------------------------------------------------------------ internals

    def _amendment(self, seq: int) -> Amendment:
        if not 1 <= seq <= len(self.amendments):
            raise NotFound(
                "minutes.amendment", Text("Không có yêu cầu này.", f"No amendment {seq}.")
            )
        return self.amendments[seq - 1]

    def _ensure_draft(self) -> None:
        if self.locked:
            raise InvalidTransition(
                "minutes.signed",
                Text(
                    "Biên bản đã ký: chỉ có thể bổ sung bằng yêu cầu sửa đổi.",
                    "The minutes are signed: only an appended amendment may change them.",
                ),
            )

    def _section_for(self, event: ev.Event) -> None:
        if isinstance(event, ev.SessionStateChanged):
            if event.current == "in_session" and event.previous == "open":
                self.current_section = Section.PROCEDURE
            elif event.current in ("closed", "postponed"):
                self.current_section = Section.DECISION

    def _append(
        self,
        actor: str,
        at: datetime,
        kind: EntryKind,
        line: Text,
        speaker: Speaker | None,
        body: str = "",
    ) -> MinutesEntry:
        entry = MinutesEntry(
            len(self.entries) + 1, at, self.current_section, kind, line, speaker, body
        )
        self.entries.append(entry)
        self._changed(actor, "entry", {"seq": entry.seq, "kind": kind.value, "line": line.vi}, at)
        return entry

    def _changed(self, actor: str, action: str, detail: dict[str, object], at: datetime) -> None:
        self.version += 1
        entry = AuditEntry(
            at=at,
            actor=actor,
            action=f"minutes.{action}",
            outcome="accepted",
            session_id=self.session_id,
            detail=detail,
        )
        sealed_hash = chain_hash(self.head_hash, entry)
        self.history_length += 1
        self.pending.append(SealedEntry(self.history_length, entry, self.head_hash, sealed_hash))
        self.head_hash = sealed_hash


def ensure_may_read(role: Role, minutes: Minutes, closed_hearing: bool) -> None:
    """The clerk and the presiding judge read the draft; the others who took part read the
    signed minutes, unless the hearing was closed (xử kín)."""
    if role in MINUTES_PERMISSIONS[MinutesAction.EDIT]:
        return
    ensure_may_minutes(role, MinutesAction.READ_SIGNED)
    if not minutes.signed or closed_hearing:
        raise PermissionDenied(
            "minutes.not_readable",
            Text(
                "Biên bản chỉ được xem khi đã ký, và không xem được với phiên tòa xử kín.",
                "The minutes can be read once signed, and not for a closed hearing.",
            ),
        )


NOT_SIGNED = Text(
    "Biên bản chưa được Thẩm phán chủ tọa phiên tòa và Thư ký phiên tòa ký.",
    "The minutes are not yet signed by the presiding judge and the clerk.",
)


def ensure_signed(minutes: Minutes) -> None:
    """What leaves the court as the minutes (the signed PDF, the case file) is the signed
    text: nothing is handed out before both signatures."""
    if not minutes.signed:
        raise InvalidTransition("minutes.not_signed", NOT_SIGNED)


def readable_after_hearing(role: Role, minutes: Minutes, closed_hearing: bool) -> bool:
    """Whether a join link opens the minutes, read only, once the hearing has ended: the signed
    text for whoever may read it (``ensure_may_read``), so never a closed hearing's for the
    parties; before both signatures there is nothing to show, the court's own people included."""
    if not minutes.signed:
        return False
    try:
        ensure_may_read(role, minutes, closed_hearing)
    except PermissionDenied:
        return False
    return True


def _speaker(person: Participant) -> Speaker:
    return Speaker(person.id, person.name, person.role)


def _who(session: CourtSession, participant_id: str) -> tuple[str, str, str]:
    person = session.participants[participant_id]  # type: ignore[index]
    point = session.points[person.point_id].name
    return person.role.label.vi, person.name, point


_REASONS = {
    COURTROOM_LOST: "mất kết nối với điểm cầu trung tâm",
    PANEL_MEMBER_LOST: "mất kết nối với thành viên Hội đồng xét xử",
}


def describe(event: ev.Event, session: CourtSession) -> Text | None:
    """The minutes' line for one event, or None for what the minutes need not mention
    (microphones, hands, screen sharing, screening). Consultation and deliberation are
    noted as entered and left, never what was said there."""
    if isinstance(event, ev.SessionStateChanged):
        reason = _REASONS.get(event.reason, event.reason)
        because = f" Lý do: {reason}." if reason else ""
        lines = {
            "open": Text("Mở phòng chờ trực tuyến.", "The online lobby opened."),
            "in_session": Text("Chủ tọa phiên tòa khai mạc phiên tòa.", "The hearing opened.")
            if event.previous == "open"
            else Text("Phiên tòa tiếp tục.", "The hearing resumed."),
            "suspended": Text(
                f"Tạm ngừng phiên tòa.{because}", f"The hearing was suspended.{because}"
            ),
            "closed": Text("Kết thúc phiên tòa.", "The hearing closed."),
            "postponed": Text(f"Hoãn phiên tòa.{because}", f"The hearing was postponed.{because}"),
            "cancelled": Text("Phiên tòa bị hủy.", "The hearing was cancelled."),
        }
        return lines.get(event.current)
    if isinstance(event, ev.ParticipantStateChanged):
        role, name, point = _who(session, event.participant_id)
        if event.previous == "in_consultation" or event.current == "in_consultation":
            return None  # ConsultationChanged says it
        moves = {
            ("in_lobby", ""): f"{role} {name} kết nối từ điểm cầu {point}, chờ ở phòng chờ.",
            ("in_session", "court member"): f"{role} {name} có mặt tại điểm cầu {point}.",
            ("in_session", "admitted"): f"{role} {name} (điểm cầu {point}) được vào phiên tòa.",
            ("in_session", "called"): f"Chủ tọa mời {role} {name} vào phòng xử án.",
            ("in_session", "reconnected"): f"{role} {name} đã kết nối lại từ điểm cầu {point}.",
            ("in_lobby", "dismissed"): f"{role} {name} được mời ra khỏi phòng xử án.",
            (
                "disconnected",
                "connection lost",
            ): f"Mất kết nối với {role} {name} tại điểm cầu {point}.",
            ("left", ""): f"{role} {name} rời phiên tòa.",
            ("removed", ""): f"{role} {name} bị buộc rời khỏi phiên tòa.",
            ("denied", ""): f"{role} {name} không được vào phiên tòa.",
        }
        vi = moves.get((event.current, event.reason))
        return None if vi is None else Text(vi, f"{name}: {event.previous} → {event.current}")
    if isinstance(event, ev.IdentityVerified):
        role, name, point = _who(session, event.participant_id)
        return Text(
            f"Đã kiểm tra căn cước {role} {name} tại điểm cầu {point}.",
            f"The identity of {name} at {point} was checked.",
        )
    if isinstance(event, ev.FloorChanged):
        if event.holder is None:
            return None
        role, name, _ = _who(session, event.holder)
        return Text(f"{role} {name} được phát biểu.", f"{name} has the floor.")
    if isinstance(event, ev.ConsultationChanged):
        role, name, _ = _who(session, event.participant_id)
        if event.room_id is None:
            return Text(f"{role} {name} trở lại phòng xử án.", f"{name} returned to the hearing.")
        return Text(
            f"{role} {name} vào phòng riêng «{event.room_name}».",
            f"{name} entered the private room '{event.room_name}'.",
        )
    if isinstance(event, ev.RecordingStateChanged):
        return {
            "recording": Text("Bắt đầu ghi âm, ghi hình phiên tòa.", "Recording started."),
            "paused": Text("Tạm ngừng ghi âm, ghi hình.", "Recording paused."),
            "stopped": Text("Kết thúc ghi âm, ghi hình.", "Recording stopped."),
        }.get(event.current)
    if isinstance(event, ev.RecordingNotStarted):
        # The minutes must not let a reader believe a recording exists that does not.
        return Text(
            f"Không ghi âm, ghi hình được: {event.message.vi}",
            f"Recording could not start: {event.message.en}",
        )
    return None


def _canonical(header: Header, entries: list[MinutesEntry]) -> str:
    return json.dumps(
        {
            "header": {
                "court": header.court_name,
                "case": header.case_number,
                "title": header.case_title,
                "type": header.case_type.value,
                "instance": header.instance.value,
                "place": header.place,
                "start": header.scheduled_start.isoformat(),
                "people": [list(p) for p in header.people],
            },
            "entries": [
                {
                    "seq": e.seq,
                    "at": e.at.isoformat(),
                    "section": e.section.value,
                    "kind": e.kind.value,
                    "line": e.line.vi,
                    "speaker": None if e.speaker is None else e.speaker.participant_id,
                    "body": e.body,
                }
                for e in entries
            ],
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
