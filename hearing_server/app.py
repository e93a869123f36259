"""The composition root: the one place that chooses implementations and wires them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any, ParamSpec

import uvloop
from aiohttp import web
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from hearing_server.bus import EventBus, LocalEventBus, RedisEventBus
from hearing_server.case_file import CaseFileExport
from hearing_server.document_signing import court_certificate
from hearing_server.minutes_documents import MinutesDocuments
from hearing_server.persistence.database import Database
from hearing_server.presence import ConnectionPresence, LocalPresence, RedisPresence
from hearing_server.recording_pipeline import RecordingPipeline
from hearing_server.recordings import DownloadLinks, RecordingCatalog
from hearing_server.services import Clock, HearingService, utc_now
from hearing_server.settings import Settings
from hearing_server.tokens import TokenSigner
from hearing_server.webhooks import NotifyingBus, WebhookDispatcher, WebhookOutbox, WebhookRegistry
from recorder.integrity import VerificationCache
from recorder.jobs import jobs_for
from recorder.service import Recorder
from recorder.signing import ServerKey
from signaling.forwarding import ForwardingGateway
from signaling.gateway import MediaGateway, MediaGatewayFactory, NoMediaGateway, ServerOfferSender
from signaling.media_loop import SignallingLoop, on_a_loop_of_its_own
from signaling.server import SIGNALING, SignalingServer
from web.api import ENDPOINTS, openapi_document
from web.endpoint import MAX_BODY_BYTES, add_routes
from web.errors import error_middleware
from web.health import healthz, loop_lag_metrics, metrics, request_metrics
from web.hearing import add_hearing_routes
from web.keys import (
    CASE_FILES,
    HEALTH_CHECKS,
    LOOP_LAG,
    METRICS,
    MINUTES_DOCUMENTS,
    PRESENCE,
    RECORDING_PIPELINE,
    RECORDINGS,
    SERVICE,
    SETTINGS,
    VERIFICATIONS,
    WEBHOOK_DISPATCHER,
    WEBHOOKS,
)
from web.pages import add_page_routes
from web.proxy import forwarded_middleware, trusted_networks
from web.staff.pages import add_staff_routes

OPENAPI_PATH = "/api/v1/openapi.json"


P = ParamSpec("P")


def create_app(
    settings: Settings, clock: Clock = utc_now, media: MediaGatewayFactory | None = None
) -> web.Application:
    registry = CollectorRegistry()
    app = web.Application(
        middlewares=[
            forwarded_middleware(trusted_networks(settings.trusted_proxies)),
            request_metrics(registry),
            error_middleware,
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[VERIFICATIONS] = VerificationCache()
    app[METRICS] = registry
    pipeline = app[RECORDING_PIPELINE] = RecordingPipeline(settings.effective_recordings_dir)
    app.cleanup_ctx.append(_services(clock))
    signaling = SignalingServer(settings, media or media_gateway_factory(settings, pipeline))
    pipeline.alert = signaling.monitoring.recording_failed
    signaling.attach(app)
    app[SIGNALING] = signaling
    app[LOOP_LAG] = signaling.loop_lag
    loop_lag_metrics(registry, signaling.loop_lag)
    app.cleanup_ctx.append(signaling.cleanup_context(SERVICE, PRESENCE))
    app.cleanup_ctx.append(_presence_watch(signaling))
    add_routes(app, ENDPOINTS)
    document = openapi_document()
    app.router.add_get(OPENAPI_PATH, _json_handler(document), name="openapi")
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/metrics", metrics, name="metrics")
    add_page_routes(app)
    add_hearing_routes(app)
    add_staff_routes(app)
    return app


def media_gateway_factory(
    settings: Settings, pipeline: RecordingPipeline | None = None
) -> MediaGatewayFactory:
    """The forwarder when media is on (the default), otherwise signalling only. The recorder
    tells ``pipeline`` of recordings opening, ending and failing; it does the rest."""
    if not settings.media_enabled:
        return NoMediaGateway

    def forwarding(
        send_offer: ServerOfferSender, signalling: SignallingLoop | None = None
    ) -> MediaGateway:
        def on_signalling_loop(call: Callable[P, None]) -> Callable[P, None]:
            return call if signalling is None else signalling.soon(call)

        return ForwardingGateway(
            send_offer,
            video_codec=f"video/{settings.video_codec}",
            forwarding=settings.media_forwarding,
            recorder=Recorder(
                settings.effective_recordings_dir,
                segment_seconds=settings.recording_segment_seconds,
                min_free_mb=settings.recording_min_free_mb,
                on_failure=None if pipeline is None else pipeline.capture_failed,
                on_started=None
                if pipeline is None
                else on_signalling_loop(pipeline.recording_started),
                on_stopped=None
                if pipeline is None
                else on_signalling_loop(pipeline.recording_ended),
            ),
        )

    if settings.media_loop == "own":
        return on_a_loop_of_its_own(forwarding, uvloop.new_event_loop)
    return forwarding


def build_service(
    settings: Settings, database: Database, bus: EventBus, clock: Clock
) -> HearingService:
    return HearingService(
        database,
        TokenSigner(settings.signing_key()),
        bus,
        settings.base_url,
        staff_token_ttl=timedelta(hours=settings.staff_token_hours),
        join_link_grace=timedelta(hours=settings.join_link_grace_hours),
        clock=clock,
    )


def build_presence(settings: Settings, redis: Redis | None, clock: Clock) -> ConnectionPresence:
    """Embedded: this process held every connection. Cluster: nodes share who holds whom."""
    if redis is None:
        return LocalPresence()
    return RedisPresence(
        redis,
        LocalPresence(),
        clock,
        heartbeat_seconds=settings.node_heartbeat_seconds,
        sweep_seconds=settings.lost_connection_sweep_seconds,
        unheld_grace=timedelta(seconds=settings.unheld_connection_grace_seconds),
    )


def _presence_watch(signaling: SignalingServer) -> Any:
    """Connections a dead process left are swept as lost before this one listens, and (in
    cluster mode) while it runs; losses go through signalling so monitors see the alerts."""

    async def watch(app: web.Application) -> AsyncIterator[None]:
        presence = app[PRESENCE]
        await presence.start(app[SERVICE].present_participants, signaling.record_swept_loss)
        try:
            yield
        finally:
            await presence.stop()

    return watch


def _services(clock: Clock) -> Any:
    async def services(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        database = Database(settings.effective_database_url, settings.jurisdiction())
        redis: Redis | None = None
        bus: EventBus = LocalEventBus()
        try:
            if database.dialect == "sqlite":
                await database.upgrade()
            if settings.redis_url:
                redis = Redis.from_url(settings.redis_url)
                bus = RedisEventBus(redis)
            await bus.start()
            outbox = WebhookOutbox(database, clock)
            bus = NotifyingBus(bus, outbox)
            service = build_service(settings, database, bus, clock)
            service.notify = outbox.notify_fact
            court = settings.court
            await service.ensure_court(court.code, court.name, court.time_zone)
            app[SERVICE] = service
            app[WEBHOOKS] = WebhookRegistry(service)
            catalog = app[RECORDINGS] = RecordingCatalog(
                service,
                settings.effective_recordings_dir,
                DownloadLinks(settings.signing_key()),
                settings.recording_retention_days,
            )
            pipeline = app[RECORDING_PIPELINE]
            await pipeline.start(
                service,
                catalog,
                jobs_for(settings.redis_url),
                ServerKey.load_or_create(settings.data_dir),
                court_certificate(settings),
            )
            documents = app[MINUTES_DOCUMENTS] = MinutesDocuments(service, settings)
            app[CASE_FILES] = CaseFileExport(service, settings, documents, catalog)
            dispatcher = app[WEBHOOK_DISPATCHER] = WebhookDispatcher(
                database, clock, poll_seconds=settings.webhook_poll_seconds
            )
            await dispatcher.start()
            app[PRESENCE] = build_presence(settings, redis, clock)
            app[HEALTH_CHECKS] = {"database": database.ping, "redis": _redis_check(redis)}
            yield
        finally:
            await app[RECORDING_PIPELINE].close()
            if WEBHOOK_DISPATCHER in app:
                await app[WEBHOOK_DISPATCHER].stop()
            await bus.stop()
            if redis is not None:
                await redis.aclose()
            await database.dispose()

    return services


def _redis_check(redis: Redis | None) -> Any:
    async def check() -> bool | None:
        if redis is None:
            return None
        try:
            return bool(await redis.ping())
        except Exception:
            return False

    return check


def _json_handler(document: dict[str, Any]) -> Any:
    body = json.dumps(document, ensure_ascii=False)

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    return handler
