"""Verified ID token claims → who the console lets in, as what."""

from __future__ import annotations

import pytest

from release_console.core.config import Settings
from release_console.sso.errors import SsoError
from release_console.sso.identity import identity_from_claims

OIDC = {"OIDC_ISSUER": "http://127.0.0.1:1", "OIDC_CLIENT_ID": "console", "OIDC_CLIENT_SECRET": "s"}


def _settings(**more: object) -> Settings:
    return Settings(**OIDC, OIDC_ADMIN_GROUPS="admins", OIDC_ALLOWED_GROUPS="eng,admins", **more)


def _refusal(claims: dict, settings: Settings | None = None) -> str:
    with pytest.raises(SsoError) as refused:
        identity_from_claims(claims, settings or _settings())
    return refused.value.code


def test_roles_come_from_the_groups() -> None:
    admin = identity_from_claims({"sub": "1", "preferred_username": " Alice ", "groups": ["eng", "admins"]},
                                 _settings())
    assert (admin.username, admin.subject, admin.role) == ("alice", "1", "admin")
    viewer = identity_from_claims({"sub": "2", "preferred_username": "bob", "groups": "eng"}, _settings())
    assert viewer.role == "viewer" and viewer.groups == ("eng",)


def test_who_is_refused() -> None:
    assert _refusal({"sub": "3", "preferred_username": "carol", "groups": ["sales"]}) == "not_allowed"
    assert _refusal({"sub": "3", "preferred_username": "carol"}) == "groups"
    assert _refusal({"sub": "3", "preferred_username": "carol", "groups": [1, 2]}) == "groups"
    assert _refusal({"preferred_username": "carol", "groups": ["eng"]}) == "token"  # no subject
    assert _refusal({"sub": "3", "preferred_username": "\u212aarl", "groups": ["eng"]}) == "account"  # Kelvin sign
    assert _refusal({"sub": "3", "preferred_username": "has space", "groups": ["eng"]}) == "account"
    by_email = _settings(OIDC_USERNAME_CLAIM="email")
    unverified = {"sub": "4", "email": "dan@example.com", "email_verified": False, "groups": ["eng"]}
    assert _refusal(unverified, by_email) == "account"
    assert identity_from_claims({**unverified, "email_verified": True}, by_email).username == "dan@example.com"


def test_without_group_rules_everyone_the_provider_vouches_for_is_a_viewer() -> None:
    open_settings = Settings(**OIDC)
    assert identity_from_claims({"sub": "5", "preferred_username": "erin"}, open_settings).role == "viewer"
