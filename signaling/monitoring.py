"""What court IT staff watch: each participant's link quality, and alerts that need a person.

Link reports come from the media gateway of the process that carries the session's media;
they go to the participant (its own indicator) and to everyone watching the session, through
socket.io rooms so monitors connected to other processes get them too. A participant whose
media stops for ``media_silence_seconds`` is marked disconnected in the domain (which may
suspend the hearing) and an alert is raised; when media comes back they return.

A silence found while the server's own event loop was lagging may be ours, not the link's
(``silence_verdict``): it is not taken for a lost courtroom until the link shows its own loss.
The loop's lag is watched here too, and IT staff are told when the server is overloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from rooms.alerts import Alert, AlertKind, LowSpaceAlarm
from rooms.errors import DomainError
from rooms.ids import ParticipantId, SessionId
from rooms.participants import Actor
from rooms.permissions import Action, may
from rooms.session import CourtSession
from rooms.states import ParticipantState
from signaling.gateway import LinkReport, MediaGateway
from signaling.loop_lag import LoopLagMonitor, OverloadAlarm

log = logging.getLogger(__name__)

STOP_DRAIN_SECONDS = 3.0
"""How long stopping waits for a round of measuring to finish before cancelling it."""
POOR_REPORTS_BEFORE_ALERT = 3
"""A poor link must stay poor this many reports in a row before staff are bothered."""

LOSS_RETRY_FIRST_SECONDS = 0.2
LOSS_RETRY_MAX_SECONDS = 5.0
"""Backing off between attempts to record a lost connection the database refused."""
ALERT_COALESCE_SECONDS = 60.0
"""A person's link dropping again within this time raises no second alert of the same kind:
a client that keeps reconnecting must not bury the court's IT staff in alerts."""

LOST_CONNECTION_STATES = frozenset({"failed", "closed", "disconnected"})
QUIET_CONNECTION_STATES = frozenset({"none", "new", "connecting", "checking"})
FAILED_LINK_STATES = frozenset({"failed", "closed"})
"""The peer connection's own verdict (ICE consent expired, DTLS closed): the link is gone."""
RTCP_EVIDENCE_SECONDS = 5.0
"""A live peer sends RTCP reports every second or so (browsers, aiortc): none for this long
on a steady loop means the link is gone, whatever the server's earlier lag."""


class SilenceVerdict(StrEnum):
    LOST = "lost"
    "Record the loss (which may suspend the hearing)."
    WAIT = "wait"
    "Not (yet) a loss: too short, or possibly the server's own stall."


@dataclass(frozen=True, slots=True)
class SilencePolicy:
    """When media silence counts as a lost link; all in seconds."""

    limit: float
    "``media_silence_seconds``: silence this long on a steady server is a loss."
    lag_threshold: float
    "A loop later than this during the silence makes the silence suspect."
    grace_after_lag: float
    "A suspect silence counts once it has lasted this long on a steady loop."
    rtcp_evidence: float = RTCP_EVIDENCE_SECONDS

    def __post_init__(self) -> None:
        if min(self.limit, self.lag_threshold, self.grace_after_lag, self.rtcp_evidence) <= 0:
            raise ValueError("silence policy durations must be positive")


def silence_verdict(
    policy: SilencePolicy,
    *,
    silent_seconds: float,
    loop_lag_max: float,
    loop_steady_seconds: float,
    connection: str,
    rtcp_quiet_seconds: float | None,
) -> SilenceVerdict:
    """Whether a participant's media silence is a lost link. ``loop_lag_max``: the server's
    worst event-loop lateness during the silence (or the grace before it);
    ``loop_steady_seconds``: since the loop was last late; ``rtcp_quiet_seconds``: since
    the peer's last RTCP report (None: never).

    If the server itself stalled during the silence, the frames may be waiting in our own
    socket buffers: the silence alone proves nothing, only the link's evidence does — a
    failed or closed connection, no RTCP on a loop steady long enough to have read it, or
    the silence outlasting a grace after the stall ended."""
    if silent_seconds < policy.limit:
        return SilenceVerdict.WAIT
    if connection in FAILED_LINK_STATES or loop_lag_max < policy.lag_threshold:
        return SilenceVerdict.LOST
    if loop_steady_seconds >= policy.rtcp_evidence and (
        rtcp_quiet_seconds is None or rtcp_quiet_seconds >= policy.rtcp_evidence
    ):
        return SilenceVerdict.LOST
    if loop_steady_seconds >= policy.grace_after_lag:
        return SilenceVerdict.LOST
    return SilenceVerdict.WAIT


def monitor_room(session_id: str) -> str:
    """socket.io room of the monitors watching a session (cluster-wide through the manager)."""
    return f"monitor:{session_id}"


