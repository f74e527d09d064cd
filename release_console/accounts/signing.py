"""Account record signatures: the trust boundary between the console and whoever can write to Temporal.

Each record a console writes carries an HMAC-SHA256 over the canonical JSON of the fields that grant access
(username, password hash, role, enabled, password_changed_at, sessions_valid_after, service_account, source,
subject), keyed with a key derived from SECRET_KEY ("v3:"). Older signatures count on the records they could have
been made for: "v2:" (without source and subject) on a local record without a subject, "v1:" (without
sessions_valid_after and service_account as well) on one that also has neither.
Records without a valid signature (unsigned from before signing existed, written by another SECRET_KEY, or sent to
the workflow directly) are not users: they are skipped and each is logged once, by username (never its hash).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Protocol

from loguru import logger

from ..runtime.audit import audit
from ..workflows.accounts import AccountRecord

CONTEXT = b"release-console accounts v1"
PREFIX = "v3:"
SIGNED_FIELDS = ("username", "password_hash", "role", "enabled", "password_changed_at", "sessions_valid_after",
                 "service_account", "source", "subject")
OLDER_SIGNATURES = {"v2:": SIGNED_FIELDS[:7], "v1:": SIGNED_FIELDS[:5]}
"""Records signed before the later fields existed stay trusted while those fields hold their defaults."""
DEFAULTS = {"sessions_valid_after": None, "service_account": False, "source": "local", "subject": None}
MAX_LOGGED_NAME = 80


class SignedFields(Protocol):
    username: str
    password_hash: str
    role: str
    enabled: bool
    password_changed_at: str | None
    sessions_valid_after: str | None
    service_account: bool
    source: str
    subject: str | None


def derive_key(secret: str) -> bytes:
    """The accounts signing key: HMAC-SHA256(SECRET_KEY, fixed label), distinct from the token/cookie key."""
    return hmac.new(secret.encode(), CONTEXT, hashlib.sha256).digest()


def canonical(record: SignedFields, fields_signed: tuple[str, ...] = SIGNED_FIELDS) -> bytes:
    """The signed bytes: the access-granting fields as sorted, compact, ASCII JSON."""
    fields = {name: getattr(record, name) for name in fields_signed}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


class RecordSigner:
    """Signs and verifies records with one console's key."""

    def __init__(self, secret: str) -> None:
        self._key = derive_key(secret)

    def sign(self, record: SignedFields, prefix: str | None = None) -> str:
        """The prefix and the hex HMAC of the record's signed fields: ``v2:`` while source and subject hold their
        defaults (what consoles and workers from before single sign-on can read, so a fleet may be upgraded one
        process at a time), ``v3:`` for a single sign-on user; or the given prefix, over its fields."""
        if prefix is None:
            prefix = "v2:" if _is_default(record.source, "local") and record.subject is None else PREFIX
        fields_signed = OLDER_SIGNATURES.get(prefix, SIGNED_FIELDS)
        return prefix + hmac.new(self._key, canonical(record, fields_signed), hashlib.sha256).hexdigest()

    def verify(self, record: AccountRecord) -> bool:
        """True when the record carries this console's signature over its current fields (an older signature
        only while the fields it did not cover hold their defaults)."""
        try:
            given = record.signature
            if not isinstance(given, str):
                return False
            prefix = given[:3]
            expected = ""
            if prefix == PREFIX:
                expected = self.sign(record, PREFIX)
            elif prefix in OLDER_SIGNATURES:
                uncovered = SIGNED_FIELDS[len(OLDER_SIGNATURES[prefix]):]
                if all(_is_default(getattr(record, name), DEFAULTS[name]) for name in uncovered):
                    expected = self.sign(record, prefix)
            return hmac.compare_digest(given.encode(), expected.encode())
        except (TypeError, ValueError, UnicodeError):  # a crafted record with values JSON cannot hold
            return False


def _is_default(value: object, default: object) -> bool:
    return type(value) is type(default) and value == default  # 0 is not False, "" is not None


class TrustFilter:
    """Keeps the records this console signed; warns (log and audit) once per distinct untrusted record."""

    def __init__(self, signer: RecordSigner) -> None:
        self.signer = signer
        self._reported: set[tuple[str, str]] = set()

    def trusted(self, records: Iterable[AccountRecord]) -> dict[str, AccountRecord]:
        """The verified records by username."""
        trusted: dict[str, AccountRecord] = {}
        untrusted: set[tuple[str, str]] = set()
        for record in records:
            if self.signer.verify(record):
                trusted[record.username] = record
                continue
            key = (str(record.username), _fingerprint(record))
            untrusted.add(key)
            if key not in self._reported:
                _report(record)
        self._reported = untrusted  # bounded by the current records; a record that comes back is reported again
        return trusted


def _fingerprint(record: AccountRecord) -> str:
    try:
        content = canonical(record) + str(record.signature).encode("utf-8", "replace")
    except (TypeError, ValueError):
        content = repr(record).encode("utf-8", "replace")
    return hashlib.sha256(content).hexdigest()


def _report(record: AccountRecord) -> None:
    name = str(record.username)[:MAX_LOGGED_NAME]
    why = "no signature" if not record.signature else "a signature that does not match"
    logger.warning(
        "ignoring account {!r}: its record has {} (written before records were signed, by a console with another "
        "SECRET_KEY, or straight to Temporal); it cannot log in until an admin creates it again",
        name, why,
    )
    audit("account.untrusted_record", user=None, role=None, target=name, outcome="ignored")
