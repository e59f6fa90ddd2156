"""Webhook signing secrets at rest: a signing secret must be recoverable to sign, so it
cannot only be hashed; it is encrypted (Fernet: AES-128-CBC with HMAC-SHA256) under a key
derived from the gateway's own secret (`SEEDGATE_SECRET` or `$SEEDGATE_HOME/secret.key`)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"seedgate webhook signing secrets"


class Undecryptable(Exception):
    """A stored secret was encrypted under another gateway secret."""


class SecretBox:
    def __init__(self, gateway_secret: bytes, info: bytes = INFO) -> None:
        """`info` names what the box holds: each use gets a key of its own."""
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            gateway_secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise Undecryptable("the webhook secret was stored under another gateway secret "
                                "(SEEDGATE_SECRET changed?); rotate it with `seedgate keys "
                                "webhook-secret NAME --rotate`") from None
