"""AccountsWorkflow: the console's users, kept in Temporal (one workflow per namespace).

Changes arrive as Updates with validators (a rejected update records nothing); reads are queries. Only bcrypt
hashes reach the workflow — plain passwords never do. Consoles write whole records signed with a key only they hold
(``put_user``) and ignore records without a valid signature: the workflow cannot check signatures (it does not know
the key), so anyone who may send it Updates can still change or remove records, but cannot forge one a console
accepts. Every update returns the new snapshot so callers can refresh their cache without a query. The run
continues-as-new when Temporal suggests it or after ``max_updates_per_run``.

Its workflow type is ``AccountsWorkflowV2``: the first type, ``AccountsWorkflow``, also took the Updates consoles no
longer send; accounts_v1.py keeps it for the runs started before, each of which becomes this type at its next
continue-as-new.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

WORKFLOW_TYPE = "AccountsWorkflowV2"
ROLES = ("admin", "viewer")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
USERNAME_RULE = "usernames are 1–64 characters: lowercase letters, digits and . _ @ -, starting with a letter or digit"
BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
SIGNATURE_PATTERN = re.compile(r"^v[123]:[0-9a-f]{64}$")
SOURCES = ("local", "oidc")
MAX_SUBJECT = 255
MAX_TIMESTAMP = 40

QUERY_VERSION = "accounts_version"
QUERY_SNAPSHOT = "accounts_snapshot"
UPDATE_PUT = "put_user"
UPDATE_DELETE = "delete_user"
UPDATE_LOGIN = "record_login"
UPDATE_PUT_KEY = "put_api_key"
UPDATE_DELETE_KEY = "delete_api_key"
KEY_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
KEY_HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")
KEY_SIGNATURE_PATTERN = re.compile(r"^k1:[0-9a-f]{64}$")
KEY_SCOPES = ("read", "admin")
MAX_KEY_NAME = 64
MAX_KEYS_PER_OWNER = 50

# error types carried by rejected updates (ApplicationError.type)
ERR_INVALID = "invalid"
ERR_CONFLICT = "conflict"
ERR_NOT_FOUND = "not_found"
ERR_LAST_ADMIN = "last_admin"
ERR_STALE = "stale"

# outcomes of ensuring a first admin (AccountsService.ensure_first_admin; the retired ensure_first_admin Update of
# accounts_v1.py returned the first three)
ENSURE_EXISTS = "exists"  # a trusted enabled admin exists: nothing done
ENSURE_CREATED = "created"  # a new admin with the given password
ENSURE_RESTORED = "restored"  # a trusted user of that name re-enabled and promoted, its password kept
ENSURE_REPLACED = "replaced"  # an untrusted record of that name replaced by a new admin with the given password


@dataclass
class AccountRecord:
    """One user; ``password_hash`` is a bcrypt hash. ``signature`` (a console's HMAC over username, hash, role,
    enabled and password_changed_at) is None on records written before signing or by old-style Updates."""

    username: str
    password_hash: str
    role: str
    enabled: bool = True
    created_at: str | None = None
    last_login_at: str | None = None
    password_changed_at: str | None = None
    signature: str | None = None
    sessions_valid_after: str | None = None
    """Tokens, sessions and keys issued before this time are refused (sign out everywhere, disable, role change)."""
    service_account: bool = False
    """A user that exists to own API keys: it cannot sign in with a password."""
    source: str = "local"
    """Where the user signs in: ``local`` (a password here) or ``oidc`` (the identity provider; no usable password)."""
    subject: str | None = None
    """For ``oidc`` users, the provider's ``sub``: the account stays bound to that one identity."""


@dataclass
class ApiKeyRecord:
    """One API key: only the SHA-256 of its secret is stored, with a console's signature (``k1:``) over id, owner,
    hash, scope and times. The name is the owner's label (not signed: it grants nothing)."""

    id: str
    owner: str
    name: str
    key_hash: str
    scope: str
    created_at: str
    expires_at: str
    signature: str


@dataclass
class AccountsSnapshot:
    """Every user and API key, and the version (incremented by each change)."""

    version: int
    users: list[AccountRecord]
    keys: list[ApiKeyRecord] = field(default_factory=list)


@dataclass
class AccountsInput:
    """Start (or continue-as-new) input."""

    users: list[AccountRecord] = field(default_factory=list)
    version: int = 0
    max_updates_per_run: int = 500
    keys: list[ApiKeyRecord] = field(default_factory=list)


@dataclass
class UserRef:
    username: str


@dataclass
class KeyRef:
    id: str


