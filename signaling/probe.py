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
    media_connected: bool = False
    connect_seconds: float | None = None
    "From opening the socket to the media link being up."
    link: dict[str, Any] = field(default_factory=dict)
    "The server's last report of this link."
    tracks: list[TrackReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.joined and (not self.media_enabled or self.media_connected)

    def as_json(self) -> str:
        body = asdict(self)
        body["ok"] = self.ok
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
        lines.append("OK" if self.ok else "PROBLEM")
        return "\n".join(lines)


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
        except (socketio.exceptions.ConnectionError, OSError, TimeoutError) as exc:
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
        if result.media_enabled and publish:
            try:
                await person.publish()
            except CommandRefused as refused:
                result.error = str(refused.error.get("message", {}).get("en", refused))
        deadline = started + seconds
        while time.monotonic() < deadline:
            if not result.media_connected and person.media.pc.connectionState == "connected":
                result.media_connected = True
                result.connect_seconds = time.monotonic() - started
            await asyncio.sleep(0.1)
        result.state = str((person.view.get("you") or {}).get("state", result.state))
        reports = [body for name, body in person.events if name == "quality"]
        result.link = dict(reports[-1]) if reports else {}
        result.tracks = await person.report()
        with contextlib.suppress(CommandRefused, TimeoutError):
            await person.leave()
        return result
    finally:
        await person.close()
