"""A server re-offer keeps the payload types and header extension ids agreed for the m-lines
the participant offered first, as JSEP requires and as Chromium insists (it refuses "RTP
extension ID reassignment"). aiortc alone would renumber them with its own defaults."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiortc.sdp import SessionDescription

from signaling.media import AllowAll, MediaRoom, TrackKey
from signaling.media.synthetic import ProbeClient
from tests.signaling_media.harness import small_clip, wait_until

BROWSER_PAYLOAD_TYPES = {"audio": {96: 111}, "video": {97: 120, 98: 121}}
"""How a browser might number what aiortc calls Opus 96, VP8 97 and its RTX 98."""
EXTENSION_SHIFT = 5


def renumber_like_a_browser(sdp: str) -> str:
    """Rewrite an aiortc offer with other payload types and extension ids, consistently."""
    lines, kind = [], ""
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
            head, _, formats = line.rpartition("SAVPF ")
            numbers = BROWSER_PAYLOAD_TYPES.get(kind, {})
            formats = " ".join(str(numbers.get(int(f), f)) for f in formats.split())
            line = f"{head}SAVPF {formats}"
        elif kind and (m := re.match(r"a=(rtpmap|rtcp-fb|fmtp):(\d+)(.*)", line)):
            numbers = BROWSER_PAYLOAD_TYPES.get(kind, {})
            rest = re.sub(r"apt=(\d+)", lambda a, n=numbers: f"apt={n.get(int(a[1]), a[1])}", m[3])
            line = f"a={m[1]}:{numbers.get(int(m[2]), int(m[2]))}{rest}"
        elif m := re.match(r"a=extmap:(\d+) (.*)", line):
            line = f"a=extmap:{int(m[1]) + EXTENSION_SHIFT} {m[2]}"
        lines.append(line)
    return "\r\n".join(lines)


def numbering(sdp: str, mid: str) -> tuple[list[int], list[int]]:
    [media] = [m for m in SessionDescription.parse(sdp).media if m.rtp.muxId == mid]
    return [c.payloadType for c in media.rtp.codecs], [e.id for e in media.rtp.headerExtensions]


async def test_a_re_offer_keeps_the_numbers_agreed_with_the_participant() -> None:
    offers: dict[str, list[str]] = {}
    clients: dict[str, ProbeClient] = {}

    async def renegotiate(pid: str, sdp: str, tracks: Mapping[str, TrackKey | None]) -> None:
        offers.setdefault(pid, []).append(sdp)
        answer = await clients[pid].handle_offer(sdp, tracks)
        await room.accept_answer(pid, answer)

    room = MediaRoom("hearing-1", policy=AllowAll(), on_renegotiate=renegotiate)
    try:
        browser = clients["browser"] = ProbeClient("browser", video_clip=small_clip())
        sdp, sources = await browser.create_offer()
        offered = renumber_like_a_browser(sdp)
        mids = {source: mid for mid, source in sources.items()}
        answer = await room.join("browser", offered, sources)
        await browser.accept_answer(answer)
        agreed = {mid: numbering(answer, mid) for mid in mids.values()}
        assert agreed[mids["microphone"]][0] == [111]
        assert agreed[mids["camera"]][0][:2] == [120, 121]
        assert min(agreed[mids["camera"]][1]) > EXTENSION_SHIFT

        # Someone else joins: the server re-offers the browser their tracks on new m-lines.
        other = clients["other"] = ProbeClient("other", video_clip=small_clip())
        sdp, sources = await other.create_offer()
        await other.accept_answer(await room.join("other", sdp, sources))
        assert await wait_until(lambda: len(offers.get("browser", [])) >= 1, 10)

        for re_offer in offers["browser"]:
            for mid, numbers in agreed.items():
                assert numbering(re_offer, mid) == numbers
        # And the media the browser publishes still reaches the other participant.
        assert await wait_until(
            lambda: (c := other.counter("browser", "camera")) is not None and c.frames > 5, 10
        )
    finally:
        await room.close()
        for client in clients.values():
            await client.close()
