"""SIGKILL mid-recording, for real: ``hearing-server serve`` in a child process records a
hearing of headless participants, is killed with signal 9, and is started again on the same
data directory. The start-up sweep must leave every closed segment playable, lose at most one
segment per track, seal the manifest with the crash's gap, register the recording and
compose it; ``hearing-server recordings verify`` says it is intact."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest
from aiohttp.test_utils import TestClient, TestServer

from hearing_server.app import create_app
from hearing_server.services import HearingService
from hearing_server.settings import Settings
from recorder.journal import read_journal
from recorder.layout import RecordingPaths
from rooms.cases import Case, CaseType, Instance
from rooms.participants import Actor
from rooms.roles import Role, StaffRole
from signaling.client import HeadlessParticipant
from signaling.media.synthetic import opus_tone_clip, vp8_test_pattern_clip
from tests.conftest import TEST_SECRET
from tests.media_e2e.test_recording_pipeline import eventually
from web.keys import SERVICE

ROOT = Path(__file__).resolve().parents[2]
CASE = "88/2026/HS-ST"
PASSWORD = "a-password-long-enough"
SYSTEM = Actor(id="cli", is_system=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """``hearing-server serve`` as a court runs it, in a child process of its own."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HEARING_CONFIG": str(data_dir / "no-such-config.toml"),
            "HEARING_DATA_DIR": str(data_dir),
            "HEARING_SECRET_KEY": TEST_SECRET,
            "HEARING_RECORDING_SEGMENT_SECONDS": "2",
            "HEARING_RECORDING_MIN_FREE_MB": "0",
            "HEARING_ICE_SERVERS": "[]",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"server-{port}.log"

    def spawn(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hearing_server", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        self.spawn()

        async def healthy() -> bool | None:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"{self.url}/healthz") as reply,
                ):
                    return True if reply.status == 200 else None
            except aiohttp.ClientError:
                return None

        await eventually(healthy, 60, "the server answering /healthz")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)


async def _prepare(settings: Settings) -> dict[str, str]:
    """A hearing due now with judge, clerk and defendant, and a staff account, written to
    the data directory's database by the real app (then stopped)."""
    async with TestClient(TestServer(create_app(settings))) as client:
        service: HearingService = client.server.app[SERVICE]
        court = (await service.courts(SYSTEM))[0]
        case = Case(
            court_id=court.id,
            number=CASE,
            case_type=CaseType.CRIMINAL,
            instance=Instance.FIRST_INSTANCE,
            title="Cố ý gây thương tích",
        )
        now = datetime.now(UTC)
        session = await service.schedule_hearing(SYSTEM, case, now, now + timedelta(hours=4))
        tokens = {}
        for key, name, role in (
            ("judge", "Trần Văn Chủ Tọa", Role.PRESIDING_JUDGE),
            ("clerk", "Lê Thị Thư Ký", Role.CLERK),
            ("defendant", "Nguyễn Văn Bị Cáo", Role.DEFENDANT),
        ):
            participant, link = await service.add_participant(
                SYSTEM, session.id, name, role, session.central_point.id
            )
            tokens[key] = link.token
            tokens[f"{key}-id"] = participant.id
        await service.add_user(SYSTEM, "kythuat", StaffRole.ADMIN, PASSWORD)
    return tokens


@pytest.fixture
async def people() -> AsyncIterator[list[HeadlessParticipant]]:
    joined: list[HeadlessParticipant] = []
    yield joined
    for person in joined:
        await person.close()


def _segments(recordings_dir: Path) -> dict[str, list[Path]]:
    return {
        track.track_id: track.closed_segments()
        for recording in RecordingPaths.all_in(recordings_dir)
        for track in recording.tracks()
    }


def _decodes(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams[0]))


