"""The defapi dialect: its codec against the seed's examples, and end to end over HTTP."""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from seedgate.dialects import defapi as codec
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.request import GenerationRequest, Role, normalize
from seedgate.domain.task import Outputs, Rendition, Task, TaskStatus
from seedgate.media.probe import probe_video
from seedgate.store.tasks import get_task

from .helpers import MediaServer, png_bytes, wait_for_status

GOLDEN = json.loads((Path(__file__).parent / "golden" / "defapi.json").read_text())
TEXT_EXAMPLE: dict[str, Any] = GOLDEN["create"]["text_to_video"]["request"]
IMAGE_EXAMPLE: dict[str, Any] = GOLDEN["create"]["image_to_video"]["request"]
GEN = "/api/video/seedance/gen"
QUERY = "/api/task/query"
CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CONSUMED = re.compile(r"^\d+\.\d{6}$")


def golden_ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)


def make_task(task_id: str, status: TaskStatus, *, created_at: int = 0, price: int = 415,
              refunded: int = 0, error_message: str | None = None) -> Task:
    request, client_request = codec.decode_create(TEXT_EXAMPLE)
    outputs = None
    if status is TaskStatus.SUCCEEDED:
        outputs = Outputs("video.mp4", Rendition(1280, 720, 5, "16:9", 1, True))
    return Task(
        id=task_id, key_id=1, dialect=codec.NAME, request=normalize(request),
        client_request=client_request, status=status, price=price, refunded=refunded,
        created_at=created_at, updated_at=created_at, deadline_at=created_at + 1,
        error_message=error_message, outputs=outputs,
    )


class TestGolden:
    """The seed's documented examples, through the pure codec."""

    def test_text_to_video_example_decodes_with_the_documented_defaults(self) -> None:
        request, sanitized = codec.decode_create(copy.deepcopy(TEXT_EXAMPLE))
        assert request == GenerationRequest(
            model="seedance-2.0", prompt=TEXT_EXAMPLE["content"][0]["text"], duration=5,
            ratio="16:9",
        )
        assert sanitized == {**TEXT_EXAMPLE, "duration": 5, "ratio": "16:9"}
        normalized = normalize(request)
        assert (normalized.model, normalized.resolution) == ("seedance-2-0", "720p")

    def test_image_example_makes_reference_images_and_keeps_the_references(self) -> None:
        request, sanitized = codec.decode_create(copy.deepcopy(IMAGE_EXAMPLE))
        text, *images = IMAGE_EXAMPLE["content"]
        assert request.prompt == text["text"] and "@image2" in request.prompt
        assert [(i.url, i.role) for i in request.inputs] == [
            (item["image_url"]["url"], Role.REFERENCE_IMAGE) for item in images
        ]
        assert (request.duration, request.ratio) == (5, "16:9")
        assert sanitized == {**IMAGE_EXAMPLE, "ratio": "16:9"}

    def test_create_response_matches(self) -> None:
        expected = GOLDEN["create"]["response"]
        task = make_task(expected["data"]["task_id"], TaskStatus.QUEUED)
        assert codec.encode_created(task) == expected

    def test_query_response_matches(self) -> None:
        expected = GOLDEN["query"]["response"]
        data = expected["data"]
        task = make_task(data["task_id"], TaskStatus.SUCCEEDED,
                         created_at=golden_ms(data["created_at"]), price=415)
        body = codec.encode_task(task, [data["result"]["video"], "https://x/last.png"])
        # Credits are integers here; the seed's "0.500000" only shows the format.
        assert CONSUMED.match(data["consumed"]) and body["data"]["consumed"] == "415.000000"
        assert body == {**expected, "data": {**data, "consumed": "415.000000"}}

    @pytest.mark.parametrize("row", GOLDEN["errors"], ids=lambda row: str(row["http_status"]))
    def test_error_table(self, row: dict[str, Any]) -> None:
        kind = {400: ErrorKind.INVALID_PARAMETER, 401: ErrorKind.UNAUTHORIZED,
                404: ErrorKind.NOT_FOUND, 500: ErrorKind.INTERNAL}[row["http_status"]]
        status, body = codec.encode_error(GatewayError(kind, "what went wrong"))
        assert (status, body) == (row["http_status"],
                                  {"code": row["code"], "message": "what went wrong",
                                   "data": None})


