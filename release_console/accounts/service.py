"""AccountsService: the console's cached view of AccountsWorkflow.

Reads never touch Temporal per request: the users live in memory and are refreshed when the workflow's version
changes (one cheap version query every ACCOUNTS_REFRESH_SECONDS per console process). Changes go through the
workflow's Updates; each returns the new snapshot, so the cache is current as soon as a change returns.
Passwords are hashed here (in a thread) before anything reaches Temporal. Every record is written whole and signed
(signing.py); only records with this console's signature are users. The workflow lives in ACCOUNTS_NAMESPACE
(default: the releases' namespace).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cached_property

from loguru import logger
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from ..core.config import Settings
from ..core.security import password_problem
from ..core.tasks import cancel_and_wait, cancelling
from ..runtime import shared_state
from ..temporal.client import accounts_namespace, for_namespace
from ..temporal.versioned import snapshot_if_changed
from ..workflows.accounts import (
    ENSURE_CREATED,
    ENSURE_EXISTS,
    ENSURE_REPLACED,
    ENSURE_RESTORED,
    QUERY_SNAPSHOT,
    QUERY_VERSION,
    ROLES,
    UPDATE_DELETE,
    UPDATE_LOGIN,
    UPDATE_PUT,
    USERNAME_PATTERN,
    USERNAME_RULE,
    AccountRecord,
    AccountsInput,
    AccountsSnapshot,
    AccountsWorkflow,
    PutUser,
    UserRef,
    record_token,
)
from .api_keys import ApiKeys
from .errors import (
    BY_WORKFLOW_TYPE,
    AccountError,
    AccountsUnavailable,
    ChangedMeanwhile,
    InvalidAccountData,
    LastAdmin,
    LoginFailed,
    LoginThrottled,
    SignInRefused,
    UserExists,
    UserNotFound,
)
from .first_admin import require_first_admin_password
from .models import Principal, UserPublic
from .password_pool import PasswordPool
from .signing import RecordSigner, TrustFilter
from .throttle import Throttle, login_throttle

LOGIN_FAILED = "Incorrect username or password"
MAX_USERNAME_INPUT = 64
MAX_PASSWORD_INPUT = 1024
STOP_WAIT_SECONDS = 5.0
ACCOUNT_GONE = "account disabled or removed"
FIRST_LOAD_WAIT_SECONDS = 3.0
"""How long a login waits for the users' first load (a console just started) before answering unavailable."""
UNAVAILABLE = "accounts are unavailable: Temporal or its worker did not answer in time; try again shortly"


