"""The console's check of ID tokens, fed real tokens from the real provider (and forgeries made from them)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from release_console.core.config import get_settings
from release_console.sso.errors import SsoError
from release_console.sso.provider import OidcProvider, provider_for
from tests.integration.sso.conftest import CLIENT_ID, CLIENT_SECRET, SIMULATED_BASE, Provider
from tests.integration.sso.helpers import fresh, id_token_for

NONCE = "the-nonce-of-this-sign-in"


@pytest.fixture
def console_side(sso_env) -> OidcProvider:
    provider = provider_for(get_settings())
    assert provider is not None
    return provider


async def _console_token(oidc_provider: Provider) -> str:
    return await id_token_for(oidc_provider.issuer, CLIENT_ID, CLIENT_SECRET, f"{SIMULATED_BASE}/login/oidc/callback",
                              fresh("eng"), NONCE)


def _parts(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _refused(console_side: OidcProvider, token: str, **kwargs) -> str:
    with pytest.raises(SsoError) as refused:
        await console_side.verify_id_token(token, nonce=kwargs.pop("nonce", NONCE), **kwargs)
    assert refused.value.code == "token"
    return refused.value.reason


async def test_a_genuine_token_passes_and_the_same_token_later_is_expired(
    console_side: OidcProvider, oidc_provider: Provider
) -> None:
    token = await _console_token(oidc_provider)
    claims = await console_side.verify_id_token(token, nonce=NONCE)
    assert claims["aud"] == CLIENT_ID and claims["iss"] == oidc_provider.issuer and claims["groups"] == ["engineering"]
    two_hours_later = time.time() + 7200
    assert "ExpiredTokenError" in await _refused(console_side, token, now=two_hours_later)


async def test_a_token_for_another_application_at_the_same_provider_is_refused(
    console_side: OidcProvider, oidc_provider: Provider
) -> None:
    other = await id_token_for(oidc_provider.issuer, "other-app", "other-app-test-secret",
                               "http://127.0.0.1/other-app/callback", fresh("admin"), NONCE)
    assert _parts(other)[1]["aud"] == "other-app"  # genuine, signed by the provider, meant for someone else
    assert "aud" in await _refused(console_side, other)


async def test_a_token_from_another_sign_in_is_refused_by_its_nonce(
    console_side: OidcProvider, oidc_provider: Provider
) -> None:
    token = await _console_token(oidc_provider)
    assert "nonce" in await _refused(console_side, token, nonce="the-nonce-of-another-sign-in")


async def test_unsigned_and_self_signed_tokens_are_refused(console_side: OidcProvider, oidc_provider: Provider) -> None:
    header, claims = _parts(await _console_token(oidc_provider))
    claims["groups"] = ["release-admins"]  # what a forger wants
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    await _refused(console_side, unsigned)
    with_secret = jwt.encode({"alg": "HS256", "kid": header["kid"]}, claims, OctKey.import_key(CLIENT_SECRET * 2))
    await _refused(console_side, with_secret)  # HMAC with a secret the forger knows: never accepted
    tampered = await _console_token(oidc_provider)
    head, _, signature = tampered.split(".")
    await _refused(console_side, f"{head}.{_b64(claims)}.{signature}")  # the provider's signature, other claims


async def test_an_issuer_that_names_another_issuer_is_refused(sso_env, oidc_provider: Provider) -> None:
    sso_env(OIDC_ISSUER=oidc_provider.issuer.replace("127.0.0.1", "localhost"))  # discovery says 127.0.0.1
    provider = provider_for(get_settings())
    assert provider is not None
    token = await _console_token(oidc_provider)
    with pytest.raises(SsoError) as refused:
        await provider.verify_id_token(token, nonce=NONCE)
    assert refused.value.code == "unavailable" and "ValueError" in refused.value.reason

