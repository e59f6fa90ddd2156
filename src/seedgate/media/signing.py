"""Signed, expiring media URLs: `/media/<key>?exp=<unix s>&sig=<hmac>`.

The signature covers the key and the expiry, so neither can be changed; links work without
an API key, like S3 presigned URLs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote


class UrlSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def signature(self, key: str, expires: int) -> str:
        mac = hmac.new(self._secret, f"{key}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")

    def url(self, base_url: str, key: str, expires: int) -> str:
        return (
            f"{base_url.rstrip('/')}/media/{quote(key)}"
            f"?exp={expires}&sig={self.signature(key, expires)}"
        )

    def verify(self, key: str, expires: int, signature: str, now_s: float) -> bool:
        expected = self.signature(key, expires)
        # As bytes: `compare_digest` refuses str with non-ASCII characters, which a
        # tampered link may carry.
        return hmac.compare_digest(expected.encode(), signature.encode()) and now_s < expires
