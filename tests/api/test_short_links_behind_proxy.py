"""Behind a trusted reverse proxy, wrong short links count against the client's address as
the proxy tells it, not against the proxy: one guesser does not lock out everyone else."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearing_server.settings import Settings
from tests.api.conftest import Api
from tests.conftest import TEST_SECRET

GUESSER = "203.0.113.7"
NEIGHBOUR = "198.51.100.4"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        public_base_url="https://toa.example.vn",
        trusted_proxies=["127.0.0.0/8"],
        webhook_poll_seconds=600,
    )


async def _open(api: Api, code: str, client: str) -> int:
    headers = {"X-Forwarded-For": client, "X-Forwarded-Proto": "https"}
    async with api.client.get(f"/j/{code}", headers=headers, allow_redirects=False) as response:
        return response.status


async def test_the_guessers_address_waits_and_its_neighbours_do_not(api: Api) -> None:
    hearing = await api.schedule_hearing()
    added = await api.add_participant(hearing["id"], hearing["points"][0]["id"], "witness")
    code = added["join_link"]["short_code"]
    assert added["join_link"]["short_url"] == f"https://toa.example.vn/j/{code}"

    for _ in range(5):
        assert await _open(api, "0000000000", GUESSER) == 404
    assert await _open(api, code, GUESSER) == 429
    assert await _open(api, code, NEIGHBOUR) == 303
    refusals = [e for e in await api.audit() if e["action"] == "join.short_code"]
    assert {e["actor"] for e in refusals} == {f"address:{GUESSER}"}
