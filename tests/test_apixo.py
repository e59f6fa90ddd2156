"""The apixo dialect: its documented examples (golden file) and end to end over HTTP."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from seedgate.dialects import apixo
from seedgate.domain.errors import GatewayError
from seedgate.domain.request import GenerationRequest, MediaKind, Role
from seedgate.domain.task import Task, TaskStatus
from seedgate.media.probe import probe_video
from seedgate.store.tasks import get_task

from .helpers import MediaServer, png_bytes, wait_for_status

GOLDEN = json.loads((Path(__file__).parent / "golden" / "apixo.json").read_text())
SPEC_EXAMPLE: dict[str, Any] = GOLDEN["submit"]["request"]
V15 = "seedance-1-5-pro"
STILL = " @sim:delay=30"  # keeps a task unfinished for the whole test


def body_for(model: str = V15, **input_fields: Any) -> dict[str, Any]:
    """A valid, cheap (480p, 4 s, silent) request with `input_fields` changed."""
    base: dict[str, Any] = {"mode": "text-to-video", "prompt": "a quiet harbour at dawn",
                            "resolution": "480p", "duration": 4}
    if model == V15:
        base["sound"] = False
    return {"input": {**base, **input_fields}}


def submit(client: httpx.Client, body: Any, model: str = V15) -> str:
    response = client.post(f"/api/v1/generateTask/{model}", json=body)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["code"] == 200 and envelope["message"] == "success"
    assert set(envelope["data"]) == {"taskId"}
    return str(envelope["data"]["taskId"])


def status(client: httpx.Client, task_id: str, model: str = V15) -> httpx.Response:
    return client.get(f"/api/v1/statusTask/{model}", params={"taskId": task_id})


def poll(client: httpx.Client, task_id: str, model: str = V15,
         timeout: float = 60.0) -> dict[str, Any]:
    """Poll statusTask until the task is success or failed."""
    deadline = time.monotonic() + timeout
    while True:
        response = status(client, task_id, model)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        if data["state"] in ("success", "failed"):
            return data
        assert data["state"] in ("pending", "processing"), data
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} stuck in {data['state']}")
        time.sleep(0.1)


def check_error(response: httpx.Response, status_code: int, *words: str) -> str:
    """Asserts the apixo error envelope and returns `data.error`."""
    assert response.status_code == status_code, response.text
    body = response.json()
    assert body["code"] == status_code
    assert isinstance(body["message"], str) and body["message"]
    assert set(body["data"]) == {"error"}
    error: str = body["data"]["error"]
    for word in words:
        assert word in error, error
    return error


def stored_task(gateway: Any, task_id: str) -> Task:
    return gateway.gateway.db.read_sync(lambda conn: get_task(conn, task_id))  # type: ignore[no-any-return]


# -- golden file: the documented examples through the codec --------------------------------


def golden_task(status: TaskStatus, **fields: Any) -> Task:
    values: dict[str, Any] = {
        "id": "task_12345678", "key_id": 1, "dialect": apixo.NAME,
        "request": GenerationRequest(model=V15, prompt="p"), "client_request": {},
        "status": status, "price": 10, "refunded": 0, "created_at": 1704067200000,
        "updated_at": 1704067200000, "deadline_at": 1704067200000 + 172_800_000, **fields,
    }
    return Task(**values)


def test_golden_submit_decodes_to_the_documented_parameters() -> None:
    assert GOLDEN["submit"]["path"] == f"/api/v1/generateTask/{V15}"
    request, sanitized = apixo.decode_create(apixo.decode_model(V15), SPEC_EXAMPLE)
    assert request == GenerationRequest(
        model=V15, prompt="a calm seaside sunrise with gentle camera dolly movement",
        duration=8, ratio="16:9", resolution="720p", generate_audio=True, camera_fixed=False,
    )
    assert sanitized == SPEC_EXAMPLE  # every documented field is kept, nothing added
    created = apixo.encode_created(golden_task(TaskStatus.QUEUED))
    assert created == GOLDEN["submit"]["response"]


def test_golden_status_of_a_success() -> None:
    example = GOLDEN["status_success"]
    task = golden_task(TaskStatus.SUCCEEDED, id="task_abc123xyz789",
                       completed_at=1704067212500)
    urls = json.loads(example["response"]["data"]["resultJson"])["resultUrls"]
    assert apixo.encode_task(task, urls) == example["response"]


def test_golden_status_of_a_failure() -> None:
    fragment = GOLDEN["status_failed"]["data_fragment"]
    task = golden_task(TaskStatus.FAILED, completed_at=1704067203000,
                       error_code=fragment["failCode"], error_message=fragment["failMsg"])
    data = apixo.encode_task(task, [])["data"]
    assert data == {**fragment, "taskId": task.id, "createTime": 1704067200000,
                    "costTime": 3000, "completeTime": 1704067203000}


def test_golden_error_for_a_missing_prompt() -> None:
    body = copy.deepcopy(SPEC_EXAMPLE)
    del body["input"]["prompt"]
    with pytest.raises(GatewayError) as caught:
        apixo.decode_create(V15, body)
    status_code, reply = apixo.encode_error(caught.value)
    assert status_code == GOLDEN["error"]["status"]
    assert reply == GOLDEN["error"]["response"]


def test_golden_error_over_http(gateway: Any) -> None:
    key = gateway.new_key(credits=1000)
    body = copy.deepcopy(SPEC_EXAMPLE)
    body["input"]["prompt"] = None  # JSON null is the same as absent
    with gateway.client(key) as client:
        response = client.post(GOLDEN["submit"]["path"], json=body)
    assert response.status_code == 400
    assert response.json() == GOLDEN["error"]["response"]
    assert gateway.balance(key) == 1000


# -- end to end -----------------------------------------------------------------------------


def test_spec_example_renders_a_720p_video_with_sound(gateway: Any, tmp_path: Path) -> None:
    key = gateway.new_key(credits=1000)
    with gateway.client(key) as client:
        response = client.post(GOLDEN["submit"]["path"], json=SPEC_EXAMPLE)
        assert response.status_code == 200, response.text
        assert response.json().keys() == GOLDEN["submit"]["response"].keys()
        task_id = response.json()["data"]["taskId"]
        assert gateway.balance(key) == 1000 - 13 * 8 * 2  # 720p, 8 s, twice with sound
        data = poll(client, task_id)
        again = status(client, task_id).json()["data"]
    assert data["state"] == "success", data
    assert again == data
    assert set(data) == set(GOLDEN["status_success"]["response"]["data"])
    assert data["taskId"] == task_id
    assert isinstance(data["resultJson"], str)
    [url] = json.loads(data["resultJson"])["resultUrls"]
    assert data["costTime"] == data["completeTime"] - data["createTime"] >= 0
    assert abs(data["createTime"] - time.time() * 1000) < 120_000  # Unix milliseconds
    video = httpx.get(url)  # no API key: the signed URL is the credential
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    (tmp_path / "clip.mp4").write_bytes(video.content)
    info = probe_video(tmp_path / "clip.mp4")
    assert (info.width, info.height) == (1280, 720)
    assert info.duration_s == pytest.approx(8.0, abs=0.05)
    assert info.audio_codec == "aac"
    stored = stored_task(gateway, task_id)
    assert stored.dialect == "apixo"
    assert stored.client_request == SPEC_EXAMPLE


def test_image_to_video_follows_the_image_and_uses_a_last_frame(
    gateway: Any, media_server: MediaServer, tmp_path: Path
) -> None:
    first = media_server.add("/first.png", png_bytes(1280, 720, (250, 0, 0)))
    last = media_server.add("/last.png", png_bytes(1280, 720, (0, 0, 250)))
    key = gateway.new_key()
    with gateway.client(key) as client:
        task_id = submit(client, body_for(mode="image-to-video", image_urls=[first, last]))
        data = poll(client, task_id)
    assert data["state"] == "success", data
    [url] = json.loads(data["resultJson"])["resultUrls"]
    (tmp_path / "clip.mp4").write_bytes(httpx.get(url).content)
    info = probe_video(tmp_path / "clip.mp4")
    assert (info.width, info.height) == (864, 496)  # 16:9 image at 480p (adaptive)
    assert info.duration_s == pytest.approx(4.0, abs=0.05)
    request = stored_task(gateway, task_id).request
    assert [(i.url, i.role) for i in request.inputs] == [(first, Role.FIRST_FRAME),
                                                         (last, Role.LAST_FRAME)]


def test_an_unfinished_task_is_pending_or_processing_without_results(gateway: Any) -> None:
    key = gateway.new_key()
    with gateway.client(key) as client:
        task_id = submit(client, body_for(prompt="slow" + STILL))
        data = status(client, task_id).json()["data"]
    assert data["state"] in ("pending", "processing")
    assert set(data) == {"taskId", "state", "createTime"}


def test_a_failed_task_shows_its_fail_code_and_is_refunded(gateway: Any) -> None:
    key = gateway.new_key(credits=500)
    with gateway.client(key) as client:
        task_id = submit(client, body_for(prompt="fail please @sim:content_violation",
                                          sound=True, duration=8))
        assert gateway.balance(key) == 500 - 98  # 8 s at 864x496, $1.2/M tokens, audio x2
        data = poll(client, task_id)
    assert data["state"] == "failed"
    assert data["failCode"] == "CONTENT_VIOLATION"
    assert "content safety" in data["failMsg"]
    assert "resultJson" not in data
    assert data["costTime"] == data["completeTime"] - data["createTime"]
    assert gateway.balance(key) == 500


def test_seedance_2_omni_reference_keeps_every_reference_and_the_envelope(gateway: Any) -> None:
    key = gateway.new_key(credits=1000)
    body = {
        "request_type": "callback", "callback_url": "https://example.com/hook",
        "provider": "official",
        "input": {"mode": "omni_reference", "prompt": "dance like the reference" + STILL,
                  "resolution": "480p", "duration": 5, "aspect_ratio": "auto",
                  "sound": True, "web_search": False,
                  "image_urls": ["https://cdn.example.com/a.png"],
                  "video_urls": ["https://cdn.example.com/v.mp4"],
                  "audio_urls": ["https://cdn.example.com/a.mp3", "https://cdn.example.com/b.mp3"]},
    }
    with gateway.client(key) as client:
        task_id = submit(client, body, "seedance-2-0-fast")
    # debited as 15 s of reference video (the most 2.0 takes) + 5 s at 864x496, $3.3/M tokens
    assert gateway.balance(key) == 1000 - 333
    task = stored_task(gateway, task_id)
    assert task.client_request == body
    assert task.request.model == "seedance-2-0-fast"
    assert [(i.kind, i.role) for i in task.request.inputs] == [
        (MediaKind.IMAGE, Role.REFERENCE_IMAGE), (MediaKind.VIDEO, Role.REFERENCE_VIDEO),
        (MediaKind.AUDIO, Role.REFERENCE_AUDIO), (MediaKind.AUDIO, Role.REFERENCE_AUDIO)]
    assert task.request.ratio == "16:9"  # `auto` has no adaptive ratio with references


def test_seedance_2_defaults(gateway: Any) -> None:
    key = gateway.new_key(credits=10_000)
    with gateway.client(key) as client:
        task_id = submit(client, {"input": {"prompt": "defaults" + STILL}}, "seedance-2-0")
    task = stored_task(gateway, task_id)
    assert (task.request.duration, task.request.ratio, task.request.inputs) == (5, "16:9", ())
    assert task.client_request == {"request_type": "async", "provider": "auto",
                                   "input": {"mode": "text-to-video",
                                             "prompt": "defaults" + STILL}}


@pytest.mark.parametrize(
    ("model", "fields", "words"),
    [
        (V15, {"prompt": "ab"}, ["input.prompt", "3 to 2500"]),
        (V15, {"prompt": "x" * 2501}, ["input.prompt", "2501"]),
        (V15, {"prompt": 42}, ["input.prompt", "string"]),
        (V15, {"sound": None}, ["Missing required field: input.sound"]),
        (V15, {"sound": "yes"}, ["input.sound"]),
        (V15, {"fixed_lens": 1}, ["input.fixed_lens"]),
        (V15, {"duration": 13}, ["input.duration", "4 to 12"]),
        (V15, {"duration": 3}, ["input.duration"]),
        (V15, {"duration": "8"}, ["input.duration"]),
        (V15, {"duration": True}, ["input.duration"]),
        (V15, {"resolution": "1080p"}, ["input.resolution", "480p, 720p"]),
        (V15, {"aspect_ratio": "auto"}, ["input.aspect_ratio"]),
        (V15, {"mode": "omni_reference"}, ["input.mode", "image-to-video"]),
        (V15, {"mode": "image-to-video"}, ["Missing required field: input.image_urls"]),
        (V15, {"image_urls": ["https://a/1.png"]}, ["input.image_urls", "not allowed"]),
        (V15, {"mode": "image-to-video", "image_urls": ["https://a/1", "https://a/2",
                                                       "https://a/3"]},
         ["input.image_urls", "at most 2"]),
        (V15, {"mode": "image-to-video", "image_urls": ["ftp://a/1.png"]},
         ["input.image_urls", "http"]),
        (V15, {"mode": "image-to-video", "image_urls": "https://a/1.png"},
         ["input.image_urls", "array"]),
        ("seedance-2-0", {"mode": "omni_reference", "audio_urls": ["https://a/1.mp3"]},
         ["input.audio_urls", "at least one image"]),
        ("seedance-2-0", {"mode": "omni_reference",
                          "video_urls": [f"https://a/{i}.mp4" for i in range(4)]},
         ["input.video_urls", "at most 3"]),
        ("seedance-2-0", {"mode": "omni_reference", "image_urls": ["https://a/1.png"],
                          "audio_urls": [f"https://a/{i}.mp3" for i in range(4)]},
         ["input.audio_urls", "at most 3"]),
        ("seedance-2-0", {"mode": "omni_reference",
                          "image_urls": [f"https://a/{i}.png" for i in range(10)]},
         ["input.image_urls", "at most 9"]),
        ("seedance-2-0", {"mode": "omni_reference"}, ["input.image_urls", "omni_reference"]),
        ("seedance-2-0", {"video_urls": ["https://a/1.mp4"]},
         ["input.video_urls", "only allowed"]),
        ("seedance-2-0", {"mode": "first_and_last_frames"},
         ["Missing required field: input.image_urls"]),
        ("seedance-2-0", {"mode": "first_and_last_frames",
                          "image_urls": ["https://a/1", "https://a/2", "https://a/3"]},
         ["input.image_urls", "at most 2"]),
        ("seedance-2-0", {"duration": 16}, ["input.duration", "4 to 15"]),
        ("seedance-2-0", {"web_search": "yes"}, ["input.web_search"]),
        ("seedance-2-0-fast", {"resolution": "1080p"}, ["input.resolution", "480p, 720p"]),
        ("seedance-2-0-fast", {"aspect_ratio": "2:1"}, ["input.aspect_ratio", "auto"]),
    ],
)
def test_400_names_the_input_field(model: str, fields: dict[str, Any],
                                   words: list[str]) -> None:
    error = refusal(model, body_for(model, **fields))
    assert all(word in error for word in words), error


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({**body_for(), "request_type": "callback"}, ["Missing required field: callback_url"]),
        ({**body_for(), "request_type": "callback", "callback_url": "ftp://x/y"},
         ["callback_url", "http"]),
        ({**body_for(), "request_type": "sync"}, ["request_type", "async, callback"]),
        ({**body_for(), "provider": "cheapest"}, ["provider", "auto, value, official"]),
        ({"request_type": "async"}, ["Missing required field: input"]),
        ({"input": "text-to-video"}, ["`input`", "object"]),
        ([SPEC_EXAMPLE], ["JSON object"]),
    ],
)
def test_400_for_a_bad_envelope(body: Any, words: list[str]) -> None:
    error = refusal(V15, body)
    assert all(word in error for word in words), error


def refusal(model: str, body: Any) -> str:
    """The codec's 400 reply to `body`, checked for apixo's envelope; returns `data.error`."""
    with pytest.raises(GatewayError) as caught:
        apixo.decode_create(model, body)
    status_code, reply = apixo.encode_error(caught.value)
    assert status_code == 400 == reply["code"]
    assert reply["message"] == "Invalid request"
    return str(reply["data"]["error"])


def test_refused_creates_answer_400_over_http_and_cost_nothing(gateway: Any) -> None:
    key = gateway.new_key(credits=10_000)
    omni = {"mode": "omni_reference"}
    refused = [
        ("seedance-2-0", body_for("seedance-2-0", **omni, audio_urls=["https://a/1.mp3"]),
         "input.audio_urls"),
        ("seedance-2-0", body_for("seedance-2-0", **omni,
                                  video_urls=[f"https://a/{i}.mp4" for i in range(4)]),
         "input.video_urls"),
        ("seedance-2-0", body_for("seedance-2-0", prompt="x" * 5001), "`input.prompt`"),
        (V15, {**body_for(), "request_type": "callback"}, "callback_url"),
        (V15, body_for(duration=15), "input.duration"),
    ]
    with gateway.client(key) as client:
        for model, body, word in refused:
            response = client.post(f"/api/v1/generateTask/{model}", json=body)
            assert response.json()["message"] == "Invalid request"
            check_error(response, 400, word)
    assert gateway.balance(key) == 10_000


class TestErrorStatuses:
    """Every documented HTTP error, in the `{code, message, data: {error}}` envelope."""

    def test_400_for_bodies_that_are_not_json_and_a_missing_task_id(self, gateway: Any) -> None:
        with gateway.client(gateway.new_key()) as client:
            path = f"/api/v1/generateTask/{V15}"
            check_error(client.post(path, content=b"{nope"), 400, "not valid JSON")
            check_error(client.post(path, content=b""), 400, "empty")
            check_error(client.get(f"/api/v1/statusTask/{V15}"), 400,
                        "Missing required field: taskId")

    def test_401_without_or_with_a_wrong_key(self, gateway: Any) -> None:
        with gateway.client() as client:
            response = client.post(GOLDEN["submit"]["path"], json=SPEC_EXAMPLE)
            check_error(response, 401, "API key")
            assert response.json()["message"] == "Unauthorized"
            check_error(status(client, "task_x"), 401)
        with gateway.client("sg_wrongwrongwrongwrongwrongwrong") as client:
            check_error(client.post(GOLDEN["submit"]["path"], json=SPEC_EXAMPLE), 401)

    def test_402_when_the_balance_cannot_cover_the_task(self, gateway: Any) -> None:
        key = gateway.new_key(credits=100)
        with gateway.client(key) as client:
            response = client.post(GOLDEN["submit"]["path"], json=SPEC_EXAMPLE)
        check_error(response, 402, "208", "100")
        assert response.json()["message"] == "Insufficient balance"
        assert gateway.balance(key) == 100

    def test_404_for_an_unknown_model_on_both_paths(self, gateway: Any) -> None:
        key = gateway.new_key(credits=1000)
        with gateway.client(key) as client:
            check_error(client.post("/api/v1/generateTask/seedance-9", json=SPEC_EXAMPLE),
                        404, "seedance-9", "seedance-1-5-pro")
            check_error(status(client, "task_x", "veo-3"), 404, "veo-3")
        assert gateway.balance(key) == 1000

    def test_404_for_unknown_tasks_and_other_keys_tasks(self, gateway: Any) -> None:
        owner, other = gateway.new_key(), gateway.new_key()
        with gateway.client(owner) as client:
            task_id = submit(client, body_for(prompt="mine" + STILL))
            check_error(status(client, "task_nope"), 404, "task_nope")
        with gateway.client(other) as client:
            check_error(status(client, task_id), 404, task_id)

    def test_429_with_retry_after(self, gateway: Any) -> None:
        key = gateway.new_key(rate_limit=6)  # a burst of one request, then one each 10 s
        with gateway.client(key) as client:
            status(client, "task_x")
            response = status(client, "task_x")
        check_error(response, 429, "Rate limit")
        assert int(response.headers["retry-after"]) >= 1

    def test_500_hides_the_cause(self, gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        async def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("database on fire")

        monkeypatch.setattr(gateway.gateway.tasks, "get", broken)
        with gateway.client(gateway.new_key()) as client:
            error = check_error(status(client, "task_x"), 500, "retry")
        assert "fire" not in error


def test_tasks_are_readable_across_dialects(gateway: Any) -> None:
    """Ids are global: the path's model need not be the task's model."""
    key = gateway.new_key()
    with gateway.client(key) as client:
        created = client.post("/api/generate", json={
            "prompt": "from seedance" + STILL, "aspect_ratio": "1:1", "duration": "5"})
        assert created.status_code == 200, created.text
        seedance_id = created.json()["data"]["task_id"]
        data = status(client, seedance_id, "seedance-2-0").json()["data"]
        assert data["taskId"] == seedance_id and data["state"] in ("pending", "processing")

        apixo_id = submit(client, body_for(prompt="from apixo" + STILL))
        seen = client.get("/api/status", params={"task_id": apixo_id}).json()["data"]
        assert seen["task_id"] == apixo_id and seen["status"] == "IN_PROGRESS"


def test_a_finished_seedance_task_reads_as_success_here(gateway: Any) -> None:
    key = gateway.new_key()
    with gateway.client(key) as client:
        created = client.post("/api/generate", json={"prompt": "short", "aspect_ratio": "1:1",
                                                     "duration": "5"})
        task_id = created.json()["data"]["task_id"]
        [url] = wait_for_status(client, task_id, {"SUCCESS"})["response"]
        data = poll(client, task_id)
    assert data["state"] == "success"
    assert json.loads(data["resultJson"]) == {"resultUrls": [url]}
