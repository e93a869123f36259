"""The track a subscriber's sender reads: encoded packets from a fan-out, not frames."""

from __future__ import annotations

import asyncio
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .fanout import CodecInfo
from .policy import Kind, TrackKey

__all__ = ["DEFAULT_QUEUE_LIMIT", "ForwardedTrack"]

DEFAULT_QUEUE_LIMIT = 64
"""Frames a slow sender may fall behind before the queue is flushed (about 2 s of video)."""


class ForwardedTrack(MediaStreamTrack):
    """A :class:`PacketSink` that aiortc's ``RTCRtpSender`` reads like a track.

    ``recv()`` returns ``av.Packet``; the sender then packetizes it with
    ``pack()`` and never encodes.  If the sender falls behind, the queue is
    flushed and the fan-out restarts this sink at the next keyframe rather
    than let latency grow without bound.
    """

    def __init__(self, kind: Kind, *, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        super().__init__()
        self.kind = kind
        self.__queue: asyncio.Queue[av.Packet[Any] | None] = asyncio.Queue()
        self.__queue_limit = queue_limit
        self.packets_in = 0
        "Packets accepted from fan-outs."
        self.packets_out = 0
        "Packets handed to the sender."
        self.overflows = 0
        "How many times the queue was flushed because the sender fell behind."

    @property
    def queued(self) -> int:
        return self.__queue.qsize()

    def on_packet(self, packet: av.Packet[Any], track: TrackKey, codec: CodecInfo) -> bool:
        if self.readyState != "live":
            return True
        if self.__queue.qsize() >= self.__queue_limit:
            self.overflows += 1
            self.clear()
            return False
        self.__queue.put_nowait(packet)
        self.packets_in += 1
        return True

    def clear(self) -> None:
        """Drop queued packets, so a paused stream delivers nothing more."""
        while not self.__queue.empty():
            self.__queue.get_nowait()

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self.__queue.get()
        if packet is None:
            raise MediaStreamError
        self.packets_out += 1
        return packet

    def stop(self) -> None:
        if self.readyState == "live":
            self.clear()
            self.__queue.put_nowait(None)
        super().stop()
