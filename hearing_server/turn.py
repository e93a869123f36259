"""Time-limited TURN credentials, the scheme of coturn's ``use-auth-secret``: the username
is ``expiry:user`` and the password is base64(HMAC-SHA1(secret, username))."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from hearing_server.settings import Settings


def turn_credentials(secret: str, user: str, now: datetime, ttl: timedelta) -> tuple[str, str]:
    expiry = int((now + ttl).timestamp())
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(settings: Settings, user: str, now: datetime) -> list[dict[str, Any]]:
    """What a browser puts in ``RTCPeerConnection({iceServers})``."""
    servers: list[dict[str, Any]] = [s.model_dump(exclude_none=True) for s in settings.ice_servers]
    if settings.turn_urls and settings.turn_secret is not None:
        username, credential = turn_credentials(
            settings.turn_secret.get_secret_value(),
            user,
            now,
            timedelta(seconds=settings.turn_credential_ttl_seconds),
        )
        servers.append({"urls": settings.turn_urls, "username": username, "credential": credential})
    return servers
