"""Signed, expiring media URLs: `/media/<key>?exp=<unix s>&sig=<hmac>`.

The signature covers the key and the expiry, so neither can be changed; links work without
an API key, like S3 presigned URLs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

from seedgate.domain.task import Task, TaskStatus


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

    def outputs(self, task: Task, base_url: str, media_ttl: int) -> list[str]:
        """Signed URLs of a succeeded task's video (and last frame, if the request asked
        for it). They expire a fixed time after the task finished, so they are the same on
        every read."""
        if task.status is not TaskStatus.SUCCEEDED or task.outputs is None:
            return []
        assert task.completed_at is not None
        expires = task.completed_at // 1000 + media_ttl
        keys = [task.outputs.video_key]
        if task.outputs.last_frame_key and task.request.return_last_frame:
            keys.append(task.outputs.last_frame_key)
        return [self.url(base_url, key, expires) for key in keys]
