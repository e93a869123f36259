"""A py-spy profile of the server process over a benchmark's window, summed up as hot spots.

py-spy samples the process from outside, native frames included, so the system calls and
C libraries a packet goes through (``sendmsg``, libsrtp) show beside our own functions.
Reading native stacks pauses the server for a moment per sample (py-spy cannot read them
without), so the profiled window's CPU figure includes that little.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HotSpots", "SamplingProfile", "hot_spots", "print_hot_spots"]

IDLE_LEAVES = ("epoll_wait", "epoll_pwait", "uv__io_poll", "select", "poll")
"""Leaf frames of a loop waiting for I/O: not work."""
OTHER_THREADS = "threading.py"
"""Frames of threads other than the event loop's (queue feeders, aiosqlite): waiting."""
OUR_PACKAGES = ("signaling/", "hearing_server/", "rooms/", "recorder/", "web/")


@dataclass(frozen=True)
class HotSpots:
    samples: int
    "Samples of the event loop's thread at work (idle waits and other threads left out)."
    own: list[tuple[str, float]]
    "Functions by the share of samples they were running themselves (native included)."
    ours: list[tuple[str, float]]
    "Our functions by the share of samples they were on the stack."


def _frame_name(frame: str) -> str:
    """``name (path/file.py:123)`` → ``name (file.py)``; native frames keep their library."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({where.rsplit('/', 1)[-1]})" if where else name


def hot_spots(raw: str, top: int = 15) -> HotSpots:
    """Sum up py-spy's ``--format raw`` output (one ``frame;frame;... count`` per line)."""
    own: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        leaf = frames[-1].partition(" (")[0]
        if OTHER_THREADS in stack or leaf in IDLE_LEAVES:
            continue
        count = int(count_text)
        samples += count
        own[_frame_name(frames[-1])] += count
        on_stack = {
            _frame_name(f)
            for f in frames
            if any(f"({p}" in f or f"/{p}" in f for p in OUR_PACKAGES)
        }
        for name in on_stack:
            ours[name] += count
    total = max(samples, 1)
    return HotSpots(
        samples=samples,
        own=[(name, n / total) for name, n in own.most_common(top)],
        ours=[(name, n / total) for name, n in ours.most_common(top)],
    )


class SamplingProfile:
    """py-spy recording one process for a while; ``None`` results when py-spy cannot run
    (not installed, or not allowed to read another process's memory)."""

    def __init__(self, pid: int, seconds: float, rate: int = 200) -> None:
        self.__pid = pid
        self.__seconds = seconds
        self.__rate = rate
        self.__task: asyncio.Task[str | None] | None = None
        self.problem = ""

    def start(self) -> None:
        spy = _py_spy()
        if spy is None:
            self.problem = "py-spy is not installed"
            return
        self.__task = asyncio.get_running_loop().create_task(self.__record(spy))

    async def result(self, top: int = 15) -> HotSpots | None:
        raw = None if self.__task is None else await self.__task
        return None if raw is None else hot_spots(raw, top)

    async def __record(self, spy: str) -> str | None:
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "profile.raw"
            process = await asyncio.create_subprocess_exec(
                spy,
                "record",
                "--pid",
                str(self.__pid),
                "--duration",
                str(max(1, round(self.__seconds))),
                "--rate",
                str(self.__rate),
                "--native",
                "--format",
                "raw",
                "--output",
                str(out),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            said, _ = await process.communicate()
            raw = _read_if_written(out) if process.returncode == 0 else None
            if raw is None:
                lines = said.decode(errors="replace").strip().splitlines()
                self.problem = lines[-1] if lines else f"py-spy exited with {process.returncode}"
            return raw


def _py_spy() -> str | None:
    """py-spy beside this interpreter (the project's venv) or on the PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _read_if_written(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def print_hot_spots(spots: HotSpots | None, problem: str) -> None:
    if spots is None:
        print(f"profile: not taken ({problem})")
        return
    print(f"profile of the server's event loop (py-spy, {spots.samples} samples at work):")
    print("  running itself:")
    for name, share in spots.own:
        print(f"    {share:6.1%}  {name}")
    print("  our functions, with what they call:")
    for name, share in spots.ours:
        print(f"    {share:6.1%}  {name}")
