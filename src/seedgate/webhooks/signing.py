"""Standard Webhooks signatures (scheme `v1`): HMAC-SHA256 over `{id}.{timestamp}.{body}`,
keyed with the base64-decoded part of a `whsec_` secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32
TOLERANCE_S = 300  # the Standard Webhooks libraries' window


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers; one signature per secret (a rotated-out secret still signs for a
    while, so receivers can switch over without missing a delivery)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in secrets_),
    }


class InvalidSignature(ValueError):
    """A delivery whose headers, signature or timestamp do not check out."""


def verify(secrets_: list[str], headers: dict[str, str], body: bytes, *, now: float,
           tolerance_s: float = TOLERANCE_S) -> None:
    """Check a delivery as a receiver must: its timestamp within `tolerance_s` of `now`
    (replays of old deliveries are refused) and one of its `v1` signatures made with one of
    `secrets_`. `headers` are keyed in lower case."""
    try:
        message_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        offered = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        raise InvalidSignature("missing or malformed webhook-id, webhook-timestamp or "
                               "webhook-signature header") from None
    if abs(now - timestamp) > tolerance_s:
        raise InvalidSignature(f"timestamp {timestamp} is more than {tolerance_s:.0f} s "
                               "from now")
    expected = [signature(secret, message_id, timestamp, body) for secret in secrets_]
    if not any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in offered):
        raise InvalidSignature("no signature matches the secret")
