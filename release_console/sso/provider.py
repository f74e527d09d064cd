"""The console as an OpenID Connect client of OIDC_ISSUER, through Authlib.

Authlib does the protocol: discovery, the authorization URL with PKCE (S256), state and nonce (kept in the browser's
signed session cookie until the callback), the code exchange, JOSE with the provider's published keys, and the
end-session URL. This module adds the console's rules on top: the ID token must be there and signed with one of
the provider's asymmetric algorithms (never ``none``, never a shared-secret HMAC), its issuer, audience, subject,
expiry and nonce are required and checked, the keys are fetched again once when a token names an unknown key (the
provider rotated them), and an ``iss`` in the redirect (RFC 9207) must be the issuer.
"""

from __future__ import annotations

import time

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from starlette.requests import Request
from starlette.responses import RedirectResponse

from ..contract.shapes import JsonObject
from ..core.config import Settings
from .errors import SsoError

START_PATH = "/login/oidc"
CALLBACK_PATH = "/login/oidc/callback"
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519")
UNREACHABLE = (httpx.HTTPError, OSError, ValueError, KeyError, TypeError, RuntimeError)
"""What a provider that is down, slow or answering garbage raises inside Authlib."""


class OidcProvider:
    """One configured provider (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_SCOPES)."""

    def __init__(self, settings: Settings) -> None:
        assert settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET is not None
        self.issuer = settings.OIDC_ISSUER
        """Exactly as configured: the discovery document, every ID token and the redirect must name this string."""
        self.client_id = settings.OIDC_CLIENT_ID
        self.clock_skew = settings.OIDC_CLOCK_SKEW_SECONDS
        self.app: StarletteOAuth2App = OAuth().register(
            "oidc",
            client_id=settings.OIDC_CLIENT_ID,
            client_secret=settings.OIDC_CLIENT_SECRET.get_secret_value(),
            server_metadata_url=f"{self.issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={"scope": settings.OIDC_SCOPES, "code_challenge_method": "S256",
                           "timeout": settings.OIDC_TIMEOUT_SECONDS},
        )

    async def redirect(self, request: Request, callback_url: str) -> RedirectResponse:
        """The browser's way to the provider's sign-in; SsoError("unavailable") when the provider does not answer."""
        try:
            await self._metadata()
            return await self.app.authorize_redirect(request, callback_url)
        except UNREACHABLE as exc:
            raise SsoError("unavailable", f"provider unavailable ({type(exc).__name__})") from None

    async def finish(self, request: Request) -> tuple[JsonObject, str]:
        """The verified ID token claims of the callback ``request``, and the ID token itself; SsoError otherwise.

        The state is used up whatever happens next, so a callback URL works once."""
        params = request.query_params
        state = params.get("state")
        data = await self.app.framework.get_state_data(request.session, state) if state else None
        if state:
            await self.app.framework.clear_state_data(request.session, state)
        if (error := params.get("error")) is not None:
            raise SsoError("provider", f"provider answered {error[:64]!r}")
        if not data or not isinstance(data, dict):
            raise SsoError("state", "unknown, used or expired state")
        if (iss := params.get("iss")) is not None and iss != self.issuer:
            raise SsoError("token", "the redirect names another issuer")
        if not (code := params.get("code")):
            raise SsoError("code", "no code in the redirect")
        try:
            token = await self.app.fetch_access_token(
                code=code, redirect_uri=data.get("redirect_uri"), code_verifier=data.get("code_verifier"))
        except OAuthError as exc:
            raise SsoError("code", f"code refused by the provider ({str(exc.error)[:64]})") from None
        except UNREACHABLE as exc:
            raise SsoError("unavailable", f"provider unavailable at the code exchange ({type(exc).__name__})") from None
        id_token = token.get("id_token")
        claims = await self.verify_id_token(id_token, nonce=data.get("nonce"), access_token=token.get("access_token"))
        return claims, str(id_token)

    async def verify_id_token(self, id_token: object, *, nonce: object, access_token: object = None,
                              now: float | None = None) -> JsonObject:
        """The claims of ``id_token`` when it is genuine and meant for this console at ``now`` (default: the current
        time); SsoError("token") naming what failed otherwise."""
        if not isinstance(id_token, str) or not id_token:
            raise SsoError("token", "the provider sent no ID token")
        if not isinstance(nonce, str) or not nonce:
            raise SsoError("state", "the sign-in has no nonce")
        try:
            metadata = await self._metadata()
            algorithms = [a for a in metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
                          if a in ASYMMETRIC]
            if not algorithms:
                raise SsoError("token", "the provider signs ID tokens with no algorithm the console accepts")
            decoded = await self._decode(id_token, algorithms)
            claims = CodeIDToken(
                decoded.claims, decoded.header,
                {"iss": {"essential": True, "value": self.issuer}, "aud": {"essential": True, "value": self.client_id},
                 "sub": {"essential": True}, "exp": {"essential": True}, "nonce": {"essential": True, "value": nonce}},
                {"nonce": nonce, "client_id": self.client_id,
                 **({"access_token": access_token} if isinstance(access_token, str) else {})},
            )
            claims.validate(now=int(now if now is not None else time.time()), leeway=self.clock_skew)
        except JoseError as exc:
            raise SsoError("token", f"ID token refused: {type(exc).__name__} {str(exc)[:120]}") from None
        except UNREACHABLE as exc:
            raise SsoError("unavailable", f"provider keys unavailable ({type(exc).__name__})") from None
        return dict(claims)

    async def logout_url(self, id_token: str, after_logout_url: str) -> str | None:
        """The provider's end-session URL for this sign-in (back to ``after_logout_url``), or None without one."""
        try:
            metadata = await self._metadata()
            if not metadata.get("end_session_endpoint"):
                return None
            result = await self.app.create_logout_url(post_logout_redirect_uri=after_logout_url,
                                                      id_token_hint=id_token, client_id=self.client_id)
        except UNREACHABLE:
            return None
        return str(result["url"])

    async def _metadata(self) -> JsonObject:
        """The provider's discovery document (loaded once, then cached by Authlib); its issuer must be OIDC_ISSUER."""
        metadata = await self.app.load_server_metadata()
        if not isinstance(metadata, dict) or metadata.get("issuer") != self.issuer:
            self.app.server_metadata = {}  # not cached: a fixed configuration is picked up on the next try
            raise ValueError("the discovery document names another issuer")
        return metadata

    async def _decode(self, id_token: str, algorithms: list[str]) -> jwt.Token:
        registry = JWSRegistry(algorithms=algorithms)
        try:
            return jwt.decode(id_token, await self._keys(), registry=registry)
        except InvalidKeyIdError:  # a key this console has not seen: the provider rotated its keys
            return jwt.decode(id_token, await self._keys(force=True), registry=registry)

    async def _keys(self, *, force: bool = False) -> KeySet:
        """The provider's published keys; a key set that is not one is not kept (the next sign-in fetches again)."""
        jwks = await self.app.fetch_jwk_set(force=force)
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        try:
            if not isinstance(keys, list) or not keys:
                raise ValueError("the provider's key set has no keys")
            return KeySet.import_key_set(jwks)
        except (ValueError, TypeError, JoseError):
            self.app.server_metadata.pop("jwks", None)
            raise ValueError("the provider's key set is unusable") from None


_providers: dict[tuple[object, ...], OidcProvider] = {}


def provider_for(settings: Settings) -> OidcProvider | None:
    """The provider of these settings (one per configuration, so discovery and keys are fetched once), or None when
    single sign-on is not configured."""
    if not settings.oidc_enabled:
        return None
    secret = settings.OIDC_CLIENT_SECRET.get_secret_value() if settings.OIDC_CLIENT_SECRET else ""
    key = (settings.OIDC_ISSUER, settings.OIDC_CLIENT_ID, secret, settings.OIDC_SCOPES,
           settings.OIDC_TIMEOUT_SECONDS, settings.OIDC_CLOCK_SKEW_SECONDS)
    if key not in _providers:
        _providers.clear()
        _providers[key] = OidcProvider(settings)
    return _providers[key]
