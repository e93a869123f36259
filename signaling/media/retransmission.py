"""What one outgoing RTP stream sent lately, so a receiver's NACK can be answered."""

from __future__ import annotations

from struct import Struct

__all__ = ["DEFAULT_HISTORY_SIZE", "RetransmissionHistory", "wrap_rtx"]

DEFAULT_HISTORY_SIZE = 512
"""Packets kept per stream: about a second and a half of 500 kbit/s video."""

_FIXED = Struct("!BBHLL")


class RetransmissionHistory:
    """A ring of the last ``size`` packets sent, as written (before SRTP), by sequence number."""

    def __init__(self, size: int = DEFAULT_HISTORY_SIZE) -> None:
        if size <= 0:
            raise ValueError(f"history size must be positive, got {size}")
        self.__size = size
        self.__sequence: list[int] = [-1] * size
        self.__packets: list[bytes] = [b""] * size

    def store(self, sequence_number: int, packet: bytes) -> None:
        slot = sequence_number % self.__size
        self.__sequence[slot] = sequence_number
        self.__packets[slot] = packet

    def get(self, sequence_number: int) -> bytes | None:
        """The packet sent as ``sequence_number``, or ``None`` once it has been overwritten."""
        slot = sequence_number % self.__size
        if self.__sequence[slot] != sequence_number:
            return None
        return self.__packets[slot]


def _header_length(packet: bytes) -> int:
    length = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        words = (packet[length + 2] << 8) | packet[length + 3]
        length += 4 + 4 * words
    return length


def wrap_rtx(packet: bytes, payload_type: int, sequence_number: int, ssrc: int) -> bytes:
    """The RFC 4588 retransmission of ``packet``: RTX payload type, sequence and SSRC, the
    original sequence number in front of the payload, timestamp and extensions kept."""
    first: int
    second: int
    original_sequence: int
    timestamp: int
    first, second, original_sequence, timestamp, _ = _FIXED.unpack_from(packet)
    length = _header_length(packet)
    header = _FIXED.pack(
        first & 0xDF,  # padding is not carried over
        (second & 0x80) | payload_type,
        sequence_number,
        timestamp,
        ssrc,
    )
    return header + packet[12:length] + original_sequence.to_bytes(2, "big") + packet[length:]
