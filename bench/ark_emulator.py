"""A light Ark v3 emulator for `bench/upstream.py`: thousands of jobs at little cost.

Serves `POST/GET/DELETE /api/v3/contents/generations/tasks[/{id}]` and one tiny MP4 at
`/media/clip.mp4`. Each job succeeds after a random duration in [MIN_S, MAX_S]; at that
moment it POSTs its `callback_url` (Ark sends the task object; the gateway only takes it
as a hint). `GET /stats` returns every job's creation and completion times (Unix ms) and
how many calls it received.

    .venv/bin/python bench/ark_emulator.py PORT MIN_S MAX_S
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import random
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import av
import httpx
import numpy as np
import orjson
import uvloop
from granian.constants import Interfaces
from granian.server.embed import Server

from hello_asgi import lifespan

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TASKS = "/api/v3/contents/generations/tasks"
CLIP = "/media/clip.mp4"


def tiny_clip() -> bytes:
    """One second of 64x64 H.264 at 24 fps: cheap to serve and to check."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for index in range(24):
            pixels = np.full((64, 64, 3), index * 10, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())
    return out.getvalue()


@dataclass
class Job:
    id: str
    model: str
    created_ms: int
    duration_s: float
    callback_url: str | None
    done_ms: int | None = None
    calls: int = 1


class Emulator:
    def __init__(self, min_s: float, max_s: float) -> None:
        self.min_s, self.max_s = min_s, max_s
        self.jobs: dict[str, Job] = {}
        self.clip = tiny_clip()
        self.http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64))
        self.timers: set[asyncio.Task[None]] = set()

    def create(self, body: dict[str, Any], base: str) -> Message:
        job = Job(f"cgt-{len(self.jobs):08d}", str(body.get("model")), now_ms(),
                  random.uniform(self.min_s, self.max_s), body.get("callback_url"))
        self.jobs[job.id] = job
        timer = asyncio.create_task(self.finish(job, base))
        self.timers.add(timer)
        timer.add_done_callback(self.timers.discard)
        return {"id": job.id}

    async def finish(self, job: Job, base: str) -> None:
        await asyncio.sleep(job.duration_s)
        job.done_ms = now_ms()
        if job.callback_url:  # on failure Ark retries; the gateway's polls are the net
            with contextlib.suppress(httpx.HTTPError):
                await self.http.post(job.callback_url, content=orjson.dumps(
                    self.task(job, base)), headers={"content-type": "application/json"})

    def task(self, job: Job, base: str) -> Message:
        done = job.done_ms is not None
        body: Message = {"id": job.id, "model": job.model,
                         "status": "succeeded" if done else "running", "error": None,
                         "created_at": job.created_ms // 1000,
                         "updated_at": (job.done_ms or job.created_ms) // 1000}
        if done:
            body["content"] = {"video_url": f"{base}{CLIP}"}
        return body

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        path, method = scope["path"], scope["method"]
        base = f"http://{dict(scope['headers']).get(b'host', b'').decode()}"
        if path == CLIP:
            await reply(send, 200, self.clip, b"video/mp4")
        elif path == "/stats":
            await reply(send, 200, orjson.dumps({job.id: [job.created_ms, job.done_ms, job.calls]
                                                 for job in self.jobs.values()}))
        elif path == TASKS and method == "POST":
            body = orjson.loads(await read(receive))
            await reply(send, 200, orjson.dumps(self.create(body, base)))
        elif path.startswith(TASKS + "/") and (job := self.jobs.get(path.rsplit("/", 1)[1])):
            job.calls += 1
            answer = {} if method == "DELETE" else self.task(job, base)
            await reply(send, 200, orjson.dumps(answer))
        else:
            await reply(send, 404, b'{"error":{"code":"ResourceNotFound","message":"none"}}')


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def reply(send: Send, status: int, body: bytes,
                media_type: bytes = b"application/json") -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", media_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def main(port: int, min_s: float, max_s: float) -> None:
    server = Server(Emulator(min_s, max_s), address="127.0.0.1", port=port,
                    interface=Interfaces.ASGI, websockets=False, log_level="warning")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    await server.serve()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])))
