"""The native dialect (`/v1/videos`, an OpenAI Videos superset) over real HTTP, driven by the
openai SDK where it can be and by raw requests for what the SDK does not send."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from seedgate.dialects import native
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.request import GenerationRequest, normalize
from seedgate.domain.task import Outputs, Rendition, Task, TaskStatus
from seedgate.media.probe import probe_video
from seedgate.store.ledger import entries_of
from seedgate.store.tasks import get_task

from .helpers import png_bytes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Sora's sunset notice

FAST = {"resolution": "480p", "generate_audio": False}  # 864x496 16:9, quick to render
PRICE_480P_4S = 25  # 1.5 Pro, 4 s of 864x496 silent: 40,176 tokens at 13/21,600 a token
SLOW = "@sim:delay=30"


GOLDEN = json.loads((Path(__file__).parent / "golden" / "native.json").read_text())


# -- golden file: the shapes the openai SDK reads --------------------------------------------


@pytest.mark.parametrize("status", list(TaskStatus))
def test_golden_video_object_in_every_status(status: TaskStatus) -> None:
    request = normalize(GenerationRequest(model="seedance-1-5-pro", prompt="p", duration=5,
                                          ratio="16:9", resolution="720p"))
    ended = status.terminal
    task = Task(id="task_" + "0" * 24, key_id=1, dialect=native.NAME, request=request,
                client_request={}, status=status, price=65, refunded=0, created_at=1_000,
                updated_at=2_000, deadline_at=9_000, completed_at=5_000 if ended else None,
                error_code="CONTENT_VIOLATION" if status is TaskStatus.FAILED else None,
                error_message="rejected" if status is TaskStatus.FAILED else None,
                outputs=Outputs("v.mp4", Rendition(1280, 720, 5, "16:9", 1, False))
                if status is TaskStatus.SUCCEEDED else None)
    urls = ["https://gw/v.mp4"] if status is TaskStatus.SUCCEEDED else []
    body = native.encode_video(task, queue_position=None, urls=urls, media_ttl=60)
    assert set(GOLDEN["video_fields"]) <= set(body)
    assert body["status"] == GOLDEN["statuses"][status.value]
    assert (body["status"] in GOLDEN["polling_statuses"]) is not ended  # poll() stops at the end
    assert (body["error"] is not None) is (status is TaskStatus.FAILED)
    if status not in (TaskStatus.CANCELLED, TaskStatus.EXPIRED):  # outside the SDK's Literal
        video = openai.types.Video.model_validate(body)  # strictly: every type as declared
        assert (video.id, video.size, video.seconds) == (task.id, "1280x720", "5")


def test_golden_list_deleted_and_error_shapes() -> None:
    page = native.encode_list([{"id": "a"}, {"id": "b"}], has_more=True)
    assert list(page) == GOLDEN["list_fields"]
    assert (page["first_id"], page["last_id"], page["has_more"]) == ("a", "b", True)
    assert native.encode_deleted(GOLDEN["deleted"]["id"]) == GOLDEN["deleted"]
    status, body = native.encode_error(GatewayError(ErrorKind.NOT_FOUND, "no such video"))
    assert status == 404 and list(body["error"]) == GOLDEN["error_fields"]


def sdk(gateway: Any, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def create(client: httpx.Client, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = client.post("/v1/videos", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"} and error["message"]
    return error  # type: ignore[no-any-return]


def debits(gateway: Any, key: str) -> list[int]:
    key_id = gateway.gateway.accounts.find(key).id
    rows = gateway.gateway.db.read_sync(lambda conn: entries_of(conn, key_id))
    return [amount for kind, amount, _ in rows if kind == "debit"]


def first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def test_sdk_create_and_poll_then_download_video_and_thumbnail(
    gateway: Any, tmp_path: Path
) -> None:
    key = gateway.new_key(credits=1000)
    client = sdk(gateway, key)
    created = client.videos.create(
        prompt="A paper boat on a pond", seconds="4", size="864x496",
        extra_body={"generate_audio": False, "return_last_frame": True, "seed": 7},
    )
    assert (created.status, created.object, created.model) == ("queued", "video",
                                                              "seedance-1-5-pro")
    assert (created.size, created.seconds, created.progress) == ("864x496", "4", 0)
    assert gateway.balance(key) == 1000 - PRICE_480P_4S
    video = client.videos.poll(created.id, poll_interval_ms=100)
    assert video.status == "completed" and video.progress == 100, video
    assert video.completed_at and video.expires_at == video.completed_at + (
        gateway.settings.media_ttl)
    extra: dict[str, Any] = video.model_extra or {}
    assert extra["usage"] == {"credits": PRICE_480P_4S,
                              "completion_tokens": 864 * 496 * (24 * 4 + 1) // 1024}
    assert extra["queue_position"] is None and video.error is None
    assert httpx.get(extra["outputs"]["video_url"]).status_code == 200
    assert httpx.get(extra["outputs"]["last_frame_url"]).headers["content-type"] == "image/png"

    clip = tmp_path / "clip.mp4"
    client.videos.download_content(video.id).write_to_file(clip)
    info = probe_video(clip)
    assert (info.width, info.height, info.video_codec) == (864, 496, "h264")
    assert info.duration_s == pytest.approx(4.0, abs=0.05) and info.audio_codec is None
    thumbnail = client.videos.download_content(video.id, variant="thumbnail").content
    assert Image.open(io.BytesIO(thumbnail)).size == (864, 496)


def test_sdk_create_and_poll_and_usage_of_the_default_size(gateway: Any) -> None:
    """Without `return_last_frame` the frame is kept as thumbnail but its URL not shown."""
    client = sdk(gateway, gateway.new_key())
    video = client.videos.create_and_poll(prompt="Waves", seconds="4", extra_body=FAST,
                                          poll_interval_ms=100)
    assert video.status == "completed" and video.size == "864x496"
    assert (video.model_extra or {})["outputs"]["last_frame_url"] is None
    thumbnail = client.videos.download_content(video.id, variant="thumbnail")
    assert thumbnail.response.headers["content-type"] == "image/png"


def test_sdk_input_reference_upload_animates_the_image(gateway: Any, tmp_path: Path) -> None:
    client = sdk(gateway, gateway.new_key())
    red = png_bytes(640, 640, (230, 20, 20))
    video = client.videos.create_and_poll(
        prompt="", seconds="4", input_reference=("red.png", red, "image/png"),
        extra_body={**FAST, "return_last_frame": False}, poll_interval_ms=100,
    )
    assert video.status == "completed", video
    assert video.size == "640x640"  # the image's ratio (1:1) at 480p
    clip = tmp_path / "clip.mp4"
    client.videos.download_content(video.id).write_to_file(clip)
    r, g, b = first_frame(clip).reshape(-1, 3).mean(axis=0)
    assert r > 150 and g < 80 and b < 80


def test_sdk_list_pages_through_everything_and_delete_refunds_queued(make_gateway: Any) -> None:
    gateway = make_gateway(worker=False)  # everything stays queued
    key = gateway.new_key(credits=1000)
    with gateway.client(key) as http:
        ids = [create(http, {"prompt": f"clip {i}", **FAST, "seconds": 4})["id"]
               for i in range(5)]
    client = sdk(gateway, key)
    assert [v.id for v in client.videos.list(limit=2)] == ids[::-1]
    assert [v.id for v in client.videos.list(limit=2, order="asc")] == ids
    page = client.videos.list(limit=2)
    assert page.has_more and page.last_id == ids[3]

    deleted = client.videos.delete(ids[0])
    assert (deleted.id, deleted.object, deleted.deleted) == (ids[0], "video.deleted", True)
    assert gateway.balance(key) == 1000 - 4 * PRICE_480P_4S
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(ids[0])
    assert [v.id for v in client.videos.list()] == ids[:0:-1]


def test_sdk_extra_body_carries_every_seedance_option(make_gateway: Any) -> None:
    gateway = make_gateway(worker=False)
    client = sdk(gateway, gateway.new_key())
    frames = [{"type": "image", "url": f"https://cdn.example.com/{name}.png", "role": role}
              for name, role in (("a", "first_frame"), ("b", "last_frame"))]
    video = client.videos.create(prompt="a to b", extra_body={
        "inputs": frames, "duration": 6, "ratio": "1:1", "resolution": "480p",
        "generate_audio": True, "camera_fixed": True, "seed": 3, "watermark": True,
        "return_last_frame": True,
    })
    assert (video.size, video.seconds) == ("640x640", "6")
    task = gateway.gateway.db.read_sync(lambda conn: get_task(conn, video.id))
    request = task.request
    assert [(i.url, i.role.value) for i in request.inputs] == [
        (f["url"], f["role"]) for f in frames]
    assert (request.duration, request.ratio, request.resolution, request.seed) == (
        6, "1:1", "480p", 3)
    assert request.generate_audio and request.camera_fixed and request.watermark
    assert request.return_last_frame and not request.draft
    draft = client.videos.create(prompt="rough", seconds="4",
                                 extra_body={"draft": True, "generate_audio": "false"})
    assert draft.size == "864x496"  # drafts render at 480p


def test_delete_of_a_finished_video_removes_record_and_media(gateway: Any) -> None:
    key = gateway.new_key()
    client = sdk(gateway, key)
    video = client.videos.create_and_poll(prompt="gone soon", seconds="4", extra_body=FAST,
                                          poll_interval_ms=100)
    url = (video.model_extra or {})["outputs"]["video_url"]
    assert client.videos.retrieve(video.id).status == "completed"  # cached as finished
    assert client.videos.delete(video.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)
    assert httpx.get(url).status_code == 404
    with pytest.raises(openai.NotFoundError):
        client.videos.delete(video.id)


def test_json_create_queue_positions_and_cancel(make_gateway: Any) -> None:
    gateway = make_gateway(worker=False)
    key = gateway.new_key(credits=100)
    with gateway.client(key) as http:
        first = create(http, {"prompt": "one", **FAST, "seconds": "4"})
        second = create(http, {"prompt": "two", **FAST, "duration": 4})
        assert (first["queue_position"], second["queue_position"]) == (0, 1)
        polled = http.get(f"/v1/videos/{second['id']}")
        assert polled.json()["queue_position"] == 1
        assert polled.headers["openai-poll-after-ms"] == "1000"
        cancelled = http.post(f"/v1/videos/{first['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["error"]["code"] == "CANCELLED"
        assert gateway.balance(key) == 100 - PRICE_480P_4S
        assert http.get(f"/v1/videos/{second['id']}").json()["queue_position"] == 0
        again = error_of(http.post(f"/v1/videos/{first['id']}/cancel"), 409)
        assert "cancelled" in again["message"]
        assert "openai-poll-after-ms" not in http.get(f"/v1/videos/{first['id']}").headers
        error_of(http.get(f"/v1/videos/{second['id']}/content"), 409)
        error_of(http.get(f"/v1/videos/{first['id']}/content"), 404)
    assert sorted(debits(gateway, key)) == [-PRICE_480P_4S] * 2


def test_running_videos_cannot_be_cancelled_or_deleted(gateway: Any) -> None:
    key = gateway.new_key()
    with gateway.client(key) as http:
        video = create(http, {"prompt": f"slow {SLOW}", **FAST, "seconds": "4"})
        deadline = time.monotonic() + 20
        while http.get(f"/v1/videos/{video['id']}").json()["status"] != "in_progress":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        error = error_of(http.post(f"/v1/videos/{video['id']}/cancel"), 409)
        assert "running" in error["message"]
        assert "running" in error_of(http.delete(f"/v1/videos/{video['id']}"), 409)["message"]
        assert http.get(f"/v1/videos/{video['id']}").json()["status"] == "in_progress"


def test_failed_videos_show_the_error_and_are_refunded(gateway: Any) -> None:
    key = gateway.new_key(credits=100)
    client = sdk(gateway, key)
    video = client.videos.create_and_poll(prompt="@sim:content_violation", seconds="4",
                                          extra_body=FAST, poll_interval_ms=100)
    assert video.status == "failed" and video.error is not None
    assert video.error.code == "CONTENT_VIOLATION" and "safety" in video.error.message
    assert gateway.balance(key) == 100
    with pytest.raises(openai.NotFoundError):
        client.videos.download_content(video.id)


class TestIdempotency:
    BODY = {"prompt": "once", **FAST, "seconds": "4"}

    def test_a_retry_gets_the_same_response_and_one_debit(self, make_gateway: Any) -> None:
        gateway = make_gateway(worker=False)
        key = gateway.new_key(credits=1000)
        with gateway.client(key) as http:
            first = http.post("/v1/videos", json=self.BODY, headers={"idempotency-key": "k1"})
            again = http.post("/v1/videos", json=self.BODY, headers={"idempotency-key": "k1"})
            other = http.post("/v1/videos", json=self.BODY, headers={"idempotency-key": "k2"})
        assert first.status_code == again.status_code == 200
        assert first.content == again.content
        assert other.json()["id"] != first.json()["id"]
        assert debits(gateway, key) == [-PRICE_480P_4S] * 2

    def test_multipart_retries_match_despite_new_boundaries(self, make_gateway: Any) -> None:
        gateway = make_gateway(worker=False)
        key = gateway.new_key(credits=1000)
        image = ("ref.png", png_bytes(64, 64), "image/png")
        with gateway.client(key) as http:
            ids = {http.post("/v1/videos", data={"prompt": "p", "seconds": "4", **FAST},
                             files={"input_reference": image},
                             headers={"idempotency-key": "form"}).json()["id"]
                   for _ in range(2)}
        assert len(ids) == 1 and len(debits(gateway, key)) == 1

    def test_the_same_key_with_other_parameters_is_refused(self, make_gateway: Any) -> None:
        gateway = make_gateway(worker=False)
        key = gateway.new_key(credits=1000)
        with gateway.client(key) as http:
            bad = http.post("/v1/videos", json={**self.BODY, "seconds": "99"},
                            headers={"idempotency-key": "k"})
            assert error_of(bad, 400)["param"] == "duration"  # validation: nothing stored
            create(http, self.BODY, **{"idempotency-key": "k"})
            error = error_of(http.post("/v1/videos", json={**self.BODY, "prompt": "other"},
                                       headers={"idempotency-key": "k"}), 400)
        assert error["type"] == "idempotency_error"
        assert len(debits(gateway, key)) == 1

    def test_keys_are_per_api_key(self, make_gateway: Any) -> None:
        gateway = make_gateway(worker=False)
        one, two = gateway.new_key(), gateway.new_key()
        with gateway.client(one) as a, gateway.client(two) as b:
            assert create(a, self.BODY, **{"idempotency-key": "shared"})["id"] != create(
                b, self.BODY, **{"idempotency-key": "shared"})["id"]

    def test_parallel_duplicates_debit_once(self, make_gateway: Any) -> None:
        gateway = make_gateway(worker=False)
        key = gateway.new_key(credits=1000)
        results: list[httpx.Response] = []
        lock = threading.Lock()

        def one() -> None:
            with gateway.client(key) as http:
                response = http.post("/v1/videos", json=self.BODY,
                                     headers={"idempotency-key": "race"})
            with lock:
                results.append(response)

        threads = [threading.Thread(target=one) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ok = [r for r in results if r.status_code == 200]
        conflicts = [r for r in results if r.status_code == 409]
        assert len(ok) + len(conflicts) == 12 and ok
        assert len({r.json()["id"] for r in ok}) == 1
        assert all(error_of(r, 409)["type"] == "idempotency_error" for r in conflicts)
        assert debits(gateway, key) == [-PRICE_480P_4S]


class TestErrors:
    def test_401_without_or_with_a_wrong_key(self, gateway: Any) -> None:
        for headers in ({}, {"authorization": "Bearer sg_wrong_wrong_wrong_wrong"}):
            response = httpx.get(f"{gateway.url}/v1/videos", headers=headers)
            assert error_of(response, 401)["type"] == "authentication_error"
        with pytest.raises(openai.AuthenticationError):
            sdk(gateway, "sg_nope_nope_nope_nope_nope").videos.list()

    def test_402_when_the_balance_is_short(self, gateway: Any) -> None:
        key = gateway.new_key(credits=10)
        with gateway.client(key) as http:
            error = error_of(http.post("/v1/videos", json={"prompt": "a", **FAST}), 402)
        assert error["type"] == "insufficient_quota" and "31" in error["message"]
        assert gateway.balance(key) == 10

    def test_404_for_unknown_and_other_keys_videos(self, make_gateway: Any) -> None:
        gateway = make_gateway(worker=False)
        owner, other = gateway.new_key(), gateway.new_key()
        with gateway.client(owner) as http:
            video_id = create(http, {"prompt": "mine", **FAST})["id"]
            assert error_of(http.get("/v1/videos/task_nope"), 404)["type"] == "not_found_error"
        with gateway.client(other) as http:
            for response in (http.get(f"/v1/videos/{video_id}"),
                             http.delete(f"/v1/videos/{video_id}"),
                             http.post(f"/v1/videos/{video_id}/cancel"),
                             http.get(f"/v1/videos/{video_id}/content")):
                assert error_of(response, 404)["param"] == "video_id"
            assert http.get("/v1/videos").json()["data"] == []

    def test_429_with_retry_after(self, gateway: Any) -> None:
        key = gateway.new_key(rate_limit=6)
        with gateway.client(key) as http:
            http.get("/v1/videos")
            response = http.get("/v1/videos")
        assert error_of(response, 429)["type"] == "rate_limit_error"
        assert int(response.headers["retry-after"]) >= 1

    @pytest.mark.parametrize(
        ("body", "param"),
        [
            ({"seconds": "4"}, "prompt"),
            ({"prompt": 5}, "prompt"),
            ({"prompt": "a", "model": "sora-2"}, "model"),
            ({"prompt": "a", "model": 3}, "model"),
            ({"prompt": "a", "seconds": "four"}, "seconds"),
            ({"prompt": "a", "seconds": "4", "duration": 8}, "seconds"),
            ({"prompt": "a", "seconds": "3"}, "duration"),
            ({"prompt": "a", "size": "1000x1000"}, "size"),
            ({"prompt": "a", "size": "big"}, "size"),
            ({"prompt": "a", "size": "864x496", "ratio": "1:1"}, "size"),
            ({"prompt": "a", "ratio": "5:4"}, "ratio"),
            ({"prompt": "a", "resolution": "4k"}, "resolution"),
            ({"prompt": "a", "generate_audio": "maybe"}, "generate_audio"),
            ({"prompt": "a", "camera_fixed": 2}, "camera_fixed"),
            ({"prompt": "a", "seed": "x"}, "seed"),
            ({"prompt": "a", "seed": -5}, "seed"),
            ({"prompt": "a", "draft": True, "resolution": "720p"}, "resolution"),
            ({"prompt": "a", "model": "seedance-1-0-pro", "draft": True}, "draft"),
            ({"prompt": "a", "inputs": "[1"}, "inputs"),
            ({"prompt": "a", "inputs": [{"type": "gif", "url": "http://x/a"}]},
             "inputs[0].type"),
            ({"prompt": "a", "inputs": [{"url": "http://x/a", "role": "hero"}]},
             "inputs[0].role"),
            ({"prompt": "a", "inputs": [{"url": "ftp://x/a"}]}, "inputs[0].url"),
            ({"prompt": "a", "input_reference": "http://x/a.png"}, "input_reference"),
            ({"prompt": "a", "n": 2}, "n"),
        ],
    )
    def test_400_names_the_parameter(self, gateway: Any, body: dict[str, Any],
                                     param: str) -> None:
        key = gateway.new_key(credits=1000)
        with gateway.client(key) as http:
            error = error_of(http.post("/v1/videos", json=body), 400)
        assert error["param"] == param and error["type"] == "invalid_request_error"
        assert gateway.balance(key) == 1000

    def test_400_for_bad_forms_queries_and_headers(self, gateway: Any) -> None:
        with gateway.client(gateway.new_key()) as http:
            not_image = http.post("/v1/videos", data={"prompt": "a"},
                                  files={"input_reference": ("a.png", b"nope", "image/png")})
            assert error_of(not_image, 400)["param"] == "input_reference"
            extra_file = http.post("/v1/videos", data={"prompt": "a"},
                                   files={"video": ("a.mp4", b"x", "video/mp4")})
            assert error_of(extra_file, 400)["param"] == "video"
            assert error_of(http.post("/v1/videos", content=b"{no"), 400)["code"] == (
                "invalid_json")
            long_key = http.post("/v1/videos", json={"prompt": "a"},
                                 headers={"idempotency-key": "k" * 256})
            assert error_of(long_key, 400)["param"] == "Idempotency-Key"
            for query, param in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                                 ({"order": "up"}, "order"), ({"status": "done"}, "status"),
                                 ({"model": "sora-2"}, "model"),
                                 ({"after": "task_nope"}, "after")):
                assert error_of(http.get("/v1/videos", params=query), 400)["param"] == param
            content = http.get("/v1/videos/task_x/content", params={"variant": "spritesheet"})
            assert error_of(content, 400)["param"] == "variant"


def test_list_filters_and_order(make_gateway: Any) -> None:
    gateway = make_gateway(worker=False)
    key = gateway.new_key(credits=10_000)
    with gateway.client(key) as http:
        fast = [create(http, {"prompt": f"f{i}", "model": "seedance-1-0-pro-fast",
                              "resolution": "480p", "seconds": "2"})["id"] for i in range(2)]
        pro = [create(http, {"prompt": f"p{i}", **FAST})["id"] for i in range(3)]
        http.post(f"/v1/videos/{pro[1]}/cancel")

        def ids(**query: Any) -> list[str]:
            response = http.get("/v1/videos", params=query)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["object"] == "list"
            listed = [video["id"] for video in body["data"]]
            assert (body["first_id"], body["last_id"]) == (
                (listed[0], listed[-1]) if listed else (None, None))
            return listed

        assert ids() == (fast + pro)[::-1]
        assert ids(order="asc", model="seedance-1-0-pro-fast") == fast
        assert ids(status="cancelled") == [pro[1]]
        assert ids(status="queued", model="seedance-1.5-pro", order="asc") == [pro[0], pro[2]]
        assert ids(status="queued,cancelled", limit=2) == [pro[2], pro[1]]
        assert ids(after=pro[1], order="asc") == [pro[2]]
        assert ids(status="completed") == []
        queued = http.get("/v1/videos", params={"status": "queued"}).json()["data"]
        assert [video["queue_position"] for video in queued] == [3, 2, 1, 0]
