"""Stalling the event loop on purpose: what a machine busy with other work does to the
server, reproduced without load so tests can wait for its effects."""

from __future__ import annotations

import asyncio
import time


async def stall_event_loop(seconds: float) -> None:
    """Block the running loop for ``seconds`` (nothing else on it runs meanwhile)."""
    loop = asyncio.get_running_loop()
    stalled: asyncio.Future[None] = loop.create_future()

    def block() -> None:
        time.sleep(seconds)
        stalled.set_result(None)

    loop.call_soon(block)
    await stalled
