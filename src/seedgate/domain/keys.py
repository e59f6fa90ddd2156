"""API keys: generated once, shown once, stored as a SHA-256 digest.

Keys carry 256 bits of randomness, so a fast digest is enough (unlike passwords, they
cannot be guessed), and lookups stay O(1) on the hot path.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from seedgate.domain.limits import KeyLimits

KEY_PREFIX = "sg_"
SHOWN_PREFIX_CHARS = 10


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    created_at: int
    revoked_at: int | None = None
    limits: KeyLimits = field(default_factory=KeyLimits)
    strategy: str | None = None  # routing; None: the configured default

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class NewKey:
    secret: str
    digest: str
    prefix: str


def generate_key() -> NewKey:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewKey(secret, digest(secret), secret[:SHOWN_PREFIX_CHARS])


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX) and len(value) > 20
