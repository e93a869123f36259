from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_health_reports_database_and_embedded_mode(
    client: TestClient[object, object],
) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    assert body["mode"] == "embedded"
    assert body["checks"] == {"database": "ok", "redis": "disabled"}


async def test_the_front_page_names_the_court_and_its_status(
    client: TestClient[object, object],
) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "Tòa án nhân dân" in page
    assert "database: hoạt động" in page
    assert 'lang="vi"' in page
    assert (await client.get("/static/site.css")).status == 200
