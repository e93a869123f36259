"""The command line as an operator uses it: real processes, real ports, real files."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import uvloop

from hearing_server.cli import serving_loop
from tests.conftest import POSTGRES_URL, reset_postgres

CLI = [sys.executable, "-m", "hearing_server"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARING_")}
    env.update(
        HEARING_CONFIG="/nonexistent/hearing-server.toml",
        HEARING_DATA_DIR=str(tmp_path / "data"),
        **extra,
    )
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_server_runs_on_uvloop() -> None:
    loop = serving_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_serve_prints_where_to_open_it_and_answers_health(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if "password:" in line:
                break
        text = "".join(banner)
        assert f"http://127.0.0.1:{port}/" in text
        assert "username: admin" in text
        password = text.split("password:")[1].split()[0]
        saved = (tmp_path / "data" / "initial-admin-password").read_text().strip()
        assert saved == password
        assert (tmp_path / "data" / "initial-admin-password").stat().st_mode & 0o077 == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            health = json.load(response)
        assert health["status"] == "ok" and health["checks"]["database"] == "ok"
        login = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/auth/login",
            data=json.dumps({"username": "admin", "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(login, timeout=10) as response:
            assert json.load(response)["user"]["role"] == "admin"
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()
    assert (tmp_path / "data" / "hearing.db").exists()
    key = tmp_path / "data" / "secret_key"
    assert key.stat().st_mode & 0o077 == 0 and len(key.read_text()) >= 32


def test_demo_prints_join_links_and_keeps_the_audit_chain(tmp_path: Path) -> None:
    env = _env(tmp_path, HEARING_PUBLIC_BASE_URL="https://toa.example.vn")
    demo = subprocess.run([*CLI, "demo"], env=env, capture_output=True, text=True, timeout=60)
    assert demo.returncode == 0, demo.stderr
    links = [line for line in demo.stdout.splitlines() if "https://toa.example.vn/join/" in line]
    assert len(links) == 11  # 7 hearing participants, chair and 3 meeting points
    assert any("Thẩm phán chủ tọa" in line for line in links)
    # Local times written the court's way, the zone by name (not UTC, not an ISO stamp).
    # The demo's sessions start now: one that runs past midnight names both days.
    day = r"(?:thứ (?:Hai|Ba|Tư|Năm|Sáu|Bảy)|Chủ nhật) \d\d/\d\d/\d{4}"
    one_day = rf"\d\d:\d\d–\d\d:\d\d, {day}"
    two_days = rf"\d\d:\d\d, {day} – \d\d:\d\d, {day}"
    slots = re.findall(rf"(?:{one_day}|{two_days}) \(giờ Việt Nam\)", demo.stdout)
    assert len(slots) == 2, demo.stdout
    assert "+00:00" not in demo.stdout
    verify = subprocess.run(
        [*CLI, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0, verify.stderr
    assert "hash chain verified" in verify.stdout


def test_user_add_reads_the_password_from_stdin_and_refuses_short_ones(tmp_path: Path) -> None:
    env = _env(tmp_path)
    ok = subprocess.run(
        [*CLI, "user", "add", "--username", "thuky.lan", "--role", "clerk", "--password-stdin"],
        input="a-long-enough-password\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "created clerk account 'thuky.lan'" in ok.stdout
    short = subprocess.run(
        [*CLI, "user", "add", "--username", "thuky.mai", "--role", "clerk", "--password-stdin"],
        input="short\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert short.returncode == 1
    assert "at least 10 characters" in short.stderr
    again = subprocess.run(
        [*CLI, "user", "add", "--username", "thuky.lan", "--role", "judge", "--password-stdin"],
        input="another-long-password\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1 and "taken" in again.stderr


@pytest.mark.postgres
def test_db_upgrade_on_postgresql(tmp_path: Path) -> None:
    asyncio.run(reset_postgres())
    env = _env(tmp_path, HEARING_DATABASE_URL=POSTGRES_URL)
    result = subprocess.run(
        [*CLI, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    versions = Path(__file__).parents[2] / "hearing_server" / "migrations" / "versions"
    newest = max(path.name[:4] for path in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert f"database at revision {newest}" in result.stdout


def test_a_bad_setting_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    env = _env(tmp_path, HEARING_DATABASE_URL="mysql://nope")
    result = subprocess.run([*CLI, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert "postgresql+asyncpg://" in result.stderr


def test_a_second_server_on_a_busy_port_says_so_and_how_to_choose_another(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        second = subprocess.run(
            [*CLI, "serve", "--port", str(port)],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in second.stderr
    assert "--port" in second.stderr and "HEARING_PORT" in second.stderr
    assert "Traceback" not in second.stderr + second.stdout


def test_a_probe_of_a_server_that_is_not_there_reports_json_not_a_traceback(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{_free_port()}/join/eyJhbGciOiJIUzI1NiJ9.e30.c2ln"
    probe = subprocess.run(
        [*CLI, "probe", url, "--seconds", "1", "--json"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 1
    report = json.loads(probe.stdout)
    assert report["ok"] is False and report["joined"] is False
    assert report["problems"] == [report["error"]] and "cannot reach" in report["error"]
    assert "Traceback" not in probe.stderr


def test_cases_import_is_a_dry_run_unless_applied(tmp_path: Path) -> None:
    env = _env(tmp_path)
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "case_number,case_type,scheduled_start,courtroom_name\n"
        "7/2031/DS-ST,civil,2031-05-06 08:00,Phòng xử án số 1\n"
        "8/2031/DS-ST,divorce,2031-05-06 09:00,Phòng xử án số 1\n",
        encoding="utf-8",
    )
    command = [*CLI, "cases", "import", str(registry)]
    dry = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 1, dry.stderr  # one row refused
    assert "line 2: 7/2031/DS-ST: accepted" in dry.stdout
    assert "line 3: 8/2031/DS-ST: refused: Case type is not valid" in dry.stdout
    assert "dry run: nothing changed" in dry.stdout
    applied = subprocess.run(
        [*command, "--apply"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "line 2: 7/2031/DS-ST: scheduled" in applied.stdout, applied.stderr
    again = subprocess.run(
        [*command, "--apply"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "already has a hearing at this very time" in again.stdout