def link_level(report: LinkReport, silence_limit: float) -> str:
    """One word for a link, for the colour of an indicator: good, fair, poor, lost, unknown."""
    if report.connection in LOST_CONNECTION_STATES:
        return "lost"
    if report.connection in QUIET_CONNECTION_STATES:
        return "unknown"
    if report.silent_seconds is not None and report.silent_seconds >= silence_limit:
        return "lost"
    rtt = report.rtt_ms or 0.0
    jitter = report.jitter_ms or 0.0
    if report.loss > 0.08 or rtt > 400 or jitter > 100:
        return "poor"
    if report.loss > 0.02 or rtt > 200 or jitter > 40:
        return "fair"
    return "good"


def link_body(report: LinkReport, silence_limit: float) -> dict[str, Any]:
    body = asdict(report)
    body["level"] = link_level(report, silence_limit)
    for key in ("loss", "jitter_ms", "rtt_ms", "bitrate_in_kbps", "bitrate_out_kbps"):
        if body[key] is not None:
            body[key] = round(body[key], 3 if key == "loss" else 1)
    for key in ("silent_seconds", "rtcp_quiet_seconds"):
        if body[key] is not None:
            body[key] = round(body[key], 1)
    return body


def alert_body(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "session_id": alert.session_id,
        "participant_id": alert.participant_id,
        "kind": alert.kind.value,
        "message": alert.message.as_dict(),
        "at": alert.raised_at.isoformat(),
        "acknowledged_by": (
            None
            if alert.acknowledged_by is None
            else {"id": alert.acknowledged_by, "name": alert.acknowledged_by_name or ""}
        ),
        "acknowledged_at": (
            None if alert.acknowledged_at is None else alert.acknowledged_at.isoformat()
        ),
    }


@dataclass
class _LinkMemory:
    silenced: bool = False
    "We marked this participant disconnected for media silence."
    suspect_silence: bool = False
    "A silence found while the server lagged is waiting for the link's own evidence."
    poor_streak: int = 0
    poor_alerted: bool = False


@dataclass
class _SessionLinks:
    last: dict[str, dict[str, Any]] = field(default_factory=dict)
    memory: dict[str, _LinkMemory] = field(default_factory=dict)


