"""``hearing-server probe JOIN_URL``: join like a participant and tell IT staff what works.

The probe connects with a real join link, publishes a test pattern and tone (pre-encoded, so
it costs no encoder CPU), stays for a while, leaves (leaving never suspends a hearing, unlike
a dropped connection) and prints what it saw: the session, its own state, the server's
report of its link, and every track it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import socketio

from signaling.client import CommandRefused, HeadlessParticipant, JoinRefused, TrackReport


@dataclass
class ProbeResult:
    joined: bool
    error: str = ""
    participant: str = ""
    state: str = ""
    session: dict[str, Any] = field(default_factory=dict)
    media_enabled: bool = False
    media_tested: bool = False
    "Media is on and the probe published (not ``--no-media``): its link is judged too."
    media_connected: bool = False
    connect_seconds: float | None = None
    "From opening the socket to the media link being up."
    link: dict[str, Any] = field(default_factory=dict)
    "The server's last report of this link."
    tracks: list[TrackReport] = field(default_factory=list)
    still_connected: bool = False
    "Whether the signalling connection was still up when the probe finished."
    media_connected_at_end: bool = False
    "Whether the media link was still connected when the probe finished."
    ended_by_server: str = ""
    "Why the server closed the probe's connection (its goodbye), if it did."

    @property
    def problems(self) -> list[str]:
        """Everything that makes the probe fail, in words for IT staff: a probe that joined
        once but whose link then died is a failure, not a success."""
        if not self.joined:
            return [self.error or "did not join"]
        found: list[str] = []
        if self.ended_by_server:
            found.append(f"the server ended the connection: {self.ended_by_server}")
        elif not self.still_connected:
            found.append("the signalling connection dropped")
        if self.state in DEAD_STATES:
            found.append(f"the server shows this participant as {self.state}")
        if self.media_tested:
            if not self.media_connected:
                found.append("the media connection never came up (check UDP/TURN)")
            elif not self.media_connected_at_end:
                found.append("the media connection was lost")
        level = self.link.get("level")
        if level == "lost":
            found.append("the server reports this link as lost")
        silent = self.link.get("silent_seconds")
        if self.media_tested and isinstance(silent, int | float) and silent >= SILENT_SECONDS:
            found.append(f"the server received nothing from this link for {silent:.0f} s")
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> str:
        body = asdict(self)
        body["ok"] = self.ok
        body["problems"] = self.problems
        return json.dumps(body, ensure_ascii=False, indent=2)

    def as_text(self) -> str:
        if not self.joined:
            return f"NOT JOINED: {self.error}"
        title = self.session.get("title") or self.session.get("id", "")
        lines = [
            f"Joined «{title}» ({self.session.get('state', '?')}) as {self.participant}; "
            f"your state: {self.state}",
        ]
        if not self.media_enabled:
            lines.append("Media: off on this server (signalling only).")
        elif not self.media_connected:
            lines.append("Media: the connection to the server did NOT come up (check UDP/TURN).")
        else:
            lines.append(f"Media: connected in {self.connect_seconds:.2f} s.")
        if self.link:
            lines.append(
                "Link as the server sees it: {level}, loss {loss:.1%}, RTT {rtt}, "
                "in {inb:.0f} kbit/s, out {outb:.0f} kbit/s".format(
                    level=self.link.get("level"),
                    loss=self.link.get("loss") or 0.0,
                    rtt=_ms(self.link.get("rtt_ms")),
                    inb=self.link.get("bitrate_in_kbps") or 0.0,
                    outb=self.link.get("bitrate_out_kbps") or 0.0,
                )
            )
        if self.tracks:
            lines.append(
                f"{'publisher':<34} {'source':<11} {'frames':>7} {'packets':>8} "
                f"{'lost':>5} {'first frame':>12}"
            )
            for t in self.tracks:
                first = "-" if t.first_frame_after is None else f"{t.first_frame_after:.2f} s"
                lines.append(
                    f"{t.publisher:<34} {t.source:<11} {t.frames:>7} {t.packets:>8} "
                    f"{t.packets_lost:>5} {first:>12}"
                )
        elif self.media_connected:
            lines.append("Received no tracks (alone, in the lobby, or nobody may be seen).")
        lines.extend(f"Problem: {problem}" for problem in self.problems)
        lines.append("OK" if self.ok else "PROBLEM")
        return "\n".join(lines)


DEAD_STATES = frozenset({"disconnected", "left", "removed", "denied"})
"""Participant states in which the probe is not (or no longer) taking part."""
SILENT_SECONDS = 5.0
"""Silence the server may report of the probe's link before the probe fails."""


def _ms(value: object) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.0f} ms"


async def run_probe(join_url: str, seconds: float, *, publish: bool = True) -> ProbeResult:
    """Join, stay ``seconds``, leave; never raises for a refused or failed join."""
    try:
        person = HeadlessParticipant.from_join_url(join_url, timeout=max(10.0, seconds))
    except ValueError as exc:
        return ProbeResult(joined=False, error=str(exc))
    started = time.monotonic()
    try:
        try:
            welcome = await person.join()
        except JoinRefused as refused:
            return ProbeResult(joined=False, error=str(refused))
        except (socketio.exceptions.SocketIOError, OSError, TimeoutError) as exc:
            return ProbeResult(joined=False, error=f"cannot reach the server: {exc}")
        view = welcome.get("view") or {}
        you = view.get("you") or {}
        result = ProbeResult(
            joined=True,
            participant=f"{you.get('name', '?')} ({you.get('role', '?')})",
            state=str(you.get("state", "")),
            session=dict(view.get("session") or {}),
            media_enabled=bool((welcome.get("media") or {}).get("enabled")),
        )
        try:
            await _stay(person, result, started + seconds, publish)
        except (socketio.exceptions.SocketIOError, OSError, TimeoutError) as exc:
            # The link died under the probe (BadNamespaceError once the server is gone): a
            # finding to report, never a traceback.
            result.error = result.error or f"the connection failed: {exc!r}"
        result.still_connected = person.sio.connected and person.goodbye is None
        result.media_connected_at_end = person.media.pc.connectionState == "connected"
        if person.goodbye is not None:
            result.ended_by_server = _goodbye_reason(person.goodbye)
        result.state = str((person.view.get("you") or {}).get("state", result.state))
        reports = [body for name, body in person.events if name == "quality"]
        result.link = dict(reports[-1]) if reports else {}
        result.tracks = await person.report()
        if result.still_connected:
            with contextlib.suppress(
                CommandRefused, socketio.exceptions.SocketIOError, TimeoutError
            ):
                await person.leave()
        return result
    finally:
        with contextlib.suppress(socketio.exceptions.SocketIOError, OSError, TimeoutError):
            await person.close()


async def _stay(
    person: HeadlessParticipant, result: ProbeResult, deadline: float, publish: bool
) -> None:
    """Publish, then watch the link until ``deadline`` or until the server drops it."""
    started = person.joined_at or time.monotonic()
    if result.media_enabled and publish:
        result.media_tested = True
        try:
            await person.publish()
        except CommandRefused as refused:
            result.error = str(refused.error.get("message", {}).get("en", refused))
    while time.monotonic() < deadline and person.sio.connected and person.goodbye is None:
        if not result.media_connected and person.media.pc.connectionState == "connected":
            result.media_connected = True
            result.connect_seconds = time.monotonic() - started
        await asyncio.sleep(0.1)


def _goodbye_reason(goodbye: dict[str, Any]) -> str:
    message = goodbye.get("message")
    if isinstance(message, dict) and message.get("en"):
        return str(message["en"])
    return str(goodbye.get("reason") or goodbye)