class TestCodec:
    def test_null_means_absent(self) -> None:
        body = {**TEXT_EXAMPLE, "model": None, "duration": None, "ratio": None,
                "callback_url": None}
        assert codec.decode_create(body) == codec.decode_create(TEXT_EXAMPLE)

    @pytest.mark.parametrize(
        ("status", "wire"),
        [(TaskStatus.QUEUED, "pending"), (TaskStatus.RUNNING, "processing"),
         (TaskStatus.SUCCEEDED, "success"), (TaskStatus.FAILED, "failed"),
         (TaskStatus.CANCELLED, "failed"), (TaskStatus.EXPIRED, "failed")],
    )
    def test_statuses(self, status: TaskStatus, wire: str) -> None:
        data = codec.encode_task(make_task("t", status, created_at=1_754_216_540_007), [])
        assert data["data"]["status"] == wire
        assert data["data"]["created_at"] == "2025-08-03T10:22:20.007Z"
        assert data["data"]["result"] is None

    def test_a_refunded_task_consumed_nothing(self) -> None:
        task = make_task("t", TaskStatus.FAILED, refunded=415, error_message="rejected")
        data = codec.encode_task(task, [])["data"]
        assert data["consumed"] == "0.000000"
        assert data["status_reason"] == {"message": "rejected"}

    def test_models_without_reference_images_get_first_and_last_frames(self) -> None:
        body = {**IMAGE_EXAMPLE, "model": "seedance-1-5-pro"}
        request, _ = codec.decode_create(body)
        assert [i.role for i in request.inputs] == [Role.FIRST_FRAME, Role.LAST_FRAME]

    def test_canonical_parameter_names_become_defapi_names(self) -> None:
        error = GatewayError(ErrorKind.INVALID_PARAMETER, "`inputs` is wrong.", param="inputs")
        assert codec.encode_error(error)[1]["message"] == "`content` is wrong."
        too_long = normalize_error({**TEXT_EXAMPLE,
                                    "content": [{"type": "text", "text": "x" * 5001}]})
        assert codec.encode_error(too_long)[1]["message"].startswith("`content`")


def normalize_error(body: dict[str, Any]) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        normalize(codec.decode_create(body)[0])
    return caught.value


# -- over HTTP -----------------------------------------------------------------------------


