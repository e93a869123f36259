"""``hearing-server recordings …``: list, seal and verify recordings on this server's disk.

Verification needs nothing but the files and the server's public key, so a court can run it
on a copy of a recording far from the server (``--public-key``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hearing_server.document_signing import court_certificate
from hearing_server.recordings import DownloadLinks, RecordingCatalog, files_of
from hearing_server.services import HearingService
from hearing_server.settings import Settings
from recorder.composition import read_progress, write_progress
from recorder.integrity import seal_recording, verify_recording
from recorder.jobs import LocalJobs, RedisJobs, composition_worker
from recorder.layout import RecordingPaths
from recorder.manifest import build_manifest
from recorder.signing import ServerKey
from rooms.errors import DomainError
from rooms.participants import Actor
from rooms.recordings import Recording, RetentionDecision

CLI_ACTOR = Actor(id="cli", is_system=True)
"""Whoever runs the CLI on the server already holds its data: the system acts."""

__all__ = ["add_recordings_commands", "court_certificate", "find_recording"]


WithService = Callable[[Settings, Callable[[HearingService], Awaitable[Any]]], Any]
"""Runs one piece of work against the database (``hearing_server.cli``'s ``_with_service``)."""


def add_recordings_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], with_service: WithService
) -> None:
    recordings = sub.add_parser("recordings", help="hearing recordings").add_subparsers(
        required=True, metavar="ACTION"
    )
    listing = recordings.add_parser("list", help="recordings on this server's disk")
    listing.add_argument("--json", action="store_true", help="print as JSON")
    listing.set_defaults(func=_list)

    verify = recordings.add_parser(
        "verify", help="check every hash, the chain and the signatures of a recording"
    )
    verify.add_argument("recording", help="a recording's directory or its id")
    verify.add_argument(
        "--public-key", type=Path, help="the server's public key (PEM), for a copied recording"
    )
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(func=_verify)

    show = recordings.add_parser(
        "show", help="a recording's case, participants, files, gaps and verification"
    )
    show.add_argument("recording", help="a recording's directory or its id")
    show.add_argument("--json", action="store_true", help="print as JSON")
    show.set_defaults(func=_show)

    hold = recordings.add_parser("hold", help="place (or --lift) a legal hold on a recording")
    hold.add_argument("recording", help="the recording's id")
    hold.add_argument("--lift", action="store_true", help="lift the hold instead")
    hold.set_defaults(func=_hold, with_service=with_service)

    retention = recordings.add_parser(
        "retention",
        help="what the retention rules would delete and why; --apply deletes it (audited)",
    )
    retention.add_argument("--apply", action="store_true", help="delete what is due")
    retention.set_defaults(func=_retention, with_service=with_service)

    seal = recordings.add_parser(
        "seal", help="rebuild a recording's manifest from its files and sign it again"
    )
    seal.add_argument("recording", help="a recording's directory or its id")
    seal.set_defaults(func=_seal)

    compose = recordings.add_parser(
        "compose", help="compose a recording into one MP4 (on the Redis queue when configured)"
    )
    compose.add_argument("recording", help="a recording's directory or its id")
    compose.add_argument("--wait", action="store_true", help="wait and show percent, time left")
    compose.set_defaults(func=_compose)

    worker = recordings.add_parser("worker", help="run composition jobs from the Redis queue")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(func=_worker)


def find_recording(settings: Settings, name: str) -> RecordingPaths | None:
    """A recording by its directory, or by its id among this server's recordings."""
    path = Path(name)
    if path.is_dir() and (path / "journal.jsonl").exists():
        return RecordingPaths(path.resolve())
    for recording in RecordingPaths.all_in(settings.effective_recordings_dir):
        if recording.recording_id == name:
            return recording
    return None


