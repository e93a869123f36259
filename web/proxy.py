"""Behind a TLS-terminating reverse proxy: the client's address, scheme and host.

A proxy tells them in ``X-Forwarded-For``, ``X-Forwarded-Proto`` and ``X-Forwarded-Host``.
Anyone can send those headers, so they are believed only from a configured proxy
(``trusted_proxies``); from anyone else they are ignored, as when no proxy is configured.
With the scheme believed, ``request.secure`` is true behind HTTPS and cookies get ``Secure``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``10.0.0.5`` or ``10.0.0.0/24``; a bad entry raises ``ValueError`` at start-up."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _last(header: str) -> str:
    """The value the nearest proxy added (the last of a comma-separated list)."""
    return header.rsplit(",", 1)[-1].strip()


def client_of(forwarded_for: str, peer: str, networks: tuple[Network, ...]) -> str:
    """The first address, walking back from the peer, that is not a trusted proxy: the
    addresses before it were written by the client itself and prove nothing."""
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        if not _trusted(client, networks):
            break
        client = hop
    return client


def forwarded_middleware(networks: tuple[Network, ...]) -> Any:
    @web.middleware
    async def believe_trusted_proxies(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not networks or not _trusted(request.remote, networks):
            return await handler(request)
        peer = request.remote or ""
        forwarded_for = request.headers.get("X-Forwarded-For", "")
        remote = client_of(forwarded_for, peer, networks) if forwarded_for else peer
        scheme = _last(request.headers.get("X-Forwarded-Proto", "")).lower()
        host = _last(request.headers.get("X-Forwarded-Host", ""))
        believed = request.clone(
            remote=remote,
            scheme=scheme if scheme in ("http", "https") else request.scheme,
            host=host or request.host,
        )
        return await handler(believed)

    return believe_trusted_proxies