def valid_after(record: AccountRecord) -> float:
    """Epoch seconds before which the account's tokens and sessions are refused (the later of its password change
    and its revocation time; 0 when neither is known)."""
    times = [datetime.fromisoformat(t).timestamp() for t in (record.password_changed_at, record.sessions_valid_after)
             if t]
    return max(times, default=0.0)


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lowercase."""
    return username.strip().lower()


class AccountsService:
    """Users, login and account changes for one console process."""

    def __init__(self, client: Client, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.client = for_namespace(client, accounts_namespace(settings))
        self.settings = settings
        self.clock = clock
        self.redis = shared_state.client(settings.redis_url) if settings.redis_url else None
        """Redis shared by the console instances (the login throttle and login tickets), None without REDIS_URL."""
        self.throttle: Throttle = login_throttle(settings, self._now, self.redis)
        self.passwords = PasswordPool(settings.BCRYPT_THREADS, settings.BCRYPT_MAX_WAITING)
        self.users: dict[str, AccountRecord] = {}  # the trusted records: the users
        self.records: dict[str, AccountRecord] = {}  # every record as stored, trusted or not
        self.version = -1
        self.loaded = asyncio.Event()
        self.queries = 0  # Temporal queries sent by this process (printed by the polling benchmark test)
        self._rpc_timeout = timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
        self._tasks: set[asyncio.Task] = set()
        self._dummy_hash: str | None = None
        self._unusable_hash: str | None = None
        self._on_first_load: Callable[[], object] | None = None

    def _now(self) -> float:
        return self.clock()

    @cached_property
    def api_keys(self) -> ApiKeys:
        """The trusted API keys (signed by this console's key), their checks, creation and revocation."""
        return ApiKeys(self, self.settings.secret_key())

    @cached_property
    def _trust(self) -> TrustFilter:
        return TrustFilter(RecordSigner(self.settings.secret_key()))

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self, on_first_load: Callable[[], object] | None = None) -> None:
        """Start (or attach to) the workflow and load the users, then run ``on_first_load`` (its errors propagate).

        When Temporal or its worker does not answer, start-up goes on: loading (and ``on_first_load``) is retried in
        the background and logins answer 503 until then. Outside local mode a missing or unusable
        FIRST_ADMIN_PASSWORD stops start-up first (StartupError), before Temporal is contacted.
        """
        require_first_admin_password(self.settings)
        try:
            await self._ensure_started()
            await self.refresh(force=True)
        except AccountsUnavailable as exc:
            logger.error("accounts not loaded yet ({}); retrying every {}s",
                         exc, self.settings.ACCOUNTS_REFRESH_SECONDS)
            self._on_first_load = on_first_load
        else:
            if on_first_load is not None:
                await _call(on_first_load)
        self._spawn(self._poll(), "accounts-poll")
        self._spawn(self._dummy(), "accounts-dummy-hash")  # so the first unknown-user login is not slower

    async def stop(self) -> None:
        """Stop polling and pending background changes, waiting at most STOP_WAIT_SECONDS.

        The SDK can turn a cancelled call into an ordinary error (an RPC "cancelled"), so a task may miss its
        cancellation; stop never hangs on it."""
        await cancel_and_wait(*self._tasks, timeout=STOP_WAIT_SECONDS)
        self._tasks.clear()
        self.passwords.close()
        if self.redis is not None:
            with contextlib.suppress(*shared_state.ERRORS):
                await self.redis.aclose()

    def _spawn(self, coro: Coroutine[object, object, object], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ensure_started(self) -> None:
        try:
            await self.client.start_workflow(
                AccountsWorkflow.run,
                AccountsInput(),
                id=self.settings.ACCOUNTS_WORKFLOW_ID,
                task_queue=self.settings.TEMPORAL_TASK_QUEUE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                rpc_timeout=self._rpc_timeout,
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # the workflow is started if missing: it is the namespace
                raise AccountsUnavailable(
                    f"accounts are unavailable: Temporal has no namespace {self.client.namespace!r}; create it or "
                    "set ACCOUNTS_NAMESPACE / TEMPORAL_NAMESPACE to an existing one"
                ) from exc
            raise AccountsUnavailable(UNAVAILABLE) from exc
        except RuntimeError as exc:  # a lazy client could not connect
            raise AccountsUnavailable(UNAVAILABLE) from exc

    async def _poll(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.settings.ACCOUNTS_REFRESH_SECONDS)
            try:
                if not self.loaded.is_set():
                    await self._ensure_started()
                first = not self.loaded.is_set()
                await self.refresh()
                if first and self._on_first_load is not None:
                    try:
                        await _call(self._on_first_load)
                    except Exception as exc:
                        logger.error("first-admin set-up failed: {}", exc)
                if failing:
                    logger.info("accounts reachable again")
                failing = False
            except AccountError as exc:
                if cancelling():  # the error is a cancelled call: this task is being stopped
                    raise asyncio.CancelledError from None
                if not failing:
                    logger.warning("accounts refresh failed: {}", exc.message)
                failing = True

    async def refresh(self, *, force: bool = False) -> None:
        """Reload the users if the workflow's version changed (one small query; a second one only on change)."""
        handle = self.client.get_workflow_handle(self.settings.ACCOUNTS_WORKFLOW_ID)
        try:
            snapshot = await snapshot_if_changed(handle, QUERY_VERSION, QUERY_SNAPSHOT, AccountsSnapshot,
                                             self.version, force=force, rpc_timeout=self._rpc_timeout,
                                             on_query=self._count_query)
            if snapshot is not None:
                self._apply(snapshot, force=True)
        except Exception as exc:  # query failures of every kind (no worker, RPC timeout, not found)
            raise AccountsUnavailable(UNAVAILABLE) from exc

    def _count_query(self) -> None:
        self.queries += 1

    def _apply(self, snapshot: AccountsSnapshot, *, force: bool = False) -> None:
        if not force and snapshot.version < self.version:
            return
        self.records = {u.username: u for u in snapshot.users}
        self.users = self._trust.trusted(snapshot.users)
        self.api_keys.load(snapshot.keys)
        self.version = snapshot.version
        self.loaded.set()

    # ---- reads (memory only) ---------------------------------------------------------------------
    def principal(self, username: str | None) -> Principal | None:
        """The enabled user's current role, or None when unknown, disabled or deleted."""
        record = self.users.get(username) if username else None
        if record is None or not record.enabled:
            return None
        return Principal(record.username, record.role)

    def check(self, username: str | None, issued_at: float) -> Principal | None:
        """Whether a caller whose token or session was issued at ``issued_at`` (epoch seconds) may still act: its
        principal with the current role, or None when the account is unknown, untrusted, disabled or deleted, or
        its sessions were revoked after ``issued_at`` (a password change, disabling, a role change, "sign out
        everywhere"). No allowance: a token or session is stamped at least with the revocation time it was issued
        under (:meth:`issue_time`), so only clock drift between instances is forgiven, never an earlier token.
        The one rule of the API's user dependency, its event streams and the page guard; memory only."""
        principal = self.principal(username)
        if principal is None:
            return None
        if issued_at < valid_after(self.users[principal.username]):
            return None
        return principal

    def issue_time(self, username: str) -> float:
        """The issue time to stamp on a token or session for ``username`` right after it authenticated: now, or
        the account's revocation time if this instance's clock is behind the one that wrote it."""
        record = self.users.get(normalize_username(username))
        return max(self.clock(), valid_after(record) if record is not None else 0.0)

    def list_users(self) -> list[UserPublic]:
        """Every user, sorted by username."""
        return [UserPublic.of(u) for u in sorted(self.users.values(), key=lambda u: u.username)]

    def get_user(self, username: str) -> UserPublic:
        """One user; UserNotFound otherwise."""
        record = self.users.get(normalize_username(username))
        if record is None:
            raise UserNotFound(f"user {normalize_username(username)!r} does not exist")
        return UserPublic.of(record)

    def has_enabled_admin(self) -> bool:
        """True when at least one enabled admin exists."""
        return any(u.role == "admin" and u.enabled for u in self.users.values())

    # ---- login -----------------------------------------------------------------------------------
    async def authenticate(self, username: str, password: str, address: str | None) -> Principal:
        """The principal for valid credentials; LoginFailed (one message for unknown user and wrong password),
        LoginThrottled after repeated failures, AccountsUnavailable before the users are loaded."""
        name = normalize_username(username)[: MAX_USERNAME_INPUT + 1]
        attempt = await self.throttle.reserve(name, address)
        if attempt.retry_after is not None:
            wait = attempt.retry_after
            raise LoginThrottled(f"Too many failed logins; try again in {wait} seconds", retry_after=wait)
        try:
            if not self.loaded.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.loaded.wait(), FIRST_LOAD_WAIT_SECONDS)
            if not self.loaded.is_set():
                raise AccountsUnavailable(UNAVAILABLE)
            record = self.users.get(name)
            checked_at = max(self.clock(), valid_after(record)) if record is not None else 0.0
            hashed = record.password_hash if record is not None else await self._dummy()
            ok = await self.passwords.check(password[:MAX_PASSWORD_INPUT], hashed)
        except Exception:  # unavailable, busy, or broken: no guess was checked, so it is not a failure
            await self.throttle.cancel(attempt)
            raise
        if not ok or record is None or not record.enabled or record.service_account or record.source != "local":
            raise LoginFailed(LOGIN_FAILED)  # the attempt stays counted
        await self.throttle.release(attempt)
        self._spawn(self._record_login(name), "accounts-record-login")
        return Principal(record.username, record.role, checked_at)  # a revocation meanwhile outdates it

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.passwords.hash("not-a-real-password", self.settings.BCRYPT_ROUNDS)
        return self._dummy_hash

    async def _record_login(self, username: str) -> None:
        with contextlib.suppress(AccountError):
            await self._update(UPDATE_LOGIN, UserRef(username))

    # ---- changes ---------------------------------------------------------------------------------
    async def create_user(self, username: str, password: str | None, role: str, *,
                          service_account: bool = False) -> UserPublic:
        """A new enabled user. A name held only by an untrusted record (see signing.py) may be created again:
        the new signed record replaces it. A service account has no password anyone knows and cannot sign in."""
        name = _check_username(username)
        _check_role(role)
        if service_account:
            password = secrets.token_urlsafe(32)  # a hash must be there; nobody ever learns the password
        elif password is None:
            raise InvalidAccountData("a password is needed (or service_account: true)")
        hashed = await self._hash(password)

        def build(current: AccountRecord | None) -> AccountRecord:
            if current is not None:
                raise UserExists(f"user {name!r} already exists")
            return AccountRecord(name, hashed, role, True, password_changed_at=self._timestamp(),
                                 service_account=service_account)

        await self._write(name, build)
        return self.get_user(name)

    async def update_user(
        self, username: str, *, password: str | None = None, role: str | None = None, enabled: bool | None = None
    ) -> UserPublic:
        """Change any of password, role and enabled in one signed write: all of it applies or none of it
        (never demote or disable the last enabled admin)."""
        if password is None and role is None and enabled is None:
            raise InvalidAccountData("nothing to change: give password, role or enabled")
        if role is not None:
            _check_role(role)
        if enabled is not None and not isinstance(enabled, bool):
            raise InvalidAccountData("enabled must be true or false")
        hashed = await self._hash(password) if password is not None else None
        name = normalize_username(username)

        def build(current: AccountRecord | None) -> AccountRecord:
            if current is None:
                raise UserNotFound(f"user {name!r} does not exist")
            if hashed is not None and (current.source != "local" or current.service_account):
                raise InvalidAccountData(f"{name!r} signs in without a password here (single sign-on or a service "
                                         "account): there is no password to set")
            if role not in (None, "admin"):
                self._keep_an_admin(current, "demote")
            if enabled is False:
                self._keep_an_admin(current, "disable")
            revoke = hashed is not None or (role is not None and role != current.role) or enabled is False
            return replace(
                current,
                password_hash=hashed or current.password_hash,
                password_changed_at=self._timestamp() if hashed else current.password_changed_at,
                role=role or current.role,
                enabled=current.enabled if enabled is None else enabled,
                sessions_valid_after=self._timestamp() if revoke else current.sessions_valid_after,
            )

        await self._write(name, build)
        return self.get_user(name)

    async def sign_in_external(self, username: str, subject: str, role: str) -> Principal:
        """The principal of a single sign-on user the provider vouched for, its record created or brought up to date
        (the role from the provider's groups; a changed role revokes the user's older sessions, tokens and keys).
        SignInRefused when the name belongs to a local account or another identity, or the user is disabled here."""
        name = _check_username(username)
        _check_role(role)

        if self._unusable_hash is None:
            self._unusable_hash = await self._hash(secrets.token_urlsafe(32))  # nobody knows it; never checked
        unusable_hash = self._unusable_hash

        def build(current: AccountRecord | None) -> AccountRecord:
            if current is None:
                return AccountRecord(name, unusable_hash, role, True, password_changed_at=self._timestamp(),
                                     source="oidc", subject=subject)
            if current.source != "oidc":
                raise SignInRefused(f"the console has a local account named {name!r}; an admin must remove it "
                                    "before this identity can sign in", reason="local account of that name")
            if current.subject != subject:
                raise SignInRefused(f"the account {name!r} belongs to another identity at the provider",
                                    reason="another identity has that name")
            if not current.enabled:
                raise SignInRefused("this account is disabled in the console; ask an admin", reason="disabled")
            if current.role == role:
                return current
            return replace(current, role=role, sessions_valid_after=self._timestamp())

        current = self.users.get(name)
        if build(current) is not current:  # refusals raise here; an account already up to date is not written
            await self._write(name, build)
        self._spawn(self._record_login(name), "accounts-record-login")
        return Principal(name, role, self.issue_time(name))

    async def sign_out_everywhere(self, username: str) -> None:
        """End every session and token of ``username`` issued until now, on every instance."""
        name = normalize_username(username)

        def build(current: AccountRecord | None) -> AccountRecord:
            if current is None:
                raise UserNotFound(f"user {name!r} does not exist")
            return replace(current, sessions_valid_after=self._timestamp())

        await self._write(name, build)

    async def set_role(self, username: str, role: str) -> UserPublic:
        """Change a user's role (the last enabled admin cannot be demoted)."""
        return await self.update_user(username, role=role)

    async def set_enabled(self, username: str, enabled: bool) -> UserPublic:
        """Enable or disable a user (the last enabled admin cannot be disabled)."""
        return await self.update_user(username, enabled=enabled)

    async def delete_user(self, username: str) -> None:
        """Delete a user (never the last enabled admin)."""
        name = normalize_username(username)
        current = self.users.get(name)
        if current is None:
            raise UserNotFound(f"user {name!r} does not exist")
        self._keep_an_admin(current, "delete")
        await self._update(UPDATE_DELETE, UserRef(name))

    async def ensure_first_admin(self, username: str, password: str) -> str:
        """Make ``username`` an enabled admin unless a trusted enabled admin exists; returns ENSURE_EXISTS,
        ENSURE_CREATED, ENSURE_RESTORED (a trusted user of that name, its password kept) or ENSURE_REPLACED (an
        untrusted record of that name, e.g. unsigned from before records were signed, replaced with ``password``)."""
        name = _check_username(username)
        if self.has_enabled_admin():
            return ENSURE_EXISTS
        hashed = await self._hash(password)
        for attempt in (1, 2):
            if self.has_enabled_admin():
                return ENSURE_EXISTS
            current = self.users.get(name)
            if current is not None:
                record, outcome = replace(current, role="admin", enabled=True), ENSURE_RESTORED
            else:
                record = AccountRecord(name, hashed, "admin", True, password_changed_at=self._timestamp())
                outcome = ENSURE_REPLACED if name in self.records else ENSURE_CREATED
            try:
                await self._put(record)
                return outcome
            except (ChangedMeanwhile, UserExists):
                if attempt == 2:
                    raise
                await self.refresh(force=True)
        raise AssertionError("unreachable")

    async def _write(self, name: str, build: Callable[[AccountRecord | None], AccountRecord]) -> None:
        """Sign and write ``build(the trusted record or None)``; when the stored record changed since this console
        last saw it, reload once and build again, so a stale cache never undoes a newer change."""
        for attempt in (1, 2):
            record = build(self.users.get(name))  # refusals (not found, exists, last admin) need no reload
            try:
                await self._put(record)
                return
            except (ChangedMeanwhile, UserExists):
                if attempt == 2:
                    raise
                await self.refresh(force=True)

    async def _put(self, record: AccountRecord) -> None:
        signature = self._trust.signer.sign(record)
        expected = record_token(self.records.get(record.username))
        await self._update(UPDATE_PUT, PutUser(
            record.username, record.password_hash, record.role, record.enabled, record.password_changed_at,
            signature, expected, record.sessions_valid_after, record.service_account, record.source, record.subject,
        ))

    def _keep_an_admin(self, user: AccountRecord, verb: str) -> None:
        """LastAdmin when ``user`` is the last trusted enabled admin who can sign in (untrusted records and service
        accounts do not count)."""
        admins = [u for u in self.users.values() if u.role == "admin" and u.enabled and not u.service_account]
        if user.role == "admin" and user.enabled and not user.service_account and len(admins) <= 1:
            raise LastAdmin(f"cannot {verb} {user.username!r}: it is the last enabled admin")

    def _timestamp(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).isoformat().replace("+00:00", "Z")

    async def _hash(self, password: str) -> str:
        problem = password_problem(password)
        if problem:
            raise InvalidAccountData(problem)
        return await self.passwords.hash(password, self.settings.BCRYPT_ROUNDS)

    async def _update(self, name: str, arg: object) -> AccountsSnapshot:
        handle = self.client.get_workflow_handle(self.settings.ACCOUNTS_WORKFLOW_ID)
        for attempt in (1, 2):
            try:
                snapshot = await handle.execute_update(
                    name, arg, result_type=AccountsSnapshot, rpc_timeout=self._rpc_timeout
                )
            except WorkflowUpdateFailedError as exc:
                cause = exc.cause
                if isinstance(cause, ApplicationError) and cause.type in BY_WORKFLOW_TYPE:
                    raise BY_WORKFLOW_TYPE[cause.type](cause.message) from None
                raise AccountsUnavailable("the accounts workflow could not apply the change") from None
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND and attempt == 1:
                    await self._ensure_started()
                    continue
                raise AccountsUnavailable(UNAVAILABLE) from None
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                raise AccountsUnavailable(UNAVAILABLE) from None
            self._apply(snapshot)
            return snapshot
        raise AccountsUnavailable(UNAVAILABLE)


def _check_username(username: str) -> str:
    name = normalize_username(username)
    if not USERNAME_PATTERN.match(name):
        raise InvalidAccountData(USERNAME_RULE)
    return name


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidAccountData(f"role must be one of {', '.join(ROLES)}")


async def _call(callback: Callable[[], object]) -> None:
    result = callback()
    if asyncio.iscoroutine(result):
        await result

