"""Control commands as one table: command name, payload model, and the aggregate call.

No permission is checked here: the aggregate decides (rooms.permissions), the service audits
both outcomes. The actor is always the connection's own participant, never an id from the
payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rooms.ids import ParticipantId
from rooms.participants import Actor
from rooms.session import CourtSession
from signaling import protocol as p

M = TypeVar("M", bound=p.Payload)


@dataclass(frozen=True, slots=True)
class Command(Generic[M]):
    name: str
    model: type[M]
    apply: Callable[[CourtSession, Actor, M], object]

    @property
    def audit_action(self) -> str:
        return f"session.{self.name}"

    def bind(self, actor: Actor, payload: p.Payload) -> Callable[[CourtSession], object]:
        """The command as ``HearingService.execute`` takes it."""
        if not isinstance(payload, self.model):
            raise TypeError(f"{self.name} takes {self.model.__name__}, not {type(payload)}")
        typed: M = payload
        return lambda session: self.apply(session, actor, typed)


def audit_detail(payload: p.Payload) -> dict[str, Any]:
    """The command's arguments as the audit log keeps them (the client's ref is not kept)."""
    return payload.model_dump(mode="json", exclude={"ref"}, exclude_none=True)


def _pid(value: str) -> ParticipantId:
    return ParticipantId(value)


def _pids(values: list[str]) -> list[ParticipantId]:
    return [ParticipantId(v) for v in values]


def _self_or(actor: Actor, value: str | None) -> ParticipantId:
    return ParticipantId(value) if value is not None else ParticipantId(actor.id)


_TABLE: tuple[Command[Any], ...] = (
    Command("admit", p.Target, lambda s, a, m: s.admit(a, _pid(m.participant_id))),
    Command("deny", p.Target, lambda s, a, m: s.deny(a, _pid(m.participant_id))),
    Command("remove", p.Target, lambda s, a, m: s.remove(a, _pid(m.participant_id))),
    Command(
        "verify_identity", p.Target, lambda s, a, m: s.verify_identity(a, _pid(m.participant_id))
    ),
    Command("mute", p.Mute, lambda s, a, m: s.mute(a, _self_or(a, m.participant_id), m.lock)),
    Command("mute_all", p.MuteAll, lambda s, a, m: s.mute_all(a, m.lock)),
    Command("unmute", p.OptionalTarget, lambda s, a, m: s.unmute(a, _self_or(a, m.participant_id))),
    Command("unlock", p.Target, lambda s, a, m: s.unlock(a, _pid(m.participant_id))),
    Command("give_floor", p.Target, lambda s, a, m: s.give_floor(a, _pid(m.participant_id))),
    Command("take_floor", p.Empty, lambda s, a, m: s.take_floor(a)),
    Command("raise_hand", p.Empty, lambda s, a, m: s.raise_hand(a)),
    Command(
        "lower_hand",
        p.OptionalTarget,
        lambda s, a, m: s.lower_hand(
            a, _pid(m.participant_id) if m.participant_id is not None else None
        ),
    ),
    Command("call_witness", p.Target, lambda s, a, m: s.call_witness(a, _pid(m.participant_id))),
    Command(
        "dismiss_witness", p.Target, lambda s, a, m: s.dismiss_witness(a, _pid(m.participant_id))
    ),
    Command(
        "move_to_consultation",
        p.ConsultationMove,
        lambda s, a, m: s.move_to_consultation(a, _pids(m.participant_ids), m.room_name),
    ),
    Command(
        "return_from_consultation",
        p.ConsultationReturn,
        lambda s, a, m: s.return_from_consultation(a, _pids(m.participant_ids)),
    ),
    Command("start", p.Empty, lambda s, a, m: s.start(a)),
    Command("suspend", p.WithReason, lambda s, a, m: s.suspend(a, m.reason)),
    Command("resume", p.Empty, lambda s, a, m: s.resume(a)),
    Command("close", p.Empty, lambda s, a, m: s.close(a)),
    Command("postpone", p.WithReason, lambda s, a, m: s.postpone(a, m.reason)),
    Command("start_recording", p.Empty, lambda s, a, m: s.start_recording(a)),
    Command("pause_recording", p.Empty, lambda s, a, m: s.pause_recording(a)),
    Command(
        "set_screening",
        p.ScreeningChange,
        lambda s, a, m: s.set_screening(
            a, _pid(m.protected), _pid(m.hidden_from), active=m.active, audio=m.audio
        ),
    ),
    Command("screen_share", p.ScreenShare, lambda s, a, m: s.set_screen_share(a, m.sharing)),
)

COMMANDS: dict[str, Command[Any]] = {command.name: command for command in _TABLE}
"""Every control command; ``protocol.COMMAND_PAYLOADS`` names the same set (a test checks)."""


def result_of(value: object) -> dict[str, Any]:
    """What a command returns to the client: e.g. the new consultation room's id."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"result": value}
    return {"result": getattr(value, "value", str(value))}
