"""Client webhooks end to end: every dialect's callback reaches a real HTTP receiver with
its documented payload, signed so the `standardwebhooks` library verifies it; the delivery
log and replays through the native API; deliveries survive a restart mid-retries."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest

from seedgate.cli import main as cli
from seedgate.clock import now_ms
from seedgate.dialects import native
from seedgate.domain.errors import GatewayError
from seedgate.webhooks.delivery import SCHEDULE_S

from .conftest import DatabaseTarget, RunningGateway, ThreadedServer, gateway_settings
from .receiver import Answer, Receiver, verified

VIOLATION = "a fox in the snow @sim:content_violation"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def secret_of(gateway: RunningGateway, key: str) -> str:
    return gateway.gateway.keyring.reveal(gateway.gateway.accounts.find(key).id)


def test_native_webhook_events_are_signed_in_order_with_the_video(
    gateway: RunningGateway, receiver: Receiver
) -> None:
    key = gateway.new_key()
    events = ["video.queued", "video.in_progress", "video.completed"]
    with gateway.client(key) as client:
        created = client.post("/v1/videos", json={
            "prompt": "a red fox", "seconds": "4", "resolution": "480p",
            "generate_audio": False, "webhook": {"url": receiver.url("/native"),
                                                  "events": events}})
        assert created.status_code == 200, created.text
        video_id = created.json()["id"]
        calls = receiver.wait_for("/native", 3, timeout=60)
        secret = secret_of(gateway, key)
        payloads = [verified(secret, call) for call in calls]
        assert [p["type"] for p in payloads] == events
        assert {p["data"]["id"] for p in payloads} == {video_id}
        assert [p["data"]["status"] for p in payloads] == ["queued", "in_progress", "completed"]
        assert len({call.headers["webhook-id"] for call in calls}) == 3
        assert all(p["id"] == call.headers["webhook-id"] and p["object"] == "event"
                   for p, call in zip(payloads, calls, strict=True))
        video = httpx.get(payloads[-1]["data"]["outputs"]["video_url"], timeout=30)
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        log = client.get(f"/v1/videos/{video_id}/webhooks").json()["data"]
        assert [d["type"] for d in log] == events
        assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in log)
        assert [d["id"] for d in log] == [call.headers["webhook-id"] for call in calls]


def test_native_webhook_defaults_to_the_endings(
    gateway: RunningGateway, receiver: Receiver
) -> None:
    with gateway.client(gateway.new_key()) as client:
        created = client.post("/v1/videos", json={
            "prompt": VIOLATION, "webhook": {"url": receiver.url("/endings")}})
        [call] = receiver.wait_for("/endings", 1)
        assert call.json()["type"] == "video.failed"
        assert call.json()["data"]["error"]["code"] == "CONTENT_VIOLATION"
        time.sleep(0.3)
        assert len(receiver.at("/endings")) == 1
        refused = client.post("/v1/videos", json={
            "prompt": "x", "webhook": {"url": receiver.url("/x"), "events": ["video.done"]}})
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "webhook.events"
        assert created.status_code == 200


def ark_create(client: httpx.Client, url: str) -> str:
    reply = client.post("/api/v3/contents/generations/tasks", json={
        "model": "seedance-1-5-pro-251215", "callback_url": url,
        "content": [{"type": "text", "text": VIOLATION}]})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["id"])


def defapi_create(client: httpx.Client, url: str) -> str:
    reply = client.post("/api/video/seedance/gen", json={
        "callback_url": url, "content": [{"type": "text", "text": VIOLATION}]})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["data"]["task_id"])


def apixo_create(client: httpx.Client, url: str) -> str:
    reply = client.post("/api/v1/generateTask/seedance-1-5-pro", json={
        "request_type": "callback", "callback_url": url,
        "input": {"prompt": VIOLATION, "sound": False}})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["data"]["taskId"])


DIALECTS = {
    # create, the read that the callback body equals, the statuses of the callbacks
    "ark": (ark_create, lambda c, t: c.get(f"/api/v3/contents/generations/tasks/{t}").json(),
            lambda body: body["status"], ["queued", "running", "failed"]),
    "defapi": (defapi_create, lambda c, t: c.get("/api/task/query",
                                                  params={"task_id": t}).json()["data"],
               lambda body: body["status"], ["failed"]),
    "apixo": (apixo_create, lambda c, t: c.get("/api/v1/statusTask/seedance-1-5-pro",
                                                params={"taskId": t}).json(),
              lambda body: body["data"]["state"], ["failed"]),
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_reseller_callbacks_carry_their_documented_payload_signed(
    gateway: RunningGateway, receiver: Receiver, dialect: str
) -> None:
    create, read, status_of, statuses = DIALECTS[dialect]
    key = gateway.new_key()
    with gateway.client(key) as client:
        task_id = create(client, receiver.url(f"/{dialect}"))
        calls = receiver.wait_for(f"/{dialect}", len(statuses))
        time.sleep(0.3)
        assert len(receiver.at(f"/{dialect}")) == len(statuses)  # nothing more
        bodies = [verified(secret_of(gateway, key), call) for call in calls]
        assert [status_of(body) for body in bodies] == statuses
        assert bodies[-1] == read(client, task_id)  # the same object a read returns
        log = client.get(f"/v1/videos/{task_id}/webhooks").json()["data"]
        assert [d["status"] for d in log] == ["delivered"] * len(statuses)


def test_delivery_log_shows_failures_and_a_replay_sends_again(
    gateway: RunningGateway, receiver: Receiver
) -> None:
    receiver.answer("/flaky", Answer(500, body=b"try later"))
    with gateway.client(gateway.new_key()) as client:
        video_id = client.post("/v1/videos", json={
            "prompt": VIOLATION, "webhook": {"url": receiver.url("/flaky")}}).json()["id"]
        receiver.wait_for("/flaky", 1)
        deadline = time.monotonic() + 60
        while (log := client.get(f"/v1/videos/{video_id}/webhooks").json()["data"])[0][
                "attempts"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        [delivery] = log
        assert delivery["status"] == "pending" and delivery["last_status_code"] == 500
        assert delivery["attempt_log"][0]["response"] == "try later"
        assert delivery["next_attempt_at"] >= delivery["created_at"] + SCHEDULE_S[1]
        assert delivery["payload"]["type"] == "video.failed"
        replayed = client.post(f"/v1/videos/{video_id}/webhooks/{delivery['id']}/replay")
        assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
        calls = receiver.wait_for("/flaky", 2)
        assert calls[0].headers["webhook-id"] == calls[1].headers["webhook-id"]
        missing = client.post(f"/v1/videos/{video_id}/webhooks/msg_nope/replay")
        assert missing.status_code == 404 and missing.json()["error"]["param"] == "delivery_id"
    with gateway.client(gateway.new_key()) as other:
        assert other.get(f"/v1/videos/{video_id}/webhooks").status_code == 404


def test_deliveries_survive_a_restart_in_the_middle_of_retries(
    make_gateway: Callable[..., RunningGateway], tmp_path: Path, database: DatabaseTarget,
    receiver: Receiver,
) -> None:
    """The first gateway fails to deliver, then stops; a second one, on the same database
    and gateway secret, finds the pending delivery and sends it when it is due."""
    shared = {"secret": "restart-test-secret"}
    receiver.answer("/restart", Answer(503))
    first = ThreadedServer(gateway_settings(tmp_path / "a", database, **shared)).__enter__()
    try:
        key = first.gateway.accounts.create_key("restart", 10_000)[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{first.settings.port}",
                          headers={"authorization": f"Bearer {key}"}) as client:
            video_id = client.post("/v1/videos", json={
                "prompt": VIOLATION, "webhook": {"url": receiver.url("/restart")}}).json()["id"]
            receiver.wait_for("/restart", 1)
            deadline = time.monotonic() + 60
            while client.get(f"/v1/videos/{video_id}/webhooks").json()["data"][0][
                    "attempts"] < 1:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        first.__exit__()
    second = make_gateway(**shared)
    deliveries = second.gateway.deliveries
    assert deliveries is not None
    deliveries.clock = lambda: now_ms() + SCHEDULE_S[1] * 1000 + 1000  # the retry is due
    calls = receiver.wait_for("/restart", 2)
    secret = second.gateway.keyring.reveal(second.gateway.accounts.find(key).id)
    assert verified(secret, calls[0]) == verified(secret, calls[1])
    assert calls[0].headers["webhook-id"] == calls[1].headers["webhook-id"]
    with second.client(key) as client:
        deadline = time.monotonic() + 60
        while (log := client.get(f"/v1/videos/{video_id}/webhooks").json()["data"])[0][
                "status"] != "delivered":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert [a["status_code"] for a in log[0]["attempt_log"]] == [503, 200]


def test_cli_prints_and_rotates_a_keys_webhook_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database: DatabaseTarget,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SEEDGATE_HOME", str(tmp_path))
    monkeypatch.setenv("SEEDGATE_DATABASE_URL", database.url)
    if database.schema:
        monkeypatch.setenv("SEEDGATE_DATABASE_SCHEMA", database.schema)
    name = f"cli{secrets.token_hex(3)}"
    assert cli(["keys", "create", "--name", name, "--quiet"]) == 0
    capsys.readouterr()
    assert cli(["keys", "webhook-secret", name]) == 0
    first = capsys.readouterr().out.strip()
    assert cli(["keys", "webhook-secret", name]) == 0
    assert capsys.readouterr().out.strip() == first
    assert cli(["keys", "webhook-secret", name, "--rotate"]) == 0
    rotated = capsys.readouterr().out.strip()
    assert first.startswith("whsec_") and rotated.startswith("whsec_") and rotated != first
    assert cli(["keys", "webhook-secret", "nobody"]) == 2



def test_the_openai_sdk_sends_a_webhook_and_verifies_what_it_gets(
    gateway: RunningGateway, receiver: Receiver
) -> None:
    """`extra_body={"webhook": ...}` (a multipart form, as the SDK sends it) subscribes,
    and the SDK's own Standard Webhooks check accepts the event."""
    key = gateway.new_key()
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    video = client.videos.create(prompt=VIOLATION, extra_body={"webhook": {
        "url": receiver.url("/sdk"), "events": ["video.in_progress", "video.failed"]}})
    calls = receiver.wait_for("/sdk", 2)
    secret = secret_of(gateway, key)
    events = [client.webhooks.unwrap(call.body, call.headers, secret=secret) for call in calls]
    assert [event.type for event in events] == ["video.in_progress", "video.failed"]
    assert {event.data.id for event in events} == {video.id}
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.unwrap(calls[0].body + b" ", calls[0].headers, secret=secret)


def test_a_webhook_as_form_fields() -> None:
    body = native.form_fields({"prompt": ["x"], "webhook[url]": ["https://h.example/"],
                               "webhook[events][]": ["video.queued", "video.failed"]})
    assert body["webhook"] == {"url": "https://h.example/",
                               "events": ["video.queued", "video.failed"]}
    _, parameters = native.decode_create(body)
    assert parameters["webhook"] == body["webhook"]
    with pytest.raises(GatewayError, match=r"webhook\[secret\]"):
        native.form_fields({"webhook[url]": ["https://h.example/"], "webhook[secret]": ["s"]})
