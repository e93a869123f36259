"""Letting background work finish at shutdown before what it uses is closed."""

from __future__ import annotations

import asyncio
from collections.abc import Set
from typing import Any


async def drain(tasks: Set[asyncio.Task[Any]], within: float) -> None:
    """Wait up to ``within`` seconds for ``tasks`` (a live set: tasks leave it as they end),
    then cancel what is left and wait for it to end. Work cut off mid-query leaves its
    database connection to a driver whose loop is gone, so cutting off comes last."""
    if tasks:
        await asyncio.wait(set(tasks), timeout=within)
    for task in tuple(tasks):
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
