"""The Python client (`seedgate.client`), blocking and asyncio, against a live gateway."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from seedgate.client import (
    ApiError,
    AsyncClient,
    Client,
    SeedgateError,
    Video,
    VideoFailed,
    WaitTimeout,
    WebhookVerificationError,
    verify_webhook,
)
from seedgate.domain.catalog import CATALOG
from seedgate.webhooks.signing import headers as signed_headers

from .conftest import RunningGateway
from .helpers import MediaServer, decode_video, png_bytes
from .proxy import Proxy
from .receiver import Receiver

MODEL = CATALOG["seedance-1-5-pro"]
SERVER_DEPENDENCIES = ("av", "sqlalchemy", "alembic", "psycopg", "numpy", "PIL", "granian",
                       "starlette", "pydantic", "cryptography", "seedgate.gateway")


@pytest.fixture
def slow(make_gateway: Any) -> RunningGateway:
    """A gateway whose videos take two seconds, so that their progress can be seen."""
    return make_gateway(simulator_latency=2.0)  # type: ignore[no-any-return]


def events_path(video_id: str) -> str:
    return f"/v1/videos/{video_id}/events"


def assert_progressed(updates: list[Video]) -> None:
    """Reported in order, each change once. (Progress itself may step back under load: a
    read refreshed from the provider can be followed by one of the worker's older write.)"""
    statuses = [u.status for u in updates]
    assert statuses[0] == "queued" and statuses[-1] == "completed"
    assert statuses == sorted(statuses, key=["queued", "in_progress", "completed"].index)
    assert updates[-1].progress == 100
    states = [(u.status, u.progress, u.queue_position) for u in updates]
    assert all(a != b for a, b in itertools.pairwise(states))  # a change is reported once


def test_generate_follows_the_event_stream_and_downloads_the_video(
        slow: RunningGateway, tmp_path: Path) -> None:
    key = slow.new_key(credits=1000)
    updates: list[Video] = []
    with Proxy(slow.url) as proxy, Client(proxy.url, api_key=key) as client:
        video = client.generate("A lighthouse in a storm", seconds=4, ratio="16:9",
                                resolution="480p", audio=True, on_update=updates.append)
        path = client.download(video.id, tmp_path / "lighthouse.mp4")
    assert video.succeeded and video.credits == 2 * 25  # 4 s of 864x496 at 1.5 Pro's rate, audio
    assert_progressed(updates)
    assert any(u.status == "in_progress" and 0 < u.progress < 100 for u in updates)
    assert proxy.count(events_path(video.id)) == 1  # one stream, no polling
    assert proxy.count(f"/v1/videos/{video.id}") == 0
    decoded = decode_video(path)
    assert (decoded.width, decoded.height) == MODEL.pixel_size("480p", "16:9")
    assert decoded.frames == 4 * 24 and decoded.audio
    assert slow.balance(key) == 1000 - video.credits
    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize("events", ["refuse", "cut"])
def test_wait_falls_back_to_polling_or_reconnects(slow: RunningGateway, events: str) -> None:
    key = slow.new_key()
    updates: list[Video] = []
    with Proxy(slow.url, events=events) as proxy, Client(proxy.url, api_key=key) as client:
        video = client.generate("behind a proxy", seconds=4, resolution="480p",
                                on_update=updates.append)
    assert video.succeeded
    assert_progressed(updates)
    if events == "refuse":  # one try at the stream, then polls
        assert proxy.count(events_path(video.id)) == 1
        assert proxy.count(f"/v1/videos/{video.id}") >= 2
    else:  # each stream gave one event: reconnected until the end
        assert proxy.count(events_path(video.id)) >= 2


def test_events_off_polls_only(gateway: RunningGateway) -> None:
    key = gateway.new_key()
    with Proxy(gateway.url) as proxy, Client(proxy.url, api_key=key, events=False) as client:
        video = client.generate("polled", seconds=4, resolution="480p")
    assert video.succeeded
    assert proxy.count(events_path(video.id)) == 0
    assert proxy.count(f"/v1/videos/{video.id}") >= 1


def test_async_client_generates_lists_cancels_and_downloads(
        make_gateway: Any, tmp_path: Path) -> None:
    gateway = make_gateway(simulator_latency=1.0)
    key = gateway.new_key(credits=1000)

    async def scenario() -> tuple[list[Video], list[str], list[Path]]:
        updates: list[Video] = []
        async with AsyncClient(f"{gateway.url}/v1", api_key=key) as client:
            videos = await asyncio.gather(*(
                client.generate(f"clip {n}", seconds=4, ratio="1:1", resolution="480p",
                                audio=False, on_update=updates.append) for n in range(2)))
            listed = [video.id async for video in client.list(status="completed",
                                                              page_size=1)]
            paths = [await client.download(video.id, tmp_path / f"{video.id}.mp4")
                     for video in videos]
            with pytest.raises(VideoFailed, match="CONTENT_VIOLATION"):
                await client.generate("@sim:content_violation", seconds=4)
        return list(videos), listed, paths

    videos, listed, paths = asyncio.run(scenario())
    assert all(video.succeeded for video in videos)
    assert sorted(listed) == sorted(video.id for video in videos)
    for path in paths:
        decoded = decode_video(path)
        assert (decoded.width, decoded.height) == MODEL.pixel_size("480p", "1:1")
        assert decoded.frames == 4 * 24 and not decoded.audio
    # 4 s of 640x640 (38,400 tokens at 13 credits per 21,600): 24 credits each, settled back
    # from the 25 of 16:9; the failed one was refunded
    assert gateway.balance(key) == 1000 - 2 * 24


def test_list_pages_through_every_video_and_filters(gateway: RunningGateway) -> None:
    key = gateway.new_key()
    with Client(gateway.url, api_key=key) as client:
        made = [client.create(f"listed {n}", seconds=4, resolution="480p") for n in range(3)]
        failed = client.create("@sim:content_violation listed", seconds=4)
        for video in [*made, failed]:
            client.wait(video.id)
        newest_first = [video.id for video in client.list(page_size=2)]
        oldest_first = [video.id for video in client.list(order="asc", page_size=3)]
        only_failed = [video.id for video in client.list(status=["failed", "cancelled"])]
    assert newest_first == [failed.id, *(video.id for video in reversed(made))]
    assert oldest_first == newest_first[::-1]
    assert only_failed == [failed.id]


def test_cancel_refunds_a_queued_video_and_wait_sees_it(make_gateway: Any) -> None:
    gateway = make_gateway(worker=False)  # nothing runs: videos stay queued
    key = gateway.new_key(credits=500)
    with Client(gateway.url, api_key=key) as client:
        video = client.create("never runs", seconds=4, resolution="480p")
        assert video.status == "queued" and gateway.balance(key) == 500 - video.credits
        with pytest.raises(WaitTimeout) as timed_out:
            client.wait(video.id, timeout=1.0)
        assert timed_out.value.video is not None and timed_out.value.video.status == "queued"
        cancelled = client.cancel(video.id)
        assert cancelled.status == "cancelled"
        assert client.wait(video.id).status == "cancelled"
        with pytest.raises(ApiError) as refused:
            client.download(video.id)
    assert refused.value.status == 404
    assert gateway.balance(key) == 500


def test_the_gateways_refusals_are_api_errors(gateway: RunningGateway, tmp_path: Path) -> None:
    poor = gateway.new_key(credits=10)
    with Client(gateway.url, api_key=poor) as client:
        with pytest.raises(ApiError) as invalid:
            client.create("too long", seconds=99)
        with pytest.raises(ApiError) as unpaid:
            client.create("too expensive", seconds=4)
        with pytest.raises(ApiError) as unknown:
            client.retrieve("task_doesnotexist")
    assert invalid.value.status == 400 and invalid.value.type == "invalid_request_error"
    assert "between 4 and 12 seconds" in invalid.value.message
    assert (unpaid.value.status, unpaid.value.type) == (402, "insufficient_quota")
    assert unknown.value.status == 404
    with Client(gateway.url, api_key="sg_wrong") as client, pytest.raises(ApiError) as denied:
        client.retrieve("task_x")
    assert denied.value.status == 401
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    with Client(gateway.url, api_key=poor) as client, pytest.raises(ValueError,
                                                                     match="not an image"):
        client.create("x", images=[notes])


def test_local_and_remote_frames_are_sent(gateway: RunningGateway, media_server: MediaServer,
                                          tmp_path: Path) -> None:
    red, blue = tmp_path / "red.png", tmp_path / "blue.jpg"
    red.write_bytes(png_bytes(640, 360, (220, 30, 30)))
    blue.write_bytes(png_bytes(640, 360, (30, 30, 220), fmt="JPEG"))
    remote = media_server.add("/green.png", png_bytes(640, 360, (30, 200, 30)))
    key = gateway.new_key()
    with Client(gateway.url, api_key=key) as client:
        uploaded = client.generate("from a file", images=[red, remote], seconds=4,
                                   resolution="480p")
        inline = client.generate("from a URL", images=[remote, str(blue)], seconds=4,
                                 resolution="480p")
        first_frames = [decode_video(client.download(video.id, tmp_path / f"{n}.mp4"))
                        .first_frame for n, video in enumerate((uploaded, inline))]
    assert uploaded.size == inline.size == "864x496"  # the images' 16:9 shape
    assert band_colour(first_frames[0]) == pytest.approx((220, 30, 30), abs=14)
    assert band_colour(first_frames[1]) == pytest.approx((30, 200, 30), abs=14)
    with Client(gateway.url, api_key=key) as client, pytest.raises(ValueError,
                                                                    match="at most two"):
        client.create("x", images=[remote] * 3)


def band_colour(rgb: Any) -> tuple[float, ...]:
    """The median colour of a band clear of the simulator's caption and clock."""
    height, width = rgb.shape[:2]
    band = rgb[height // 4: height // 2, width // 10: width * 9 // 10]
    return tuple(float(c) for c in np.median(band.reshape(-1, 3), axis=0))


def test_rate_limited_requests_are_retried_after_retry_after(gateway: RunningGateway) -> None:
    key = gateway.new_key(rate_limit=60)  # bursts of 10, then one a second
    with Client(gateway.url, api_key=key) as client:
        video = client.create("rate limited", seconds=4, resolution="480p")
        with httpx.Client(base_url=gateway.url,
                          headers={"authorization": f"Bearer {key}"}) as raw:
            while raw.get(f"/v1/videos/{video.id}").status_code != 429:
                pass
        assert client.retrieve(video.id).id == video.id  # after a retry
    with Client(gateway.url, api_key=key, max_retries=0) as impatient, pytest.raises(
            ApiError) as limited:
        for _ in range(20):
            impatient.retrieve(video.id)
    assert (limited.value.status, limited.value.type) == (429, "rate_limit_error")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started


def test_webhooks_verify_with_the_keys_secret(gateway: RunningGateway,
                                              receiver: Receiver) -> None:
    key = gateway.new_key()
    secret = gateway.gateway.keyring.reveal(gateway.gateway.accounts.find(key).id)
    with Client(gateway.url, api_key=key) as client:
        video = client.generate("notified", seconds=4, resolution="480p",
                                webhook=receiver.url("/hook"),
                                webhook_events=["video.in_progress", "video.completed"])
    delivered = receiver.wait_for("/hook", 2)
    events = [verify_webhook(hit.body, hit.headers, secret) for hit in delivered]
    assert [event["type"] for event in events] == ["video.in_progress", "video.completed"]
    assert events[-1]["data"]["id"] == video.id
    assert events[-1]["data"]["status"] == "completed"
    last = delivered[-1]
    text_and_mixed_case = {name.title(): value for name, value in last.headers.items()}
    assert verify_webhook(last.body.decode(), text_and_mixed_case, ["whsec_" + "A" * 44,
                                                                    secret])["id"]

    forged = last.body.replace(b"completed", b"cancelled")
    stale = signed_headers([secret], "msg_1", int(time.time()) - 600, last.body)
    for body, headers, with_secret, reason in (
        (forged, last.headers, secret, "no signature matches"),
        (last.body, last.headers, "whsec_" + "A" * 44, "no signature matches"),
        (last.body, stale, secret, "from now"),
        (last.body, {"webhook-id": "msg_1"}, secret, "missing or malformed"),
        (last.body, last.headers, "not-a-secret!", "not a whsec_"),
    ):
        with pytest.raises(WebhookVerificationError, match=reason):
            verify_webhook(body, headers, with_secret)


def test_a_base_url_with_v1_and_the_environment(gateway: RunningGateway,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    key = gateway.new_key()
    monkeypatch.setenv("SEEDGATE_BASE_URL", f"{gateway.url}/v1/")
    monkeypatch.setenv("SEEDGATE_API_KEY", key)
    with Client() as client:
        assert client.create("from the environment", seconds=4).status == "queued"
    monkeypatch.delenv("SEEDGATE_API_KEY")
    with pytest.raises(SeedgateError, match="SEEDGATE_API_KEY"):
        Client()


def test_the_client_needs_none_of_the_servers_dependencies() -> None:
    code = ("import sys, json, seedgate.client; "
            f"print(json.dumps([m for m in {list(SERVER_DEPENDENCIES)!r} "
            "if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert json.loads(done.stdout) == []
