"""Who a verified ID token is in the console: the username, the provider's subject and the role from its groups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..core.config import Settings
from ..workflows.accounts import MAX_SUBJECT, USERNAME_PATTERN
from .errors import SsoError

MAX_GROUPS = 1000


@dataclass(frozen=True)
class ExternalIdentity:
    """A person the provider vouched for, as the console will know them."""

    username: str
    subject: str
    role: str
    groups: tuple[str, ...]


def identity_from_claims(claims: Mapping[str, object], settings: Settings) -> ExternalIdentity:
    """The identity of verified ID token ``claims`` under the OIDC_* settings; SsoError when the console may not let
    them in (no usable name, no groups claim while groups decide, not in OIDC_ALLOWED_GROUPS)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT:
        raise SsoError("token", "the ID token has no usable sub claim")
    name = claims.get(settings.OIDC_USERNAME_CLAIM)
    username = name.strip().lower() if isinstance(name, str) and name.isascii() else ""  # "\u212a".lower() is "k"
    if not USERNAME_PATTERN.match(username):
        raise SsoError("account", f"the {settings.OIDC_USERNAME_CLAIM} claim is missing or not a usable username")
    if settings.OIDC_USERNAME_CLAIM == "email" and claims.get("email_verified") is False:
        raise SsoError("account", "the email address is not verified by the provider")
    groups = _groups(claims.get(settings.OIDC_GROUPS_CLAIM))
    groups_decide = bool(settings.OIDC_ALLOWED_GROUPS or settings.OIDC_ADMIN_GROUPS)
    if groups is None and groups_decide:
        raise SsoError("groups", f"the ID token has no usable {settings.OIDC_GROUPS_CLAIM} claim")
    member_of = set(groups or ())
    if settings.OIDC_ALLOWED_GROUPS and not member_of.intersection(settings.OIDC_ALLOWED_GROUPS):
        raise SsoError("not_allowed", "not in OIDC_ALLOWED_GROUPS")
    role = "admin" if member_of.intersection(settings.OIDC_ADMIN_GROUPS) else "viewer"
    return ExternalIdentity(username, subject, role, tuple(sorted(member_of)))


def _groups(value: object) -> list[str] | None:
    """The groups of a claim that is a list of names (or one name); None when missing or of another shape."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and len(value) <= MAX_GROUPS and all(isinstance(g, str) for g in value):
        return value
    return None
