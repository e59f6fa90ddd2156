"""The seedance1-5pro dialect end to end, over HTTP, against a running gateway."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest

from seedgate.dialects import seedance15pro as codec
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.pricing import PriceTable
from seedgate.domain.request import Role, normalize
from seedgate.domain.task import Outputs, Rendition, Task, TaskStatus
from seedgate.media.probe import probe_video
from seedgate.store.ledger import entries_of
from seedgate.store.schema import tasks
from seedgate.store.tasks import get_task

from .helpers import MediaServer, png_bytes, wait_for_status

GOLDEN = json.loads((Path(__file__).parent / "golden" / "seedance15pro.json").read_text())
SEED_EXAMPLE: dict[str, Any] = GOLDEN["generate"]["request"]


# -- golden file: the seed's examples through the codec -------------------------------------


def test_golden_generate_request_decodes_and_its_answer_matches() -> None:
    request, sanitized = codec.decode_create(SEED_EXAMPLE)
    normalized = normalize(request)
    assert (normalized.model, normalized.resolution, normalized.duration) == (
        "seedance-1-5-pro", "720p", 5)
    assert normalized.generate_audio is False and normalized.ratio == "adaptive"  # the image's
    assert [(i.url, i.role) for i in normalized.inputs] == [
        (SEED_EXAMPLE["image_urls"][0], Role.FIRST_FRAME)]
    assert sanitized == SEED_EXAMPLE
    expected = GOLDEN["generate"]["response"]
    task = Task(id=expected["data"]["task_id"], key_id=1, dialect=codec.NAME, request=normalized,
                client_request=sanitized, status=TaskStatus.QUEUED, price=65, refunded=0,
                created_at=0, updated_at=0, deadline_at=1)
    assert codec.encode_created(task) == expected


def test_golden_status_answer_matches_field_for_field() -> None:
    expected = GOLDEN["status"]["response"]
    data = expected["data"]
    request, sanitized = codec.decode_create(data["request"])
    created = round(datetime.fromisoformat(data["created_at"]).timestamp() * 1000)
    task = Task(id=data["task_id"], key_id=1, dialect=codec.NAME, request=normalize(request),
                client_request=sanitized, status=TaskStatus.SUCCEEDED, price=65, refunded=0,
                created_at=created, updated_at=created, deadline_at=created + 1,
                outputs=Outputs("v.mp4", Rendition(1280, 720, 5, "16:9", 1, False)))
    assert codec.encode_task(task, data["response"]) == expected


@pytest.mark.parametrize("row", GOLDEN["credits"], ids=lambda row: f"{row['duration']}s"
                         f"{'+sound' if row['sound'] else ''}")
def test_golden_credit_table(row: dict[str, Any]) -> None:
    body = {**GOLDEN["status"]["response"]["data"]["request"], "duration": row["duration"],
            "sound": row["sound"]}
    request, _ = codec.decode_create(body)
    assert PriceTable.with_overrides({}).quote(normalize(request)) == row["credits"]


@pytest.mark.parametrize("status", GOLDEN["errors"])
def test_golden_error_statuses_keep_the_envelope(status: int) -> None:
    kind = {401: ErrorKind.UNAUTHORIZED, 402: ErrorKind.INSUFFICIENT_CREDITS,
            429: ErrorKind.RATE_LIMITED, 500: ErrorKind.INTERNAL}[status]
    assert codec.encode_error(GatewayError(kind, "why")) == (
        status, {"code": status, "message": "why", "data": None})


# -- over HTTP -----------------------------------------------------------------------------


def create(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post("/api/generate", json=body)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["code"] == 200 and envelope["message"] == "success"
    return str(envelope["data"]["task_id"])


def download(url: str, target: Path) -> Path:
    response = httpx.get(url)  # no API key: the signed URL is the credential
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    target.write_bytes(response.content)
    return target


def test_seed_example_goes_from_creation_to_a_decodable_video(
    gateway: Any, media_server: MediaServer, tmp_path: Path
) -> None:
    key = gateway.new_key(credits=1000)
    image_url = media_server.add("/reference/frame01.png", png_bytes(1280, 720))
    body = {**SEED_EXAMPLE, "image_urls": [image_url]}
    with gateway.client(key) as client:
        task_id = create(client, body)
        assert gateway.balance(key) == 1000 - 65
        data = wait_for_status(client, task_id, {"SUCCESS", "FAILED"})
        by_post = client.post("/api/status", json={"task_id": task_id}).json()["data"]
    assert data["status"] == "SUCCESS", data
    assert by_post == data
    assert data["task_id"] == task_id
    assert data["consumed_credits"] == 65
    assert data["error_message"] is None
    assert data["request"] == body
    assert data["created_at"].endswith("Z") and "T" in data["created_at"]
    [url] = data["response"]
    info = probe_video(download(url, tmp_path / "clip.mp4"))
    assert (info.width, info.height) == (1280, 720)  # 16:9 image, 1.5 pro at 720p
    assert info.duration_s == pytest.approx(5.0, abs=0.05)
    assert info.fps == 24 and info.video_codec == "h264" and info.pix_fmt == "yuv420p"
    assert info.audio_codec is None


def test_text_to_video_with_sound_renders_audio_at_the_ratio_size(
    gateway: Any, tmp_path: Path
) -> None:
    key = gateway.new_key(credits=1000)
    with gateway.client(key) as client:
        task_id = create(client, {"prompt": "A lighthouse in a storm", "aspect_ratio": "9:16",
                                  "duration": "5", "sound": True})
        data = wait_for_status(client, task_id, {"SUCCESS", "FAILED"})
    assert data["status"] == "SUCCESS", data
    assert data["consumed_credits"] == 130
    info = probe_video(download(data["response"][0], tmp_path / "clip.mp4"))
    assert (info.width, info.height) == (720, 1280)
    assert info.audio_codec == "aac"
    assert info.audio_duration_s == pytest.approx(5.0, abs=0.1)


@pytest.mark.parametrize(
    ("duration", "sound", "credits"),
    [("5", False, 65), ("10", False, 130), ("5", True, 130), ("10", True, 260)],
)
def test_prices_follow_the_seed_table(gateway: Any, duration: str, sound: bool,
                                      credits: int) -> None:
    key = gateway.new_key(credits=1000)
    with gateway.client(key) as client:
        create(client, {"prompt": "price check @sim:delay=30", "aspect_ratio": "1:1",
                        "duration": duration, "sound": sound})
    assert gateway.balance(key) == 1000 - credits


def test_a_queued_or_running_task_shows_in_progress(gateway: Any) -> None:
    key = gateway.new_key()
    with gateway.client(key) as client:
        task_id = create(client, {"prompt": "slow one @sim:delay=30", "aspect_ratio": "16:9",
                                  "duration": "5"})
        data = client.get("/api/status", params={"task_id": task_id}).json()["data"]
    assert data["status"] == "IN_PROGRESS"
    assert data["response"] == [] and data["consumed_credits"] == 65


@pytest.mark.parametrize(
    ("trigger", "message"),
    [("@sim:content_violation", "content safety"), ("@sim:internal_error", "internal error")],
)
def test_failed_tasks_are_refunded_exactly_once(gateway: Any, trigger: str, message: str) -> None:
    key = gateway.new_key(credits=500)
    with gateway.client(key) as client:
        task_id = create(client, {"prompt": f"fail please {trigger}", "aspect_ratio": "16:9",
                                  "duration": "10", "sound": True})
        data = wait_for_status(client, task_id, {"SUCCESS", "FAILED"})
        again = wait_for_status(client, task_id, {"FAILED"})
    assert data["status"] == "FAILED"
    assert message in data["error_message"]
    assert data["consumed_credits"] == 0 == again["consumed_credits"]
    assert gateway.balance(key) == 500
    key_id = gateway.gateway.accounts.find(key).id
    entries = [e for e in gateway.gateway.db.read_sync(lambda conn: entries_of(conn, key_id))
               if e[2] == task_id]
    assert sorted(kind for kind, _, _ in entries) == ["debit", "refund"]
    assert sum(amount for _, amount, _ in entries) == 0


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("/anim.gif", png_bytes(fmt="GIF"), "image/gif"),
        ("/not-an-image.png", b"this is not an image", "image/png"),
        ("/missing.png", None, ""),
    ],
)
def test_unusable_images_fail_with_invalid_image_url_and_refund(
    gateway: Any, media_server: MediaServer, path: str, body: bytes | None, content_type: str
) -> None:
    url = media_server.add(path, body, content_type) if body is not None else (
        media_server.add("/other.png", png_bytes()).replace("/other.png", path))
    key = gateway.new_key(credits=100)
    with gateway.client(key) as client:
        task_id = create(client, {"prompt": "animate this", "duration": "5",
                                  "image_urls": [url]})
        data = wait_for_status(client, task_id, {"SUCCESS", "FAILED"})
    assert data["status"] == "FAILED"
    assert data["consumed_credits"] == 0 and gateway.balance(key) == 100
    task = gateway.gateway.db.read_sync(lambda conn: get_task(conn, task_id))
    assert task.error_code == "INVALID_IMAGE_URL"


def test_two_images_animate_from_first_to_last(
    gateway: Any, media_server: MediaServer, tmp_path: Path
) -> None:
    first = media_server.add("/a.jpg", png_bytes(960, 960, (250, 0, 0), "JPEG"), "image/jpeg")
    last = media_server.add("/b.webp", png_bytes(960, 960, (0, 0, 250), "WEBP"), "image/webp")
    key = gateway.new_key()
    with gateway.client(key) as client:
        task_id = create(client, {"prompt": "red to blue", "duration": "5",
                                  "image_urls": [first, last]})
        data = wait_for_status(client, task_id, {"SUCCESS", "FAILED"})
    assert data["status"] == "SUCCESS", data
    info = probe_video(download(data["response"][0], tmp_path / "clip.mp4"))
    assert (info.width, info.height) == (960, 960)  # adaptive: the images are square


class TestErrors:
    """Every error status the seed names, in the `{code, message, data}` envelope."""

    @staticmethod
    def check(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["x-request-id"]
        body = response.json()
        assert body["code"] == status and body["data"] is None
        for word in words:
            assert word in body["message"], body["message"]
        return body  # type: ignore[no-any-return]

    def test_401_without_or_with_a_wrong_key(self, gateway: Any) -> None:
        with gateway.client() as client:
            self.check(client.post("/api/generate", json=SEED_EXAMPLE), 401, "API key")
            self.check(client.get("/api/status", params={"task_id": "x"}), 401)
        with gateway.client("sg_wrongwrongwrongwrongwrongwrong") as client:
            self.check(client.post("/api/generate", json=SEED_EXAMPLE), 401, "Invalid")
        with httpx.Client(base_url=gateway.url, headers={"authorization": "Basic abc"}) as c:
            self.check(c.post("/api/generate", json=SEED_EXAMPLE), 401, "Bearer")

    def test_a_revoked_key_is_refused(self, gateway: Any) -> None:
        key = gateway.new_key(name="soon-revoked")
        gateway.gateway.accounts.revoke("soon-revoked")
        gateway.gateway.auth._cache.clear()
        with gateway.client(key) as client:
            self.check(client.post("/api/generate", json=SEED_EXAMPLE), 401, "revoked")

    @pytest.mark.parametrize(
        ("body", "words"),
        [
            ({"aspect_ratio": "16:9", "duration": "5"}, ["`prompt`", "required"]),
            ({"prompt": "x" * 1001, "aspect_ratio": "16:9", "duration": "5"}, ["1000"]),
            ({"prompt": "a", "aspect_ratio": "4:3", "duration": "5"}, ["`aspect_ratio`"]),
            ({"prompt": "a", "duration": "5"}, ["`aspect_ratio`", "required"]),
            ({"prompt": "a", "aspect_ratio": "16:9", "duration": "7"}, ["`duration`", '"5"']),
            ({"prompt": "a", "aspect_ratio": "16:9"}, ["`duration`", "required"]),
            ({"prompt": "a", "aspect_ratio": "16:9", "duration": "5", "sound": "yes"},
             ["`sound`"]),
            ({"prompt": "a", "aspect_ratio": "16:9", "duration": "5", "image_urls": "x"},
             ["`image_urls`"]),
            ({"prompt": "a", "duration": "5", "image_urls": ["ftp://x/y.png"]},
             ["`image_urls`", "http"]),
            ({"prompt": "a", "duration": "5", "image_urls": ["http://a/1", "http://a/2",
                                                             "http://a/3"]}, ["at most 2"]),
            ([1, 2, 3], ["JSON object"]),
        ],
    )
    def test_400_names_the_parameter(self, gateway: Any, body: Any, words: list[str]) -> None:
        key = gateway.new_key(credits=1000)
        with gateway.client(key) as client:
            self.check(client.post("/api/generate", json=body), 400, *words)
        assert gateway.balance(key) == 1000

    def test_400_for_a_body_that_is_not_json(self, gateway: Any) -> None:
        with gateway.client(gateway.new_key()) as client:
            self.check(client.post("/api/generate", content=b"{nope"), 400, "not valid JSON")
            self.check(client.post("/api/generate", content=b""), 400, "empty")
            self.check(client.post("/api/status", content=b"[]"), 400, "JSON object")
            self.check(client.get("/api/status"), 400, "`task_id`")

    def test_402_when_the_balance_cannot_cover_the_task(self, gateway: Any) -> None:
        key = gateway.new_key(credits=100)
        with gateway.client(key) as client:
            body = {"prompt": "a", "aspect_ratio": "16:9", "duration": "10"}
            self.check(client.post("/api/generate", json=body), 402, "130", "100")
        assert gateway.balance(key) == 100

    def test_404_for_unknown_tasks_and_other_keys_tasks(self, gateway: Any) -> None:
        owner, other = gateway.new_key(), gateway.new_key()
        with gateway.client(owner) as client:
            task_id = create(client, {"prompt": "mine @sim:delay=30", "aspect_ratio": "1:1",
                                      "duration": "5"})
            self.check(client.get("/api/status", params={"task_id": "task_nope"}), 404)
        with gateway.client(other) as client:
            self.check(client.get("/api/status", params={"task_id": task_id}), 404, task_id)
            self.check(client.post("/api/status", json={"task_id": task_id}), 404)

    def test_429_with_retry_after_when_over_the_rate_limit(self, gateway: Any) -> None:
        key = gateway.new_key(rate_limit=6)  # a burst of one request, then one each 10 s
        with gateway.client(key) as client:
            client.get("/api/status", params={"task_id": "task_x"})
            response = client.get("/api/status", params={"task_id": "task_x"})
        body = self.check(response, 429, "Rate limit")
        assert int(response.headers["retry-after"]) >= 1
        assert body["message"]

    def test_500_is_an_envelope_with_advice(self, gateway: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
        async def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("database on fire")

        monkeypatch.setattr(gateway.gateway.tasks, "get", broken)
        with gateway.client(gateway.new_key()) as client:
            body = self.check(client.get("/api/status", params={"task_id": "t"}), 500, "retry")
        assert "fire" not in body["message"]


def test_signed_media_urls_refuse_tampering_and_expiry(gateway: Any) -> None:
    key = gateway.new_key()
    with gateway.client(key) as client:
        task_id = create(client, {"prompt": "signed", "aspect_ratio": "1:1", "duration": "5"})
        [url] = wait_for_status(client, task_id, {"SUCCESS"})["response"]
    assert httpx.get(url).status_code == 200
    parsed = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    base = f"{parsed.scheme}://{parsed.netloc}"
    later = {**query, "exp": str(int(query["exp"]) + 3600)}
    assert httpx.get(f"{base}{parsed.path}?{urlencode(later)}").status_code == 403
    forged = {**query, "sig": query["sig"][:-2] + "AA"}
    assert httpx.get(f"{base}{parsed.path}?{urlencode(forged)}").status_code == 403
    other = parsed.path.replace(task_id, "task_other")
    assert httpx.get(f"{base}{other}?{parsed.query}").status_code == 403
    key_name = parsed.path.removeprefix("/media/")
    expired = gateway.gateway.signer.url(base, key_name, 1_000_000)
    assert httpx.get(expired).status_code == 403
    assert int(query["exp"]) - gateway.settings.media_ttl > 0


def test_many_simultaneous_creates_never_overdraw(gateway: Any) -> None:
    key = gateway.new_key(credits=65 * 10)
    body = {"prompt": "race @sim:delay=30", "aspect_ratio": "16:9", "duration": "5"}
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        with gateway.client(key) as client:
            status = client.post("/api/generate", json=body).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 10 + [402] * 30
    assert gateway.balance(key) == 0


def test_many_pollers_share_provider_calls(gateway: Any) -> None:
    key = gateway.new_key()
    with gateway.client(key) as client:
        task_id = create(client, {"prompt": "watched @sim:delay=30", "aspect_ratio": "16:9",
                                  "duration": "5"})
        wait_until_submitted(gateway, task_id)
    refresher = gateway.gateway.refresher
    before = refresher.provider_calls
    results: list[int] = []

    def poll() -> None:
        with gateway.client(key) as client:
            for _ in range(5):
                results.append(client.get("/api/status", params={"task_id": task_id}).status_code)

    threads = [threading.Thread(target=poll) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 100
    calls = refresher.provider_calls - before
    assert 1 <= calls <= 20  # 100 reads within a few refresh intervals


def wait_until_submitted(gateway: Any, task_id: str) -> None:
    for _ in range(200):
        task = gateway.gateway.db.read_sync(lambda conn: get_task(conn, task_id))
        if task.upstream_id:
            return
        time.sleep(0.05)
    raise AssertionError("the worker never submitted the task")


def test_a_task_past_its_deadline_expires_and_is_refunded(gateway: Any) -> None:
    key = gateway.new_key(credits=200)
    with gateway.client(key) as client:
        task_id = create(client, {"prompt": "too slow @sim:delay=60", "aspect_ratio": "1:1",
                                  "duration": "5"})
        wait_until_submitted(gateway, task_id)
        gateway.gateway.db.write_sync(lambda conn: conn.execute(
            tasks.update().where(tasks.c.id == task_id).values(deadline_at=0)))
        data = wait_for_status(client, task_id, {"SUCCESS", "FAILED"})
    assert data["status"] == "FAILED" and "deadline" in data["error_message"]
    assert data["consumed_credits"] == 0 and gateway.balance(key) == 200
    task = gateway.gateway.db.read_sync(lambda conn: get_task(conn, task_id))
    assert task.status.value == "expired"


def test_unknown_paths_get_json_errors(gateway: Any) -> None:
    response = httpx.get(f"{gateway.url}/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.headers["x-request-id"]
    wrong_method = httpx.delete(f"{gateway.url}/api/generate")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


def test_base64_data_url_images_are_accepted(gateway: Any, tmp_path: Path) -> None:
    encoded = base64.b64encode(png_bytes(640, 640, (0, 200, 0))).decode()
    key = gateway.new_key()
    with gateway.client(key) as client:
        task_id = create(client, {"prompt": "from a data URL", "duration": "5",
                                  "image_urls": [f"data:image/png;base64,{encoded}"]})
        data = wait_for_status(client, task_id, {"SUCCESS", "FAILED"})
        broken = create(client, {"prompt": "broken data URL", "duration": "5",
                                 "image_urls": ["data:image/png;base64,@@@"]})
        failed = wait_for_status(client, broken, {"SUCCESS", "FAILED"})
    assert data["status"] == "SUCCESS", data
    info = probe_video(download(data["response"][0], tmp_path / "clip.mp4"))
    assert (info.width, info.height) == (960, 960)
    assert failed["status"] == "FAILED" and "base64" in failed["error_message"]
    assert failed["consumed_credits"] == 0
