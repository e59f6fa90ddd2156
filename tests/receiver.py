"""A webhook receiver on 127.0.0.1 for the tests: records every request and answers as
scripted (status, headers, delay), path by path."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook

from .helpers import LoopbackServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    body: bytes = b"ok"


class Receiver(LoopbackServer):
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: dict[str, deque[Answer]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    queue = receiver.script.get(self.path)
                    answer = queue.popleft() if queue else Answer()
                time.sleep(answer.delay_s)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_POST = do_GET = _answer

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)

    def url(self, path: str) -> str:  # type: ignore[override]
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def answer(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self.script.setdefault(path, deque()).extend(answers)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(found := self.at(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} got {len(found)} of {count} deliveries")
            time.sleep(0.02)
        return found


def verified(secret: str, received: Received) -> Any:
    """The payload, verified as a receiver would: the standardwebhooks library checks the
    signature and the timestamp (within five minutes)."""
    return Webhook(secret).verify(received.body, received.headers)
