"""The one HTTP client of every remote provider and of the mirror.

Calls in flight are bounded by a semaphore sized to the connection pool: httpcore scans its
whole queue of waiting requests, and probes every pooled connection, for each request it
assigns, so thousands of queued calls make it quadratic (measured with 2,000 in-flight
tasks: 60 % of the worker's time went there), and a small pool beats a large one (on this
machine, 4 connections made 450 requests/s, 64 made 160): `routing.max_connections`
trades that overhead against the providers' latency. Operator-configured provider
hosts are trusted: no guard for client-supplied URLs applies here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx


class UpstreamClient:
    def __init__(self, max_calls: int = 16,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=10.0), transport=transport,
            limits=httpx.Limits(max_connections=max_calls, max_keepalive_connections=max_calls))
        self._slots = asyncio.Semaphore(max_calls)

    async def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        async with self._slots:
            return await self._http.request(method, url, **options)

    @asynccontextmanager
    async def stream(self, method: str, url: str, **options: Any
                     ) -> AsyncIterator[httpx.Response]:
        async with self._slots, self._http.stream(method, url, **options) as response:
            yield response

    async def aclose(self) -> None:
        await self._http.aclose()
