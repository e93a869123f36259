"""Forwarding yields the event loop after a slice of packets in a row."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from signaling.media import aiortc_internals as internals
from signaling.media.forwarding_slice import SLICE_SECONDS, ForwardingSlice

from .test_aiortc_internals import make_transport


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_slice_runs_out_after_its_time_and_the_next_packet_starts_another() -> None:
    clock = Clock()
    share = ForwardingSlice(0.004, clock)
    assert not share.spent()  # the first packet starts the slice
    clock.now += 0.003
    assert not share.spent()
    clock.now += 0.002
    assert share.spent()
    assert share.yields == 1
    clock.now += 1.0  # the loop did other work meanwhile: not forwarding's time
    assert not share.spent()
    clock.now += 0.001
    assert not share.spent()


def test_a_slice_of_nothing_yields_after_every_packet_and_a_negative_one_is_refused() -> None:
    share = ForwardingSlice(0.0, Clock())
    assert share.spent()
    assert share.spent()
    with pytest.raises(ValueError, match="negative"):
        ForwardingSlice(-1.0)


async def test_the_tap_lets_the_loop_turn_once_forwarding_held_it_for_a_slice() -> None:
    """A burst of packets waiting on a socket is worked through by one task that would
    never yield; a timer due meanwhile runs once a slice is spent, not after the burst."""
    receiver = RTCRtpReceiver("video", make_transport())
    tap = internals.install_rtp_tap(receiver, lambda c, p: None, lambda s, n, r, f: None, bool)
    turned_at: list[int] = []
    done = 0

    def turned() -> None:
        turned_at.append(done)

    async def burst() -> None:
        nonlocal done
        for number in range(20):
            await tap.handle_rtp(RtpPacket(payload_type=96, sequence_number=number), 0)
            time.sleep(SLICE_SECONDS / 2)  # noqa: ASYNC251 - forwarding one packet to many
            done = number + 1
            if number == 0:  # due now: runs at the loop's next turn
                asyncio.get_running_loop().call_soon(turned)

    await burst()
    assert turned_at and turned_at[0] < 20, turned_at
