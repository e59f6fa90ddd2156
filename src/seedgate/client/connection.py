"""Where the gateway is and which key to use: arguments, else `SEEDGATE_BASE_URL` and
`SEEDGATE_API_KEY`."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import httpx

from seedgate import __version__
from seedgate.client.models import SeedgateError
from seedgate.client.operations import Operations

BASE_URL_ENV, API_KEY_ENV = "SEEDGATE_BASE_URL", "SEEDGATE_API_KEY"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def http_options(base_url: str | None, api_key: str | None, timeout: float) -> dict[str, Any]:
    """Arguments of `httpx.Client` and `httpx.AsyncClient`. The base URL is the gateway's
    root; one ending in `/v1` (as the openai SDK is given) is taken too."""
    base = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
    key = api_key or os.environ.get(API_KEY_ENV)
    if not key:
        raise SeedgateError(f"no API key: pass one, or set {API_KEY_ENV} (`make serve` "
                            "prints the development key)")
    return {
        "base_url": base.removesuffix("/v1"),
        "headers": {"authorization": f"Bearer {key}",
                    "user-agent": f"seedgate-client/{__version__}"},
        "timeout": timeout,
    }


class ClientCore:
    """What `Client` and `AsyncClient` are made of alike: an httpx client of the kind the
    subclass names, the operations, and whether waits follow event streams."""

    http_type: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float = 30.0, max_retries: int = 2, events: bool = True) -> None:
        self._http = self.http_type(**http_options(base_url, api_key, timeout))
        self._operations = Operations(max_retries)
        self._events = events

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)
