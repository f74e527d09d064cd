"""Driving a sign-in through the real provider as a browser would, one redirect at a time."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
from nicegui.testing import User

from tests.integration.sso.conftest import SIMULATED_BASE, provider_browser

FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def fresh(kind: str) -> str:
    """A login name the provider has not seen, of a kind (admin, eng, outsider, nogroups): see server.mjs."""
    return f"{kind}-{uuid.uuid4().hex[:8]}"


async def at_provider(idp: httpx.AsyncClient, url: str, login: str) -> str:
    """Follow the provider's redirects and fill its sign-in form as ``login``; the URL it sends the browser back to
    (outside the provider: the client's callback)."""
    provider = urlsplit(url).netloc
    for _ in range(12):
        if urlsplit(url).netloc != provider:
            return url
        response = await idp.get(url)
        if response.is_redirect:
            url = urljoin(url, response.headers["location"])
            continue
        action = FORM_ACTION.search(response.text)
        assert response.status_code == 200 and action and 'name="prompt" value="login"' in response.text, \
            response.text[:500]
        response = await idp.post(urljoin(url, action.group(1)),
                                  data={"prompt": "login", "login": login, "password": "any"})
        assert response.is_redirect, response.text[:500]
        url = urljoin(url, response.headers["location"])
    raise AssertionError("the provider never sent the browser back")


async def start(user: User, redirect_to: str = "/") -> str:
    """The console's redirect to the provider (the authorization URL with state, nonce and PKCE)."""
    response = await user.http_client.get("/login/oidc", params={"redirect_to": redirect_to})
    assert response.status_code in (302, 303), response.text[:300]
    return response.headers["location"]


async def sign_in(user: User, login: str, redirect_to: str = "/") -> httpx.Response:
    """A whole sign-in as ``login``: the console's answer to the provider's callback (a redirect to the session
    ticket, or back to the login page with ``sso_error``)."""
    authorize = await start(user, redirect_to)
    async with provider_browser() as idp:
        callback = await at_provider(idp, authorize, login)
    assert callback.startswith(f"{SIMULATED_BASE}/login/oidc/callback?"), callback
    return await user.http_client.get(callback)


async def enter(user: User, answer: httpx.Response) -> str:
    """Redeem the ticket of a successful callback ``answer``; the page the session starts on."""
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login/session?ticket="), \
        (answer.status_code, answer.headers.get("location"))
    redeemed = await user.http_client.get(answer.headers["location"])
    assert redeemed.status_code == 303, redeemed.text[:300]
    return redeemed.headers["location"]


def refusal(answer: httpx.Response) -> str | None:
    """The ``sso_error`` code the console sent the browser back to the login page with, or None."""
    location = answer.headers.get("location", "")
    if answer.status_code != 303 or not location.startswith("/login?"):
        return None
    return parse_qs(urlsplit(location).query).get("sso_error", [None])[0]


async def signed_in(user: User) -> bool:
    """Whether the simulated browser has a console session (the page guard lets it see the releases page)."""
    response = await user.http_client.get("/")
    return response.status_code == 200


async def id_token_for(issuer: str, client_id: str, client_secret: str, redirect_uri: str, login: str,
                       nonce: str) -> str:
    """A real ID token from the provider for any of its clients: the code flow driven here, as that client."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"client_id": client_id, "response_type": "code", "scope": "openid profile email groups",
                       "redirect_uri": redirect_uri, "state": secrets.token_urlsafe(16), "nonce": nonce,
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    async with provider_browser() as idp:
        callback = await at_provider(idp, f"{issuer}/auth?{query}", login)
        code = parse_qs(urlsplit(callback).query)["code"][0]
        token = await idp.post(f"{issuer}/token", auth=(client_id, client_secret), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier})
    assert token.status_code == 200, token.text
    return token.json()["id_token"]
