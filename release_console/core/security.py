"""Password hashing (bcrypt) and access tokens (JWT, HS256 only)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTError

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"
BCRYPT_MAX_BYTES = 72
DEFAULT_BCRYPT_ROUNDS = 12
PASSWORD_MIN_LENGTH = 8
PASSWORD_TOO_LONG = f"password is longer than {BCRYPT_MAX_BYTES} bytes (UTF-8); choose a shorter one"


class InvalidToken(Exception):
    """A token that is missing, malformed, unsigned, wrongly signed, expired or of the wrong type."""


@dataclass(frozen=True)
class TokenPayload:
    """The claims of a valid access token."""

    sub: str
    role: str
    exp: int
    iat: float
    """When it was issued, to the millisecond (revocations are compared with it exactly)."""
    typ: str
    jti: str


def password_problem(plain: str) -> str | None:
    """Why ``plain`` cannot be used as a password, or None when it can."""
    if len(plain) < PASSWORD_MIN_LENGTH:
        return f"password must have at least {PASSWORD_MIN_LENGTH} characters"
    if len(plain.encode()) > BCRYPT_MAX_BYTES:
        return PASSWORD_TOO_LONG
    return None


def hash_password(plain: str, *, rounds: int = DEFAULT_BCRYPT_ROUNDS) -> str:
    """A bcrypt hash; ValueError (never a silent truncation) when longer than 72 bytes of UTF-8."""
    encoded = plain.encode()
    if len(encoded) > BCRYPT_MAX_BYTES:
        raise ValueError(PASSWORD_TOO_LONG)
    return bcrypt.hashpw(encoded, bcrypt.gensalt(rounds)).decode()


def verify_password(plain: str, hashed: str) -> bool:
    """True when ``plain`` matches ``hashed``; False for over-long passwords or malformed hashes."""
    encoded = plain.encode()
    if len(encoded) > BCRYPT_MAX_BYTES:
        return False
    try:
        return bcrypt.checkpw(encoded, hashed.encode())
    except ValueError:
        return False


def create_access_token(
    subject: str,
    role: str,
    *,
    secret: str,
    expires_delta: timedelta,
    now: datetime | None = None,
    token_type: str = ACCESS_TOKEN_TYPE,
) -> str:
    """A signed JWT with sub, role, exp, iat (to the millisecond, rounded up), typ and a unique jti."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": subject,
        "role": role,
        "iat": math.ceil(issued.timestamp() * 1000) / 1000,
        "exp": int((issued + expires_delta).timestamp()),
        "typ": token_type,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str, token_type: str = ACCESS_TOKEN_TYPE) -> TokenPayload:
    """The claims of a valid token; InvalidToken (with a safe message) for anything else."""
    try:
        header = jwt.get_unverified_header(token)
    except JWTError:
        raise InvalidToken("malformed token") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("token algorithm not accepted")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require_exp": True, "require_iat": True})
    except ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except JWTError:
        raise InvalidToken("invalid token") from None
    if claims.get("typ") != token_type:
        raise InvalidToken("wrong token type")
    try:
        return TokenPayload(
            sub=str(claims["sub"]),
            role=str(claims["role"]),
            exp=int(claims["exp"]),
            iat=float(claims["iat"]),
            typ=str(claims["typ"]),
            jti=str(claims["jti"]),
        )
    except (KeyError, TypeError, ValueError):
        raise InvalidToken("token claims incomplete") from None