@dataclass
class PutUser:
    """A whole console-signed record. ``expected`` is the :func:`record_token` of the record it replaces as the
    console last saw it (None: no record of that name), so a console with a stale cache never undoes a newer change."""

    username: str
    password_hash: str
    role: str
    enabled: bool
    password_changed_at: str | None
    signature: str
    expected: str | None = None
    sessions_valid_after: str | None = None
    service_account: bool = False
    source: str = "local"
    subject: str | None = None


def record_token(record: AccountRecord | None) -> str | None:
    """What ``PutUser.expected`` names: None for no record, "" for an unsigned one, else its signature."""
    return None if record is None else (record.signature or "")


def _reject(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn(name=WORKFLOW_TYPE)
class AccountsWorkflow:
    """Holds the users; never completes (continues-as-new to keep history short)."""

    @workflow.init
    def __init__(self, input: AccountsInput) -> None:
        """Load the carried users before any handler runs."""
        self.input = input
        self.users: dict[str, AccountRecord] = {u.username: u for u in input.users}
        self.keys: dict[str, ApiKeyRecord] = {k.id: k for k in input.keys}
        self.version = input.version
        self.updates_this_run = 0

    @workflow.run
    async def run(self, input: AccountsInput) -> None:
        await workflow.wait_condition(self._should_continue_as_new)
        await workflow.wait_condition(workflow.all_handlers_finished)
        carried = AccountsInput(users=list(self.users.values()), version=self.version,
                                max_updates_per_run=input.max_updates_per_run, keys=list(self.keys.values()))
        workflow.continue_as_new(args=[carried], workflow=WORKFLOW_TYPE)  # this type, also from the first one

    # ---- queries ---------------------------------------------------------------------------------
    @workflow.query(name=QUERY_VERSION)
    def get_version(self) -> int:
        """The current version: cheap to poll."""
        return self.version

    @workflow.query(name=QUERY_SNAPSHOT)
    def snapshot(self) -> AccountsSnapshot:
        """Every user."""
        return self._snapshot()

    # ---- updates: the ones consoles send ---------------------------------------------------------
    @workflow.update(name=UPDATE_PUT)
    def put_user(self, change: PutUser) -> AccountsSnapshot:
        """Write one signed record whole (created_at and last_login_at of a replaced record are kept)."""
        old = self.users.get(change.username)
        self.users[change.username] = AccountRecord(
            change.username, change.password_hash, change.role, change.enabled,
            old.created_at if old else self._now(), old.last_login_at if old else None,
            change.password_changed_at, change.signature, change.sessions_valid_after, change.service_account,
            change.source, change.subject,
        )
        return self._changed()

    @put_user.validator
    def _validate_put(self, change: PutUser) -> None:
        _check_username(change.username)
        _check_role(change.role)
        _check_hash(change.password_hash)
        if not isinstance(change.enabled, bool) or not isinstance(change.service_account, bool):
            raise _reject("enabled and service_account must be true or false", ERR_INVALID)
        _check_timestamp(change.password_changed_at)
        _check_timestamp(change.sessions_valid_after)
        if change.source not in SOURCES:
            raise _reject(f"source must be one of {', '.join(SOURCES)}", ERR_INVALID)
        subject = change.subject
        if subject is not None and (not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT):
            raise _reject(f"subject must be 1–{MAX_SUBJECT} characters or null", ERR_INVALID)
        if not isinstance(change.signature, str) or not SIGNATURE_PATTERN.match(change.signature):
            raise _reject("signature must be a console signature (v1:, v2: or v3: and 64 hex digits)", ERR_INVALID)
        old = self.users.get(change.username)
        if change.expected is None and old is not None:
            raise _reject(f"user {change.username!r} already exists", ERR_CONFLICT)
        if change.expected is not None and record_token(old) != change.expected:
            raise _reject(f"user {change.username!r} was changed meanwhile; reload and try again", ERR_STALE)
        if old is not None and change.role != "admin":
            self._keep_an_admin(old, "demote")
        if old is not None and not change.enabled:
            self._keep_an_admin(old, "disable")

    @workflow.update(name=UPDATE_DELETE)
    def delete_user(self, ref: UserRef) -> AccountsSnapshot:
        del self.users[ref.username]
        self.keys = {i: k for i, k in self.keys.items() if k.owner != ref.username}  # its keys go with it
        return self._changed()

    @delete_user.validator
    def _validate_delete(self, ref: UserRef) -> None:
        self._keep_an_admin(self._existing(ref.username), "delete")

    @workflow.update(name=UPDATE_PUT_KEY)
    def put_api_key(self, key: ApiKeyRecord) -> AccountsSnapshot:
        """Add one console-signed API key."""
        self.keys[key.id] = key
        return self._changed()

    @put_api_key.validator
    def _validate_put_key(self, key: ApiKeyRecord) -> None:
        if not isinstance(key.id, str) or not KEY_ID_PATTERN.match(key.id) or key.id in self.keys:
            raise _reject("key id must be 16 new hex digits", ERR_INVALID)
        self._existing(key.owner)
        if not isinstance(key.name, str) or not 1 <= len(key.name) <= MAX_KEY_NAME or not key.name.isprintable():
            raise _reject(f"key name must be 1–{MAX_KEY_NAME} printable characters", ERR_INVALID)
        if not isinstance(key.key_hash, str) or not KEY_HASH_PATTERN.match(key.key_hash):
            raise _reject("key_hash must be 64 hex digits", ERR_INVALID)
        if key.scope not in KEY_SCOPES:
            raise _reject(f"scope must be one of {', '.join(KEY_SCOPES)}", ERR_INVALID)
        for moment in (key.created_at, key.expires_at):
            if moment is None:
                raise _reject("created_at and expires_at are required", ERR_INVALID)
            _check_timestamp(moment)
        if not isinstance(key.signature, str) or not KEY_SIGNATURE_PATTERN.match(key.signature):
            raise _reject("signature must be a console key signature (k1: and 64 hex digits)", ERR_INVALID)
        if sum(1 for k in self.keys.values() if k.owner == key.owner) >= MAX_KEYS_PER_OWNER:
            raise _reject(f"{key.owner!r} has {MAX_KEYS_PER_OWNER} keys already; revoke one first", ERR_INVALID)

    @workflow.update(name=UPDATE_DELETE_KEY)
    def delete_api_key(self, ref: KeyRef) -> AccountsSnapshot:
        del self.keys[ref.id]
        return self._changed()

    @delete_api_key.validator
    def _validate_delete_key(self, ref: KeyRef) -> None:
        if not isinstance(ref.id, str) or ref.id not in self.keys:
            raise _reject("no such API key", ERR_NOT_FOUND)

    @workflow.update(name=UPDATE_LOGIN)
    def record_login(self, ref: UserRef) -> AccountsSnapshot:
        self.users[ref.username].last_login_at = self._now()
        return self._changed()

    @record_login.validator
    def _validate_login(self, ref: UserRef) -> None:
        self._existing(ref.username)

    # ---- helpers ---------------------------------------------------------------------------------
    def _existing(self, username: str) -> AccountRecord:
        user = self.users.get(username) if isinstance(username, str) else None
        if user is None:
            raise _reject(f"user {username!r} does not exist", ERR_NOT_FOUND)
        return user

    def _enabled_admins(self) -> list[AccountRecord]:
        return [u for u in self.users.values() if u.role == "admin" and u.enabled and not u.service_account]

    def _keep_an_admin(self, user: AccountRecord, verb: str) -> None:
        if user.role == "admin" and user.enabled and not user.service_account and len(self._enabled_admins()) <= 1:
            raise _reject(f"cannot {verb} {user.username!r}: it is the last enabled admin", ERR_LAST_ADMIN)

    def _changed(self) -> AccountsSnapshot:
        self.version += 1
        self.updates_this_run += 1
        return self._snapshot()

    def _snapshot(self) -> AccountsSnapshot:
        return AccountsSnapshot(version=self.version, users=sorted(self.users.values(), key=lambda u: u.username),
                                keys=sorted(self.keys.values(), key=lambda k: k.id))

    def _now(self) -> str:
        return workflow.now().isoformat().replace("+00:00", "Z")

    def _should_continue_as_new(self) -> bool:
        return (
            workflow.info().is_continue_as_new_suggested()
            or self.updates_this_run >= self.input.max_updates_per_run
        )


def _check_username(username: str) -> None:
    if not isinstance(username, str) or not USERNAME_PATTERN.match(username):
        raise _reject(USERNAME_RULE, ERR_INVALID)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise _reject(f"role must be one of {', '.join(ROLES)}", ERR_INVALID)


def _check_timestamp(value: str | None) -> None:
    if value is None:
        return
    try:
        if not isinstance(value, str) or len(value) > MAX_TIMESTAMP:
            raise ValueError(value)
        datetime.fromisoformat(value)
    except ValueError:
        raise _reject("password_changed_at and sessions_valid_after must be ISO 8601 times or null",
                      ERR_INVALID) from None


def _check_hash(password_hash: str) -> None:
    if not isinstance(password_hash, str) or not BCRYPT_HASH.match(password_hash):
        raise _reject("password_hash must be a bcrypt hash", ERR_INVALID)
