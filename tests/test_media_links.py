"""Media through a running gateway: results, last frames and uploaded inputs in S3 (the
tests' moto server), downloads through the gateway's signed links with byte ranges and
conditional requests on both backends, and an object store that cannot be reached."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from seedgate.media.local import LocalStorage
from seedgate.media.probe import probe_video
from seedgate.media.storage import CHUNK

from . import s3
from .conftest import RunningGateway, free_port
from .helpers import png_bytes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Sora's sunset notice

FAST = {"resolution": "480p", "generate_audio": False}  # 864x496, quick to render


def in_bucket(make_gateway: Any, bucket: s3.Bucket, **overrides: Any) -> RunningGateway:
    return make_gateway(media_url=bucket.url, s3=s3.settings(), **overrides)  # type: ignore[no-any-return]


def finished_video(gateway: RunningGateway, key: str, **fields: Any) -> dict[str, Any]:
    """A native video, created and polled until it completed."""
    with gateway.client(key) as client:
        video = client.post("/v1/videos", json={"prompt": "A kite", "seconds": "4", **FAST,
                                                **fields}).json()
        deadline = time.monotonic() + 60
        while video["status"] != "completed":
            assert video["status"] in ("queued", "in_progress"), video
            assert time.monotonic() < deadline, video
            time.sleep(0.1)
            video = client.get(f"/v1/videos/{video['id']}").json()
    return video  # type: ignore[no-any-return]


def test_results_frames_and_inputs_live_in_the_bucket(
        s3_bucket: s3.Bucket, make_gateway: Any, tmp_path: Path) -> None:
    gateway = in_bucket(make_gateway, s3_bucket)
    key = gateway.new_key()
    client = openai.OpenAI(api_key=key, base_url=f"{gateway.url}/v1", max_retries=0)
    red = png_bytes(640, 640, (230, 20, 20))
    video = client.videos.create_and_poll(
        prompt="", seconds="4", input_reference=("red.png", red, "image/png"),
        extra_body={**FAST, "return_last_frame": True}, poll_interval_ms=100)
    assert video.status == "completed", video
    stored = s3_bucket.objects()
    [upload] = [name for name in stored if name.startswith("inputs/")]
    assert stored[upload] == red
    assert {f"videos/{video.id}.mp4", f"frames/{video.id}.png"} <= set(stored)
    assert not gateway.settings.media_dir.exists()  # nothing went to the local disk

    outputs = (video.model_extra or {})["outputs"]
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(httpx.get(outputs["video_url"]).content)
    assert clip.read_bytes() == stored[f"videos/{video.id}.mp4"]
    info = probe_video(clip)
    assert (info.width, info.height) == (640, 640)
    assert info.duration_s == pytest.approx(4.0, abs=0.05)
    with Image.open(io.BytesIO(httpx.get(outputs["last_frame_url"]).content)) as frame:
        assert frame.size == (640, 640)
        r, g, b = frame.convert("RGB").resize((1, 1)).getpixel((0, 0))  # type: ignore[misc]
        assert r > 150 and g < 80 and b < 80  # the uploaded image, read back from the bucket
    assert client.videos.download_content(video.id).content == clip.read_bytes()

    client.videos.delete(video.id)
    assert sorted(s3_bucket.objects()) == [upload]  # the janitor takes inputs in time


@pytest.fixture(params=["local", "s3"])
def media_gateway(request: pytest.FixtureRequest, make_gateway: Any) -> RunningGateway:
    if request.param == "local":
        return make_gateway(media_url=None)  # type: ignore[no-any-return]
    return in_bucket(make_gateway, request.getfixturevalue("s3_bucket"))


def test_links_serve_byte_ranges_head_and_conditional_requests(
        media_gateway: RunningGateway, tmp_path: Path) -> None:
    key = media_gateway.new_key()
    video = finished_video(media_gateway, key)
    url = video["outputs"]["video_url"]
    whole = httpx.get(url)
    full, size = whole.content, len(whole.content)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert int(whole.headers["content-length"]) == size > 1000
    etag, modified = whole.headers["etag"], whole.headers["last-modified"]

    def get(method: str = "GET", **headers: str) -> httpx.Response:
        return httpx.request(method, url, headers=headers)

    for asked, expected in (("bytes=0-99", (0, 99)), ("bytes=-500", (size - 500, size - 1)),
                            ("bytes=1000-", (1000, size - 1)),
                            (f"bytes=10-{size + 50}", (10, size - 1))):
        part = get(range=asked)
        first, last = expected
        assert part.status_code == 206, asked
        assert part.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert part.content == full[first:last + 1]
        assert int(part.headers["content-length"]) == last - first + 1

    # Three ranges, put together, are the video: it decodes.
    third = size // 3
    pieces = [get(range=f"bytes=0-{third - 1}"), get(range=f"bytes={third}-{2 * third - 1}"),
              get(range=f"bytes={2 * third}-")]
    clip = tmp_path / "pieces.mp4"
    clip.write_bytes(b"".join(piece.content for piece in pieces))
    info = probe_video(clip)
    assert (info.width, info.height) == (864, 496)
    assert info.duration_s == pytest.approx(4.0, abs=0.05)

    past = get(range=f"bytes={size}-")
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"
    assert past.json()["error"]["code"] == "range_not_satisfiable"
    several = get(range="bytes=0-1,5-6")
    assert several.status_code == 200 and several.content == full

    head = get("HEAD")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == size and head.headers["etag"] == etag
    head_part = get("HEAD", range="bytes=0-99")
    assert head_part.status_code == 206 and head_part.headers["content-length"] == "100"

    unchanged = get(**{"if-none-match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert get(**{"if-none-match": '"something-else"'}).status_code == 200
    assert get(range="bytes=0-9", **{"if-range": etag}).status_code == 206
    assert get(range="bytes=0-9", **{"if-range": modified}).status_code == 206
    changed = get(range="bytes=0-9", **{"if-range": '"an-older-version"'})
    assert changed.status_code == 200 and changed.content == full

    # The download endpoint of the API streams the same way.
    with media_gateway.client(key) as client:
        content = f"/v1/videos/{video['id']}/content"
        part = client.get(content, headers={"range": "bytes=-100"})
        assert part.status_code == 206 and part.content == full[-100:]
        assert part.headers["content-range"] == f"bytes {size - 100}-{size - 1}/{size}"
        assert client.get(content).content == full


def test_an_unreachable_object_store_is_said_clearly_and_costs_nothing(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there
    with caplog.at_level(logging.WARNING):
        gateway = make_gateway(media_url="s3://media/seedgate",
                               s3=s3.settings(f"http://127.0.0.1:{port}"))
    where = f"media storage s3://media/seedgate/ at http://127.0.0.1:{port}"
    assert f"{where}: Could not connect to the endpoint URL" in caplog.text
    key = gateway.new_key(credits=1000)
    with gateway.client(key) as client:
        refused = client.post("/v1/videos", data={"prompt": "", "seconds": "4"},
                              files={"input_reference": ("a.png", png_bytes(), "image/png")})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["type"] == "api_error"
    assert "could not be stored" in refused.json()["error"]["message"]
    assert refused.headers["retry-after"] == "30"
    assert gateway.balance(key) == 1000  # nothing debited, no task
    link = gateway.gateway.signer.url(gateway.url, "videos/task_x.mp4", int(time.time()) + 60)
    answered = httpx.get(link)
    assert answered.status_code == 503 and answered.json()["error"]["code"] == "unavailable"
    assert "test-secret" not in caplog.text


class CountingStorage(LocalStorage):
    """Counts the chunks read, and the reads that ended."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.chunks = self.ended = 0

    async def read(self, key: str, start: int = 0,
                   length: int | None = None) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in super().read(key, start, length):
                self.chunks += 1
                yield chunk
        finally:
            self.ended += 1


def test_a_download_stops_reading_when_the_client_goes_away(make_gateway: Any) -> None:
    gateway = make_gateway(media_url=None, worker=False)
    storage = CountingStorage(gateway.settings.media_dir)
    gateway.gateway.storage = storage
    size = 32 * 1024 * 1024
    asyncio.run(storage.put_bytes("videos/big.mp4", b"\0" * size))
    link = gateway.gateway.signer.url("", "videos/big.mp4", int(time.time()) + 60)
    with socket.create_connection(("127.0.0.1", gateway.settings.port)) as client:
        client.sendall(f"GET {link} HTTP/1.1\r\nHost: gateway\r\n\r\n".encode())
        assert client.recv(1024).startswith(b"HTTP/1.1 200")
    deadline = time.monotonic() + 60
    while not storage.ended:
        assert time.monotonic() < deadline, "the read never ended"
        time.sleep(0.05)
    assert storage.chunks < size // CHUNK // 2
