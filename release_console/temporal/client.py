"""Connecting to Temporal with the app's data converter, TLS and timeouts."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.converter import DataConverter

from ..core.config import Settings
from .codec import LargePayloadCodec

DATA_CONVERTER = dataclasses.replace(DataConverter.default, payload_codec=LargePayloadCodec())


def _tls(settings: Settings) -> TLSConfig | bool:
    if not settings.TEMPORAL_TLS:
        return False

    def read(path: Path | None) -> bytes | None:
        return path.read_bytes() if path else None

    return TLSConfig(
        server_root_ca_cert=read(settings.TEMPORAL_TLS_CA_CERT),
        client_cert=read(settings.TEMPORAL_TLS_CLIENT_CERT),
        client_private_key=read(settings.TEMPORAL_TLS_CLIENT_KEY),
    )


async def connect(settings: Settings, *, address: str | None = None, lazy: bool = False) -> Client:
    """A client for the configured namespace; fails within the RPC timeout when Temporal is down."""
    api_key = settings.TEMPORAL_API_KEY.get_secret_value() if settings.TEMPORAL_API_KEY else None
    return await Client.connect(
        address or settings.temporal_address,
        namespace=settings.TEMPORAL_NAMESPACE,
        api_key=api_key,
        tls=_tls(settings) if api_key is None else (_tls(settings) or True),
        data_converter=DATA_CONVERTER,
        connect_timeout=timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS),
        lazy=lazy,
    )


def accounts_namespace(settings: Settings) -> str:
    """Where the accounts workflow lives: ACCOUNTS_NAMESPACE, or the releases' namespace when unset."""
    return settings.ACCOUNTS_NAMESPACE or settings.TEMPORAL_NAMESPACE


def for_namespace(client: Client, namespace: str) -> Client:
    """``client`` itself when it is on ``namespace``; otherwise a client for ``namespace`` on the same connection."""
    if client.namespace == namespace:
        return client
    config = client.config()  # a shallow copy
    config["namespace"] = namespace
    return Client(**config)
