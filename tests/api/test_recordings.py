"""Recordings through the API: found by case number, read with their verification, files
downloaded through short-lived links a player can seek in, kept to the hearing's court."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hearing_server.settings import Settings
from recorder.integrity import seal_recording
from recorder.layout import RecordingPaths
from recorder.signing import ServerKey
from tests.api.conftest import API, CLERK_PASSWORD, Api, login_token
from tests.recorder.recording_fixture import make_recording
from web.keys import RECORDINGS


async def _staff(api: Api, username: str, role: str, court_id: str) -> Api:
    body = {"username": username, "role": role, "password": CLERK_PASSWORD, "court_id": court_id}
    assert (await api.post(f"{API}/users", body)).status == 201
    return api.as_token(await login_token(api.client, username, CLERK_PASSWORD))


async def _recorded_hearing(api: Api, settings: Settings) -> tuple[dict[str, Any], RecordingPaths]:
    hearing = await api.schedule_hearing(number="77/2026/HS-ST")
    metadata = {"case_number": "77/2026/HS-ST", "case_type": "criminal"}
    paths = make_recording(
        settings.effective_recordings_dir,
        session_id=hearing["id"],
        recording_id="r-api",
        metadata=metadata,
        stopped=True,
    )
    seal_recording(paths, ServerKey.load_or_create(settings.data_dir))
    await api.client.server.app[RECORDINGS].register_recording(paths)
    return hearing, paths


async def test_staff_find_read_and_seek_in_a_recording_and_every_access_is_audited(
    api: Api, settings: Settings
) -> None:
    hearing, paths = await _recorded_hearing(api, settings)
    clerk = await _staff(api, "thuky2", "clerk", hearing["court_id"])
    found = await clerk.get(f"{API}/recordings", params={"case_number": "77/2026"})
    assert [r["id"] for r in found.body] == ["r-api"], found.body
    assert found.body[0]["state"] == "composing"
    detail = await clerk.get(f"{API}/recordings/r-api")
    assert detail.status == 200, detail.body
    assert detail.body["verification"]["ok"] is True
    assert detail.body["manifest"]["metadata"]["case_number"] == "77/2026/HS-ST"
    segment = "tracks/p1-camera-1/00001.webm"
    assert segment in [f["file"] for f in detail.body["files"]]

    link = await clerk.post(f"{API}/recordings/r-api/links", {"file": segment})
    assert link.status == 201, link.body
    whole = (paths.root / segment).read_bytes()
    async with api.client.get(link.body["url"], headers={"Range": "bytes=4-13"}) as part:
        assert part.status == 206
        assert part.headers["Content-Range"] == f"bytes 4-13/{len(whole)}"
        assert part.headers["Content-Type"] == "video/webm"
        assert await part.read() == whole[4:14]
    async with api.client.get(link.body["url"]) as full:
        assert full.status == 200 and await full.read() == whole

    api.clock.advance(timedelta(minutes=11))
    expired = await api.get(link.body["url"], token="")
    expired.error(403, "forbidden", "recording.link_expired")
    actions = [e["action"] for e in await api.audit()]
    for action in ("recording.view", "recording.download_link", "recording.download"):
        assert action in actions, action


async def test_a_tampered_recording_reads_as_not_verified_naming_the_file(
    api: Api, settings: Settings
) -> None:
    _hearing, paths = await _recorded_hearing(api, settings)
    segment = paths.track("p2-camera-1").segment(1, "webm")
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    verification = (await api.get(f"{API}/recordings/r-api")).body["verification"]
    assert verification["ok"] is False
    assert [(p["kind"], p["file"]) for p in verification["problems"]] == [
        ("changed", "tracks/p2-camera-1/00001.webm")
    ]


async def test_other_courts_and_participants_never_see_a_recording(
    api: Api, settings: Settings
) -> None:
    hearing, _paths = await _recorded_hearing(api, settings)
    hue = await api.post(f"{API}/courts", {"code": "TAND-HUE", "name": "TAND thành phố Huế"})
    stranger = await _staff(api, "it_hue", "it_staff", hue.body["id"])
    (await stranger.get(f"{API}/recordings/r-api")).error(
        403, "forbidden", "staff_permission.other_court"
    )
    assert (await stranger.get(f"{API}/recordings")).body == []
    judge = await api.add_participant(
        hearing["id"], hearing["points"][0]["id"], "presiding_judge", "Lê Văn Chủ Tọa"
    )
    join_token = judge["join_link"]["token"]
    as_participant = await api.get(f"{API}/recordings/r-api", token=join_token)
    assert as_participant.status == 401


async def test_a_legal_hold_keeps_a_recording_from_retention(api: Api, settings: Settings) -> None:
    await _recorded_hearing(api, settings)
    held = await api.request("PUT", f"{API}/recordings/r-api/legal-hold", {"hold": True})
    assert held.status == 200 and held.body["legal_hold"] is True
    report = await api.get(f"{API}/recordings/retention")
    assert [(d["recording_id"], d["delete"]) for d in report.body] == [("r-api", False)]
    assert (await api.post(f"{API}/recordings/retention")).body == []
