"""A reverse proxy on 127.0.0.1 in front of a gateway, for the client's tests. It records
the paths asked for, and treats event streams as proxies in the wild do: passes them
(`pass`), has no route for them (`refuse`: a 404 page of its own), or cuts each one after
its first event (`cut`: an idle or buffer limit)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import httpx

from .helpers import LoopbackServer

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                        "upgrade", "host", "content-length"})


class Proxy(LoopbackServer):
    def __init__(self, upstream: str, events: str = "pass") -> None:
        self.events = events
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._http = httpx.Client(base_url=upstream, timeout=60)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the end of a streamed answer closes it

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.paths.append(urlsplit(self.path).path)
                stream = urlsplit(self.path).path.endswith("/events")
                if stream and proxy.events == "refuse":
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP}
                with proxy._http.stream(self.command, self.path, headers=headers,
                                        content=body) as answer:
                    self.send_response(answer.status_code)
                    for name, value in answer.headers.items():
                        if name.lower() not in HOP_BY_HOP:
                            self.send_header(name, value)
                    self.end_headers()
                    for chunk in answer.iter_raw():
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if stream and proxy.events == "cut" and b"event: video" in chunk:
                            return

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self._http.close()

    def count(self, path: str) -> int:
        with self._lock:
            return self.paths.count(path)
