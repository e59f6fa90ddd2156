"""`Idempotency-Key` on creates, with Stripe's semantics (pure: no I/O).

The first response to a key is kept for 24 hours and replayed for the same request; the
same key with other parameters is an error, and so is a duplicate while the first runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from seedgate.domain.errors import ErrorKind, GatewayError

KEEP_MS = 24 * 3600 * 1000
MAX_KEY_CHARS = 255
HEADER = "Idempotency-Key"


class IdempotencyError(GatewayError):
    """A misuse of an idempotency key; dialects that know the type render it as such."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first response given to an idempotency key."""

    request_hash: str
    task_id: str
    status: int
    body: bytes
    created_at: int


def checked_key(value: str) -> str:
    if not 0 < len(value) <= MAX_KEY_CHARS or not value.isprintable():
        raise GatewayError(ErrorKind.INVALID_PARAMETER,
                           f"`{HEADER}` must be 1 to {MAX_KEY_CHARS} printable characters.",
                           param=HEADER)
    return value


def fingerprint(parameters: Mapping[str, Any]) -> str:
    """A digest of a request's parameters, independent of key order and wire encoding."""
    return hashlib.sha256(orjson.dumps(parameters, option=orjson.OPT_SORT_KEYS)).hexdigest()


def reused(key: str) -> IdempotencyError:
    return IdempotencyError(
        ErrorKind.INVALID_PARAMETER,
        f"Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with; `{key}` was used with other parameters in the last 24 hours.",
        param=HEADER)


def in_flight(key: str) -> IdempotencyError:
    return IdempotencyError(
        ErrorKind.CONFLICT,
        f"A request with the idempotency key `{key}` is still being processed; retry it "
        "in a moment to get its response.")
