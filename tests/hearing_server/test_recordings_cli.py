"""``hearing-server recordings show | hold | retention`` on this server's disk and database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearing_server.cli import main
from tests.recorder.recording_fixture import METADATA, make_recording


@pytest.fixture
def server_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEARING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEARING_RECORDINGS_DIR", str(tmp_path / "recordings"))
    monkeypatch.setenv("HEARING_RECORDING_RETENTION_DAYS", json.dumps({"criminal": 30}))
    return tmp_path / "recordings"


def test_show_tells_the_case_the_gaps_and_whether_it_verifies(
    server_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_recording(server_dirs)
    assert main(["recordings", "seal", "r-fixture"]) == 0
    capsys.readouterr()
    assert main(["recordings", "show", "r-fixture", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metadata"]["case_number"] == METADATA["case_number"]
    assert [g["kind"] for g in shown["gaps"]] == ["paused"]
    assert shown["verification"]["ok"] is True
    assert "tracks/p1-camera-1/00002.webm" in shown["files"]


def test_hold_and_retention_name_what_they_cannot_find(
    server_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The fixture's session is not on this server: the catalogue leaves it unregistered
    # (never touching its files) and says so rather than guessing a court.
    paths = make_recording(server_dirs, stopped=True)
    assert main(["recordings", "hold", "r-fixture"]) == 2
    assert "no such recording" in capsys.readouterr().err
    assert main(["recordings", "retention", "--apply"]) == 0
    assert "nothing deleted" in capsys.readouterr().out
    assert paths.root.is_dir()
