"""Settings from the environment (and an optional .env file); secrets are refused outside local mode."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import socket
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

API_PREFIX = "/api/v1"
"""Where the REST API lives: its routes, error handlers and docs, and the start-up hold's probes, share this prefix."""
DEFAULT_SECRET = "changethis"
MIN_SECRET_LENGTH = 32
WORKFLOW_TYPE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,200}")
"""A workflow type the console lists: it goes into the visibility query, so plain names only."""
MAX_WORKFLOW_TYPES = 20


class Settings(BaseSettings):
    """Every knob of the console; names are the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    ENVIRONMENT: Literal["local", "staging", "production"] = "local"
    DATA_DIR: Path = Path("data")

    # Web server
    HOST: str = "0.0.0.0"
    PORT: int = Field(8080, ge=1, le=65535)
    PUBLIC_URL: str | None = None

    # Temporal: with no address, an embedded dev server is started
    TEMPORAL_ADDRESS: str | None = None
    TEMPORAL_NAMESPACE: str = "default"
    TEMPORAL_TASK_QUEUE: str = "release-console"
    TEMPORAL_TLS: bool = False
    TEMPORAL_TLS_CA_CERT: Path | None = None
    TEMPORAL_TLS_CLIENT_CERT: Path | None = None
    TEMPORAL_TLS_CLIENT_KEY: Path | None = None
    TEMPORAL_API_KEY: SecretStr | None = None
    TEMPORAL_RPC_TIMEOUT_SECONDS: float = Field(5.0, gt=0, le=60)
    TEMPORAL_POLL_TIMEOUT_SECONDS: float = Field(2.0, gt=0, le=60)
    """Timeout of a watched release's ``changes`` query: a worker that stops answering shows within about this long."""
    TEMPORAL_HEALTH_SECONDS: float = Field(0.5, gt=0, le=60)
    """How often the shared health probe asks Temporal (GetSystemInfo) whether it is reachable."""
    TEMPORAL_HEALTH_TIMEOUT_SECONDS: float = Field(1.0, gt=0, le=60)
    STARTUP_TIMEOUT_SECONDS: float = Field(60.0, gt=0)
    """How long the embedded server may take to answer as healthy before start-up fails (exit code 1)."""
    EMBEDDED_RETENTION_DAYS: int = Field(90, ge=1, le=3650)
    """Retention of closed workflows in the embedded server's namespaces (set at every start)."""
    TEMPORAL_UI_URL: str | None = None
    RELEASE_WORKFLOW_TYPE: str = Field("ReleaseWorkflow", pattern=r"^[A-Za-z0-9_.-]+$", max_length=200)
    """The workflow type listed as releases (it goes into the visibility query: letters, digits, ``_ . -``)."""
    RELEASE_WORKFLOW_TYPES: Annotated[list[str], NoDecode] = []
    """Several workflow types listed as releases (comma-separated or JSON); when set, the singular is ignored."""
    ACCOUNTS_WORKFLOW_ID: str = "release-console-accounts"
    ACCOUNTS_NAMESPACE: str | None = None
    """Namespace of the accounts workflow; unset = TEMPORAL_NAMESPACE (see temporal.client.accounts_namespace)."""
    EMBEDDED_TEMPORAL_PORT: int = Field(7233, ge=1, le=65535)
    EMBEDDED_TEMPORAL_UI: bool = True
    RUN_WORKER: bool = True
    DEMO: Literal["auto", "on", "off"] = "auto"

    # Read path
    MIRROR_POLL_SECONDS: float = Field(0.5, gt=0, le=60)
    """How often each watched release's one poller asks for changes: a change is visible within about this + 0.1 s."""
    MIRROR_QUIET_POLL_SECONDS: float = Field(30.0, gt=0, le=3600)
    """How often a watched release that has been quiet for 10 s is still asked, when the release list follows it (its
    listings wake the poller at its first change; this is only the safety net for visibility lag)."""
    MIRROR_IDLE_SECONDS: float = Field(120.0, gt=0)
    RELEASE_LIST_REFRESH_SECONDS: float = Field(1.0, gt=0, le=300)
    """How often the release list asks visibility what moved (one small call; a new release shows within about this)."""
    RELEASE_LIST_WATCHED_REFRESH_SECONDS: float = Field(0.5, gt=0, le=300)
    """How often the release list asks visibility while this console mirrors releases: their listings wake the quiet
    ones' pollers, so a change on a quiet release shows within about this plus visibility's lag."""
    RELEASE_LIST_FULL_SECONDS: float = Field(300.0, gt=0, le=86_400)
    """How often the whole release list is read again (to notice releases deleted by retention or an operator)."""
    ENTITY_INDEX_QUERIES_PER_SECOND: float = Field(5.0, ge=0.1, le=200)
    """Snapshot pages per second the entity index may ask for, all releases together (readpath/entity_index.py)."""

    # Security
    SECRET_KEY: SecretStr = SecretStr(DEFAULT_SECRET)
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(60, ge=1)
    SESSION_MAX_AGE_SECONDS: int = Field(8 * 3600, ge=1)
    SESSION_IDLE_SECONDS: int = Field(3600, ge=1)
    SESSION_NOTICE_SECONDS: int = Field(120, ge=0)
    """A page shows "your session ends…" (with "stay signed in") this long before the session ends."""
    FIRST_ADMIN_USERNAME: str = "admin"
    FIRST_ADMIN_PASSWORD: SecretStr | None = None
    LOGIN_MAX_FAILURES: int = Field(5, ge=1)
    LOGIN_LOCKOUT_SECONDS: int = Field(300, ge=1)
    BCRYPT_ROUNDS: int = Field(12, ge=4, le=16)
    BCRYPT_THREADS: int = Field(1, ge=1, le=64)
    """Threads that check passwords (their own pool: a password spray never takes the read path's threads); each
    takes a core while a spray lasts, so keep it below the machine's cores."""
    BCRYPT_MAX_WAITING: int = Field(8, ge=0, le=10_000)
    """Password checks that may wait for a bcrypt thread; one more login is answered 429 at once."""
    ACCOUNTS_REFRESH_SECONDS: float = Field(2.0, gt=0, le=60)
    API_KEY_DEFAULT_DAYS: int = Field(90, ge=1, le=3650)
    """Lifetime of an API key created without ``expires_in_days``."""
    API_KEY_MAX_DAYS: int = Field(365, ge=1, le=3650)
    """The longest lifetime an API key may be given."""
    LOCAL_LOGIN: bool = True
    """Password sign-in for everyone; false: only BREAK_GLASS_USERNAME may use a password (single sign-on for the
    rest)."""
    BREAK_GLASS_USERNAME: str | None = None
    """The local admin who may still use a password when LOCAL_LOGIN=false; unset = FIRST_ADMIN_USERNAME."""
    TRUSTED_PROXIES: Annotated[list[str], NoDecode] = []
    """Addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed (comma-separated or a JSON list);
    empty: the peer address is the client, forwarded headers are ignored."""

    # Single sign-on with OpenID Connect (unset OIDC_ISSUER: local accounts only)
    OIDC_ISSUER: str | None = None
    """The provider's issuer URL; its ``/.well-known/openid-configuration`` says where everything else is."""
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: SecretStr | None = None
    OIDC_SCOPES: str = "openid profile email groups"
    OIDC_USERNAME_CLAIM: str = "preferred_username"
    """The ID token claim that names the console user (lowercased; e.g. ``email``)."""
    OIDC_GROUPS_CLAIM: str = "groups"
    OIDC_ADMIN_GROUPS: Annotated[list[str], NoDecode] = []
    """Members of any of these groups are admins (the role is set again at every sign-in); others are viewers."""
    OIDC_ALLOWED_GROUPS: Annotated[list[str], NoDecode] = []
    """Only members of these groups may sign in; empty: everyone the provider authenticates."""
    OIDC_DISPLAY_NAME: str = Field("single sign-on", min_length=1, max_length=60)
    """The provider's name on the login page's button ("Sign in with …")."""
    OIDC_TIMEOUT_SECONDS: float = Field(5.0, gt=0, le=60)
    """How long a call to the provider (discovery, keys, token exchange) may take."""
    OIDC_CLOCK_SKEW_SECONDS: int = Field(60, ge=0, le=600)
    """Clock difference with the provider forgiven when checking an ID token's times."""

    # Several instances (deploy/README.md)
    REDIS_URL: str | None = None
    """Redis shared by every console instance: user sessions (NiceGUI's user storage) and the login throttle.
    Unset: NICEGUI_REDIS_URL if set, else one process keeps both in its own memory and files (the default)."""
    INSTANCE_NAME: str | None = None
    """This instance's name in audit lines and metrics; unset = ``<hostname>:<PORT>``."""
    SHUTDOWN_GRACE_SECONDS: float = Field(10.0, gt=0, le=300)
    """After SIGTERM: how long open connections (pages, SSE) get to go before the process exits anyway."""

    # What one user may spend (429 with Retry-After past these), and the console in all
    USER_SSE_STREAMS: int = Field(10, ge=1, le=10_000)
    """Event streams one user may hold open at once (per console)."""
    USER_NEW_MIRRORS_PER_MINUTE: int = Field(30, ge=1, le=100_000)
    """Releases one user may make the console start mirroring per minute (opening a watched release is free)."""
    USER_ENTITY_LOOKUPS_PER_MINUTE: int = Field(60, ge=1, le=100_000)
    """Cross-release entity lookups (GET /entities/{id}, the header's search) per user per minute."""
    MAX_MIRRORS: int = Field(500, ge=1, le=100_000)
    """Releases mirrored at once; past it the least recently used unwatched mirror goes, or 503 if all are watched."""

    # Open pages
    UI_TAB_DROP_SECONDS: float = Field(30.0, ge=1, le=3600)
    """A page whose socket stops reading (a closed laptop) is disconnected after its data waited this long."""

    # Notifications (release_console/notifications)
    NOTIFICATIONS_ENABLED: bool = True
    """Work out events, deliver them and run the console's notification worker; false: none of it (the API's
    notification routes answer 503)."""
    NOTIFICATIONS_WORKFLOW_ID: str = "release-console-notifications"
    NOTIFICATIONS_TASK_QUEUE: str = "release-console-notifications"
    """The console's own task queue (accounts namespace): its channel store and its deliveries run there."""
    NOTIFICATION_SCHEMES: Annotated[list[str], NoDecode] = [
        "json", "jsons", "form", "forms", "mailto", "mailtos", "slack", "msteams", "workflows", "mmost", "mmosts",
        "pagerduty", "opsgenie", "discord", "gchat", "ntfy", "ntfys", "rocket", "rockets", "matrix", "matrixs",
        "zulip", "webex", "tgram",
    ]
    """Apprise services channels may use (comma-separated or JSON); services that act on this machine (files,
    desktop, syslog) are left out."""
    NOTIFY_PRIVATE_ADDRESSES: bool | None = None
    """Whether personal channels may reach this machine and internal networks (shared ones, made by admins, always
    may); unset: only in local mode."""
    NOTIFY_STALLED_AFTER_SECONDS: int = Field(1800, ge=60, le=7 * 86400)
    """A running release without a change for this long is stalled (a subscription may set its own time)."""
    NOTIFY_STALLED_MIN_SECONDS: int = Field(60, ge=1, le=86400)
    """The shortest stall time a subscription may ask for; stalls are checked every quarter of it (at most every
    15 s). Lowered only by tests that wait for a stall."""
    NOTIFY_BURST_SECONDS: float = Field(30.0, ge=1, le=3600)
    """Failures this close after the first one of a burst are told in one follow-up summary."""
    NOTIFY_CATCH_UP_SECONDS: float = Field(900.0, ge=0, le=86400)
    """At start-up, events this recent are worked out again (a duplicate start is refused by Temporal), so a
    restart between an event and its delivery loses nothing."""
    NOTIFY_GIVE_UP_SECONDS: float = Field(86400.0, ge=10, le=30 * 86400)
    """How long a delivery keeps retrying a receiver that does not answer."""
    NOTIFY_RETRY_MAX_SECONDS: float = Field(15.0, ge=1, le=3600)
    """The longest wait between two attempts of a delivery."""

    # Prometheus metrics (GET /metrics)
    METRICS_ENABLED: bool = True
    METRICS_TOKEN: SecretStr | None = None
    """When set, /metrics requires ``Authorization: Bearer <token>``."""

    @field_validator("TRUSTED_PROXIES", mode="before")
    @classmethod
    def _parse_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [p for p in text.replace(",", " ").split() if p]
        if isinstance(value, list):
            for entry in value:
                _check_proxy(str(entry).strip())
            return [str(entry).strip() for entry in value]
        return value

    @field_validator("OIDC_ADMIN_GROUPS", "OIDC_ALLOWED_GROUPS", "RELEASE_WORKFLOW_TYPES", "NOTIFICATION_SCHEMES",
                     mode="before")
    @classmethod
    def _parse_names(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [g.strip() for g in text.split(",") if g.strip()]
        return value

    @field_validator("RELEASE_WORKFLOW_TYPES")
    @classmethod
    def _check_workflow_types(cls, value: list[str]) -> list[str]:
        for name in value:
            if not WORKFLOW_TYPE_NAME.fullmatch(name):
                raise ValueError(f"workflow type {name[:60]!r} is not a plain name (letters, digits, _ . - only)")
        if len(value) > MAX_WORKFLOW_TYPES:
            raise ValueError(f"at most {MAX_WORKFLOW_TYPES} workflow types")
        return list(dict.fromkeys(value))

    @property
    def release_workflow_types(self) -> tuple[str, ...]:
        """The workflow types listed as releases: RELEASE_WORKFLOW_TYPES, or else RELEASE_WORKFLOW_TYPE alone."""
        return tuple(self.RELEASE_WORKFLOW_TYPES) or (self.RELEASE_WORKFLOW_TYPE,)

    @property
    def notify_private_addresses(self) -> bool:
        """NOTIFY_PRIVATE_ADDRESSES, or else whether this is local mode."""
        return self.NOTIFY_PRIVATE_ADDRESSES if self.NOTIFY_PRIVATE_ADDRESSES is not None else self.is_local

    @property
    def notification_schemes(self) -> frozenset[str]:
        """The Apprise schemes channels may use, lowercased."""
        return frozenset(name.lower() for name in self.NOTIFICATION_SCHEMES)

    @property
    def oidc_enabled(self) -> bool:
        """Single sign-on is configured (OIDC_ISSUER is set)."""
        return bool(self.OIDC_ISSUER)

    @property
    def break_glass_username(self) -> str:
        """The one local account that may use a password when LOCAL_LOGIN=false."""
        return (self.BREAK_GLASS_USERNAME or self.FIRST_ADMIN_USERNAME).strip().lower()

    @property
    def is_local(self) -> bool:
        """Local mode allows generated secrets and the embedded server."""
        return self.ENVIRONMENT == "local"

    @property
    def redis_url(self) -> str | None:
        """Where shared state lives: REDIS_URL, else NiceGUI's own NICEGUI_REDIS_URL, else None (one process)."""
        return self.REDIS_URL or os.environ.get("NICEGUI_REDIS_URL") or None

    @property
    def instance_name(self) -> str:
        """INSTANCE_NAME, else ``<hostname>:<PORT>``."""
        return self.INSTANCE_NAME or f"{socket.gethostname()}:{self.PORT}"

    @property
    def embedded(self) -> bool:
        """True when the console starts its own Temporal dev server."""
        return self.TEMPORAL_ADDRESS is None

    @property
    def temporal_address(self) -> str:
        """Where to reach Temporal."""
        return self.TEMPORAL_ADDRESS or f"127.0.0.1:{self.EMBEDDED_TEMPORAL_PORT}"

    @property
    def temporal_ui_url(self) -> str | None:
        """Base URL of Temporal's web UI, if any."""
        if self.TEMPORAL_UI_URL:
            return self.TEMPORAL_UI_URL.rstrip("/")
        if self.embedded and self.EMBEDDED_TEMPORAL_UI:
            return f"http://localhost:{self.EMBEDDED_TEMPORAL_PORT + 1000}"
        return None

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.API_KEY_DEFAULT_DAYS > self.API_KEY_MAX_DAYS:
            raise ValueError(f"API_KEY_DEFAULT_DAYS ({self.API_KEY_DEFAULT_DAYS}) is more than API_KEY_MAX_DAYS "
                             f"({self.API_KEY_MAX_DAYS})")
        self._check_sign_in()
        if self.is_local:
            return self
        if self.SECRET_KEY.get_secret_value() in {DEFAULT_SECRET, ""} or len(self.SECRET_KEY.get_secret_value()) < 32:
            raise ValueError(
                f"SECRET_KEY must be set to a random value of 32+ characters when ENVIRONMENT={self.ENVIRONMENT}"
            )
        admin = self.FIRST_ADMIN_PASSWORD.get_secret_value() if self.FIRST_ADMIN_PASSWORD else None
        if admin is not None and admin == DEFAULT_SECRET:
            raise ValueError(f"FIRST_ADMIN_PASSWORD may not be {DEFAULT_SECRET!r} when ENVIRONMENT={self.ENVIRONMENT}")
        if self.METRICS_ENABLED and self.METRICS_TOKEN is None:
            raise ValueError(
                f"METRICS_TOKEN must be set (Prometheus sends it as a bearer token), or METRICS_ENABLED=false, when "
                f"ENVIRONMENT={self.ENVIRONMENT}: /metrics shows who uses the console and how"
            )
        return self

    def _check_sign_in(self) -> None:
        if not self.LOCAL_LOGIN and not self.oidc_enabled:
            raise ValueError("LOCAL_LOGIN=false needs single sign-on: set OIDC_ISSUER, OIDC_CLIENT_ID and "
                             "OIDC_CLIENT_SECRET (only the break-glass admin could sign in otherwise)")
        if not self.oidc_enabled:
            return
        if not self.OIDC_CLIENT_ID or self.OIDC_CLIENT_SECRET is None:
            raise ValueError("OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are needed as well")
        if "openid" not in self.OIDC_SCOPES.split():
            raise ValueError("OIDC_SCOPES must include openid")
        if not self.is_local:
            if not str(self.OIDC_ISSUER).lower().startswith("https://"):
                raise ValueError(f"OIDC_ISSUER must be an https:// URL when ENVIRONMENT={self.ENVIRONMENT}")
            if not self.PUBLIC_URL:
                raise ValueError(f"PUBLIC_URL is needed for single sign-on when ENVIRONMENT={self.ENVIRONMENT}: "
                                 "the provider sends browsers back to PUBLIC_URL/login/oidc/callback")

    def secret_key(self) -> str:
        """The signing key; in local mode a default key is replaced by one generated once in the data directory."""
        value = self.SECRET_KEY.get_secret_value()
        if value != DEFAULT_SECRET:
            return value
        return _cached_secret(self.DATA_DIR / "secret_key")


def _check_proxy(entry: str) -> None:
    """A trusted proxy is one address or a network written exactly (no host bits), never a catch-all range."""
    try:
        network = ipaddress.ip_network(entry, strict=True)
    except ValueError:
        try:
            meant = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {entry[:64]!r} is not an IP address or CIDR") from None
        raise ValueError(f"TRUSTED_PROXIES: {entry!r} has host bits set; did you mean {meant}?") from None
    if network.prefixlen == 0:
        raise ValueError(f"TRUSTED_PROXIES: {entry!r} would trust every address (any client could name itself in "
                         "X-Forwarded-For); list your proxies' addresses or networks")


@lru_cache(maxsize=8)
def _cached_secret(path: Path) -> str:
    """The local signing key, read (or created) once per path and process instead of on every request."""
    return read_or_create_secret(path)


class SecretFileError(ValueError):
    """The secret key file exists but cannot be used (too short)."""


def read_or_create_secret(path: Path) -> str:
    """A random secret kept in a file readable only by its owner.

    The file is created atomically (written in full to a private temporary file, then linked into place, so no
    reader ever sees it empty or half-written and two processes starting at once agree on one key). An existing
    key shorter than MIN_SECRET_LENGTH is refused (SecretFileError) rather than used.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_secret_file(path, secrets.token_urlsafe(48))
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise SecretFileError(
            f"the secret key in {path} is {len(value)} characters long; at least {MIN_SECRET_LENGTH} are needed. "
            "Delete the file to have a new key generated (sessions and API tokens signed with the old one end), "
            "or set SECRET_KEY."
        )
    return value


def _create_secret_file(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` (mode 0600) unless the file exists already; never leaves a partial file."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if another process created the key first: theirs is kept
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache after changing the environment)."""
    return Settings()
