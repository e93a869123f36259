"""The server's own load, as IT staff's tools read it: the event loop's lateness on
``/healthz`` and in the Prometheus metrics, after a real stall of the server's loop."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.loop_stall import stall_event_loop

Client = TestClient[Any, Any]
STALL = 0.6


async def _health(client: Client) -> dict[str, Any]:
    async with client.get("/healthz") as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def _lag_metrics(client: Client) -> dict[str, float]:
    async with client.get("/metrics") as response:
        text = await response.text()
    return {
        f"{sample.name}{sample.labels.get('quantile', '')}": sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("hearing_event_loop_lag")
        for sample in family.samples
        if not sample.labels.get("le")
    }


async def test_a_stalled_loop_shows_on_healthz_and_in_the_metrics(client: Client) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while (await _lag_metrics(client))["hearing_event_loop_lag_seconds_count"] < 5:
        assert loop.time() < deadline, "the loop-lag worker never sampled"
        await asyncio.sleep(0.05)
    before = await _lag_metrics(client)

    await stall_event_loop(STALL)

    health = await _health(client)
    assert health["status"] == "ok"  # shown, not judged: a busy server still serves
    lag = health["loop_lag"]
    assert lag["max_ms"] >= STALL * 1000 * 0.9
    assert lag["overloaded"] is True  # above the default threshold of 250 ms
    assert lag["p50_ms"] < lag["max_ms"]
    assert lag["window_seconds"] > 0

    while (after := await _lag_metrics(client))["hearing_event_loop_lag_seconds_count"] <= before[
        "hearing_event_loop_lag_seconds_count"
    ]:
        assert loop.time() < deadline, "no new lag sample in the histogram"
        await asyncio.sleep(0.05)
    assert after["hearing_event_loop_lag_seconds_sum"] >= STALL * 0.9
    assert after["hearing_event_loop_lag_window_seconds1"] >= STALL * 0.9
    assert after["hearing_event_loop_lag_window_seconds0.5"] < STALL
