"""Live task events: `GET /v1/videos/{id}/events` (Server-Sent Events) and `Prefer: wait`
on the native create and read."""

from __future__ import annotations

import time
from typing import Any

import orjson

from seedgate.clock import now_ms
from seedgate.store import tasks as task_store

from .conftest import RunningGateway

FAILING_SLOWLY = "a fox @sim:content_violation @sim:delay=1"


def sse_events(text: str) -> list[dict[str, Any]]:
    """The `video` events of a stream, in order."""
    events = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines()
                     if ": " in line and not line.startswith(":"))
        if lines.get("event") == "video":
            events.append(orjson.loads(lines["data"]))
    return events


def test_events_stream_each_change_until_the_video_ends(gateway: RunningGateway) -> None:
    with gateway.client(gateway.new_key()) as client:
        video_id = client.post("/v1/videos", json={"prompt": FAILING_SLOWLY}).json()["id"]
        with client.stream("GET", f"/v1/videos/{video_id}/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            text = stream.read().decode()  # returns only once the server ends the stream
        assert text.startswith("retry: ")
        events = sse_events(text)
        states = [(e["status"], e["progress"], e["queue_position"]) for e in events]
        assert events[-1]["status"] == "failed" and events[-1]["id"] == video_id
        assert "in_progress" in [status for status, _, _ in states]
        assert len(set(states)) == len(states)  # one event per change
        progress = [p for status, p, _ in states if status == "in_progress"]
        assert progress == sorted(progress) and len(progress) >= 2
        ids = [line for line in text.splitlines() if line.startswith("id: ")]
        assert ids == [f"id: {n}" for n in range(1, len(events) + 1)]
        slow = client.post("/v1/videos", json={"prompt": "slow @sim:delay=60"}).json()["id"]
        head = client.head(f"/v1/videos/{slow}/events")  # answers at once, unfinished
        assert head.status_code == 200
        assert head.headers["content-type"].startswith("text/event-stream")
        missing = client.get("/v1/videos/task_000000000000000000000000/events")
        assert missing.status_code == 404 and missing.json()["error"]["param"] == "video_id"
    with gateway.client() as anonymous:
        assert anonymous.get(f"/v1/videos/{video_id}/events").status_code == 401


def test_progress_never_goes_back_when_the_worker_stores_an_older_poll(
        make_gateway: Any) -> None:
    """A read asks the provider for the progress; the worker may then store what its own
    earlier poll said, a lower figure. Clients keep seeing the higher one."""
    gateway = make_gateway(refresh_interval=3, worker_poll_interval=3600)
    with gateway.client(gateway.new_key()) as client:
        video_id = client.post("/v1/videos", json={"prompt": "a fox @sim:delay=60"}).json()["id"]
        deadline = time.monotonic() + 60
        while (video := client.get(f"/v1/videos/{video_id}").json())["progress"] < 2:
            assert video["status"] in ("queued", "in_progress") and time.monotonic() < deadline
            time.sleep(0.2)
        with gateway.gateway.db.writer.begin() as conn:
            assert task_store.update_active(conn, video_id, now=now_ms() + 1, progress=1)
        after = client.get(f"/v1/videos/{video_id}").json()
        assert after["status"] == "in_progress" and after["progress"] >= video["progress"]


def test_prefer_wait_answers_when_the_video_ends(gateway: RunningGateway) -> None:
    with gateway.client(gateway.new_key()) as client:
        started = time.monotonic()
        reply = client.post("/v1/videos", json={"prompt": FAILING_SLOWLY},
                            headers={"prefer": "wait=20"})
        elapsed = time.monotonic() - started
        assert reply.status_code == 200
        assert reply.json()["status"] == "failed" and 0.9 < elapsed < 19.5
        assert reply.headers["preference-applied"] == "wait=20"
        plain = client.post("/v1/videos", json={"prompt": FAILING_SLOWLY})
        assert plain.json()["status"] == "queued" and "preference-applied" not in plain.headers
        read = client.get(f"/v1/videos/{plain.json()['id']}", headers={"prefer": "wait"})
        assert read.json()["status"] == "failed"


def test_prefer_wait_gives_up_after_n_seconds_capped_by_the_operator(
    make_gateway: Any,
) -> None:
    gateway = make_gateway(max_wait=2)
    with gateway.client(gateway.new_key()) as client:
        started = time.monotonic()
        reply = client.post("/v1/videos", json={"prompt": "slow @sim:delay=60"},
                            headers={"prefer": "respond-async, wait=1"})
        assert 0.9 < time.monotonic() - started < 30  # not the task's 60 s
        assert reply.json()["status"] in ("queued", "in_progress")
        assert reply.headers["preference-applied"] == "wait=1"
        assert reply.headers["openai-poll-after-ms"]
        started = time.monotonic()
        read = client.get(f"/v1/videos/{reply.json()['id']}", headers={"prefer": "wait=600"})
        assert 1.9 < time.monotonic() - started < 30  # capped at 2, not 600
        assert read.headers["preference-applied"] == "wait=2"
        ignored = client.get(f"/v1/videos/{reply.json()['id']}", headers={"prefer": "wait=x"})
        assert "preference-applied" not in ignored.headers
