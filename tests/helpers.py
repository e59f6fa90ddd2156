"""Test helpers: a loopback file server for input images, status polling, decoding videos."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import av
import httpx
import numpy as np
from PIL import Image


def png_bytes(width: int = 640, height: int = 360, color: tuple[int, int, int] = (200, 40, 40),
              fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=fmt)
    return buffer.getvalue()


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # concurrent requests (deliveries) must not overflow the backlog


class LoopbackServer:
    """An HTTP server on 127.0.0.1, in a thread while its `with` block lasts."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = _ThreadingServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class MediaServer(LoopbackServer):
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

        super().__init__(Handler)

    def add(self, path: str, body: bytes, content_type: str = "image/png") -> str:
        self.files[path] = (body, content_type)
        return f"{self.url}{path}"


def until(condition: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """Wait for `condition()` to be truthy (generously: the machine may be busy); its value."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


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


@dataclass(frozen=True)
class DecodedVideo:
    width: int
    height: int
    frames: int
    audio: bool
    first_frame: np.ndarray  # RGB


def decode_video(path: Path) -> DecodedVideo:
    """Every video frame of an MP4, decoded with PyAV."""
    with av.open(str(path)) as container:
        audio = bool(container.streams.audio)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    height, width = frames[0].shape[:2]
    return DecodedVideo(width, height, len(frames), audio, frames[0])