class Monitoring:
    """Measures links on a timer and keeps staff informed; one per signalling server."""

    def __init__(
        self,
        *,
        sio: Any,
        gateway: MediaGateway,
        service: Callable[[], Any],
        participant_room: Callable[[str, str], str],
        interval: float,
        silence: SilencePolicy,
        loop_lag: LoopLagMonitor,
        overload: OverloadAlarm,
        low_space: LowSpaceAlarm | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sio = sio
        self._gateway = gateway
        self._service = service
        self._participant_room = participant_room
        self._interval = interval
        self._silence = silence
        self._silence_limit = silence.limit
        self._loop_lag = loop_lag
        self._overload = overload
        self._low_space = low_space
        self._sessions: dict[str, _SessionLinks] = {}
        self._monotonic = monotonic
        self._recent_losses: dict[tuple[str, str, AlertKind], float] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping.clear()
        self._loop_lag.start()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Let a round of measuring in progress finish (it may be recording a loss in the
        database: cut off mid-query, the driver would answer a loop that is gone), then
        cancel what is still running after a few seconds."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), STOP_DRAIN_SECONDS)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._loop_lag.stop()

    def quality(self, session_id: str) -> dict[str, Any]:
        """The latest reports of a session this process measured (for a new watcher)."""
        links = self._sessions.get(session_id)
        return {"session_id": session_id, "participants": dict(links.last) if links else {}}

    async def open_alerts(self, session_id: SessionId) -> list[dict[str, Any]]:
        return [alert_body(a) for a in await self._service().alerts(Actor.system(), session_id)]

    async def alert(
        self,
        session_id: SessionId,
        participant_id: ParticipantId | None,
        kind: AlertKind,
        **facts: object,
    ) -> None:
        alert = await self._service().raise_alert(session_id, participant_id, kind, **facts)
        await self._sio.emit("alert", alert_body(alert), room=monitor_room(session_id))

    async def recording_failed(self, session_id: SessionId, track: str, detail: str) -> None:
        """The hearing's recording cannot be written: the monitors are alerted like for any
        alert, and so are the people in the hearing who run its recording (the presiding
        judge, the clerk, the technician: whoever may start it), on their console."""
        alert = await self._service().raise_alert(
            session_id, None, AlertKind.RECORDING_FAILED, track=track, detail=detail
        )
        body = alert_body(alert)
        await self._sio.emit("alert", body, room=monitor_room(session_id))
        session = await self._service().session(Actor.system(), session_id)
        for person in session.participants.values():
            if may(person.role, Action.START_RECORDING):
                await self._sio.emit(
                    "alert", body, room=self._participant_room(session_id, person.id)
                )

    async def acknowledge_all(self, actor: Actor, session_id: SessionId) -> list[dict[str, Any]]:
        """Every open alert of one session taken in charge at once; each monitor is told."""
        alerts = await self._service().acknowledge_session_alerts(actor, session_id)
        bodies = [alert_body(alert) for alert in alerts]
        for body in bodies:
            await self._sio.emit("alert", body, room=monitor_room(session_id))
        return bodies

    async def acknowledge(self, actor: Actor, session_id: str, alert_id: str) -> dict[str, Any]:
        alert = await self._service().acknowledge_alert(actor, alert_id)
        body = alert_body(alert)
        await self._sio.emit("alert", body, room=monitor_room(str(alert.session_id)))
        return body

    async def connection_lost(
        self,
        session_id: SessionId,
        participant_id: ParticipantId,
        kind: AlertKind,
        reason: str,
        **facts: object,
    ) -> bool:
        """A participant's link died (socket dropped, or media silent): the domain hears of
        it, which may suspend the hearing, and staff are alerted. Whether it was recorded."""
        key = (session_id, participant_id, kind)
        try:
            alerts = await self._service().record_lost_connection(
                session_id,
                participant_id,
                kind,
                reason,
                alert_staff=not self._lost_lately(key),
                **facts,
            )
        except DomainError as error:
            log.info("disconnect of %s not recorded: %s", participant_id, error.rule)
            return False
        # Noted only once recorded: a loss the database refused is alerted when it is taken.
        self._recent_losses[key] = self._monotonic()
        for alert in alerts:
            await self._sio.emit("alert", alert_body(alert), room=monitor_room(session_id))
        return True

    async def connection_lost_until_recorded(
        self,
        session_id: SessionId,
        participant_id: ParticipantId,
        reason: str,
        still_lost: Callable[[], bool],
    ) -> None:
        """A dropped socket is never forgotten: a loss the database could not take (full
        disk, database away) is retried, backing off, until it is recorded or the person is
        back. If the server stops first, its next start sweeps the loss."""
        delay = LOSS_RETRY_FIRST_SECONDS
        while still_lost():
            try:
                await self.connection_lost(
                    session_id, participant_id, AlertKind.DISCONNECTED, reason
                )
                return
            except Exception:
                log.exception("recording the loss of %s failed; retrying", participant_id)
            await asyncio.sleep(delay)
            delay = min(delay * 2, LOSS_RETRY_MAX_SECONDS)

    def _lost_lately(self, key: tuple[str, str, AlertKind]) -> bool:
        """Whether this link's loss of this kind was recorded (and alerted) a moment ago."""
        now = self._monotonic()
        for known, at in list(self._recent_losses.items()):
            if now - at >= ALERT_COALESCE_SECONDS:
                del self._recent_losses[known]
        return key in self._recent_losses

    async def _name(self, session_id: SessionId, participant_id: ParticipantId) -> str:
        session: CourtSession = await self._service().session(Actor.system(), session_id)
        person = session.participants.get(participant_id)
        return participant_id if person is None else person.name

    # -- the timer --------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
            if self._stopping.is_set():
                return
            # Links first: the moment after a stall is when a silence must be judged (and
            # found suspect), not after a database write for the overload alert.
            for session_id in self._gateway.sessions():
                try:
                    await self._measure(session_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("measuring the links of %s failed", session_id)
            try:
                await self._watch_overload()
                await self._watch_space()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alerting staff of the server's own trouble failed")
            for gone in set(self._sessions) - set(self._gateway.sessions()):
                del self._sessions[gone]

    async def _measure(self, session_id: str) -> None:
        reports = await self._gateway.links(session_id)
        links = self._sessions.setdefault(session_id, _SessionLinks())
        links.last = {pid: link_body(r, self._silence_limit) for pid, r in reports.items()}
        for pid, body in links.last.items():
            await self._sio.emit(
                "quality",
                {"participant_id": pid, **body},
                room=self._participant_room(session_id, pid),
            )
        await self._sio.emit("quality", self.quality(session_id), room=monitor_room(session_id))
        # Only people with media now are remembered: one who left starts afresh if they return.
        links.memory = {pid: m for pid, m in links.memory.items() if pid in reports}
        for pid, report in reports.items():
            memory = links.memory.setdefault(pid, _LinkMemory())
            await self._judge(SessionId(session_id), ParticipantId(pid), report, memory)

    async def _watch_overload(self) -> None:
        """One alert about the whole server per overload episode, with the figures; shown
        live to whoever watches a session this process carries, and to every watcher later."""
        lag, alarm = self._loop_lag, self._overload
        late = lag.late_seconds(alarm.window, alarm.threshold)
        if not alarm.observe(lag.now(), late, lag.steady_seconds(alarm.threshold)):
            return
        figures = lag.figures()
        log.warning(
            "server overloaded: event loop late up to %.0f ms (p99 %.0f ms)",
            figures.max_ms,
            figures.p99_ms,
        )
        await self._alert_server(
            AlertKind.SERVER_OVERLOADED,
            max_ms=round(figures.max_ms),
            p99_ms=round(figures.p99_ms),
            seconds=round(figures.window_seconds),
        )

    async def _watch_space(self) -> None:
        """Warn IT staff while there is still room: recording stops being possible under
        the floor, and a full disk loses what is being written."""
        space = self._gateway.recording_space() if self._low_space is not None else None
        if space is None or self._low_space is None or not self._low_space.observe(space.free_mb):
            return
        log.warning("space for recordings is running out: %d MB left", space.free_mb)
        await self._alert_server(
            AlertKind.RECORDING_SPACE_LOW, free_mb=space.free_mb, min_mb=space.min_free_mb
        )

    async def _alert_server(self, kind: AlertKind, **figures: object) -> None:
        """An alert about the whole server: stored for every watcher to come, and shown now
        to whoever watches a session this process carries."""
        alert = await self._service().raise_alert(None, None, kind, **figures)
        for session_id in self._gateway.sessions():
            await self._sio.emit("alert", alert_body(alert), room=monitor_room(session_id))

    def _silence_is_loss(self, report: LinkReport, silent: float, memory: _LinkMemory) -> bool:
        threshold = self._silence.lag_threshold
        verdict = silence_verdict(
            self._silence,
            silent_seconds=silent,
            # A stall just before the silence counts too: frames read late after a stall
            # make the silence seem to start when the stall ended.
            loop_lag_max=self._loop_lag.max_lag(silent + self._silence.grace_after_lag),
            loop_steady_seconds=self._loop_lag.steady_seconds(threshold),
            connection=report.connection,
            rtcp_quiet_seconds=report.rtcp_quiet_seconds,
        )
        if verdict is SilenceVerdict.WAIT and not memory.suspect_silence:
            memory.suspect_silence = True
            log.warning(
                "no media from %s for %.1f s while this server lagged: waiting for the link's "
                "own evidence before calling it lost",
                report.participant_id,
                silent,
            )
        return verdict is SilenceVerdict.LOST

    async def _judge(
        self, session_id: SessionId, pid: ParticipantId, report: LinkReport, memory: _LinkMemory
    ) -> None:
        silent = report.silent_seconds
        if silent is not None and silent < self._silence_limit:
            memory.suspect_silence = False
        if (
            not memory.silenced
            and silent is not None
            and silent >= self._silence_limit
            and self._silence_is_loss(report, silent, memory)
        ):
            memory.silenced = await self.connection_lost(
                session_id, pid, AlertKind.MEDIA_SILENT, "media_silence", seconds=round(silent)
            )
        elif memory.silenced and silent is not None and silent < self._interval:
            memory.silenced = not await self._mark_back(session_id, pid)
        level = link_level(report, self._silence_limit)
        memory.poor_streak = memory.poor_streak + 1 if level == "poor" else 0
        if level == "good":
            memory.poor_alerted = False
        if memory.poor_streak >= POOR_REPORTS_BEFORE_ALERT and not memory.poor_alerted:
            memory.poor_alerted = True
            await self.alert(
                session_id,
                pid,
                AlertKind.CONNECTION_POOR,
                name=await self._name(session_id, pid),
                # Every measure is named: a link is poor by delay or jitter as well as by
                # loss, and "0% loss" alone would contradict "poor".
                loss=round(report.loss * 100),
                rtt_ms=round(report.rtt_ms or 0),
                jitter_ms=round(report.jitter_ms or 0),
            )

    async def _mark_back(self, session_id: SessionId, pid: ParticipantId) -> bool:
        """Media flows again: the person returns to where the silence found them."""
        session = await self._service().session(Actor.system(), session_id)
        person = session.participants.get(pid)
        if person is None or person.state is not ParticipantState.DISCONNECTED:
            return True
        try:
            await self._service().execute(
                Actor.system(),
                session_id,
                "participant.join",
                lambda s: s.join(pid),
                {"participant": pid, "reason": "media_resumed"},
            )
        except DomainError as error:
            log.info("return of %s after media silence refused: %s", pid, error.rule)
            return False
        return True
