"""Health for load balancers and Prometheus metrics for the IT staff's dashboards."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from hearing_server import __version__
from web.keys import HEALTH_CHECKS, METRICS, SETTINGS
from web.schemas import HealthOut

HealthCheck = Callable[[], Awaitable[bool | None]]
"""True: up; False: down; None: not configured."""


async def healthz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    healthy = True
    for name, check in request.app[HEALTH_CHECKS].items():
        result = await check()
        checks[name] = "disabled" if result is None else ("ok" if result else "down")
        healthy = healthy and result is not False
    body = HealthOut(
        status="ok" if healthy else "degraded",
        version=__version__,
        mode="embedded" if request.app[SETTINGS].is_embedded else "cluster",
        checks=checks,
    )
    return web.json_response(body.model_dump(), status=200 if healthy else 503)


async def metrics(request: web.Request) -> web.Response:
    payload = generate_latest(request.app[METRICS])
    return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})


def request_metrics(registry: CollectorRegistry) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Count and time requests by route template, not by raw path, so ids don't explode
    the label set."""
    requests = Counter(
        "hearing_http_requests",
        "HTTP requests by route and status",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "hearing_http_request_seconds",
        "HTTP request latency",
        ["method", "route"],
        registry=registry,
    )

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.perf_counter()
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            requests.labels(request.method, route, str(status)).inc()
            latency.labels(request.method, route).observe(time.perf_counter() - started)

    return middleware
