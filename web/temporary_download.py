"""Sending a file made for one download (a case-file bundle): it is opened, removed from the
disk at once, then streamed from the open handle, so nothing is left behind whether the
download finishes, fails or is abandoned."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

__all__ = ["send_temporary_file"]

CHUNK = 1 << 20


async def send_temporary_file(
    request: web.Request, path: Path, headers: dict[str, str]
) -> web.StreamResponse:
    handle = await asyncio.to_thread(_open_and_remove, path)
    try:
        size = await asyncio.to_thread(lambda: handle.seek(0, 2))
        await asyncio.to_thread(handle.seek, 0)
        response = web.StreamResponse(headers=headers)
        response.content_length = size
        await response.prepare(request)
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        handle.close()


def _open_and_remove(path: Path) -> BinaryIO:
    handle = open(path, "rb")  # noqa: SIM115 - closed by the caller once sent
    path.unlink()
    return handle
