"""Secrets at rest: channel URLs encrypted, every notification record authenticated, keys derived from SECRET_KEY.

AES-256-GCM seals a channel's URL with the record's other fields as associated data, so a record copied to another
id or owner, or changed in any field, no longer opens. Subscriptions carry an HMAC-SHA256 over their fields. Both
keys are derived from SECRET_KEY with HKDF and distinct labels; nothing here ever logs a plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEAL_PREFIX = "s1:"
SIGNATURE_PREFIX = "n1:"


class SealBroken(ValueError):
    """A sealed value that this console cannot open: another SECRET_KEY, or a record changed after sealing."""


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret.encode())


def canonical(fields: Mapping[str, object]) -> bytes:
    """The authenticated bytes of a record's fields: sorted, compact, ASCII JSON."""
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


class Sealer:
    """Seals, opens, signs and verifies with one console's keys."""

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(_derive(secret, b"release-console notification channels v1"))
        self._mac_key = _derive(secret, b"release-console notification records v1")

    def seal(self, plaintext: str, bound_to: Mapping[str, object]) -> str:
        """``plaintext`` encrypted, readable only together with exactly ``bound_to``."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), canonical(bound_to))
        return SEAL_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, bound_to: Mapping[str, object]) -> str:
        """The plaintext of :meth:`seal`; SealBroken when it was sealed with other fields or another key."""
        if not sealed.startswith(SEAL_PREFIX):
            raise SealBroken("not a sealed value")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(SEAL_PREFIX):].encode())
            return self._aead.decrypt(raw[:12], raw[12:], canonical(bound_to)).decode()
        except (InvalidTag, ValueError) as exc:
            raise SealBroken("the sealed value does not open with this console's key and these fields") from exc

    def sign(self, fields: Mapping[str, object]) -> str:
        """An HMAC over the fields."""
        return SIGNATURE_PREFIX + hmac.new(self._mac_key, canonical(fields), hashlib.sha256).hexdigest()

    def verify(self, fields: Mapping[str, object], signature: str) -> bool:
        """True when ``signature`` is this console's over exactly these fields."""
        return hmac.compare_digest(self.sign(fields), signature)
