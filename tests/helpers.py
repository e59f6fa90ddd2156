"""Test helpers: a loopback file server for input images and status polling."""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from PIL import Image


def png_bytes(width: int = 640, height: int = 360, color: tuple[int, int, int] = (200, 40, 40),
              fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=fmt)
    return buffer.getvalue()


class MediaServer:
    """Serves registered byte strings on 127.0.0.1, like a CDN holding reference images."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                entry = files.get(self.path)
                if entry is None:
                    self.send_error(404)
                    return
                body, content_type = entry
                self.send_response(200)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> MediaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add(self, path: str, body: bytes, content_type: str = "image/png") -> str:
        self.files[path] = (body, content_type)
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"


def wait_for_status(client: httpx.Client, task_id: str, statuses: set[str],
                    timeout: float = 60.0) -> dict[str, Any]:
    """Poll the seedance1-5pro status endpoint until the task reaches one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        data = client.get("/api/status", params={"task_id": task_id}).json()["data"]
        if data["status"] in statuses:
            return data
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} stuck in {data['status']}")
        time.sleep(0.1)
