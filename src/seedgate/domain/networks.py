"""IP networks as operators write them (CIDRs), and membership tests against them."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str | Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses), comma-separated or listed; raises ValueError naming a
    bad one."""
    items = text.split(",") if isinstance(text, str) else list(text)
    networks = []
    for item in (str(part).strip() for part in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not a CIDR network such as 10.0.0.0/8") from None
    return tuple(networks)


def within(address: str | None, networks: tuple[Network, ...]) -> bool:
    """Whether `address` (text) is an IP address inside one of `networks`."""
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
