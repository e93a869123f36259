"""The session aggregate: a hearing or a meeting, the only way to change what it owns.

Every method checks permission first, then the rules, then changes state and records an
event. Nothing here does I/O; the service layer loads, calls, saves and publishes.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from rooms import events as ev
from rooms.cases import Case, MeetingInfo
from rooms.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PolicyViolation,
)
from rooms.forwarding import NOBODY, ForwardingPlan, Publication, PublicationRule
from rooms.ids import ConsultationRoomId, CourtId, ParticipantId, PointId, SessionId, new_id
from rooms.media import MediaSource, RecordingState, Screening
from rooms.participants import Actor, Participant
from rooms.permissions import (
    Action,
    StaffAction,
    ensure_may,
    ensure_staff_may_in_court,
    link_action,
    may,
)
from rooms.points import ConnectionPoint, PointKind
from rooms.policy import JurisdictionPolicy
from rooms.roles import PANEL_ROLES, ROLES_BY_KIND, Role, SessionKind
from rooms.states import (
    ENDED_SESSION_STATES,
    ENDINGS,
    JOINABLE_SESSION_STATES,
    LIVE_SESSION_STATES,
    PRESENT_STATES,
    TAKING_PART_STATES,
    ParticipantState,
    ParticipantTransition,
    SessionState,
    SessionTransition,
    check_participant_transition,
    next_session_state,
)
from rooms.text import Text

CALLED_ROLES = frozenset({Role.WITNESS, Role.EXPERT})
"""People who wait outside until the presiding judge calls them (and go back when dismissed)."""

SINGLE_ROLES = frozenset({Role.PRESIDING_JUDGE, Role.CHAIR})
"""Roles a session has at most one of."""

SCHEDULABLE_YEARS = range(2000, 2101)
"""Years a session may be scheduled in, read as written (in the time's own offset). No real
hearing lies outside them, and far-off times overflow the arithmetic of links and zones."""

COURTROOM_LOST = "courtroom_connection_lost"
PANEL_MEMBER_LOST = "panel_member_connection_lost"


@dataclass
class CourtSession:
    """A hearing (phiên tòa) or a meeting (cuộc họp); both share this machinery."""

    id: SessionId
    kind: SessionKind
    court_id: CourtId
    policy: JurisdictionPolicy
    scheduled_start: datetime
    scheduled_end: datetime | None = None
    case: Case | None = None
    meeting: MeetingInfo | None = None
    state: SessionState = SessionState.SCHEDULED
    points: dict[PointId, ConnectionPoint] = field(default_factory=dict)
    participants: dict[ParticipantId, Participant] = field(default_factory=dict)
    floor_holder: ParticipantId | None = None
    recording: RecordingState = RecordingState.OFF
    recording_paused_by_suspension: bool = False
    record_automatically: bool = False
    """Recording starts by itself when the session starts (a per-hearing setting made when
    scheduling), so the court need not remember to press a button."""
    screenings: set[Screening] = field(default_factory=set)
    consultation_rooms: dict[ConsultationRoomId, str] = field(default_factory=dict)
    created_by: str = ""
    version: int = 0
    """Bumped by every save: two writers on one session cannot both win."""
    events: list[ev.Event] = field(default_factory=list, repr=False, compare=False)

    def copy_to_change(self) -> CourtSession:
        """A copy a command may change while this one stays as it was saved (a cache keeps
        it): participants are the only mutable parts below the session; the rest are
        frozen values and are shared. No events: they belong to the command that made them."""
        copied = replace(self, events=[])
        copied.points = dict(self.points)
        copied.participants = {pid: copy(p) for pid, p in self.participants.items()}
        copied.screenings = set(self.screenings)
        copied.consultation_rooms = dict(self.consultation_rooms)
        return copied

    # ----------------------------------------------------------------- scheduling

    @classmethod
    def schedule_hearing(
        cls,
        actor: Actor,
        case: Case,
        policy: JurisdictionPolicy,
        start: datetime,
        end: datetime | None = None,
        courtroom_name: str = "Phòng xử án",
        session_id: SessionId | None = None,
        record_automatically: bool = False,
    ) -> CourtSession:
        ensure_staff_may_in_court(actor, StaffAction.SCHEDULE, case.court_id)
        policy.ensure_online_hearing_allowed(case)
        session = cls._schedule(
            actor, policy, start, end, courtroom_name, session_id, case.court_id, case=case
        )
        session.record_automatically = record_automatically
        return session

    @classmethod
    def schedule_meeting(
        cls,
        actor: Actor,
        meeting: MeetingInfo,
        policy: JurisdictionPolicy,
        start: datetime,
        end: datetime | None = None,
        main_point_name: str = "Điểm cầu trung tâm",
        session_id: SessionId | None = None,
    ) -> CourtSession:
        ensure_staff_may_in_court(actor, StaffAction.SCHEDULE, meeting.court_id)
        return cls._schedule(
            actor,
            policy,
            start,
            end,
            main_point_name,
            session_id,
            meeting.court_id,
            meeting=meeting,
        )

    @classmethod
    def _schedule(
        cls,
        actor: Actor,
        policy: JurisdictionPolicy,
        start: datetime,
        end: datetime | None,
        central_point_name: str,
        session_id: SessionId | None,
        court_id: CourtId,
        case: Case | None = None,
        meeting: MeetingInfo | None = None,
    ) -> CourtSession:
        """What a hearing and a meeting share: times, the first event, the central point."""
        _check_times(start, end)
        kind = SessionKind.HEARING if case is not None else SessionKind.MEETING
        session = cls(
            id=session_id or SessionId(new_id()),
            kind=kind,
            court_id=court_id,
            policy=policy,
            scheduled_start=start,
            scheduled_end=end,
            case=case,
            meeting=meeting,
            created_by=actor.id,
        )
        session._record(ev.SessionScheduled, actor, kind=kind.value)
        central = PointKind.COURTROOM if kind is SessionKind.HEARING else PointKind.MAIN_ROOM
        session._add_point(actor, central_point_name, central)
        return session

    def update_details(
        self,
        actor: Actor,
        *,
        case: Case | None = None,
        meeting: MeetingInfo | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        record_automatically: bool | None = None,
    ) -> None:
        self.ensure_staff(actor, StaffAction.SCHEDULE)
        if self.state is not SessionState.SCHEDULED:
            raise InvalidTransition(
                "session_state.update",
                Text(
                    "Chỉ sửa được thông tin khi phiên chưa bắt đầu.",
                    f"Details can only change while scheduled; the session is {self.state}.",
                ),
            )
        if record_automatically is not None and self.kind is not SessionKind.HEARING:
            raise InvalidInput(
                "session.record_automatically",
                Text(
                    "Chỉ phiên tòa mới tự động ghi âm, ghi hình khi bắt đầu.",
                    "Only a hearing records by itself from its start.",
                ),
            )
        changed: list[str] = []
        if case is not None:
            if self.kind is not SessionKind.HEARING:
                raise InvalidInput(
                    "session.case", Text("Cuộc họp không có vụ án.", "A meeting has no case.")
                )
            self.policy.ensure_online_hearing_allowed(case)
            if case.closed_hearing and not self.policy.observers_in_closed_hearings:
                self._ensure_no_observers()
            self.case, self.court_id = case, case.court_id
            changed.append("case")
        if meeting is not None:
            if self.kind is not SessionKind.MEETING:
                raise InvalidInput(
                    "session.meeting",
                    Text("Phiên tòa không phải cuộc họp.", "A hearing is not a meeting."),
                )
            self.meeting, self.court_id = meeting, meeting.court_id
            changed.append("meeting")
        new_start = start or self.scheduled_start
        new_end = end if end is not None else self.scheduled_end
        _check_times(new_start, new_end)
        if start is not None:
            self.scheduled_start = start
            changed.append("scheduled_start")
        if end is not None:
            self.scheduled_end = end
            changed.append("scheduled_end")
        if record_automatically is not None:
            self.record_automatically = record_automatically
            changed.append("record_automatically")
        self._record(ev.SessionDetailsChanged, actor, fields=tuple(changed))

    def add_point(
        self,
        actor: Actor,
        name: str,
        kind: PointKind,
        location: str = "",
        point_id: PointId | None = None,
    ) -> ConnectionPoint:
        self.ensure_staff(actor, StaffAction.SCHEDULE)
        self._ensure_not_ended("add_point")
        return self._add_point(actor, name, kind, location, point_id)

    def add_participant(
        self,
        actor: Actor,
        name: str,
        role: Role,
        point_id: PointId,
        participant_id: ParticipantId | None = None,
    ) -> Participant:
        self.ensure_staff(actor, link_action(role))
        self._ensure_not_ended("add_participant")
        if role not in ROLES_BY_KIND[self.kind]:
            raise InvalidInput(
                "participant.role",
                Text(
                    f"Vai trò «{role.label.vi}» không dùng cho loại phiên này.",
                    f"The role '{role.label.en}' does not belong in a {self.kind.value}.",
                ),
            )
        if point_id not in self.points:
            raise _not_found("point", point_id)
        if (
            role is Role.OBSERVER
            and self.is_closed_hearing
            and not self.policy.observers_in_closed_hearings
        ):
            raise PolicyViolation(
                "policy.closed_hearing",
                Text(
                    "Phiên tòa xử kín: không có người dự khán.",
                    "This is a closed hearing: no observers may attend.",
                ),
            )
        if role in SINGLE_ROLES and any(p.role is role for p in self.participants.values()):
            raise PolicyViolation(
                f"participant.single_{role.value}",
                Text(
                    f"Phiên đã có {role.label.vi}.",
                    f"The session already has a {role.label.en.lower()}.",
                ),
            )
        participant = Participant(
            id=participant_id or ParticipantId(new_id()), name=name, role=role, point_id=point_id
        )
        self.participants[participant.id] = participant
        self._record(
            ev.ParticipantAdded,
            actor,
            participant_id=participant.id,
            role=role.value,
            point_id=point_id,
        )
        return participant

    def cancel(self, actor: Actor) -> None:
        self.ensure_staff(actor, StaffAction.SCHEDULE)
        self._transition(actor, SessionTransition.CANCEL)

    # ----------------------------------------------------------------- session state

    def open_lobby(self, actor: Actor) -> None:
        if actor.staff_role is not None:
            self.ensure_staff(actor, StaffAction.SCHEDULE)
        else:
            self._authorize(actor, Action.START)
        self._transition(actor, SessionTransition.OPEN_LOBBY)

    def start(self, actor: Actor, recording_refusal: Text | None = None) -> None:
        """Open the session; with ``record_automatically`` recording starts with it.

        ``recording_refusal`` is why this server cannot record now (the edge knows its disk,
        the domain does not): the session still starts, and the event that recording did not
        start carries the reason, so the court is told in words."""
        self._authorize(actor, Action.START)
        self._transition(actor, SessionTransition.START)
        if not self.record_automatically or self.recording is not RecordingState.OFF:
            return
        if recording_refusal is not None:
            self._recording_not_started(actor, "automatic", recording_refusal)
        else:
            self._set_recording(actor, RecordingState.RECORDING, "automatic")

    def suspend(self, actor: Actor, reason: str = "") -> None:
        self._authorize(actor, Action.SUSPEND)
        self._suspend(actor, reason)

    def resume(self, actor: Actor, recording_refusal: Text | None = None) -> None:
        """Resume the session, and the recording its suspension paused; where this server
        cannot record now (``recording_refusal``) the recording stays paused and the event
        says why, as at an automatic start."""
        self._authorize(actor, Action.RESUME)
        self._transition(actor, SessionTransition.RESUME)
        if self.recording_paused_by_suspension:
            self.recording_paused_by_suspension = False
            if recording_refusal is not None:
                self._recording_not_started(actor, "resumed", recording_refusal)
            else:
                self._set_recording(actor, RecordingState.RECORDING, "resumed")

    def close(self, actor: Actor) -> None:
        self._authorize(actor, Action.CLOSE)
        self._transition(actor, SessionTransition.CLOSE)
        self._end_live_state(actor)

    def postpone(self, actor: Actor, reason: str = "") -> None:
        if actor.staff_role is not None:
            self.ensure_staff(actor, StaffAction.SCHEDULE)
        else:
            self._authorize(actor, Action.POSTPONE)
        self._transition(actor, SessionTransition.POSTPONE, reason)
        self._end_live_state(actor)

    def end_abandoned(self, actor: Actor, outcome: str, reason: str) -> None:
        """Staff close or postpone (``ENDINGS``) a suspended session nobody will resume.

        Only a suspended session: one in session is the presiding judge's to end from the
        console, and one not yet started is cancelled or postponed as scheduling."""
        self.ensure_staff(actor, StaffAction.END_ABANDONED)
        transition = ENDINGS.get(outcome)
        if transition is None:
            raise InvalidInput(
                "session.end_outcome",
                Text("Chỉ kết thúc hoặc hoãn được phiên.", "A session is closed or postponed."),
            )
        if self.state is not SessionState.SUSPENDED:
            raise InvalidTransition(
                "session_state.end_abandoned",
                Text(
                    "Chỉ kết thúc hoặc hoãn từ đây được phiên đang tạm ngừng.",
                    f"Only a suspended session can be ended here; it is {self.state.value}.",
                ),
            )
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput(
                "session.end_reason",
                Text("Hãy ghi lý do.", "Give the reason."),
            )
        self._transition(actor, transition, reason)
        self._end_live_state(actor)

    # ----------------------------------------------------------------- arriving and leaving

    def join(self, participant_id: ParticipantId) -> ParticipantState:
        """A participant connects with their own link: lobby, or straight in for the court."""
        participant = self._participant(participant_id)
        actor = Actor.participant(participant_id, participant.name)
        if self.state not in JOINABLE_SESSION_STATES:
            raise InvalidTransition(
                "session_state.join",
                Text("Phiên đã kết thúc hoặc bị hủy.", f"The session is {self.state.value}."),
            )
        if (
            participant.role is Role.OBSERVER
            and self.is_closed_hearing
            and not self.policy.observers_in_closed_hearings
        ):
            raise PolicyViolation(
                "policy.closed_hearing",
                Text(
                    "Phiên tòa xử kín: không có người dự khán.",
                    "This is a closed hearing: no observers.",
                ),
            )
        if participant.state in PRESENT_STATES:
            return participant.state
        if self.state is SessionState.SCHEDULED:
            self._transition(Actor.system(), SessionTransition.OPEN_LOBBY, "first arrival")
        if (
            participant.state is ParticipantState.DISCONNECTED
            and participant.state_before_disconnect in TAKING_PART_STATES
        ):
            self._move(actor, participant, ParticipantTransition.RECONNECT, "reconnected")
        elif self.policy.enters_directly(participant.role):
            self._move(actor, participant, ParticipantTransition.ENTER_DIRECTLY, "court member")
        else:
            self._move(actor, participant, ParticipantTransition.ENTER_LOBBY)
        return participant.state

    def leave(self, participant_id: ParticipantId) -> None:
        participant = self._participant(participant_id)
        actor = Actor.participant(participant_id, participant.name)
        self._move(actor, participant, ParticipantTransition.LEAVE)
        self._after_departure(actor, participant)

    def disconnect(self, participant_id: ParticipantId) -> bool:
        """The media or signalling link died. The law wants the hearing stopped when the
        courtroom is gone or the panel is no longer whole; returns whether it was."""
        participant = self._participant(participant_id)
        actor = Actor.system()
        # Refuse a repeated report before remembering where the drop found the person.
        check_participant_transition(participant.state, ParticipantTransition.DISCONNECT)
        was_taking_part = participant.state in TAKING_PART_STATES
        participant.state_before_disconnect = participant.state
        self._move(actor, participant, ParticipantTransition.DISCONNECT, "connection lost")
        self._after_departure(actor, participant)
        if (
            self.kind is not SessionKind.HEARING
            or not self.policy.suspend_on_courtroom_disconnect
            or self.state is not SessionState.IN_SESSION
        ):
            return False
        courtroom_empty = self.points[participant.point_id].kind is PointKind.COURTROOM and not any(
            p.state in TAKING_PART_STATES
            for p in self.participants.values()
            if p.point_id == participant.point_id
        )
        if courtroom_empty:
            self._suspend(actor, COURTROOM_LOST)
            return True
        if was_taking_part and participant.role in PANEL_ROLES:
            self._suspend(actor, PANEL_MEMBER_LOST)
            return True
        return False

    # ----------------------------------------------------------------- lobby and identity

    def verify_identity(self, actor: Actor, participant_id: ParticipantId) -> None:
        self._authorize(actor, Action.VERIFY_IDENTITY)
        participant = self._participant(participant_id)
        if participant.state not in PRESENT_STATES:
            raise _not_present(participant)
        if not participant.identity_verified:
            participant.identity_verified = True
            self._record(ev.IdentityVerified, actor, participant_id=participant.id)

    def admit(self, actor: Actor, participant_id: ParticipantId) -> None:
        self._authorize(actor, Action.ADMIT)
        participant = self._participant(participant_id)
        if participant.role in CALLED_ROLES:
            raise PolicyViolation(
                "witness.must_be_called",
                Text(
                    "Người làm chứng, người giám định chỉ vào phòng xử án khi chủ tọa mời vào.",
                    "Witnesses and experts enter only when the presiding judge calls them.",
                ),
            )
        self._admit(actor, participant, "admitted")

    def deny(self, actor: Actor, participant_id: ParticipantId) -> None:
        self._authorize(actor, Action.DENY)
        participant = self._participant(participant_id)
        self._move(actor, participant, ParticipantTransition.DENY)

    def remove(self, actor: Actor, participant_id: ParticipantId) -> None:
        self._authorize(actor, Action.REMOVE)
        participant = self._participant(participant_id)
        if participant.id == actor.id or participant.role in SINGLE_ROLES:
            raise PolicyViolation(
                "participant.cannot_remove",
                Text(
                    "Không thể mời người chủ trì ra khỏi phiên.",
                    "The person presiding cannot be removed.",
                ),
            )
        self._move(actor, participant, ParticipantTransition.REMOVE)
        self._after_departure(actor, participant)

    def call_witness(self, actor: Actor, participant_id: ParticipantId) -> None:
        self._authorize(actor, Action.CALL_WITNESS)
        participant = self._called_person(participant_id)
        self._admit(actor, participant, "called")

    def dismiss_witness(self, actor: Actor, participant_id: ParticipantId) -> None:
        self._authorize(actor, Action.CALL_WITNESS)
        participant = self._called_person(participant_id)
        self._move(actor, participant, ParticipantTransition.SEND_TO_LOBBY, "dismissed")
        self._after_departure(actor, participant)

    # ----------------------------------------------------------------- audio and the floor

    def mute(self, actor: Actor, participant_id: ParticipantId, lock: bool = False) -> None:
        """Anyone may mute themselves; muting others, and locking, belong to the court."""
        if participant_id == actor.id and not lock:
            self._authorize(actor, Action.RAISE_HAND)  # any present participant
            participant = self._participant(participant_id)
            self._set_audio(actor, participant, muted=True, locked=participant.media_locked)
            return
        self._authorize(actor, Action.MUTE_OTHERS)
        if lock:
            self._authorize(actor, Action.LOCK_MEDIA)
        participant = self._participant(participant_id)
        if participant.role in SINGLE_ROLES and participant.id != actor.id:
            raise PolicyViolation(
                "participant.cannot_mute_presiding",
                Text(
                    "Không thể tắt tiếng người chủ trì.",
                    "The person presiding cannot be muted by others.",
                ),
            )
        if participant.state is ParticipantState.IN_CONSULTATION:
            # A lock is kept for the hearing room; the private room's microphones are theirs.
            if not lock:
                _ensure_not_in_private_room(participant)
            self._set_audio(actor, participant, muted=participant.muted, locked=True)
            return
        self._set_audio(actor, participant, muted=True, locked=participant.media_locked or lock)

    def mute_all(self, actor: Actor, lock: bool = False) -> None:
        """Everyone but the court: the panel and clerk keep their voice."""
        self._authorize(actor, Action.MUTE_OTHERS)
        if lock:
            self._authorize(actor, Action.LOCK_MEDIA)
        for participant in self.participants.values():
            if participant.id == actor.id or participant.role in self.policy.direct_entry_roles:
                continue
            if participant.state is ParticipantState.IN_CONSULTATION:
                # Nobody in a private room is muted from outside it; a lock waits for the return.
                if lock:
                    self._set_audio(actor, participant, muted=participant.muted, locked=True)
            elif participant.state in PRESENT_STATES:
                self._set_audio(
                    actor, participant, muted=True, locked=participant.media_locked or lock
                )

    def unmute(self, actor: Actor, participant_id: ParticipantId) -> None:
        participant = self._participant(participant_id)
        if actor.id == participant.id:
            self._authorize(actor, Action.RAISE_HAND)  # any present participant may unmute self
            if participant.lock_in_force:
                raise PolicyViolation(
                    "participant.media_locked",
                    Text(
                        "Chủ tọa đã khóa micro của bạn; hãy giơ tay để xin phát biểu.",
                        "The court locked your microphone; raise your hand to ask for the floor.",
                    ),
                )
        else:
            self._authorize(actor, Action.UNMUTE_OTHERS)
            _ensure_not_in_private_room(participant)
        self._set_audio(actor, participant, muted=False, locked=participant.media_locked)

    def unlock(self, actor: Actor, participant_id: ParticipantId) -> None:
        self._authorize(actor, Action.LOCK_MEDIA)
        participant = self._participant(participant_id)
        self._set_audio(actor, participant, muted=participant.muted, locked=False)

    def give_floor(self, actor: Actor, participant_id: ParticipantId) -> None:
        self._authorize(actor, Action.GIVE_FLOOR)
        participant = self._participant(participant_id)
        if participant.state is not ParticipantState.IN_SESSION:
            raise _not_present(participant)
        if participant.hand_raised:
            participant.hand_raised = False
            self._record(ev.HandChanged, actor, participant_id=participant.id, raised=False)
        self._set_audio(actor, participant, muted=False, locked=participant.media_locked)
        self.floor_holder = participant.id
        self._record(ev.FloorChanged, actor, holder=participant.id)

    def take_floor(self, actor: Actor) -> None:
        self._authorize(actor, Action.GIVE_FLOOR)
        if self.floor_holder is not None:
            self.floor_holder = None
            self._record(ev.FloorChanged, actor, holder=None)

    def raise_hand(self, actor: Actor) -> None:
        self._authorize(actor, Action.RAISE_HAND)
        participant = self._participant(ParticipantId(actor.id))
        if not participant.hand_raised:
            participant.hand_raised = True
            self._record(ev.HandChanged, actor, participant_id=participant.id, raised=True)

    def lower_hand(self, actor: Actor, participant_id: ParticipantId | None = None) -> None:
        target = participant_id or ParticipantId(actor.id)
        self._authorize(actor, Action.RAISE_HAND if target == actor.id else Action.GIVE_FLOOR)
        participant = self._participant(target)
        if participant.hand_raised:
            participant.hand_raised = False
            self._record(ev.HandChanged, actor, participant_id=participant.id, raised=False)

    def set_screen_share(self, actor: Actor, sharing: bool) -> None:
        """One screen at a time: a new share replaces the one before."""
        participant = self._participant(ParticipantId(actor.id))
        if sharing:
            self._authorize(actor, Action.SHARE_SCREEN)
            for other in self.participants.values():
                if other.screen_sharing and other.id != participant.id:
                    other.screen_sharing = False
                    self._record(
                        ev.ScreenShareChanged, actor, participant_id=other.id, sharing=False
                    )
        else:
            self._authorize(actor, Action.RAISE_HAND)
        if participant.screen_sharing != sharing:
            participant.screen_sharing = sharing
            self._record(
                ev.ScreenShareChanged, actor, participant_id=participant.id, sharing=sharing
            )

    # ----------------------------------------------------------------- consultation rooms

    def move_to_consultation(
        self, actor: Actor, participant_ids: Iterable[ParticipantId], room_name: str
    ) -> ConsultationRoomId:
        """A private room: e.g. a defendant with counsel, or the panel deliberating."""
        self._authorize(actor, Action.MANAGE_CONSULTATION)
        ids = list(dict.fromkeys(participant_ids))
        if not ids:
            raise InvalidInput(
                "consultation.empty", Text("Chưa chọn người vào phòng riêng.", "Nobody was chosen.")
            )
        people = [self._participant(pid) for pid in ids]
        for person in people:
            check_participant_transition(person.state, ParticipantTransition.MOVE_TO_CONSULTATION)
        room_id = next(
            (rid for rid, name in self.consultation_rooms.items() if name == room_name), None
        ) or ConsultationRoomId(new_id())
        self.consultation_rooms[room_id] = room_name
        for person in people:
            self._move(actor, person, ParticipantTransition.MOVE_TO_CONSULTATION, room_name)
            person.consultation_room = room_id
            if self.floor_holder == person.id:
                self.floor_holder = None
                self._record(ev.FloorChanged, actor, holder=None)
            self._record(
                ev.ConsultationChanged,
                actor,
                participant_id=person.id,
                room_id=room_id,
                room_name=room_name,
            )
        return room_id

    def return_from_consultation(
        self, actor: Actor, participant_ids: Iterable[ParticipantId]
    ) -> None:
        self._authorize(actor, Action.MANAGE_CONSULTATION)
        people = [self._participant(pid) for pid in dict.fromkeys(participant_ids)]
        for person in people:
            check_participant_transition(
                person.state, ParticipantTransition.RETURN_FROM_CONSULTATION
            )
        for person in people:
            self._leave_consultation(actor, person)
            self._move(actor, person, ParticipantTransition.RETURN_FROM_CONSULTATION)

    # ----------------------------------------------------------------- recording and screening

    def start_recording(self, actor: Actor) -> None:
        self._authorize(actor, Action.START_RECORDING)
        if self.state is not SessionState.IN_SESSION:
            raise InvalidTransition(
                "recording.not_in_session",
                Text(
                    "Chỉ ghi âm, ghi hình khi phiên đang diễn ra.",
                    f"Recording starts only while in session; the session is {self.state.value}.",
                ),
            )
        if self.recording is RecordingState.RECORDING:
            raise InvalidTransition(
                "recording.already", Text("Đang ghi rồi.", "Recording is already running.")
            )
        self._set_recording(actor, RecordingState.RECORDING)

    def pause_recording(self, actor: Actor) -> None:
        self._authorize(actor, Action.PAUSE_RECORDING)
        if self.recording is not RecordingState.RECORDING:
            raise InvalidTransition(
                "recording.not_running",
                Text("Không có bản ghi đang chạy.", "Nothing is being recorded."),
            )
        self._set_recording(actor, RecordingState.PAUSED)

    def set_screening(
        self,
        actor: Actor,
        protected: ParticipantId,
        hidden_from: ParticipantId,
        active: bool = True,
        audio: bool = False,
    ) -> None:
        self._authorize(actor, Action.SET_SCREENING)
        self._participant(protected)
        self._participant(hidden_from)
        if protected == hidden_from:
            raise InvalidInput(
                "screening.same_person",
                Text(
                    "Không thể che một người khỏi chính họ.",
                    "Nobody can be screened from themselves.",
                ),
            )
        self.screenings = {
            s for s in self.screenings if (s.protected, s.hidden_from) != (protected, hidden_from)
        }
        if active:
            self.screenings.add(Screening(protected, hidden_from, audio))
        self._record(
            ev.ScreeningChanged,
            actor,
            protected=protected,
            hidden_from=hidden_from,
            active=active,
            audio=audio,
        )

    # ----------------------------------------------------------------- what media may flow

    def forwarding_plan(self, previous: ForwardingPlan | None = None) -> ForwardingPlan:
        """The one decision about what media may flow, for this saved version.

        Built in O(participants): the audience of a publication is the set of people taking
        part in the same room (the hearing room or one consultation room), shared by every
        publication of that room, less the people a screening hides the publisher from.
        Audiences equal to one of ``previous``'s are that very set, so comparing the two
        plans is an identity check for every publication whose audience did not change."""
        rooms: dict[ConsultationRoomId | None, set[ParticipantId]] = {}
        admitters: set[ParticipantId] = set()
        for person in self.participants.values():
            if person.state in TAKING_PART_STATES:
                rooms.setdefault(person.consultation_room, set()).add(person.id)
            if person.state is ParticipantState.IN_SESSION and may(person.role, Action.ADMIT):
                admitters.add(person.id)
        known = _audiences_of(previous)
        audiences = {room: known.get(m := frozenset(ms), m) for room, ms in rooms.items()}
        lobby_audience = known.get(m := frozenset(admitters), m)
        hidden: dict[tuple[ParticipantId, MediaSource], set[ParticipantId]] = {}
        for screening in self.screenings:
            for source in MediaSource:
                if screening.withholds(source):
                    hidden.setdefault((screening.protected, source), set()).add(
                        screening.hidden_from
                    )
        live = self.state in LIVE_SESSION_STATES
        rules: dict[Publication, PublicationRule] = {}
        for person in self.participants.values():
            if person.state not in PRESENT_STATES:
                continue
            for source in MediaSource:
                if person.state is ParticipantState.IN_LOBBY:
                    audience = lobby_audience
                else:
                    audience = audiences.get(person.consultation_room, NOBODY)
                withheld = hidden.get((person.id, source))
                if withheld:
                    audience = known.get(m := audience - withheld, m)
                rules[Publication(person.id, source)] = PublicationRule(
                    paused=not live or _publication_paused(person, source),
                    audience=audience,
                    recorded=self._may_record(person, source),
                )
        return ForwardingPlan(self.version, rules)

    def may_receive(self, receiver_id: str, publisher_id: str, source: MediaSource) -> bool:
        """Whether one receiver gets one publication: the plan's answer, for one question."""
        return self.forwarding_plan().may_receive(
            ParticipantId(receiver_id), ParticipantId(publisher_id), source
        )

    def may_identify(self, viewer_id: str, subject_id: str) -> bool:
        """Whether ``viewer`` may know who ``subject`` is. A screening hides the person, not
        only their picture or voice: whoever it shields learns that a protected participant
        takes part, never their name, role, point or id."""
        return not any(
            s.protected == subject_id and s.hidden_from == viewer_id for s in self.screenings
        )

    def unidentifiable_to(self, viewer_id: str) -> frozenset[ParticipantId]:
        """Everyone ``viewer`` may not identify; empty for nearly everyone, so the edges
        project what they send only for the few a screening shields."""
        return frozenset(s.protected for s in self.screenings if s.hidden_from == viewer_id)

    def may_record(self, publisher_id: str, source: MediaSource) -> bool:
        publisher = self.participants.get(ParticipantId(publisher_id))
        return publisher is not None and self._may_record(publisher, source)

    def _may_record(self, publisher: Participant, source: MediaSource) -> bool:
        """Recorded: recording runs, the session is in session, the publisher's room is one
        that is recorded, and the publication flows (muted audio is not recorded)."""
        if self.recording is not RecordingState.RECORDING:
            return False
        if self.state is not SessionState.IN_SESSION:
            return False
        return self.room_is_recorded(publisher) and not _publication_paused(publisher, source)

    def room_is_recorded(self, person: Participant) -> bool:
        """Whether the room ``person`` is in now is one a recording covers, whether or not
        recording runs: the hearing room is; the lobby never is; a private consultation room
        only where the policy says so, and deliberation of the panel never, whatever the
        policy. What the page tells each person about their room comes from here."""
        if person.state is ParticipantState.IN_CONSULTATION:
            return self.policy.record_consultations and not self._is_deliberation(
                person.consultation_room
            )
        return person.state is ParticipantState.IN_SESSION

    # ----------------------------------------------------------------- queries

    def _is_deliberation(self, room: ConsultationRoomId | None) -> bool:
        """A private room holding only the panel is deliberation (nghị án)."""
        members = [p for p in self.participants.values() if p.consultation_room == room]
        return room is not None and all(p.role in PANEL_ROLES for p in members)

    @property
    def is_closed_hearing(self) -> bool:
        return self.case is not None and self.case.closed_hearing

    @property
    def central_point(self) -> ConnectionPoint:
        return next(p for p in self.points.values() if p.kind.is_central)

    def remote_points(self) -> list[ConnectionPoint]:
        return [p for p in self.points.values() if not p.kind.is_central]

    def lobby(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.state is ParticipantState.IN_LOBBY]

    def collect_events(self) -> list[ev.Event]:
        events, self.events = self.events, []
        return events

    # ----------------------------------------------------------------- internals

    def _authorize(self, actor: Actor, action: Action) -> None:
        """Permission first: the actor must be a participant here, taking part, allowed."""
        if actor.is_system:
            return
        participant = self.participants.get(ParticipantId(actor.id))
        if participant is None:
            raise PermissionDenied(
                "permission.not_a_participant",
                Text("Bạn không tham gia phiên này.", "You are not a participant of this session."),
            )
        allowed_states = (
            PRESENT_STATES
            if action in (Action.RAISE_HAND, Action.CHAT_WITH_COURT)
            else TAKING_PART_STATES
        )
        if participant.state not in allowed_states:
            raise PermissionDenied(
                "permission.not_taking_part",
                Text(
                    "Bạn phải đang tham gia phiên để thực hiện thao tác này.",
                    f"You must be taking part to do this; you are {participant.state.value}.",
                ),
            )
        ensure_may(participant.role, action)

    def _admit(self, actor: Actor, participant: Participant, reason: str) -> None:
        check_participant_transition(participant.state, ParticipantTransition.ADMIT)
        if (
            self.kind is SessionKind.HEARING
            and self.policy.needs_identity_check(participant.role)
            and not participant.identity_verified
        ):
            raise PolicyViolation(
                "policy.identity_unverified", self._verify_first(actor, participant)
            )
        self._move(actor, participant, ParticipantTransition.ADMIT, reason)

    def _verify_first(self, actor: Actor, participant: Participant) -> Text:
        """Why an unverified person cannot come in, said to the one who asked: the step they
        can take themselves, or who must take it; a witness is invited into the courtroom."""
        called = participant.role in CALLED_ROLES
        entry_vi = "mời vào phòng xử án" if called else "cho vào phiên tòa"
        entry_en = "inviting them into the courtroom" if called else "admitting them"
        asker = self.participants.get(ParticipantId(actor.id))
        if actor.is_system or (asker is not None and may(asker.role, Action.VERIFY_IDENTITY)):
            return Text(
                f"Hãy xác nhận danh tính của {participant.name} trước khi {entry_vi}.",
                f"Verify {participant.name}'s identity before {entry_en}.",
            )
        return Text(
            f"Chủ tọa hoặc thư ký phiên tòa phải xác nhận danh tính của {participant.name} "
            f"trước khi {entry_vi}.",
            f"The presiding judge or the clerk must verify {participant.name}'s identity "
            f"before {entry_en}.",
        )

    def _called_person(self, participant_id: ParticipantId) -> Participant:
        participant = self._participant(participant_id)
        if participant.role not in CALLED_ROLES:
            raise InvalidInput(
                "witness.not_a_witness",
                Text(
                    "Người này không phải người làm chứng hoặc giám định.",
                    "This person is not a witness or expert.",
                ),
            )
        return participant

    def _move(
        self,
        actor: Actor,
        participant: Participant,
        transition: ParticipantTransition,
        reason: str = "",
    ) -> None:
        target = check_participant_transition(participant.state, transition)
        if target is None:  # reconnection: back where the drop found them
            target = participant.state_before_disconnect or ParticipantState.IN_LOBBY
        previous = participant.state
        participant.state = target
        if target is not ParticipantState.DISCONNECTED:
            participant.state_before_disconnect = None
        self._record(
            ev.ParticipantStateChanged,
            actor,
            participant_id=participant.id,
            previous=previous.value,
            current=target.value,
            reason=reason,
        )
        if (
            target is ParticipantState.IN_SESSION
            and participant.media_locked
            and not participant.muted
        ):
            # Into the hearing room (back from a private one): the court's lock binds again.
            self._set_audio(actor, participant, muted=True, locked=True)

    def _after_departure(self, actor: Actor, participant: Participant) -> None:
        """Someone out of the room holds no floor, no hand, no screen, no private room."""
        if self.floor_holder == participant.id:
            self.floor_holder = None
            self._record(ev.FloorChanged, actor, holder=None)
        if participant.hand_raised:
            participant.hand_raised = False
            self._record(ev.HandChanged, actor, participant_id=participant.id, raised=False)
        if participant.screen_sharing:
            participant.screen_sharing = False
            self._record(ev.ScreenShareChanged, actor, participant_id=participant.id, sharing=False)
        if (
            participant.consultation_room is not None
            and participant.state is not ParticipantState.DISCONNECTED
        ):
            self._leave_consultation(actor, participant)

    def _leave_consultation(self, actor: Actor, participant: Participant) -> None:
        room = participant.consultation_room
        participant.consultation_room = None
        self._record(ev.ConsultationChanged, actor, participant_id=participant.id, room_id=None)
        if room is not None and not any(
            p.consultation_room == room for p in self.participants.values()
        ):
            del self.consultation_rooms[room]

    def _set_audio(self, actor: Actor, participant: Participant, muted: bool, locked: bool) -> None:
        if (participant.muted, participant.media_locked) == (muted, locked):
            return
        participant.muted, participant.media_locked = muted, locked
        self._record(
            ev.MediaControlChanged, actor, participant_id=participant.id, muted=muted, locked=locked
        )

    def _set_recording(self, actor: Actor, state: RecordingState, reason: str = "") -> None:
        previous = self.recording
        self.recording = state
        self._record(
            ev.RecordingStateChanged,
            actor,
            previous=previous.value,
            current=state.value,
            reason=reason,
        )

    def _recording_not_started(self, actor: Actor, reason: str, why: Text) -> None:
        self._record(
            ev.RecordingNotStarted,
            actor,
            reason=reason,
            rule="recording.unavailable",
            message=why,
        )

    def _suspend(self, actor: Actor, reason: str) -> None:
        self._transition(actor, SessionTransition.SUSPEND, reason)
        if self.recording is RecordingState.RECORDING:
            self.recording_paused_by_suspension = True
            self._set_recording(actor, RecordingState.PAUSED, "suspended")

    def _end_live_state(self, actor: Actor) -> None:
        if self.recording in (RecordingState.RECORDING, RecordingState.PAUSED):
            self._set_recording(actor, RecordingState.STOPPED, "session ended")
        self.recording_paused_by_suspension = False
        if self.floor_holder is not None:
            self.floor_holder = None
            self._record(ev.FloorChanged, actor, holder=None)

    def _transition(self, actor: Actor, transition: SessionTransition, reason: str = "") -> None:
        previous = self.state
        self.state = next_session_state(previous, transition)
        self._record(
            ev.SessionStateChanged,
            actor,
            previous=previous.value,
            current=self.state.value,
            reason=reason,
        )

    def _add_point(
        self,
        actor: Actor,
        name: str,
        kind: PointKind,
        location: str = "",
        point_id: PointId | None = None,
    ) -> ConnectionPoint:
        if kind.is_central:
            expected = (
                PointKind.COURTROOM if self.kind is SessionKind.HEARING else PointKind.MAIN_ROOM
            )
            if kind is not expected or any(p.kind.is_central for p in self.points.values()):
                raise PolicyViolation(
                    "policy.one_central_point",
                    Text(
                        "Mỗi phiên chỉ có một điểm cầu trung tâm.",
                        "A session has exactly one central point.",
                    ),
                )
        elif self.kind is SessionKind.HEARING:
            self.policy.ensure_remote_point_allowed(len(self.remote_points()))
        else:
            self.policy.ensure_meeting_point_allowed(len(self.points))
        point = ConnectionPoint(point_id or PointId(new_id()), name, kind, location)
        self.points[point.id] = point
        self._record(
            ev.PointAdded, actor, point_id=point.id, point_name=name, point_kind=kind.value
        )
        return point

    def ensure_staff(self, actor: Actor, action: StaffAction) -> None:
        """Staff work on this session: the role may do it, and this is the actor's court."""
        ensure_staff_may_in_court(actor, action, self.court_id)

    def _ensure_not_ended(self, action: str) -> None:
        if self.state in ENDED_SESSION_STATES:
            raise InvalidTransition(
                f"session_state.{action}",
                Text(
                    "Phiên đã kết thúc.",
                    f"Cannot {action.replace('_', ' ')}: the session is {self.state.value}.",
                ),
            )

    def _ensure_no_observers(self) -> None:
        if any(p.role is Role.OBSERVER for p in self.participants.values()):
            raise PolicyViolation(
                "policy.closed_hearing",
                Text(
                    "Phiên xử kín không được có người dự khán; hãy xóa họ trước.",
                    "A closed hearing may have no observers; remove them first.",
                ),
            )

    def _participant(self, participant_id: ParticipantId) -> Participant:
        try:
            return self.participants[participant_id]
        except KeyError:
            raise _not_found("participant", participant_id) from None

    def _record(self, event_type: type[ev.Event], actor: Actor, **fields: object) -> None:
        self.events.append(event_type(session_id=self.id, actor=actor.id, **fields))


def _audiences_of(
    plan: ForwardingPlan | None,
) -> dict[frozenset[ParticipantId], frozenset[ParticipantId]]:
    """Each distinct audience set of a plan, to be found again by an equal one."""
    if plan is None:
        return {}
    return {rule.audience: rule.audience for rule in plan.rules.values()}


def _publication_paused(publisher: Participant, source: MediaSource) -> bool:
    """A publication nobody gets, whoever they are: a waiting person shows only their face
    (to whoever admits), a muted voice and an unshared screen go nowhere."""
    if publisher.state is ParticipantState.IN_LOBBY:
        return source is not MediaSource.CAMERA
    if publisher.state not in TAKING_PART_STATES:
        return True
    if source is MediaSource.MICROPHONE and publisher.muted:
        return True
    return source is MediaSource.SCREEN and not publisher.screen_sharing


def ensure_schedulable(moment: date) -> None:
    """A day or time a session could be on; searches are held to the same range."""
    if moment.year not in SCHEDULABLE_YEARS:
        first, last, got = SCHEDULABLE_YEARS[0], SCHEDULABLE_YEARS[-1], moment.isoformat()
        raise InvalidInput(
            "session.schedule_range",
            Text(
                f"Thời gian phải nằm trong các năm {first}–{last} (nhận được {got}).",
                f"Times must fall in the years {first}–{last} (got {got}).",
            ),
        )


def _check_times(start: datetime, end: datetime | None) -> None:
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise InvalidInput(
            "session.naive_time",
            Text("Thời gian phải có múi giờ.", "Times must carry a time zone."),
        )
    ensure_schedulable(start)
    if end is not None:
        ensure_schedulable(end)
    if end is not None and end <= start:
        raise InvalidInput(
            "session.end_before_start",
            Text("Giờ kết thúc phải sau giờ bắt đầu.", "The end must come after the start."),
        )


def _not_found(what: str, ident: str) -> NotFound:
    return NotFound(
        f"{what}.not_found", Text(f"Không tìm thấy ({what}: {ident}).", f"No such {what}: {ident}.")
    )


def _ensure_not_in_private_room(participant: Participant) -> None:
    """The court does not switch microphones inside a private room it is not part of."""
    if participant.state is ParticipantState.IN_CONSULTATION:
        raise PolicyViolation(
            "participant.in_private_room",
            Text(
                f"{participant.name} đang ở phòng riêng và tự bật, tắt micro của mình; "
                "micro bị khóa sẽ khóa lại khi trở về phòng xử án.",
                f"{participant.name} is in a private room and controls their own microphone; "
                "a lock applies again on return to the hearing room.",
            ),
        )


def _not_present(participant: Participant) -> InvalidTransition:
    return InvalidTransition(
        "participant.not_present",
        Text(
            f"{participant.name} hiện không có mặt trong phiên.",
            f"{participant.name} is not present ({participant.state.value}).",
        ),
    )
