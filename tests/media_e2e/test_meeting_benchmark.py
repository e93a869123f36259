"""The meeting benchmark's receivers, through the whole stack: a receiver admitted long after
it joined the lobby still negotiates and gets the chair's picture.

At 100 points the benchmark reported receivers "without video": they were the last of the
queue, admitted more than the client's 60 s timeout after they joined, and had stopped
waiting for their admission, so they never offered media. The server had nothing to send.
"""

from __future__ import annotations

import asyncio

from benchmarks.meeting import join_once_admitted
from signaling.client import HeadlessParticipant
from tests.media_e2e.conftest import MediaHearing

CLIENT_TIMEOUT = 0.5
"""The receiver's timeout for the server's answers, far shorter than its wait in the lobby."""


async def test_a_receiver_admitted_after_its_clients_timeout_still_gets_video(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    await media.join("judge")
    await media.join("clerk")
    receiver = HeadlessParticipant(
        media.hearing.url.rstrip("/"),
        media.hearing.tokens["victim"],
        audio=False,
        video=False,
        timeout=CLIENT_TIMEOUT,
    )
    media.people["victim"] = receiver
    await receiver.join()
    times: dict[str, float] = {}
    joining = asyncio.create_task(join_once_admitted(receiver, times))

    # The chair reaches this person later than the client's timeout: it keeps waiting.
    await asyncio.sleep(4 * CLIENT_TIMEOUT)
    assert not joining.done(), joining.exception() if joining.done() else None
    assert times == {}

    await media.admit("victim")
    receiver.timeout = 10.0  # the server's answers on a busy machine
    await joining
    assert set(times) == {"in_session", "answered", "connected"}
    assert await receiver.wait_frames(media.id("judge"), "camera", 1) >= 1