async def test_a_server_killed_mid_recording_leaves_every_closed_segment_playable(
    tmp_path: Path, people: list[HeadlessParticipant]
) -> None:
    vp8_test_pattern_clip()
    opus_tone_clip()
    data_dir = tmp_path / "data"
    settings = Settings(
        data_dir=data_dir,
        secret_key=TEST_SECRET,
        ice_servers=[],  # type: ignore[arg-type]
    )
    tokens = await _prepare(settings)
    recordings_dir = settings.effective_recordings_dir
    server = ServerProcess(data_dir, _free_port())
    try:
        await server.start()
        for who in ("judge", "clerk", "defendant"):
            person = HeadlessParticipant(server.url, tokens[who])
            people.append(person)
            await person.join()
            await person.publish()
        judge, clerk = people[0], people[1]
        for command in ("verify_identity", "admit"):
            await clerk.call(command, {"participant_id": tokens["defendant-id"]})
        await judge.call("start")
        await judge.call("start_recording")

        async def recorded() -> dict[str, list[Path]] | None:
            found = _segments(recordings_dir)
            return found if len(found) == 6 and min(map(len, found.values())) >= 2 else None

        await eventually(recorded, 60, "two closed segments of each of six tracks")

        async def clusters_written() -> bool | None:
            # The muxer hands the kernel a cluster a second: die once half the open segments
            # hold more than their header (the three microphones' segments start together,
            # so that moment comes every segment), so that the sweep has something to salvage.
            parts = list(recordings_dir.rglob("*.part"))
            written = sum(1 for p in parts if p.stat().st_size > 2048)
            return True if len(parts) == 6 and written >= 3 else None

        await eventually(clusters_written, 30, "a cluster in open segments", every=0.05)
        server.kill()
        before = _segments(recordings_dir)
        open_parts = list(recordings_dir.rglob("*.part"))
        (paths,) = RecordingPaths.all_in(recordings_dir)
        assert not any(e.type == "recording_stopped" for e in read_journal(paths.journal))

        await server.start()  # the sweep runs before the server listens

        assert not list(recordings_dir.rglob("*.part"))
        after = _segments(recordings_dir)
        for track, segments in before.items():
            assert after[track][: len(segments)] == segments, "closed segments are kept"
            assert len(after[track]) - len(segments) <= 1, "one open segment per track at most"
            for segment in after[track]:
                assert _decodes(segment) > 0, f"{segment} does not play"
        entries = list(read_journal(paths.journal))
        salvaged = [e for e in entries if e.type == "segment_closed" and e.data.get("salvaged")]
        lost = [e for e in entries if e.type == "segment_lost"]
        assert len(salvaged) + len(lost) == len(open_parts)
        assert salvaged, "open segments with whole clusters are salvaged"
        for track in before:  # at most one segment of each track lost
            assert sum(1 for e in lost if e.data["track"] == track) <= 1
        assert entries[-1].type == "recording_stopped" and entries[-1].data["reason"] == "crash"
        manifest = json.loads(paths.manifest.read_bytes())
        assert "crash" in [gap["kind"] for gap in manifest["gaps"]]
        assert manifest["unfinished"] == []

        verify = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "hearing_server", "recordings", "verify", str(paths.root)),
            cwd=ROOT,
            env=server.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(verify.communicate(), 120)
        assert verify.returncode == 0, err.decode()
        assert "intact" in out.decode()

        # Registered at once, and composed after the restart.
        async with aiohttp.ClientSession(base_url=server.url) as http:
            async with http.post(
                "/api/v1/auth/login", json={"username": "kythuat", "password": PASSWORD}
            ) as reply:
                token = (await reply.json())["token"]
            headers = {"Authorization": f"Bearer {token}"}

            async def state() -> str | None:
                async with http.get(
                    "/api/v1/recordings", params={"case_number": CASE}, headers=headers
                ) as reply:
                    found: list[dict[str, Any]] = await reply.json()
                assert len(found) == 1 and found[0]["state"] != "failed", found
                return "ready" if found[0]["state"] == "ready" else None

            await eventually(state, 180, "the swept recording composed", every=0.5)
        assert paths.composed_video.is_file()
    finally:
        server.stop()
