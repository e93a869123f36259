"""``hearing-server probe``: IT staff point it at a join link and learn what works."""

from __future__ import annotations

import asyncio
import json
import sys

from signaling.probe import ProbeResult, run_probe
from tests.media_e2e.conftest import MediaHearing


def join_url(media: MediaHearing, who: str) -> str:
    return f"{media.hearing.url.rstrip('/')}/join/{media.hearing.tokens[who]}"


async def test_a_probe_joins_publishes_and_reports_what_it_received(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    await media.join("clerk")

    result = await run_probe(join_url(media, "judge"), seconds=3.0)

    assert result.ok, result.as_text()
    assert result.media_connected and result.connect_seconds is not None
    assert result.state == "in_session"
    assert result.link["connection"] == "connected"
    [camera] = [t for t in result.tracks if t.source == "camera"]
    assert camera.publisher == media.id("clerk") and camera.frames > 10
    assert camera.first_frame_after is not None
    text = result.as_text()
    assert "Trần Văn Chủ Tọa (presiding_judge)" in text and text.endswith("OK")
    # The probe left cleanly: nothing was suspended, the clerk's media room lives on.
    session = await media.hearing.session()
    assert session.participants[media.hearing.ids["judge"]].state.value == "left"


async def test_a_bad_link_is_reported_not_raised(media_hearing: MediaHearing) -> None:
    media = media_hearing
    forged = join_url(media, "judge")[:-4] + "AAAA"
    result = await run_probe(forged, seconds=1.0)
    assert not result.ok and not result.joined
    assert "join.token_forged" in result.error
    assert (await run_probe("https://example.test/not-a-link", 1.0)).error.startswith("not a join")


async def test_the_command_line_prints_the_report_and_fails_on_a_refused_link(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    await media.join("clerk")

    async def probe(url: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hearing_server",
            "probe",
            url,
            "--seconds",
            "3",
            "--json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, _err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode is not None
        return process.returncode, out.decode()

    code, out = await probe(join_url(media, "defendant"))
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["state"] == "in_lobby"
    assert report["tracks"] == [] or all(t["frames"] == 0 for t in report["tracks"])

    code, out = await probe(join_url(media, "defendant")[:-4] + "AAAA")
    assert code == 1 and json.loads(out)["joined"] is False


def test_a_probe_whose_link_died_fails_however_well_it_started() -> None:
    """Seen in the field: joined and connected once, then disconnected, "lost" and 94 s
    silent, and still reported ``"ok": true``."""
    result = ProbeResult(
        joined=True,
        state="disconnected",
        media_enabled=True,
        media_tested=True,
        media_connected=True,
        connect_seconds=0.4,
        still_connected=True,
        media_connected_at_end=False,
        link={"level": "lost", "connection": "disconnected", "silent_seconds": 94.2},
    )
    report = json.loads(result.as_json())
    assert report["ok"] is False
    assert report["problems"] == [
        "the server shows this participant as disconnected",
        "the media connection was lost",
        "the server reports this link as lost",
        "the server received nothing from this link for 94 s",
    ]
    assert result.as_text().endswith("PROBLEM")
    healthy = ProbeResult(
        joined=True,
        state="in_session",
        media_enabled=True,
        media_tested=True,
        media_connected=True,
        still_connected=True,
        media_connected_at_end=True,
        link={"level": "good", "silent_seconds": 0.0},
    )
    assert healthy.ok and healthy.problems == []


async def test_a_probe_dropped_by_the_server_reports_it_and_does_not_crash(
    media_hearing: MediaHearing,
) -> None:
    media = media_hearing
    clerk = await media.join("clerk")
    probe = asyncio.create_task(run_probe(join_url(media, "defendant"), seconds=60.0))
    defendant = media.id("defendant")
    await clerk.wait_view(
        lambda view: any(
            p["id"] == defendant and p["state"] == "in_lobby" for p in view["participants"]
        )
    )
    await clerk.call("deny", {"participant_id": defendant})

    result = await asyncio.wait_for(probe, 30)  # ends when dropped, not after 60 s

    assert not result.ok
    assert result.ended_by_server and result.problems[0].startswith("the server ended")
    assert json.loads(result.as_json())["ok"] is False
