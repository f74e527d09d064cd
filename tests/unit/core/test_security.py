"""Password hashing and access tokens."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt

from release_console.core.security import (
    InvalidToken,
    create_access_token,
    decode_access_token,
    hash_password,
    password_problem,
    verify_password,
)

SECRET = "s" * 40


def test_hash_and_verify() -> None:
    hashed = hash_password("correct horse", rounds=4)
    assert hashed.startswith("$2") and "correct horse" not in hashed
    assert verify_password("correct horse", hashed)
    assert not verify_password("wrong horse", hashed)
    assert not verify_password("correct horse", "not-a-hash")


def test_72_byte_limit_is_an_error_not_a_truncation() -> None:
    exactly = "é" * 36  # 72 bytes
    assert verify_password(exactly, hash_password(exactly, rounds=4))
    with pytest.raises(ValueError, match="72 bytes"):
        hash_password(exactly + "x", rounds=4)
    assert "72 bytes" in (password_problem("é" * 37) or "")
    assert not verify_password(exactly + "x", hash_password(exactly, rounds=4))  # bcrypt alone would accept this


def test_password_rules() -> None:
    assert password_problem("short") is not None
    assert password_problem("long enough") is None


def test_token_round_trip() -> None:
    token = create_access_token("alice", "viewer", secret=SECRET, expires_delta=timedelta(minutes=5))
    payload = decode_access_token(token, secret=SECRET)
    assert (payload.sub, payload.role, payload.typ) == ("alice", "viewer", "access")
    assert payload.exp - int(payload.iat) == 300 and len(payload.jti) == 32
    other = create_access_token("alice", "viewer", secret=SECRET, expires_delta=timedelta(minutes=5))
    assert decode_access_token(other, secret=SECRET).jti != payload.jti


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_bad_tokens_are_refused() -> None:
    now = datetime.now(UTC)
    good = create_access_token("alice", "admin", secret=SECRET, expires_delta=timedelta(minutes=5))
    header, claims, _ = good.split(".")
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{claims}."
    expired = create_access_token("a", "admin", secret=SECRET, expires_delta=timedelta(minutes=5),
                                  now=now - timedelta(hours=1))
    refresh = create_access_token("a", "admin", secret=SECRET, expires_delta=timedelta(minutes=5),
                                  token_type="refresh")
    hs512 = jwt.encode({"sub": "a", "role": "admin", "typ": "access", "iat": 1, "exp": 4_000_000_000, "jti": "x"},
                       SECRET, algorithm="HS512")
    cases = {
        "garbage": "not.a.token",
        "empty": "",
        "unsigned": unsigned,
        "wrong signature": create_access_token("a", "admin", secret="t" * 40, expires_delta=timedelta(minutes=5)),
        "tampered": f"{header}.{_b64({'sub': 'mallory', 'role': 'admin'})}.{good.split('.')[2]}",
        "expired": expired,
        "wrong type": refresh,
        "other algorithm": hs512,
    }
    for name, token in cases.items():
        with pytest.raises(InvalidToken):
            decode_access_token(token, secret=SECRET)
            pytest.fail(f"{name} token accepted")


def test_local_signing_key_is_read_once_per_path(tmp_path) -> None:
    from pydantic import SecretStr

    from release_console.core.config import DEFAULT_SECRET, Settings

    local = Settings(ENVIRONMENT="local", SECRET_KEY=SecretStr(DEFAULT_SECRET), DATA_DIR=tmp_path)
    key = local.secret_key()
    path = tmp_path / "secret_key"
    assert path.read_text().strip() == key and len(key) >= 32  # created once, kept in the data directory
    path.write_text("changed-on-disk-after-start")
    assert local.secret_key() == key  # served from the cache, not re-read per request
    other = Settings(ENVIRONMENT="local", SECRET_KEY=SecretStr(DEFAULT_SECRET), DATA_DIR=tmp_path / "other")
    assert other.secret_key() != key  # the cache is keyed by path
    configured = Settings(ENVIRONMENT="local", SECRET_KEY=SecretStr("k" * 40), DATA_DIR=tmp_path)
    assert configured.secret_key() == "k" * 40
