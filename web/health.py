"""Health for load balancers and Prometheus metrics for the IT staff's dashboards."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from hearing_server import __version__
from signaling.loop_lag import LoopLagMonitor
from web.keys import HEALTH_CHECKS, LOOP_LAG, METRICS, SETTINGS
from web.schemas import HealthOut, LoopLagOut

HealthCheck = Callable[[], Awaitable[bool | None]]
"""True: up; False: down; None: not configured."""


async def healthz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    healthy = True
    for name, check in request.app[HEALTH_CHECKS].items():
        result = await check()
        checks[name] = "disabled" if result is None else ("ok" if result else "down")
        healthy = healthy and result is not False
    settings = request.app[SETTINGS]
    lag = request.app[LOOP_LAG].figures()
    body = HealthOut(
        status="ok" if healthy else "degraded",
        version=__version__,
        mode="embedded" if settings.is_embedded else "cluster",
        checks=checks,
        # Shown, not judged: a busy server still serves, and a load balancer pulling it out
        # would drop every hearing it carries.
        loop_lag=LoopLagOut(
            p50_ms=round(lag.p50_ms, 1),
            p99_ms=round(lag.p99_ms, 1),
            max_ms=round(lag.max_ms, 1),
            window_seconds=lag.window_seconds,
            overloaded=lag.max_ms >= settings.loop_lag_alert_ms,
        ),
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


LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: a healthy loop sits in the first buckets, an overloaded one in the last."""


def loop_lag_metrics(registry: CollectorRegistry, monitor: LoopLagMonitor) -> None:
    """Every lag sample into a histogram, and the window's p50/p99/max as gauges read at
    scrape time (a stall still in progress included)."""
    histogram = Histogram(
        "hearing_event_loop_lag_seconds",
        "How late the server's event loop woke from a short sleep",
        buckets=LAG_BUCKETS,
        registry=registry,
    )
    monitor.listen(histogram.observe)
    quantiles = Gauge(
        "hearing_event_loop_lag_window_seconds",
        "Event-loop lateness over the recent window",
        ["quantile"],
        registry=registry,
    )
    for label, read in (
        ("0.5", lambda: monitor.figures().p50_ms / 1000),
        ("0.99", lambda: monitor.figures().p99_ms / 1000),
        ("1", lambda: monitor.figures().max_ms / 1000),
    ):
        quantiles.labels(label).set_function(read)
