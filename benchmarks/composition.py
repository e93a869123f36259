"""Composition speed: a 4-party 640x480 hearing composed as in production, in a child process.

Builds a recording of four parties (VP8 640x480 at 30 fps and Opus, in segments, with a late
joiner and a one-second pause), composes it with the production settings (1280x720, 15 fps,
libx264 veryfast, AAC) through the same child-process job the server uses, and prints the
speed as a multiple of real time (composed seconds per wall-clock second) and the child's
peak memory. Run: ``python -m benchmarks.composition [--seconds 60]``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from recorder.jobs import LocalJobs
from recorder.journal import read_journal
from recorder.timeline import build_timeline
from tests.recorder.recording_builder import build_recording


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="recorded length (60)")
    parser.add_argument("--segment", type=float, default=6.0, help="segment seconds (6)")
    args = parser.parse_args()
    segments = max(3, round((args.seconds - 1.0) / args.segment))
    with tempfile.TemporaryDirectory() as scratch:
        built_at = time.monotonic()
        built = build_recording(
            Path(scratch), segment_seconds=args.segment, segments=segments, size=(640, 480), fps=30
        )
        building = time.monotonic() - built_at
        print(f"built a {built.recorded:.0f} s 4-party recording in {building:.1f} s")
        timeline = build_timeline(built.paths.root, read_journal(built.paths.journal))
        jobs = LocalJobs(attempts=1, niceness=0)
        started = time.monotonic()
        child = jobs.start(built.paths)
        child.join()
        wall = time.monotonic() - started
        if child.exitcode != 0:
            raise SystemExit(f"composition failed: exit {child.exitcode}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        video = built.paths.composed_video.stat().st_size / 1e6
        print(f"composed {timeline.duration:.1f} s (pauses cut) in {wall:.1f} s wall")
        print(f"speed: {timeline.duration / wall:.2f}x real time (aim >= 4x)")
        print(f"peak memory of the composition process: {peak:.0f} MB")
        print(f"hearing.mp4: {video:.1f} MB")


if __name__ == "__main__":
    main()
