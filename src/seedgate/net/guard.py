"""The outbound URL guard: every URL the gateway fetches or calls for a client (media
inputs, webhooks) must lead to a public address.

A host name is resolved once, every address it resolves to is checked, and the request
then goes to the checked address itself (the Host header and TLS SNI keep the name), so a
second, different DNS answer (rebinding) cannot slip a private address in. Refused:
loopback, private (RFC 1918, unique-local fc00::/7), link-local (169.254/16 with the cloud
metadata address, fe80::/10), shared (100.64/10), unspecified, reserved and multicast
addresses, including IPv4 addresses wrapped in IPv6 (mapped, 6to4, Teredo, NAT64). The
operator's allow-list (`SEEDGATE_OUTBOUND_ALLOW`, CIDRs) lifts the refusal for its networks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from seedgate.domain.networks import IPAddress, Network

# host, port -> the addresses it resolves to (as text)
Resolver = Callable[[str, int], Awaitable[list[str]]]

NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_URL_CHARS = 2048


class Refused(Exception):
    """The URL may not be called; the message is safe to show the client."""


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    inner = embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    return address.is_global and not address.is_multicast


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


class OutboundGuard:
    def __init__(self, allow: Iterable[Network] = (), resolver: Resolver | None = None) -> None:
        self.allow = tuple(allow)
        self.resolver = resolver or system_resolver

    def permits(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%")[0])
        return is_public(address) or any(
            address.version == network.version and address in network for network in self.allow
        )

    def screen(self, url: str) -> None:
        """What can be refused without a DNS answer: the URL's form, and a host written
        as an address that is not permitted. Raises `Refused`."""
        host = checked_host(url)
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return
        if not self.permits(address):
            raise Refused(f"{url[:200]} points at a private or reserved address ({host}); "
                          "the gateway only calls public addresses.")

    async def address(self, url: str) -> IPAddress:
        """The checked address to connect to for `url`; raises `Refused`, or OSError when
        the name does not resolve."""
        host = checked_host(url)
        port = urlsplit(url).port or (443 if url.lower().startswith("https") else 80)
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            found = await self.resolver(host, port)
            addresses = [ipaddress.ip_address(text.split("%")[0]) for text in found]
        if not addresses:
            raise OSError(f"{host} has no address")
        for address in addresses:
            if not self.permits(address):
                raise Refused(f"{url[:200]} resolves to a private or reserved address "
                              f"({address}); the gateway only calls public addresses.")
        return addresses[0]


def checked_host(url: str) -> str:
    """The host of an http(s) URL without credentials; raises `Refused` otherwise."""
    if len(url) > MAX_URL_CHARS:
        raise Refused(f"URLs are limited to {MAX_URL_CHARS} characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise Refused(f"{url[:200]} is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Refused(f"{url[:200]} is not an http(s) URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise Refused("URLs with credentials (user:password@) are not accepted.")
    return parts.hostname
