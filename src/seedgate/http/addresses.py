"""Who is calling: the client's IP address, seen through trusted reverse proxies."""

from __future__ import annotations

from seedgate.domain.networks import Network, within


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted: tuple[Network, ...]) -> str | None:
    """The peer's address; when the peer is a trusted proxy, the nearest address in
    `X-Forwarded-For` that is not one (addresses further left are the client's own claims,
    which anyone can forge)."""
    if not trusted or not forwarded_for or not within(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not within(hop, trusted):
            return hop
    return hops[0] if hops else peer