def _list(settings: Settings, args: argparse.Namespace) -> int:
    rows = []
    for recording in RecordingPaths.all_in(settings.effective_recordings_dir):
        manifest = _read_manifest(recording)
        metadata = manifest.get("metadata") if manifest else None
        if not isinstance(metadata, dict):
            metadata = {}
        rows.append(
            {
                "id": recording.recording_id,
                "session_id": recording.session_id,
                "case_number": metadata.get("case_number", ""),
                "sealed": manifest is not None,
                "path": str(recording.root),
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            sealed = "sealed" if row["sealed"] else "not sealed"
            print(f"{row['id']}  {row['case_number'] or '-'}  {sealed}  {row['path']}")
    return 0


def _read_manifest(recording: RecordingPaths) -> dict[str, object] | None:
    try:
        loaded = json.loads(recording.manifest.read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    recording = find_recording(settings, args.recording)
    if recording is None:
        print(f"error: no recording {args.recording!r}", file=sys.stderr)
        return 2
    if args.public_key is not None:
        public_key = args.public_key.read_text()
    else:
        public_key = ServerKey.load_or_create(settings.data_dir).public_key_pem
    result = verify_recording(recording, public_key)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    elif result.ok:
        court = f"; court signature by {result.signed_by_court}" if result.signed_by_court else ""
        print(
            f"recording {recording.recording_id} intact: {result.checked_files} files, "
            f"chain and server signature verified{court}"
        )
    else:
        print(
            f"recording {recording.recording_id} does NOT verify: "
            f"{len(result.problems)} problem(s)",
            file=sys.stderr,
        )
        for problem in result.problems:
            print(f"  {problem}", file=sys.stderr)
    return 0 if result.ok else 1


def _show(settings: Settings, args: argparse.Namespace) -> int:
    recording = find_recording(settings, args.recording)
    if recording is None:
        print(f"error: no recording {args.recording!r}", file=sys.stderr)
        return 2
    manifest: dict[str, Any] = dict(_read_manifest(recording) or build_manifest(recording))
    result = verify_recording(recording, ServerKey.load_or_create(settings.data_dir).public_key_pem)
    files = [f.file for f in files_of(recording)]
    summary: dict[str, Any] = {
        "id": recording.recording_id,
        "session_id": recording.session_id,
        "path": str(recording.root),
        "metadata": manifest.get("metadata", {}),
        "participants": manifest.get("participants", []),
        "files": files,
        "gaps": manifest.get("gaps", []),
        "unfinished": manifest.get("unfinished", []),
        "verification": result.as_dict(),
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    metadata = summary["metadata"] if isinstance(summary["metadata"], dict) else {}
    print(f"recording {recording.recording_id}  case {metadata.get('case_number', '-')}")
    for key, value in sorted(metadata.items()):
        print(f"  {key}: {value}")
    for person in manifest.get("participants", []) or []:
        print(f"  participant {person['name']} ({person['role']}): {', '.join(person['tracks'])}")
    for gap in manifest.get("gaps", []) or []:
        print(f"  gap {gap['kind']} {gap['from']} → {gap['to']} {gap.get('reason', '')}")
    print(f"  {len(files)} files; verified: {'yes' if result.ok else 'NO'}")
    for problem in result.problems:
        print(f"    {problem}")
    return 0


def _catalog(settings: Settings, service: HearingService) -> RecordingCatalog:
    return RecordingCatalog(
        service,
        settings.effective_recordings_dir,
        DownloadLinks(settings.signing_key()),
        settings.recording_retention_days,
    )


def _hold(settings: Settings, args: argparse.Namespace) -> int:
    async def hold(service: HearingService) -> Recording:
        catalog = _catalog(settings, service)
        await catalog.reconcile()
        return await catalog.set_legal_hold(CLI_ACTOR, args.recording, not args.lift)

    try:
        recording = args.with_service(settings, hold)
    except DomainError as error:
        print(f"error: {error.message.en}", file=sys.stderr)
        return 2
    state = "under legal hold" if recording.legal_hold else "no longer held"
    print(f"recording {recording.id} ({recording.case_number}) {state}")
    return 0


def _retention(settings: Settings, args: argparse.Namespace) -> int:
    async def run(service: HearingService) -> list[RetentionDecision]:
        catalog = _catalog(settings, service)
        await catalog.reconcile()
        if args.apply:
            return await catalog.apply_retention(CLI_ACTOR)
        return await catalog.retention_report(CLI_ACTOR)

    decisions = args.with_service(settings, run)
    verb = "deleted" if args.apply else "would delete"
    for decision in decisions:
        mark = verb if decision.delete else "keeps"
        print(f"{decision.recording_id}  {mark}: {decision.reason.en} / {decision.reason.vi}")
    if not decisions:
        print("nothing deleted" if args.apply else "no recordings")
    return 0


def _seal(settings: Settings, args: argparse.Namespace) -> int:
    recording = find_recording(settings, args.recording)
    if recording is None:
        print(f"error: no recording {args.recording!r}", file=sys.stderr)
        return 2
    manifest = seal_recording(
        recording, ServerKey.load_or_create(settings.data_dir), court_certificate(settings)
    )
    print(
        f"recording {recording.recording_id} sealed: {len(manifest['segments'])} segments, "
        f"chain head {manifest['chain_head'][:16]}…"
    )
    return 0


def _compose(settings: Settings, args: argparse.Namespace) -> int:
    recording = find_recording(settings, args.recording)
    if recording is None:
        print(f"error: no recording {args.recording!r}", file=sys.stderr)
        return 2
    if settings.redis_url:
        asyncio.run(RedisJobs(settings.redis_url).enqueue(recording))
        print(f"recording {recording.recording_id}: composition queued")
        if not args.wait:
            return 0
        return _show_progress(recording, lambda: False)
    jobs = LocalJobs()
    if not args.wait:
        print("no Redis configured: composing here; --wait shows progress", file=sys.stderr)
        return 0 if jobs.run(recording) else 1
    write_progress(recording, "queued", 0.0)
    child = jobs.start(recording)
    status = _show_progress(recording, lambda: not child.is_alive())
    child.join()
    if child.exitcode != 0 and status != 1:
        return 0 if jobs.run(recording) else 1
    return status


def _show_progress(recording: RecordingPaths, ended: Callable[[], bool]) -> int:
    """Percent and time left on one line until the job is done or failed."""
    while True:
        progress = read_progress(recording) or {}
        state = progress.get("state", "queued")
        eta = progress.get("eta_seconds")
        left = f", còn {eta:.0f} s / {eta:.0f} s left" if isinstance(eta, int | float) else ""
        print(f"\r{state} {progress.get('percent', 0):5.1f}%{left}    ", end="", flush=True)
        if state in ("done", "failed") or ended():
            print()
            if state == "failed":
                print(f"error: {progress.get('error')}", file=sys.stderr)
            return 0 if state == "done" else 1
        time.sleep(0.5)


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.redis_url:
        print("error: the composition worker needs redis_url", file=sys.stderr)
        return 2
    composition_worker(settings.redis_url, burst=args.burst).run()
    return 0
