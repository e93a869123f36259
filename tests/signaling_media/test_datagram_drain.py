"""A publisher's link survives a slow event loop: the server reads every waiting datagram
when its socket is readable, so a STUN consent check is not queued behind seconds of media.

At 100 points (benchmarks.meeting) the chair's camera link closed with "Consent to send
expired": on the standard asyncio loop a UDP socket gave one datagram per loop turn, the
chair sent more per second than the loaded server turned, and aioice's half-second
consent checks waited behind the backlog until six in a row had failed.
"""

from __future__ import annotations

import asyncio
import time

import aioice
from aiortc import RTCPeerConnection

from signaling.media import AllowAll
from signaling.media.synthetic import vp8_test_pattern_clip

from .harness import Harness, wait_until

TURN_SECONDS = 0.025
"""Each turn of the loop lasts this long at least: 40 turns a second, fewer than the
datagrams a 640x480 camera and a microphone send (about 140 a second)."""
FLOOD_SECONDS = 4.0
"""How long the publisher sends into the slow loop before the check: one datagram read per
turn would leave a backlog of some 400 datagrams, about 10 s of waiting."""
CONSENT_TIMEOUT = 0.5
"""What aioice waits for a consent answer (one try, no retransmission) before it counts a
failure; six in a row close the link."""


class SlowTurns:
    """Makes every turn of the running loop take ``seconds`` or more, as a server's loop
    busy with a hundred peers on a loaded machine does."""

    def __init__(self, seconds: float) -> None:
        self.__seconds = seconds
        self.__handle: asyncio.Handle | None = None

    def start(self) -> None:
        self.__handle = asyncio.get_running_loop().call_soon(self.__turn)

    def stop(self) -> None:
        if self.__handle is not None:
            self.__handle.cancel()
            self.__handle = None

    def __turn(self) -> None:
        time.sleep(self.__seconds)  # deliberately blocking: this is the busy loop
        # Scheduled from a callback, it runs in the next turn: one sleep per turn.
        self.__handle = asyncio.get_running_loop().call_soon(self.__turn)


async def consent_round_trip(pc: RTCPeerConnection) -> float:
    """Seconds the far end takes to answer one consent check on the nominated pair, sent as
    aioice sends it (no retransmission); ``TransactionTimeout`` past its timeout."""
    connection: aioice.Connection = pc.getTransceivers()[0].receiver.transport.transport._connection
    pair = connection._nominated[1]
    assert connection.remote_password is not None
    request = connection.build_request(pair, nominate=False)
    started = time.monotonic()
    await pair.protocol.request(
        request,
        pair.remote_addr,
        integrity_key=connection.remote_password.encode("utf8"),
        retransmissions=0,
    )
    return time.monotonic() - started


async def test_a_consent_check_is_answered_in_time_while_a_publisher_floods_a_slow_loop() -> None:
    vp8_test_pattern_clip()  # encoded before the peers start: it stalls the loop too
    harness = Harness(AllowAll())
    try:
        publisher = await harness.join("judge", vp8_test_pattern_clip(), decode=False)
        peer = harness.room.peer("judge")
        assert await wait_until(
            lambda: (
                peer.connection_state == "connected"
                and all(f.packets_in > 0 for f in peer.published.values())
            ),
            within=20,
        )
        assert await consent_round_trip(publisher.pc) < CONSENT_TIMEOUT  # a quiet loop
        slow = SlowTurns(TURN_SECONDS)
        slow.start()
        try:
            await asyncio.sleep(FLOOD_SECONDS)
            camera = peer.published["camera"]
            before = camera.packets_in
            round_trip = await consent_round_trip(publisher.pc)
            assert round_trip < CONSENT_TIMEOUT
            # Media still arrives beside the check (the publisher shares the slow loop, so
            # it may send nothing during the round trip itself: wait for what comes next).
            assert await wait_until(lambda: camera.packets_in > before, within=20)
        finally:
            slow.stop()
    finally:
        await harness.close()
