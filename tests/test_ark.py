"""The Ark v3 dialect: its documented examples (golden file), the official SDK end to end,
and the raw HTTP contract (nulls, legacy flags, paging, DELETE, error envelopes)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import byteplussdkarkruntime
import byteplussdkarkruntime._exceptions
import httpx
import pytest
from volcenginesdkarkruntime import Ark
from volcenginesdkarkruntime._exceptions import ArkBadRequestError, ArkNotFoundError

from seedgate.dialects import ark
from seedgate.domain.errors import FailureCode, GatewayError, invalid
from seedgate.domain.request import MediaKind, Role, normalize
from seedgate.domain.task import Outputs, Rendition, Task, TaskStatus
from seedgate.media.probe import probe_video
from seedgate.store.schema import tasks
from seedgate.store.tasks import get_task

from .helpers import wait_for_status

GOLDEN = json.loads((Path(__file__).parent / "golden" / "ark.json").read_text())
TASKS = "/api/v3/contents/generations/tasks"
PRO15, PRO15_VOLC = "seedance-1-5-pro-251215", "doubao-seedance-1-5-pro-251215"
LITE_T2V_VOLC = "doubao-seedance-1-0-lite-t2v-250428"
SLOW = "@sim:delay=60"


def text(prompt: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": prompt}]


def sdk(gateway: Any, key: str) -> Any:
    return Ark(base_url=f"{gateway.url}/api/v3", api_key=key, max_retries=0).content_generation


def create(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post(TASKS, json=body)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id"}
    return str(response.json()["id"])


def wait(client: httpx.Client, task_id: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        task = client.get(f"{TASKS}/{task_id}").json()
        if task["status"] in statuses:
            return task  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"{task_id} stuck in {task['status']}"
        time.sleep(0.05)


def stored(gateway: Any, task_id: str) -> Task:
    return gateway.gateway.db.read_sync(lambda conn: get_task(conn, task_id))  # type: ignore[no-any-return]


def check_error(response: httpx.Response, status: int, kind: str, code: str,
                param: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "param", "type"}
    assert (body["error"]["type"], body["error"]["code"]) == (kind, code), body
    assert body["error"]["param"] == param and body["error"]["message"]
    return str(body["error"]["message"])


# -- golden file: the documented examples through the codec --------------------------------


def golden_task(status: TaskStatus, **fields: Any) -> Task:
    created = ark.decode_create(GOLDEN["create"]["request"])
    request = normalize(created.request)
    return Task(
        id=GOLDEN["create"]["response"]["id"], key_id=1, dialect=ark.NAME, request=request,
        client_request=created.client_request, status=status, price=130, refunded=0,
        created_at=1765510475000, updated_at=1765510559000, deadline_at=0, **fields,
    )


def test_golden_create_decodes_every_field() -> None:
    created = ark.decode_create(GOLDEN["create"]["request"])
    request = created.request
    assert (request.model, request.resolution, request.ratio, request.duration) == (
        PRO15, "720p", "adaptive", 5)
    assert (request.generate_audio, request.seed, request.watermark) == (True, 11, False)
    assert request.return_last_frame and request.prompt.startswith("The girl in the image")
    assert [(i.kind, i.url, i.role) for i in request.inputs] == [
        (MediaKind.IMAGE, "https://example.com/first.jpeg", Role.FIRST_FRAME),
        (MediaKind.IMAGE, "https://example.com/last.jpeg", Role.LAST_FRAME)]
    assert created.client_request["callback_url"] == "https://me.example/cb"
    assert ark.encode_created(golden_task(TaskStatus.QUEUED)) == GOLDEN["create"]["response"]


def test_golden_task_object_has_exactly_the_documented_fields() -> None:
    rendition = Rendition(1280, 720, 5, "16:9", 11, True)
    task = golden_task(TaskStatus.SUCCEEDED, outputs=Outputs("v.mp4", rendition, "f.png"))
    expected = GOLDEN["task_succeeded"]["response"]
    urls = [expected["content"]["video_url"], expected["content"]["last_frame_url"]]
    assert ark.encode_task(task, urls) == expected
    assert ark.encode_task(task, urls[:1])["content"] == {"video_url": urls[0]}


def test_golden_failed_task_and_error_envelopes() -> None:
    task = golden_task(TaskStatus.FAILED, error_code=FailureCode.CONTENT_VIOLATION.value,
                       error_message="rejected")
    encoded = ark.encode_task(task, [])
    fragment = GOLDEN["task_failed"]["fragment"]
    assert encoded["status"] == fragment["status"]
    assert encoded["error"]["code"] == fragment["error"]["code"] and "content" not in encoded
    for name, error in (("error_duration", invalid("duration", "bad")),
                        ("error_image_url", _decode_error(GOLDEN["error_image_url"]["request"]))):
        status, body = ark.encode_error(error)
        expected = GOLDEN[name]["response"]["error"]
        assert status == GOLDEN[name]["status"]
        assert {k: body["error"][k] for k in ("code", "param", "type")} == {
            k: expected[k] for k in ("code", "param", "type")}
    assert ark.encode_deleted() == GOLDEN["delete"]["response"]


def _decode_error(body: dict[str, Any]) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        ark.decode_create(body)
    return caught.value


def test_golden_legacy_flags_and_content_items() -> None:
    flags = GOLDEN["legacy_flags"]
    request = ark.decode_create({"model": "seedance-1-0-pro-250528",
                                 "content": text(flags["text"])}).request
    assert request.prompt == flags["prompt"]
    assert {name: getattr(request, name) for name in flags["parameters"]} == flags["parameters"]
    framed = ark.decode_create({"model": LITE_T2V_VOLC, "content": text("x --frames 49")})
    assert framed.client_request["frames"] == 49 and framed.request.duration == 2
    items = GOLDEN["content_items"]
    for name in ("image_url", "video_url", "audio_url"):
        decoded = ark.decode_create({"model": "seedance-2.0", "content": [items[name]]})
        assert decoded.request.inputs[0].role.value == items[name]["role"]
    draft = ark.decode_create({"model": PRO15, "content": [items["draft_task"]]})
    assert draft.draft_task_id == items["draft_task"]["draft_task"]["id"]
    query = ark.decode_list(GOLDEN["list"]["path"].partition("?")[2])
    assert (query.number, query.size, query.task_ids, query.model) == (
        1, 10, ("a", "b"), "seedance-1-5-pro")
    assert [s.value for s in query.statuses] == ["succeeded"]


# -- the official SDK end to end -----------------------------------------------------------


BYTEPLUS_SDK = (byteplussdkarkruntime.Ark, byteplussdkarkruntime._exceptions.ArkNotFoundError)


@pytest.mark.parametrize(("client_class", "not_found"), [(Ark, ArkNotFoundError), BYTEPLUS_SDK],
                         ids=["volcengine-sdk", "byteplus-sdk"])
def test_sdk_creates_polls_lists_and_deletes_a_video(
    gateway: Any, tmp_path: Path, client_class: Any, not_found: type[Exception],
) -> None:
    client = client_class(base_url=f"{gateway.url}/api/v3", api_key=gateway.new_key(),
                          max_retries=0).content_generation
    created = client.tasks.create(
        model=PRO15, content=text("A lighthouse at dusk"), resolution="480p", ratio="16:9",
        duration=4, seed=42, generate_audio=False, return_last_frame=True)  # others: null
    deadline = time.monotonic() + 60
    while (task := client.tasks.get(task_id=created.id)).status in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (task.status, task.model, task.error, task.resolution) == (
        "succeeded", PRO15, None, "480p")
    assert (task.seed, task.duration, task.framespersecond, task.ratio) == (42, 4, 24, "16:9")
    assert (task.service_tier, task.execution_expires_after, task.draft) == (
        "default", 172800, False)
    video = tmp_path / "out.mp4"
    video.write_bytes(httpx.get(task.content.video_url).content)
    info = probe_video(video)
    assert (info.width, info.height, info.audio_codec) == (864, 496, None)
    assert abs(info.duration_s - 4) < 0.2
    tokens = info.width * info.height * (24 * 4 + 1) // 1024
    assert task.usage.completion_tokens == task.usage.total_tokens == tokens
    frame = httpx.get(task.content.last_frame_url)
    assert frame.headers["content-type"] == "image/png" and frame.content[:4] == b"\x89PNG"
    listed = client.tasks.list(page_num=1, page_size=5, task_ids=[created.id])
    assert listed.total == 1 and listed.items[0].id == created.id
    client.tasks.delete(task_id=created.id)
    with pytest.raises(not_found):
        client.tasks.get(task_id=created.id)


def test_volcengine_ids_and_frames_on_a_1_0_model(gateway: Any) -> None:
    client = sdk(gateway, gateway.new_key())
    created = client.tasks.create(model=LITE_T2V_VOLC, content=text("Waves"),
                                  resolution="480p", frames=29, duration=10)
    with gateway.client(gateway.new_key()) as other:
        check_error(other.get(f"{TASKS}/{created.id}"), 404, "NotFound", "ResourceNotFound",
                    "id")
    deadline = time.monotonic() + 60
    while (task := client.tasks.get(task_id=created.id)).status != "succeeded":
        assert task.status in ("queued", "running") and time.monotonic() < deadline
        time.sleep(0.05)
    assert task.model == LITE_T2V_VOLC and task.generate_audio is False
    assert (task.frames, task.duration) == (29, None)  # frames wins, and is echoed alone
    assert task.usage.completion_tokens == 864 * 480 * 29 // 1024
    assert stored(gateway, created.id).request.duration == 2  # 29 frames: 1.2 s -> 2 s


def test_draft_task_flow_reuses_the_drafts_parameters(gateway: Any) -> None:
    client = sdk(gateway, gateway.new_key())
    draft = client.tasks.create(model=PRO15_VOLC, content=text("A fox in snow --dur 4"),
                                draft=True, seed=-1, generate_audio=False)
    deadline = time.monotonic() + 60
    while (done := client.tasks.get(task_id=draft.id)).status != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (done.draft, done.resolution, done.model) == (True, "480p", PRO15_VOLC)
    final = client.tasks.create(model=PRO15_VOLC, resolution="480p", return_last_frame=True,
                                content=[{"type": "draft_task", "draft_task": {"id": draft.id}}])
    task = stored(gateway, final.id)
    assert (task.request.prompt, task.request.seed, task.request.duration) == (
        "A fox in snow", done.seed, 4)
    assert task.request.generate_audio is False and not task.request.draft
    got = client.tasks.get(task_id=final.id)
    assert got.draft_task_id == draft.id and got.draft is False
    with pytest.raises(ArkBadRequestError) as refused:
        client.tasks.create(model=PRO15, content=[
            {"type": "draft_task", "draft_task": {"id": final.id}}])
    assert refused.value.body["param"] == "content[0].draft_task.id"  # not a draft


# -- raw HTTP: the create contract ---------------------------------------------------------


def test_nulls_flags_and_body_precedence(gateway: Any) -> None:
    with gateway.client(gateway.new_key()) as client:
        nulls = dict.fromkeys(ark.FIELDS - {"model", "content"})
        task_id = create(client, {**nulls, "model": "seedance-1.5-pro", "content": text(
            f"Rain on glass {SLOW} --rs 1080p --rt 5:5 --dur 99 --seed 7 --cf true --wm x "
            "--fps 30")})
        task = client.get(f"{TASKS}/{task_id}").json()
        assert task["model"] == PRO15  # a catalog name shows as the BytePlus id
        assert (task["resolution"], task["ratio"], task["duration"], task["seed"]) == (
            "1080p", "16:9", 5, 7)  # invalid --rt and --dur fell back to the defaults
        request = stored(gateway, task_id).request
        assert request.camera_fixed and not request.watermark
        assert request.prompt == f"Rain on glass {SLOW}"
        both = create(client, {"model": PRO15, "resolution": "480p", "seed": 3,
                               "content": text(f"Sun {SLOW} --rs 720p --seed 9")})
        assert stored(gateway, both).request.resolution == "480p"  # the body wins
        assert stored(gateway, both).request.seed == 3


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"content": text("a")}, 400, "MissingParameter", "model"),
        ({"model": PRO15}, 400, "MissingParameter", "content"),
        ({"model": PRO15, "content": []}, 400, "InvalidParameter", "content"),
        ({"model": PRO15, "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]},
         400, "InvalidParameter", "content[0].image_url.url"),
        ({"model": PRO15, "content": [
            {"type": "image_url", "image_url": {"url": "https://a/1.png"}},
            {"type": "image_url", "image_url": {"url": "https://a/2.png"}}]},
         400, "MissingParameter", "content[0].role"),
        ({"model": "seedance-1-0-lite-t2v-250428", "content": [
            {"type": "image_url", "image_url": {"url": "https://a/1.png"}}]},
         400, "InvalidParameter", "content"),
        ({"model": PRO15, "content": text("a"), "execution_expires_after": 3599},
         400, "InvalidParameter", "execution_expires_after"),
        ({"model": PRO15, "content": text("a"), "duration": 3}, 400, "InvalidParameter",
         "duration"),
        ({"model": PRO15, "content": text("a"), "frames": 121}, 400, "InvalidParameter",
         "frames"),
        ({"model": PRO15, "content": text("a"), "seed": "1"}, 400, "InvalidParameter", "seed"),
        ({"model": PRO15, "content": text("a"), "callback_url": "ftp://x"}, 400,
         "InvalidParameter", "callback_url"),
        ({"model": PRO15, "content": text("a"), "draft": True, "resolution": "720p"}, 400,
         "InvalidParameter", "resolution"),
        ({"model": "dreamina-seedance-2-0-260128", "content": text("a"),
          "service_tier": "flex"}, 400, "InvalidParameter", "service_tier"),
        ({"model": "ep-20250101-abc", "content": text("a")}, 404,
         "InvalidEndpointOrModel.NotFound", "model"),
    ],
)
def test_create_errors_name_the_parameter(gateway: Any, body: dict[str, Any], status: int,
                                          code: str, param: str) -> None:
    key = gateway.new_key(credits=1000)
    with gateway.client(key) as client:
        kind = "BadRequest" if status == 400 else "NotFound"
        message = check_error(client.post(TASKS, json=body), status, kind, code, param)
    assert f"`{param}`" in message or status == 404
    assert gateway.balance(key) == 1000


def test_every_other_error_class(gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"model": PRO15, "content": text("a"), "resolution": "1080p", "duration": 12}
    with gateway.client() as client:
        check_error(client.post(TASKS, json=body), 401, "Unauthorized", "AuthenticationError")
    with gateway.client(gateway.new_key(credits=1)) as client:
        check_error(client.post(TASKS, content=b"{nope"), 400, "BadRequest", "InvalidParameter")
        check_error(client.post(TASKS, json=body), 403, "Forbidden", "AccountOverdueError")
        check_error(client.get(f"{TASKS}/task_nope"), 404, "NotFound", "ResourceNotFound", "id")
        check_error(client.get(TASKS, params={"page_size": 501}), 400, "BadRequest",
                    "InvalidParameter", "page_size")
        check_error(client.get(TASKS, params={"filter.status": "done"}), 400, "BadRequest",
                    "InvalidParameter", "filter.status")
    with gateway.client(gateway.new_key(rate_limit=6)) as client:
        client.get(f"{TASKS}/task_x")
        limited = client.get(f"{TASKS}/task_x")
        check_error(limited, 429, "TooManyRequests", "RateLimitExceeded")
        assert int(limited.headers["retry-after"]) >= 1

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(gateway.gateway.tasks, "get", broken)
    with gateway.client(gateway.new_key()) as client:
        message = check_error(client.get(f"{TASKS}/t"), 500, "InternalServerError",
                              "InternalServiceError")
    assert "fire" not in message


# -- lifecycle: expiry, failure, DELETE ----------------------------------------------------


def test_expiry_refunds_and_delete_in_every_state(gateway: Any) -> None:
    key = gateway.new_key(credits=1000)
    with gateway.client(key) as client:
        slow = create(client, {"model": PRO15, "content": text(f"slow {SLOW}"),
                               "resolution": "480p", "duration": 4,
                               "execution_expires_after": 3600})
        failing = create(client, {"model": PRO15, "resolution": "480p", "duration": 4,
                                  "content": text("bad @sim:content_violation")})
        running = wait(client, slow, {"running"})
        assert running["execution_expires_after"] == 3600 and "content" not in running
        refused = check_error(client.delete(f"{TASKS}/{slow}"), 400, "BadRequest",
                              "OperationDenied")
        assert "running" in refused
        failed = wait(client, failing, {"failed"})
        assert failed["error"]["code"] == "OutputVideoSensitiveContentDetected"
        assert failed["usage"] == {"completion_tokens": 0, "total_tokens": 0}
        gateway.gateway.db.write_sync(lambda conn: conn.execute(
            tasks.update().where(tasks.c.id == slow).values(deadline_at=0)))
        expired = wait(client, slow, {"expired", "succeeded"})
        assert expired["status"] == "expired" and expired["error"] is None
        assert gateway.balance(key) == 1000  # both refunded
        for task_id in (slow, failing):
            assert client.delete(f"{TASKS}/{task_id}").json() == {}
            check_error(client.get(f"{TASKS}/{task_id}"), 404, "NotFound", "ResourceNotFound",
                        "id")


def test_delete_cancels_a_queued_task_and_refuses_a_cancelled_one(make_gateway: Any) -> None:
    gateway = make_gateway(worker=False)
    key = gateway.new_key(credits=1000)
    with gateway.client(key) as client:
        task_id = create(client, {"model": PRO15, "content": text("queued")})
        assert gateway.balance(key) < 1000
        deleted = client.delete(f"{TASKS}/{task_id}")
        assert deleted.status_code == 200 and deleted.json() == {}
        task = client.get(f"{TASKS}/{task_id}").json()
        assert task["status"] == "cancelled" and task["error"] is None
        assert gateway.balance(key) == 1000
        check_error(client.delete(f"{TASKS}/{task_id}"), 400, "BadRequest", "OperationDenied",
                    "id")


def test_list_pages_newest_first_with_every_filter(make_gateway: Any) -> None:
    gateway = make_gateway(worker=False)
    key = gateway.new_key(credits=10_000)
    with gateway.client(key) as client:
        ids = [create(client, {"model": model, "content": text(f"t{index}")})
               for index, model in enumerate([PRO15, LITE_T2V_VOLC, PRO15, PRO15_VOLC, PRO15])]
        client.delete(f"{TASKS}/{ids[1]}")

        def listed(**params: Any) -> dict[str, Any]:
            response = client.get(TASKS, params=params)
            assert response.status_code == 200, response.text
            return response.json()  # type: ignore[no-any-return]

        pages = [listed(page_num=n, page_size=2) for n in (1, 2, 3, 4)]
        assert [p["total"] for p in pages] == [5] * 4
        assert [[i["id"] for i in p["items"]] for p in pages] == [
            [ids[4], ids[3]], [ids[2], ids[1]], [ids[0]], []]
        assert listed()["total"] == 5 and len(listed()["items"]) == 5
        cancelled = listed(**{"filter.status": "cancelled"})
        assert cancelled["total"] == 1 and cancelled["items"][0]["id"] == ids[1]
        assert cancelled["items"][0]["model"] == LITE_T2V_VOLC
        assert listed(**{"filter.status": "queued"})["total"] == 4
        picked = client.get(f"{TASKS}?filter.task_ids={ids[0]}&filter.task_ids={ids[3]}"
                            "&filter.task_ids=task_unknown").json()
        assert [i["id"] for i in picked["items"]] == [ids[3], ids[0]] and picked["total"] == 2
        by_model = listed(**{"filter.model": LITE_T2V_VOLC})
        assert [i["id"] for i in by_model["items"]] == [ids[1]]
        assert listed(**{"filter.model": PRO15_VOLC})["total"] == 4
        assert listed(**{"filter.service_tier": "default"})["total"] == 5
        via_sdk = sdk(gateway, key).tasks.list(page_size=1, status="queued",
                                               task_ids=[ids[0], ids[2]], model=PRO15)
        assert via_sdk.total == 2 and [t.id for t in via_sdk.items] == [ids[2]]
    with gateway.client(gateway.new_key()) as other:
        assert other.get(TASKS).json() == {"total": 0, "items": []}


def test_tasks_of_other_dialects_read_as_ark_tasks(gateway: Any) -> None:
    with gateway.client(gateway.new_key()) as client:
        response = client.post("/api/generate", json={
            "prompt": "cross", "aspect_ratio": "1:1", "duration": "5", "sound": False})
        task_id = response.json()["data"]["task_id"]
        wait_for_status(client, task_id, {"SUCCESS"})
        task = client.get(f"{TASKS}/{task_id}").json()
    assert (task["model"], task["status"], task["ratio"], task["duration"]) == (
        PRO15, "succeeded", "1:1", 5)
    assert task["service_tier"] == "default" and task["content"]["video_url"]
    assert "last_frame_url" not in task["content"] and "frames" not in task
    assert task["usage"]["total_tokens"] == 960 * 960 * 121 // 1024
