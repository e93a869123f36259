"""Composition jobs: run in a child process here (embedded mode) or through arq on Redis.

Composition is heavy and live media is not allowed to notice it, so it always runs in a
child process at a lower scheduling priority (``os.nice``). A child that dies half-way (a
SIGKILL, the machine's OOM killer) leaves only ``.part`` files, which the next attempt
discards; the job is started again up to ``attempts`` times. With Redis configured the same
job goes to an arq queue so that composition can run on other machines that see the same
recordings directory; the arq worker runs it the same way, in a child.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
from pathlib import Path
from typing import Any, Protocol

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

from recorder.composition import compose_recording, read_progress, write_progress
from recorder.layout import RecordingPaths

__all__ = [
    "QUEUE_NAME",
    "CompositionJobs",
    "LocalJobs",
    "RedisJobs",
    "composition_worker",
    "enqueue_composition",
    "job_id",
    "jobs_for",
]

QUEUE_NAME = "hearing:composition"
"""The arq queue composition jobs go to."""
NICENESS = 10


def _child(root: str, niceness: int) -> None:
    os.nice(niceness)
    compose_recording(RecordingPaths(Path(root)))


class CompositionJobs(Protocol):
    async def enqueue(self, paths: RecordingPaths) -> None: ...


class LocalJobs:
    """Embedded mode: each job in its own child process, retried when the child dies."""

    def __init__(self, *, attempts: int = 3, niceness: int = NICENESS) -> None:
        self.attempts = attempts
        self.niceness = niceness
        self.__running: set[asyncio.Future[bool]] = set()
        self.__children: set[multiprocessing.process.BaseProcess] = set()
        self.__stopping = False

    def start(self, paths: RecordingPaths) -> multiprocessing.process.BaseProcess:
        """One attempt, in a fresh interpreter (spawn: no state of the server is inherited)."""
        context = multiprocessing.get_context("spawn")
        process = context.Process(
            target=_child, args=(str(paths.root), self.niceness), name="composition"
        )
        process.start()
        return process

    def run(self, paths: RecordingPaths) -> bool:
        """Compose, blocking, retrying a child that died; True when the files are finished."""
        write_progress(paths, "queued", 0.0)
        for _attempt in range(self.attempts):
            if self.__stopping:
                return False
            process = self.start(paths)
            self.__children.add(process)
            try:
                process.join()
            finally:
                self.__children.discard(process)
            if process.exitcode == 0:
                return True
            if self.__stopping:
                return False  # stopped by the server: composed again at its next start
            progress = read_progress(paths)
            if progress is not None and progress.get("state") == "failed":
                return False
        write_progress(paths, "failed", 0.0, None, "the composition process died every attempt")
        return False

    async def enqueue(self, paths: RecordingPaths) -> None:
        write_progress(paths, "queued", 0.0)
        future = asyncio.get_running_loop().run_in_executor(None, self.run, paths)
        self.__running.add(future)
        future.add_done_callback(self.__running.discard)

    def stop(self) -> None:
        """Server shutdown: end the children now (they leave only ``.part`` files and a
        progress that is not finished, so the next start composes again)."""
        self.__stopping = True
        for child in list(self.__children):
            child.terminate()

    async def wait_all(self) -> None:
        """For shutdown and tests: every job started by this object has ended."""
        if self.__running:
            await asyncio.gather(*self.__running)


async def _compose_job(ctx: dict[str, Any], root: str) -> bool:
    """The arq task: the same child-process run as embedded mode, off the worker's loop."""
    jobs: LocalJobs = ctx.get("jobs") or LocalJobs()
    return await asyncio.to_thread(jobs.run, RecordingPaths(Path(root)))


def job_id(paths: RecordingPaths) -> str:
    """One queued job per recording directory (its id alone may repeat across courts)."""
    digest = hashlib.sha256(str(paths.root.resolve()).encode()).hexdigest()[:16]
    return f"compose:{paths.recording_id}:{digest}"


class RedisJobs:
    """Jobs on an arq queue; the job id is the recording's, so a recording is queued once."""

    def __init__(self, redis_url: str, *, queue_name: str = QUEUE_NAME) -> None:
        self.redis_settings = RedisSettings.from_dsn(redis_url)
        self.queue_name = queue_name

    async def enqueue(self, paths: RecordingPaths) -> None:
        write_progress(paths, "queued", 0.0)
        pool = await create_pool(self.redis_settings)
        try:
            await pool.enqueue_job(
                "_compose_job",
                str(paths.root.resolve()),
                _job_id=job_id(paths),
                _queue_name=self.queue_name,
            )
        finally:
            await pool.aclose()


def composition_worker(
    redis_url: str, *, queue_name: str = QUEUE_NAME, burst: bool = False, max_tries: int = 3
) -> Worker:
    """An arq worker for composition jobs (``burst``: stop when the queue is empty). A job
    whose worker died is run again by arq, up to ``max_tries``; no result is kept, so a
    recording can be queued again (recomposed) once its job ended."""
    return Worker(
        functions=[_compose_job],
        redis_settings=RedisSettings.from_dsn(redis_url),
        queue_name=queue_name,
        burst=burst,
        max_tries=max_tries,
        job_timeout=6 * 3600,
        max_jobs=1,
        keep_result=0,
        handle_signals=False,
    )


def jobs_for(redis_url: str | None) -> CompositionJobs:
    """Chosen once at wiring time: the queue when Redis is configured, else in-process."""
    return RedisJobs(redis_url) if redis_url else LocalJobs()


async def enqueue_composition(
    recording_paths: RecordingPaths, jobs: CompositionJobs | None = None
) -> None:
    """What the capture calls when a recording stops."""
    await (jobs or LocalJobs()).enqueue(recording_paths)
