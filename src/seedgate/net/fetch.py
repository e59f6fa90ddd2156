"""HTTP calls to client-given URLs, through the guard: each hop's address checked and
pinned, redirects followed by hand (a bounded number, each re-checked), the body and the
whole call bounded in size and time."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from seedgate.net.guard import IPAddress, OutboundGuard, Refused

REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "seedgate"


class TooLarge(Exception):
    """The body is larger than allowed."""


@dataclass(frozen=True, slots=True)
class Fetched:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Limits:
    timeout_s: float
    max_bytes: int
    max_redirects: int = 0
    truncate: bool = False  # keep the first max_bytes instead of raising TooLarge
    extra_headers: dict[str, str] = field(default_factory=dict)


class GuardedHttp:
    """One HTTP client for every outbound call made for a client. Connections are not
    kept alive: a pooled connection is keyed by address, and two names on one address
    must not share one (each has its own TLS name)."""

    def __init__(self, guard: OutboundGuard, *, verify: ssl.SSLContext | bool = True) -> None:
        self.guard = guard
        self._client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, verify=verify,
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"user-agent": USER_AGENT},
        )

    async def request(
        self, method: str, url: str, limits: Limits, content: bytes | None = None
    ) -> Fetched:
        """Raises `Refused`, `TooLarge`, `TimeoutError`, `httpx.HTTPError` or OSError."""
        async with asyncio.timeout(limits.timeout_s):
            for _ in range(limits.max_redirects + 1):
                fetched = await self._once(method, url, limits, content)
                location = fetched.headers.get("location")
                if fetched.status not in REDIRECTS or not location or not limits.max_redirects:
                    return fetched
                url = urljoin(url, location)
                if fetched.status == 303 or (fetched.status in (301, 302) and method == "POST"):
                    method, content = "GET", None
            raise Refused(f"more than {limits.max_redirects} redirects")

    async def _once(
        self, method: str, url: str, limits: Limits, content: bytes | None
    ) -> Fetched:
        address = await self.guard.address(url)
        request = self._client.build_request(
            method, pinned(url, address), content=content,
            headers={"host": urlsplit(url).netloc.rpartition("@")[2], **limits.extra_headers},
            extensions=({"sni_hostname": urlsplit(url).hostname}
                        if url.lower().startswith("https") else {}),
        )
        response = await self._client.send(request, stream=True)
        try:
            body = bytearray()
            truncated = False
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > limits.max_bytes:
                    if not limits.truncate:
                        raise TooLarge(f"the answer is larger than {limits.max_bytes} bytes")
                    truncated = True
                    del body[limits.max_bytes:]
                    break
            return Fetched(response.status_code, response.headers, bytes(body), url, truncated)
        finally:
            await response.aclose()

    async def close(self) -> None:
        await self._client.aclose()


def pinned(url: str, address: IPAddress) -> httpx.URL:
    """`url` with its host replaced by the checked address."""
    return httpx.URL(url).copy_with(host=str(address))
