"""The domain stays pure: no I/O frameworks, nothing from the outer layers."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOMS = Path(__file__).resolve().parents[2] / "rooms"
MODULES = sorted(ROOMS.rglob("*.py"))

FORBIDDEN = frozenset(
    {
        "asyncio",
        "sqlalchemy",
        "aiohttp",
        "socketio",
        "aiortc",
        "av",
        "redis",
        "hearing_server",
        "signaling",
        "recorder",
        "web",
    }
)


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement names, anywhere in the file (functions included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside rooms
                names.add("rooms" + ("." + node.module if node.module else ""))
            elif node.module:
                names.add(node.module)
    return names


def test_the_walker_sees_imports() -> None:
    assert len(MODULES) >= 13
    assert "rooms.cases" in imported_modules(ROOMS / "session.py")
    assert "dataclasses" in imported_modules(ROOMS / "session.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(ROOMS).as_posix())
def test_no_forbidden_import(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN)
    assert bad == [], f"rooms/{path.name} imports {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(ROOMS).as_posix())
def test_only_the_standard_library_and_rooms(path: Path) -> None:
    outside = sorted(
        m
        for m in imported_modules(path)
        if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "rooms"
    )
    assert outside == [], f"rooms/{path.name} imports {outside}"


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "import av.packet",
        "from sqlalchemy.orm import Session",
        "from signaling import media",
        "def later():\n    from web.routes import app\n",
    ],
)
def test_the_check_would_catch(tmp_path: Path, source: str) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source, encoding="utf-8")
    assert {m.split(".")[0] for m in imported_modules(probe)} & FORBIDDEN
