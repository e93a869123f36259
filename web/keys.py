"""Typed application state: handlers reach their dependencies only through these keys."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from hearing_server.case_file import CaseFileExport
from hearing_server.minutes_documents import MinutesDocuments
from hearing_server.presence import ConnectionPresence
from hearing_server.recording_pipeline import RecordingPipeline
from hearing_server.recordings import RecordingCatalog
from hearing_server.services import HearingService
from hearing_server.settings import Settings
from hearing_server.webhooks import WebhookDispatcher, WebhookRegistry
from recorder.integrity import VerificationCache
from signaling.loop_lag import LoopLagMonitor

SERVICE = web.AppKey("service", HearingService)
SETTINGS = web.AppKey("settings", Settings)
PRESENCE = web.AppKey("presence", ConnectionPresence)
"""Who holds whose connection: this process alone, or the cluster's nodes through Redis."""
METRICS = web.AppKey("metrics", CollectorRegistry)
HEALTH_CHECKS = web.AppKey("health_checks", dict[str, Any])
"""name -> async callable returning True when healthy (database, redis...)."""
LOOP_LAG = web.AppKey("loop_lag", LoopLagMonitor)
"""How late this process's event loop runs (shown by ``/healthz`` and ``/metrics``)."""
WEBHOOKS = web.AppKey("webhooks", WebhookRegistry)
WEBHOOK_DISPATCHER = web.AppKey("webhook_dispatcher", WebhookDispatcher)
"""Sends the notifications the outbox holds; tests drive it with their own clock."""
RECORDINGS = web.AppKey("recordings", RecordingCatalog)
"""The recordings catalogue: search, access, download links, holds and retention."""
VERIFICATIONS = web.AppKey("verifications", VerificationCache)
"""Recording verifications kept until a file of the recording changes."""
MINUTES_DOCUMENTS = web.AppKey("minutes_documents", MinutesDocuments)
"""The minutes as files: the DOCX and the signed PDF."""
CASE_FILES = web.AppKey("case_files", CaseFileExport)
"""A hearing's case-file bundle for the case registry."""
RECORDING_PIPELINE = web.AppKey("recording_pipeline", RecordingPipeline)
"""Seals, registers and composes recordings as the recorder ends them; sweeps at start."""
