"""A fault-injecting HTTP proxy on loopback, in front of an emulated provider.

It forwards every request to the target with the proxy's own Host header, so the target's
media links point back through the proxy and downloads can be faulted too. Rules injected
with `inject` apply to the next matching requests: an HTTP status (429 with Retry-After,
500, 400 with a body), a delay (longer than the client's timeout: a timeout), a connection
reset, malformed JSON, or a slow body.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx

from .helpers import LoopbackServer


@dataclass
class Rule:
    fault: str  # "status", "delay", "reset", "malformed", "slow"
    path: str
    method: str | None
    times: int
    status: int = 500
    body: bytes = b'{"error": {"code": "InternalServiceError", "message": "injected"}}'
    retry_after: int | None = None
    seconds: float = 0.0


class FaultProxy(LoopbackServer):
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.rules: list[Rule] = []
        self.seen: list[tuple[str, str, int]] = []  # method, path, status (0: reset)
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.handle(self)

            do_POST = do_DELETE = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)

    def inject(self, fault: str, path: str = "", method: str | None = None, times: int = 1,
               **options: Any) -> None:
        with self.lock:
            self.rules.append(Rule(fault, path, method, times, **options))

    def count(self, method: str, path: str = "") -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.seen if m == method and p.startswith(path))

    def _rule(self, method: str, path: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.times and path.startswith(rule.path) and rule.method in (None, method):
                    rule.times -= 1
                    return rule
        return None

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        method, path = handler.command, handler.path
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        rule = self._rule(method, path)
        if rule is not None and rule.fault == "reset":
            self._record(method, path, 0)
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          b"\x01\x00\x00\x00\x00\x00\x00\x00")
            handler.connection.close()
            handler.close_connection = True
            return
        if rule is not None and rule.fault == "delay":
            time.sleep(rule.seconds)
        if rule is not None and rule.fault == "status":
            headers = {"retry-after": str(rule.retry_after)} if rule.retry_after else {}
            self._send(handler, rule.status, rule.body, headers)
            return
        forwarded = httpx.request(
            method, self.target + path, content=body, timeout=30,
            headers={k: v for k, v in handler.headers.items()
                     if k.lower() in ("authorization", "content-type")}
            | {"host": self.url.removeprefix("http://")},
        )
        content = forwarded.content
        if rule is not None and rule.fault == "malformed":
            content = b"{not json"
        media_type = forwarded.headers.get("content-type", "application/json")
        self._send(handler, forwarded.status_code, content,
                   {"content-type": media_type},
                   pause=rule.seconds if rule is not None and rule.fault == "slow" else 0.0)

    def _record(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.seen.append((method, path, status))

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes,
              headers: dict[str, str], pause: float = 0.0) -> None:
        self._record(handler.command, handler.path, status)
        handler.send_response(status)
        for name, value in {"content-type": "application/json", **headers}.items():
            handler.send_header(name, value)
        handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        if not pause:
            handler.wfile.write(body)
            return
        for start in range(0, len(body), 16_384):  # a slow download, in pieces
            handler.wfile.write(body[start:start + 16_384])
            handler.wfile.flush()
            time.sleep(pause)
