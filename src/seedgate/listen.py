"""The listen address: taken by this gateway alone, unless it asks to share it."""

from __future__ import annotations

import errno
import socket


class PortUnavailable(Exception):
    """The listen address cannot be had: another process listens there, or it is not
    this machine's."""


def ensure_port_free(host: str, port: int) -> None:
    """Fail at once when another server listens on `host:port`. granian binds with
    SO_REUSEPORT, so without this a second gateway would silently share the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortUnavailable(
                    f"port {port} on {host} is already in use (another seedgate serve?): "
                    f"stop it, or choose another port with --port; to run several "
                    f"server processes on one port, use --workers N") from None
            raise PortUnavailable(f"cannot listen on {host} port {port}: "
                                  f"{exc.strerror}") from None
