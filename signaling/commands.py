"""Control commands as typed dataclasses, in one table from wire name to command.

A command is built from the validated payload and the connection's own actor (never an id
the payload claims to be), and applies itself to the aggregate. No permission is checked
here: the aggregate decides (rooms.permissions), the service audits both outcomes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self

from rooms.ids import ParticipantId
from rooms.participants import Actor
from rooms.session import CourtSession
from rooms.text import Text
from signaling import protocol as p


@dataclass(frozen=True, slots=True)
class Command(ABC):
    """One control command of one actor on one session."""

    name: ClassVar[str]
    """The wire name: the socket.io event a client sends."""
    payload: ClassVar[type[p.Payload]]

    actor: Actor

    @classmethod
    @abstractmethod
    def from_payload(cls, actor: Actor, payload: Any) -> Self: ...

    @abstractmethod
    def apply(self, session: CourtSession) -> object:
        """The aggregate call; raises a domain error to refuse."""

    @property
    def audit_action(self) -> str:
        return f"session.{self.name}"

    def audit_detail(self) -> dict[str, Any]:
        """The command's arguments as the audit log keeps them (who gave it is the entry's
        actor; the client's ``ref`` is not kept)."""
        data = asdict(self)
        del data["actor"]
        return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True, slots=True)
class _OnParticipant(Command):
    payload: ClassVar[type[p.Payload]] = p.Target
    participant_id: ParticipantId

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.Target) -> Self:
        return cls(actor, ParticipantId(payload.participant_id))


@dataclass(frozen=True, slots=True)
class _OnNobody(Command):
    payload: ClassVar[type[p.Payload]] = p.Empty

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.Empty) -> Self:
        return cls(actor)


@dataclass(frozen=True, slots=True)
class _WithReason(Command):
    payload: ClassVar[type[p.Payload]] = p.WithReason
    reason: str

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.WithReason) -> Self:
        return cls(actor, payload.reason)


def _self_or(actor: Actor, value: str | None) -> ParticipantId:
    return ParticipantId(value) if value is not None else ParticipantId(actor.id)


@dataclass(frozen=True, slots=True)
class Admit(_OnParticipant):
    name = "admit"

    def apply(self, session: CourtSession) -> None:
        session.admit(self.actor, self.participant_id)


@dataclass(frozen=True, slots=True)
class Deny(_OnParticipant):
    name = "deny"

    def apply(self, session: CourtSession) -> None:
        session.deny(self.actor, self.participant_id)


@dataclass(frozen=True, slots=True)
class Remove(_OnParticipant):
    name = "remove"

    def apply(self, session: CourtSession) -> None:
        session.remove(self.actor, self.participant_id)


@dataclass(frozen=True, slots=True)
class VerifyIdentity(_OnParticipant):
    name = "verify_identity"

    def apply(self, session: CourtSession) -> None:
        session.verify_identity(self.actor, self.participant_id)


@dataclass(frozen=True, slots=True)
class Unlock(_OnParticipant):
    name = "unlock"

    def apply(self, session: CourtSession) -> None:
        session.unlock(self.actor, self.participant_id)


@dataclass(frozen=True, slots=True)
class GiveFloor(_OnParticipant):
    name = "give_floor"

    def apply(self, session: CourtSession) -> None:
        session.give_floor(self.actor, self.participant_id)


@dataclass(frozen=True, slots=True)
class CallWitness(_OnParticipant):
    name = "call_witness"

    def apply(self, session: CourtSession) -> None:
        session.call_witness(self.actor, self.participant_id)


@dataclass(frozen=True, slots=True)
class DismissWitness(_OnParticipant):
    name = "dismiss_witness"

    def apply(self, session: CourtSession) -> None:
        session.dismiss_witness(self.actor, self.participant_id)


@dataclass(frozen=True, slots=True)
class Mute(Command):
    name = "mute"
    payload = p.Mute
    participant_id: ParticipantId
    """Yourself when the payload names nobody."""
    lock: bool

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.Mute) -> Self:
        return cls(actor, _self_or(actor, payload.participant_id), payload.lock)

    def apply(self, session: CourtSession) -> None:
        session.mute(self.actor, self.participant_id, self.lock)


@dataclass(frozen=True, slots=True)
class MuteAll(Command):
    name = "mute_all"
    payload = p.MuteAll
    lock: bool

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.MuteAll) -> Self:
        return cls(actor, payload.lock)

    def apply(self, session: CourtSession) -> None:
        session.mute_all(self.actor, self.lock)


@dataclass(frozen=True, slots=True)
class Unmute(Command):
    name = "unmute"
    payload = p.OptionalTarget
    participant_id: ParticipantId

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.OptionalTarget) -> Self:
        return cls(actor, _self_or(actor, payload.participant_id))

    def apply(self, session: CourtSession) -> None:
        session.unmute(self.actor, self.participant_id)


@dataclass(frozen=True, slots=True)
class LowerHand(Command):
    name = "lower_hand"
    payload = p.OptionalTarget
    participant_id: ParticipantId | None
    """None: your own hand."""

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.OptionalTarget) -> Self:
        target = payload.participant_id
        return cls(actor, None if target is None else ParticipantId(target))

    def apply(self, session: CourtSession) -> None:
        session.lower_hand(self.actor, self.participant_id)


