"""What the rest of the console sees of an account (never the hash)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from ..workflows.accounts import AccountRecord

Role = Literal["admin", "viewer"]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    username: str
    role: str
    authenticated_at: float = field(default=0.0, compare=False)
    """When its credentials were checked, at least the revocation time of the record they were checked against
    (what a token or session made from it is stamped with); 0 when not from a login."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class UserPublic(BaseModel):
    """An account as the API and UI show it."""

    username: str
    role: Role
    enabled: bool
    created_at: str | None = None
    last_login_at: str | None = None
    service_account: bool = False
    """A user that owns API keys and cannot sign in."""
    source: Literal["local", "oidc"] = "local"
    """Where the user signs in: a password here, or the single sign-on provider."""

    @classmethod
    def of(cls, record: AccountRecord) -> UserPublic:
        return cls(
            username=record.username,
            role=record.role,
            enabled=record.enabled,
            created_at=record.created_at,
            last_login_at=record.last_login_at,
            service_account=record.service_account,
            source=record.source,
        )
