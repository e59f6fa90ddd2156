"""Per-task callback URLs for upstream providers.

A provider that supports callbacks (Ark's `callback_url`, apixo's `request_type:
callback`) is given `<base>/upstream/callbacks/<task id>.<mac>`: the MAC (HMAC-SHA256 with
the gateway's secret) makes the URL unguessable and unforgeable. A callback's body is not
trusted: it only makes the worker poll the provider now, so a forged callback can at most
cause one early status call, never complete a task.
"""

from __future__ import annotations

import hashlib
import hmac

from seedgate.domain.ids import is_task_id

PATH = "/upstream/callbacks"


class CallbackTokens:
    def __init__(self, secret: bytes, base_url: str | None) -> None:
        self._secret = secret
        self._base = base_url.rstrip("/") if base_url else None

    def _mac(self, task_id: str) -> str:
        return hmac.new(self._secret, f"upstream-callback\n{task_id}".encode(),
                        hashlib.sha256).hexdigest()[:32]

    @property
    def enabled(self) -> bool:
        return self._base is not None

    def url(self, task_id: str) -> str | None:
        """The task's callback URL; None when the gateway has no public base URL."""
        if self._base is None:
            return None
        return f"{self._base}{PATH}/{task_id}.{self._mac(task_id)}"

    def task_of(self, token: str) -> str | None:
        """The task a callback token names, or None if it is not a valid token."""
        task_id, _, mac = token.partition(".")
        if not is_task_id(task_id):
            return None
        return task_id if hmac.compare_digest(mac.encode(), self._mac(task_id).encode()) else None