@dataclass(frozen=True, slots=True)
class TakeFloor(_OnNobody):
    name = "take_floor"

    def apply(self, session: CourtSession) -> None:
        session.take_floor(self.actor)


@dataclass(frozen=True, slots=True)
class RaiseHand(_OnNobody):
    name = "raise_hand"

    def apply(self, session: CourtSession) -> None:
        session.raise_hand(self.actor)


@dataclass(frozen=True, slots=True)
class Start(_OnNobody):
    name = "start"

    def apply(self, session: CourtSession, recording_refusal: Text | None = None) -> None:
        """``recording_refusal``: why this server cannot record now, for a hearing that
        records by itself from its start (the session starts all the same)."""
        session.start(self.actor, recording_refusal)


@dataclass(frozen=True, slots=True)
class Resume(_OnNobody):
    name = "resume"

    def apply(self, session: CourtSession, recording_refusal: Text | None = None) -> None:
        """``recording_refusal``: why this server cannot record now, for a recording the
        suspension paused (it stays paused; the session resumes all the same)."""
        session.resume(self.actor, recording_refusal)


@dataclass(frozen=True, slots=True)
class Close(_OnNobody):
    name = "close"

    def apply(self, session: CourtSession) -> None:
        session.close(self.actor)


@dataclass(frozen=True, slots=True)
class StartRecording(_OnNobody):
    name = "start_recording"

    def apply(self, session: CourtSession) -> None:
        session.start_recording(self.actor)


@dataclass(frozen=True, slots=True)
class PauseRecording(_OnNobody):
    name = "pause_recording"

    def apply(self, session: CourtSession) -> None:
        session.pause_recording(self.actor)


@dataclass(frozen=True, slots=True)
class Suspend(_WithReason):
    name = "suspend"

    def apply(self, session: CourtSession) -> None:
        session.suspend(self.actor, self.reason)


@dataclass(frozen=True, slots=True)
class Postpone(_WithReason):
    name = "postpone"

    def apply(self, session: CourtSession) -> None:
        session.postpone(self.actor, self.reason)


@dataclass(frozen=True, slots=True)
class MoveToConsultation(Command):
    name = "move_to_consultation"
    payload = p.ConsultationMove
    participant_ids: tuple[ParticipantId, ...]
    room_name: str

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.ConsultationMove) -> Self:
        ids = tuple(ParticipantId(v) for v in payload.participant_ids)
        return cls(actor, ids, payload.room_name)

    def apply(self, session: CourtSession) -> object:
        return session.move_to_consultation(self.actor, list(self.participant_ids), self.room_name)


@dataclass(frozen=True, slots=True)
class ReturnFromConsultation(Command):
    name = "return_from_consultation"
    payload = p.ConsultationReturn
    participant_ids: tuple[ParticipantId, ...]

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.ConsultationReturn) -> Self:
        return cls(actor, tuple(ParticipantId(v) for v in payload.participant_ids))

    def apply(self, session: CourtSession) -> None:
        session.return_from_consultation(self.actor, list(self.participant_ids))


@dataclass(frozen=True, slots=True)
class SetScreening(Command):
    name = "set_screening"
    payload = p.ScreeningChange
    protected: ParticipantId
    hidden_from: ParticipantId
    active: bool
    audio: bool

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.ScreeningChange) -> Self:
        return cls(
            actor,
            ParticipantId(payload.protected),
            ParticipantId(payload.hidden_from),
            payload.active,
            payload.audio,
        )

    def apply(self, session: CourtSession) -> None:
        session.set_screening(
            self.actor, self.protected, self.hidden_from, active=self.active, audio=self.audio
        )


@dataclass(frozen=True, slots=True)
class ScreenShare(Command):
    name = "screen_share"
    payload = p.ScreenShare
    sharing: bool

    @classmethod
    def from_payload(cls, actor: Actor, payload: p.ScreenShare) -> Self:
        return cls(actor, payload.sharing)

    def apply(self, session: CourtSession) -> None:
        session.set_screen_share(self.actor, self.sharing)


COMMANDS: dict[str, type[Command]] = {
    command.name: command
    for command in (
        Admit,
        Deny,
        Remove,
        VerifyIdentity,
        Mute,
        MuteAll,
        Unmute,
        Unlock,
        GiveFloor,
        TakeFloor,
        RaiseHand,
        LowerHand,
        CallWitness,
        DismissWitness,
        MoveToConsultation,
        ReturnFromConsultation,
        Start,
        Suspend,
        Resume,
        Close,
        Postpone,
        StartRecording,
        PauseRecording,
        SetScreening,
        ScreenShare,
    )
}
"""Every control command by wire name (``protocol.COMMAND_PAYLOADS`` names the same payload
models for the protocol tables; a test keeps the two equal)."""


def result_of(value: object) -> dict[str, Any]:
    """What a command returns to the client: e.g. the new consultation room's id."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"result": value}
    return {"result": getattr(value, "value", str(value))}
