"""The client's address: the TCP peer, or what a trusted reverse proxy says in X-Forwarded-For.

X-Forwarded-For is believed only when the peer is in TRUSTED_PROXIES. The list is then read from the right (each
proxy appends the address it saw), skipping trusted proxies; the first address that is not a trusted proxy is the
client. Anything malformed ends the walk at the last address vouched for, so a client cannot choose its address.

The console's TRUSTED_PROXIES are handed to :func:`configure` when the app is assembled (app.setup); until then the
environment's settings are used. Like the rest of core/, this module never reaches for the running services.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import HTTPConnection

from ..core.config import get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_FORWARDED_HOPS = 32
_trusted: tuple[str, ...] | None = None
"""TRUSTED_PROXIES of the assembled console (None until :func:`configure`)."""


@lru_cache(maxsize=32)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    """The parsed TRUSTED_PROXIES (validated by the settings, so every entry parses)."""
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = address.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        return parsed.ipv4_mapped
    return parsed


def _is_trusted(address: str, networks: Sequence[Network]) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in networks)


def resolve_client(peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[str]) -> str | None:
    """The client address for a request from ``peer`` carrying these X-Forwarded-For header values."""
    networks = trusted_networks(tuple(proxies))
    if peer is None or not networks or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")][-MAX_FORWARDED_HOPS:]
    client = peer
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            break  # garbage (or "unknown"): nothing further left can be vouched for
        client = str(parsed)
        if not any(parsed in network for network in networks):
            break
    return client


def configure(proxies: Sequence[str]) -> None:
    """Believe X-Forwarded-For from these proxies (the console's TRUSTED_PROXIES; called when the app is assembled)."""
    global _trusted
    _trusted = tuple(proxies)


def current_trusted_proxies() -> tuple[str, ...]:
    """TRUSTED_PROXIES given to :func:`configure` (the environment's settings before that)."""
    if _trusted is not None:
        return _trusted
    return tuple(get_settings().TRUSTED_PROXIES)


def connection_client(connection: HTTPConnection | None) -> str | None:
    """The client address of a request or websocket connection (see the module's docstring)."""
    if connection is None:
        return None
    peer = connection.client.host if connection.client else None
    return resolve_client(peer, connection.headers.getlist("x-forwarded-for"), current_trusted_proxies())

