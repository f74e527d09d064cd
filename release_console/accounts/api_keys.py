"""API keys: long-lived, revocable bearer credentials for scripts, owned by a user.

A key is ``rck_`` and 43 URL-safe characters (256 random bits). Only its SHA-256 is stored, in the accounts
workflow, with a console's signature (HMAC with a key derived from SECRET_KEY) over id, owner, hash, scope and
times: a record written without SECRET_KEY is no key. Checking a key is a format check, one SHA-256 and dictionary
lookups (no bcrypt, about what a JWT costs; admitted keys are cached with the tokens). A key acts for its owner with
at most the owner's current role, and as an admin only when an admin created it with the ``admin`` scope. It stops
working when it is revoked or expires, when its owner is disabled or deleted, and when the owner's sessions are
revoked after it was created (a password change, a role change, "sign out everywhere"): at once on the instance that
made the change, within ACCOUNTS_REFRESH_SECONDS on the others.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel

from ..core.config import Settings
from ..core.security import TokenPayload
from ..workflows.accounts import (
    MAX_KEY_NAME,
    MAX_KEYS_PER_OWNER,
    UPDATE_DELETE_KEY,
    UPDATE_PUT_KEY,
    AccountRecord,
    AccountsSnapshot,
    ApiKeyRecord,
    KeyRef,
)
from .errors import InvalidAccountData, NotAllowed, UserNotFound
from .models import Principal


class Accounts(Protocol):
    """What the keys need of the accounts service (service.py)."""

    settings: Settings
    users: dict[str, AccountRecord]
    clock: Callable[[], float]

    def check(self, username: str | None, issued_at: float) -> Principal | None: ...

    def issue_time(self, username: str) -> float: ...

    async def _update(self, name: str, arg: object) -> AccountsSnapshot: ...

KEY_PREFIX = "rck_"
KEY_PATTERN = re.compile(r"^rck_[A-Za-z0-9_-]{43}$")
KEY_TYPE = "api_key"
"""The ``typ`` of the claims an admitted key stands for (streams re-check the key by its id, ``jti``)."""
SIGNATURE_PREFIX = "k1:"
CONTEXT = b"release-console api keys v1"


class ApiKeyPublic(BaseModel):
    """A key as it is listed: never its secret."""

    id: str
    name: str
    owner: str
    scope: str
    created_at: str
    expires_at: str
    last_used_at: str | None = None
    """When this console instance last admitted it (since its start)."""


class NewApiKey(ApiKeyPublic):
    """The answer to a creation: the only time the key itself is shown."""

    key: str


def _epoch(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ApiKeys:
    """The trusted keys of the accounts service, by id and by hash; creation and revocation."""

    def __init__(self, accounts: Accounts, secret: str) -> None:
        self.accounts = accounts
        self._key = hmac.new(secret.encode(), CONTEXT, hashlib.sha256).digest()
        self.by_id: dict[str, ApiKeyRecord] = {}
        self.by_hash: dict[str, ApiKeyRecord] = {}
        self.last_used: dict[str, float] = {}
        """Key id → when this instance last admitted it (epoch seconds)."""

    # ---- records ------------------------------------------------------------------------------------------------
    def sign(self, record: ApiKeyRecord) -> str:
        fields = {"id": record.id, "owner": record.owner, "key_hash": record.key_hash, "scope": record.scope,
                  "created_at": record.created_at, "expires_at": record.expires_at}
        data = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
        return SIGNATURE_PREFIX + hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def load(self, records: list[ApiKeyRecord]) -> None:
        """Keep the records this console signed (others are not keys)."""
        trusted = []
        for record in records:
            try:
                if hmac.compare_digest(str(record.signature).encode(), self.sign(record).encode()):
                    trusted.append(record)
            except (TypeError, ValueError, UnicodeError):
                continue
        self.by_id = {r.id: r for r in trusted}
        self.by_hash = {r.key_hash: r for r in trusted}
        self.last_used = {i: t for i, t in self.last_used.items() if i in self.by_id}

    def public(self, record: ApiKeyRecord) -> ApiKeyPublic:
        return ApiKeyPublic(id=record.id, name=record.name, owner=record.owner, scope=record.scope,
                            created_at=record.created_at, expires_at=record.expires_at,
                            last_used_at=_iso(datetime.fromtimestamp(used, UTC))
                            if (used := self.last_used.get(record.id)) is not None else None)

    def of(self, owner: str | None) -> list[ApiKeyPublic]:
        """The keys of ``owner`` (every key for None), oldest first."""
        records = [r for r in self.by_id.values() if owner is None or r.owner == owner]
        return [self.public(r) for r in sorted(records, key=lambda r: (r.created_at, r.id))]

    # ---- changes ------------------------------------------------------------------------------------------------
    async def create(self, creator: Principal, owner: str, name: str, days: int, scope: str, *,
                     creator_issued_at: float) -> NewApiKey:
        """A new key for ``owner`` (its secret is in the answer and nowhere else): the creator's own, or, made by an
        admin, a service account's. A key of one's own is dated by the creator's token or session
        (``creator_issued_at``), so a revocation of that session ends the key too."""
        settings = self.accounts.settings
        name = name.strip()
        if not 1 <= len(name) <= MAX_KEY_NAME or not name.isprintable():
            raise InvalidAccountData(f"the key's name must be 1–{MAX_KEY_NAME} printable characters")
        if not 1 <= days <= settings.API_KEY_MAX_DAYS:
            raise InvalidAccountData(f"expires_in_days must be 1–{settings.API_KEY_MAX_DAYS}")
        if scope == "admin" and not creator.is_admin:
            raise NotAllowed("only an admin can create a key with the admin scope")
        record_of_owner = self.accounts.users.get(owner)
        if record_of_owner is None:
            raise UserNotFound(f"user {owner!r} does not exist")
        if owner != creator.username and not (creator.is_admin and record_of_owner.service_account):
            raise NotAllowed("a key is for yourself, or (for an admin) for a service account")
        if sum(1 for r in self.by_id.values() if r.owner == owner) >= MAX_KEYS_PER_OWNER:
            raise NotAllowed(f"{owner!r} has {MAX_KEYS_PER_OWNER} keys already; revoke one first")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        stamp = creator_issued_at if owner == creator.username else self.accounts.issue_time(owner)
        now = datetime.fromtimestamp(stamp, UTC)
        record = ApiKeyRecord(
            id=secrets.token_hex(8), owner=owner, name=name, key_hash=hashlib.sha256(secret.encode()).hexdigest(),
            scope=scope, created_at=_iso(now), expires_at=_iso(now + timedelta(days=days)), signature="",
        )
        record.signature = self.sign(record)
        await self.accounts._update(UPDATE_PUT_KEY, record)
        return NewApiKey(**self.public(record).model_dump(), key=secret)

    async def revoke(self, key_id: str) -> None:
        await self.accounts._update(UPDATE_DELETE_KEY, KeyRef(key_id))

    # ---- checks -------------------------------------------------------------------------------------------------
    def caller(self, raw: str) -> tuple[TokenPayload, Principal] | None:
        """The claims and caller a key stands for now, or None (malformed, unknown, expired, owner gone or its
        sessions revoked since the key was made). No bcrypt, whatever the input."""
        if not KEY_PATTERN.match(raw):
            return None
        record = self.by_hash.get(hashlib.sha256(raw.encode()).hexdigest())
        if record is None:
            return None
        now = self.accounts.clock()
        expires, created = _epoch(record.expires_at), _epoch(record.created_at)
        if now >= expires:
            return None
        owner = self.accounts.check(record.owner, created)
        if owner is None:
            return None
        role = "admin" if record.scope == "admin" and owner.is_admin else "viewer"
        self.last_used[record.id] = now
        payload = TokenPayload(sub=record.owner, role=role, exp=int(expires), iat=created, typ=KEY_TYPE,
                               jti=record.id)
        return payload, Principal(record.owner, role)

    def active(self, key_id: str) -> bool:
        """Whether the key still exists (streams re-check it; expiry and the owner are checked like tokens)."""
        return key_id in self.by_id