def create(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post(GEN, json=body)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["code"] == 0 and envelope["message"] == "ok"
    assert list(envelope["data"]) == ["task_id"]
    return str(envelope["data"]["task_id"])


def query(client: httpx.Client, task_id: str) -> dict[str, Any]:
    response = client.get(QUERY, params={"task_id": task_id})
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["code"] == 0 and envelope["message"] == "ok"
    return envelope["data"]  # type: ignore[no-any-return]


def wait_until(client: httpx.Client, task_id: str, statuses: set[str],
               timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (data := query(client, task_id))["status"] not in statuses:
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} stuck in {data['status']}")
        time.sleep(0.1)
    return data


def price_of(gateway: Any, body: dict[str, Any]) -> int:
    return int(gateway.gateway.tasks.quote(codec.decode_create(body)[0])[1])


def test_text_example_renders_a_video_that_downloads_without_a_key(
    gateway: Any, tmp_path: Path
) -> None:
    key = gateway.new_key(credits=10_000)
    price = price_of(gateway, TEXT_EXAMPLE)
    with gateway.client(key) as client:
        task_id = create(client, TEXT_EXAMPLE)
        assert gateway.balance(key) == 10_000 - price
        data = wait_until(client, task_id, {"success", "failed"})
        assert query(client, task_id) == data  # finished replies are stable
    assert data["status"] == "success", data
    assert list(data) == list(GOLDEN["query"]["response"]["data"])
    assert data["task_id"] == task_id
    assert data["consumed"] == f"{price}.000000"
    assert data["status_reason"] == {"message": None}
    assert CREATED_AT.match(data["created_at"])
    response = httpx.get(data["result"]["video"])  # the signed URL is the credential
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    (tmp_path / "clip.mp4").write_bytes(response.content)
    info = probe_video(tmp_path / "clip.mp4")
    assert (info.width, info.height) == (1280, 720)  # 16:9 by default, 720p
    assert info.duration_s == pytest.approx(5.0, abs=0.05)


def test_image_example_with_two_references(gateway: Any, media_server: MediaServer) -> None:
    cat = media_server.add("/cat.png", png_bytes(640, 640, (240, 160, 40)))
    dog = media_server.add("/dog.png", png_bytes(640, 640, (90, 60, 30)))
    body = copy.deepcopy(IMAGE_EXAMPLE)
    body["content"][1]["image_url"]["url"] = cat
    body["content"][2]["image_url"]["url"] = dog
    key = gateway.new_key()
    with gateway.client(key) as client:
        task_id = create(client, body)
        data = wait_until(client, task_id, {"success", "failed"})
    assert data["status"] == "success", data
    task = gateway.gateway.db.read_sync(lambda conn: get_task(conn, task_id))
    assert [(i.url, i.role) for i in task.request.inputs] == [
        (cat, Role.REFERENCE_IMAGE), (dog, Role.REFERENCE_IMAGE)]
    assert "@image1" in task.request.prompt and "@image2" in task.request.prompt
    assert task.client_request == {**body, "ratio": "16:9"}
    assert task.outputs is not None
    assert (task.outputs.rendition.width, task.outputs.rendition.height) == (1280, 720)


def test_an_unfinished_task_is_pending_or_processing(gateway: Any) -> None:
    key = gateway.new_key()
    body = {"content": [{"type": "text", "text": "slow one @sim:delay=30"}], "ratio": "9:16",
            "duration": 10}
    with gateway.client(key) as client:
        data = query(client, create(client, body))
    assert data["status"] in ("pending", "processing")
    assert data["result"] is None and data["status_reason"] == {"message": None}
    assert data["consumed"] == f"{price_of(gateway, body)}.000000"


def test_a_failed_task_is_refunded(gateway: Any) -> None:
    key = gateway.new_key(credits=1000)
    body = {"content": [{"type": "text", "text": "fail please @sim:content_violation"}]}
    with gateway.client(key) as client:
        task_id = create(client, body)
        assert gateway.balance(key) == 1000 - price_of(gateway, body)
        data = wait_until(client, task_id, {"success", "failed"})
    assert data["status"] == "failed"
    assert "content safety" in data["status_reason"]["message"]
    assert data["consumed"] == "0.000000" and data["result"] is None
    assert gateway.balance(key) == 1000


def test_tasks_are_readable_across_dialects(gateway: Any) -> None:
    key = gateway.new_key()
    with gateway.client(key) as client:
        response = client.post("/api/generate", json={
            "prompt": "from seedance @sim:delay=30", "aspect_ratio": "1:1", "duration": "5"})
        seedance_id = response.json()["data"]["task_id"]
        defapi_id = create(client, {"content": [{"type": "text", "text": "from defapi "
                                                 "@sim:delay=30"}]})
        read_here = query(client, seedance_id)
        read_there = wait_for_status(client, defapi_id, {"IN_PROGRESS"})
    assert read_here["task_id"] == seedance_id and read_here["consumed"] == "65.000000"
    assert read_here["status"] in ("pending", "processing")
    assert read_there["task_id"] == defapi_id
    assert read_there["request"]["content"][0]["text"] == "from defapi @sim:delay=30"


# Bodies refused with 400, and words each message must contain.
BAD_BODIES: list[tuple[Any, list[str]]] = [
    ({**IMAGE_EXAMPLE, "content": [
        *IMAGE_EXAMPLE["content"], *[IMAGE_EXAMPLE["content"][1]] * 8]},
     ["`content`", "at most 9", "10"]),
    ({"model": "seedance-2.0"}, ["`content`", "required"]),
    ({"content": []}, ["`content`", "text prompt"]),
    ({"content": "a beach"}, ["`content`", "array"]),
    ({"content": [{"type": "video_url"}]}, ["`content[0]`", "image_url"]),
    ({"content": [{"type": "text", "text": 5}]}, ["`content[0].text`"]),
    ({"content": [{"type": "image_url", "image_url": {"url": "ftp://x/a.png"}}]},
     ["`content[0].image_url.url`", "http"]),
    ({"content": IMAGE_EXAMPLE["content"][:2]}, ["@image2", "1 image"]),
    ({**TEXT_EXAMPLE, "duration": 7}, ["`duration`", "5, 10, 15"]),
    ({**TEXT_EXAMPLE, "duration": "5"}, ["`duration`"]),
    ({**TEXT_EXAMPLE, "ratio": "2:1"}, ["`ratio`", "21:9"]),
    ({**TEXT_EXAMPLE, "callback_url": "ftp://example.com/hook"}, ["`callback_url`"]),
    ({**TEXT_EXAMPLE, "callback_url": "https://"}, ["`callback_url`"]),
    ({**TEXT_EXAMPLE, "model": "seedance-9"}, ["`seedance-9`", "seedance-2-0"]),
    ([TEXT_EXAMPLE], ["JSON object"]),
]


class TestErrors:
    """Every error is `{"code": 1, "message", "data": null}` with the seed's HTTP status."""

    @staticmethod
    def check(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
        assert response.status_code == status, response.text
        body = response.json()
        assert body["code"] == 1 and body["data"] is None
        for word in words:
            assert word in body["message"], body["message"]
        return body  # type: ignore[no-any-return]

    def test_400_names_the_parameter_and_debits_nothing(self, gateway: Any) -> None:
        key = gateway.new_key(credits=1000)
        with gateway.client(key) as client:
            for body, words in BAD_BODIES:
                self.check(client.post(GEN, json=body), 400, *words)
        assert gateway.balance(key) == 1000

    def test_400_for_invalid_json_and_a_missing_task_id(self, gateway: Any) -> None:
        key = gateway.new_key(credits=1000)
        with gateway.client(key) as client:
            self.check(client.post(GEN, content=b"{nope"), 400, "not valid JSON")
            self.check(client.get(QUERY), 400, "`task_id`")
        assert gateway.balance(key) == 1000

    def test_401_without_or_with_a_wrong_key(self, gateway: Any) -> None:
        with gateway.client() as client:
            self.check(client.post(GEN, json=TEXT_EXAMPLE), 401, "API key")
            self.check(client.get(QUERY, params={"task_id": "x"}), 401)
        with gateway.client("sg_wrongwrongwrongwrongwrongwrong") as client:
            self.check(client.post(GEN, json=TEXT_EXAMPLE), 401, "Invalid")
            self.check(client.get(QUERY, params={"task_id": "x"}), 401)

    def test_402_when_the_balance_cannot_cover_the_task(self, gateway: Any) -> None:
        key = gateway.new_key(credits=100)
        with gateway.client(key) as client:
            self.check(client.post(GEN, json=TEXT_EXAMPLE), 402,
                       str(price_of(gateway, TEXT_EXAMPLE)), "100")
        assert gateway.balance(key) == 100

    def test_404_for_unknown_tasks_and_other_keys_tasks(self, gateway: Any) -> None:
        owner, other = gateway.new_key(), gateway.new_key()
        with gateway.client(owner) as client:
            task_id = create(client, {"content": [{"type": "text", "text": "mine "
                                                   "@sim:delay=30"}]})
            self.check(client.get(QUERY, params={"task_id": "task_nope"}), 404, "task_nope")
        with gateway.client(other) as client:
            self.check(client.get(QUERY, params={"task_id": task_id}), 404, task_id)

    def test_429_with_retry_after_when_over_the_rate_limit(self, gateway: Any) -> None:
        key = gateway.new_key(rate_limit=6)  # a burst of one request, then one each 10 s
        with gateway.client(key) as client:
            client.get(QUERY, params={"task_id": "task_x"})
            response = client.get(QUERY, params={"task_id": "task_x"})
        self.check(response, 429, "Rate limit")
        assert int(response.headers["retry-after"]) >= 1

    def test_500_hides_the_cause(self, gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        async def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("database on fire")

        monkeypatch.setattr(gateway.gateway.tasks, "get", broken)
        with gateway.client(gateway.new_key()) as client:
            body = self.check(client.get(QUERY, params={"task_id": "t"}), 500, "retry")
        assert "fire" not in body["message"]
