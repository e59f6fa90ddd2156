"""The runbase dialect: its codec against the documented examples, and end to end over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from seedgate.dialects import runbase, seedance15pro
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.request import normalize
from seedgate.domain.task import Task, TaskStatus
from seedgate.media.probe import probe_video

GOLDEN = json.loads((Path(__file__).parent / "golden" / "runbase.json").read_text())
CODECS = {runbase.NAME: runbase, seedance15pro.NAME: seedance15pro}
LAMP = "A cinematic product photo of a ceramic lamp"
RUN_KEYS = {"id", "model", "status", "input", "output", "error", "cost", "created_at",
            "completed_at"}


def named(entries: list[dict[str, Any]]) -> Any:
    return pytest.mark.parametrize("case", entries, ids=[e["name"] for e in entries])


def matches(documented: Any, actual: Any) -> bool:
    """Whether `actual` has the documented shape: every documented key, with its value.

    In a documented string "…" stands for any text; a URL is compared without its query
    string, which holds the gateway's signature.
    """
    if isinstance(documented, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in documented.items())
    if isinstance(documented, list):
        return (isinstance(actual, list) and len(actual) == len(documented)
                and all(map(matches, documented, actual)))
    if isinstance(documented, str) and "…" in documented:
        if not isinstance(actual, str):
            return False
        head, _, tail = documented.partition("…")
        text = actual.split("?", 1)[0] if head.startswith("http") else actual
        return len(text) > len(head) + len(tail) and text.startswith(head) and text.endswith(tail)
    return bool(documented == actual)


def golden_task(spec: dict[str, Any]) -> Task:
    request, sent = CODECS[spec["dialect"]].decode_create(spec["create"])
    created = spec["created_at"]
    return Task(
        id="task_golden", key_id=1, dialect=spec["dialect"], request=normalize(request),
        client_request=sent, status=TaskStatus(spec["status"]), price=spec["price"],
        refunded=spec["refunded"], created_at=created, updated_at=created,
        deadline_at=created + 3_600_000, error_message=spec["error_message"],
        completed_at=spec["completed_at"],
    )


def check_error(error: GatewayError, case: dict[str, Any]) -> None:
    status, body = runbase.encode_error(error)
    assert (status, body["error"]["code"]) == (case["status"], case["code"])
    for word in case["words"]:
        assert word in body["error"]["message"], body
    assert matches_envelope(body)


def matches_envelope(body: dict[str, Any]) -> bool:
    documented = GOLDEN["error_envelope"]["documented"]
    return (body.keys() == documented.keys()
            and body["error"].keys() == documented["error"].keys()
            and all(isinstance(v, str) and v for v in body["error"].values()))


class TestGolden:
    def test_the_matcher_can_fail(self) -> None:
        assert matches({"output": {"urls": ["https://…mp4"]}},
                       {"output": {"urls": ["https://h/v.mp4?sig=x"]}})
        assert not matches({"output": {"urls": ["https://…mp4"]}},
                           {"output": {"urls": ["https://h/v.png?sig=x"]}})
        assert not matches({"id": "…", "status": "pending"}, {"id": "", "status": "pending"})
        assert not matches({"status": "pending"}, {"status": "processing"})
        assert not matches({"error": "…"}, {"error": None})

    @named(GOLDEN["create"])
    def test_documented_requests_decode(self, case: dict[str, Any]) -> None:
        request, sent = runbase.decode_create(case["request"])
        canonical = request.to_json()
        assert {k: canonical[k] for k in case["canonical"]} == case["canonical"]
        normalized = normalize(request).to_json()
        assert {k: normalized[k] for k in case["normalized"]} == case["normalized"]
        assert sent == case["sent"]

    @named(GOLDEN["rejections"])
    def test_documented_rejections(self, case: dict[str, Any]) -> None:
        with pytest.raises(GatewayError) as caught:
            runbase.decode_create(case["request"])
        check_error(caught.value, case)

    @named(GOLDEN["service_rejections"])
    def test_catalog_rejections_speak_runbase(self, case: dict[str, Any]) -> None:
        request, _ = runbase.decode_create(case["request"])
        with pytest.raises(GatewayError) as caught:
            normalize(request)
        check_error(caught.value, case)

    @named(GOLDEN["runs"])
    def test_runs_encode_as_documented(self, case: dict[str, Any]) -> None:
        task = golden_task(case["task"])
        run = runbase.encode_task(task, case["task"]["urls"])
        assert matches(case["documented"], run), run
        assert run == case["expected"]

    @pytest.mark.parametrize(
        ("authorization", "code"),
        [(None, "missing_api_key"), ("", "missing_api_key"), ("Bearer", "missing_api_key"),
         ("Bearer sk-wrong", "invalid_api_key"), ("Basic abc", "invalid_api_key"),
         ("sk-no-scheme", "invalid_api_key")],
    )
    def test_missing_and_invalid_keys_have_their_own_codes(
        self, authorization: str | None, code: str
    ) -> None:
        error = GatewayError(ErrorKind.UNAUTHORIZED, "Invalid or revoked API key.")
        sent = runbase.api_key_sent(authorization)
        assert runbase.encode_error(error, key_sent=sent) == (
            401, {"error": {"message": error.message, "code": code}})


def wait_for_run(client: httpx.Client, run_id: str, statuses: set[str],
                 timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/runs/{run_id}")
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        if run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} stuck in {run['status']}")
        time.sleep(0.1)


def create_run(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/runs", json=body)
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    assert run.keys() == RUN_KEYS
    return run


def test_a_run_goes_from_pending_to_a_downloadable_video(gateway: Any, tmp_path: Path) -> None:
    key = gateway.new_key(credits=1000)
    body = {"model": "bytedance/seedance-1.5-pro",
            "input": {"prompt": LAMP, "duration": "4", "resolution": "480p",
                      "aspect_ratio": "1:1", "generate_audio": True}}
    with gateway.client(key) as client:
        created = create_run(client, body)
        assert created["status"] == "pending" and created["id"].startswith("task_")
        assert created["model"] == "bytedance/seedance-1.5-pro"
        assert created["input"] == body["input"]
        assert created["output"] is None and created["error"] is None
        assert created["completed_at"] is None and created["created_at"].endswith("Z")
        # debited as 16:9 (864x496: 25 credits, twice with audio); settled on 640x640's tokens
        assert created["cost"] == 50 and gateway.balance(key) == 1000 - 50
        run = wait_for_run(client, created["id"], {"succeeded", "failed"})
        assert client.get(f"/api/v1/runs/{created['id']}").json() == run  # cached reply
    assert run["status"] == "succeeded", run
    assert run["error"] is None and run["cost"] == 48 and gateway.balance(key) == 1000 - 48
    assert run["completed_at"] >= run["created_at"] == created["created_at"]
    [url] = run["output"]["urls"]
    response = httpx.get(url)  # no API key: the signed URL is the credential
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    (tmp_path / "run.mp4").write_bytes(response.content)
    info = probe_video(tmp_path / "run.mp4")
    assert (info.width, info.height) == (640, 640)  # Seedance 1.5 Pro, 480p, 1:1
    assert info.duration_s == pytest.approx(4.0, abs=0.05)
    assert info.audio_codec == "aac"


def test_a_failed_run_is_refunded_and_says_why(gateway: Any) -> None:
    key = gateway.new_key(credits=500)
    body = {"model": "bytedance/seedance-1.5-pro",
            "input": {"prompt": "lamp @sim:content_violation", "duration": "8"}}
    with gateway.client(key) as client:
        created = create_run(client, body)
        assert gateway.balance(key) == 500 - created["cost"] < 500
        run = wait_for_run(client, created["id"], {"succeeded", "failed"})
    assert run["status"] == "failed"
    assert "content safety" in run["error"]
    assert run["output"] is None and run["cost"] == 0 and run["completed_at"]
    assert gateway.balance(key) == 500


def test_runs_and_seedance_tasks_read_each_other(gateway: Any) -> None:
    key = gateway.new_key()
    with gateway.client(key) as client:
        made = client.post("/api/generate", json={
            "prompt": "market @sim:delay=30", "aspect_ratio": "9:16", "duration": "10",
            "sound": True}).json()["data"]["task_id"]
        as_run = client.get(f"/api/v1/runs/{made}").json()
        run = create_run(client, {"model": "bytedance/seedance-1-pro",
                                  "input": {"prompt": "fox @sim:delay=30", "duration": "5"}})
        as_task = client.get("/api/status", params={"task_id": run["id"]}).json()["data"]
    assert as_run["id"] == made and as_run["model"] == "bytedance/seedance-1.5-pro"
    assert as_run["status"] in ("pending", "processing")
    assert as_run["input"] == {"prompt": "market @sim:delay=30", "aspect_ratio": "9:16",
                               "resolution": "720p", "duration": "10", "generate_audio": True}
    assert as_run["cost"] == 260
    assert as_task["task_id"] == run["id"] and as_task["status"] == "IN_PROGRESS"
    assert as_task["consumed_credits"] == run["cost"]


class TestErrors:
    """Every error code runbase documents that the gateway can meet, over HTTP."""

    @staticmethod
    def check(response: httpx.Response, status: int, code: str, *words: str) -> str:
        assert response.status_code == status, response.text
        body = response.json()
        assert matches_envelope(body), body
        assert body["error"]["code"] == code, body
        for word in words:
            assert word in body["error"]["message"], body
        return str(body["error"]["message"])

    @pytest.mark.parametrize(
        ("content", "code", "word"),
        [
            (b"{nope", "invalid_json", "not valid JSON"),
            (b"", "invalid_json", "empty"),
            (b'{"input": {"prompt": "p"}}', "missing_model", "`model`"),
            (b'{"model": "bytedance/seedance-1.5-pro", "input": null}', "missing_input",
             "`input`"),
            (b'{"model": "bytedance/seedance-1.5-pro", "input": {"prompt": "p", '
             b'"duration": "7"}}', "invalid_input", "`duration`"),
            (b'{"model": "bytedance/seedance-2", "input": {"prompt": "p", '
             b'"aspect_ratio": "5:4"}}', "invalid_input", "`aspect_ratio`"),
            (b'{"model": "bytedance/seedance-1-pro", "input": {"prompt": "p", '
             b'"generate_audio": true}}', "invalid_input", "`generate_audio`"),
            (b'{"model": "openai/sora", "input": {"prompt": "p"}}', "model_not_found",
             "openai/sora"),
        ],
    )
    def test_400_refuses_without_charging(self, gateway: Any, content: bytes, code: str,
                                          word: str) -> None:
        key = gateway.new_key(credits=1000)
        with gateway.client(key) as client:
            response = client.post("/api/v1/runs", content=content,
                                   headers={"content-type": "application/json"})
        self.check(response, 400, code, word)
        assert gateway.balance(key) == 1000

    def test_401_tells_a_missing_key_from_a_wrong_one(self, gateway: Any) -> None:
        body = {"model": "bytedance/seedance-1.5-pro", "input": {"prompt": LAMP}}
        with gateway.client() as client:
            self.check(client.post("/api/v1/runs", json=body), 401, "missing_api_key", "Missing")
            self.check(client.get("/api/v1/runs/task_x"), 401, "missing_api_key")
        with gateway.client("sk-wrongwrongwrongwrongwrongwrong") as client:
            self.check(client.post("/api/v1/runs", json=body), 401, "invalid_api_key", "Invalid")
            self.check(client.get("/api/v1/runs/task_x"), 401, "invalid_api_key")

    def test_402_when_the_balance_cannot_cover_the_run(self, gateway: Any) -> None:
        key = gateway.new_key(credits=100)
        body = {"model": "bytedance/seedance-1.5-pro",
                "input": {"prompt": LAMP, "duration": "12", "generate_audio": True}}
        with gateway.client(key) as client:
            self.check(client.post("/api/v1/runs", json=body), 402, "insufficient_balance",
                       "312", "100")
        assert gateway.balance(key) == 100

    def test_404_for_unknown_runs_and_other_keys_runs(self, gateway: Any) -> None:
        owner, other = gateway.new_key(), gateway.new_key()
        with gateway.client(owner) as client:
            run = create_run(client, {"model": "bytedance/seedance-1.5-pro",
                                      "input": {"prompt": "mine @sim:delay=30"}})
            self.check(client.get("/api/v1/runs/task_nope"), 404, "run_not_found")
        with gateway.client(other) as client:
            self.check(client.get(f"/api/v1/runs/{run['id']}"), 404, "run_not_found", run["id"])

    def test_429_with_retry_after(self, gateway: Any) -> None:
        key = gateway.new_key(rate_limit=6)  # a burst of one request, then one each 10 s
        with gateway.client(key) as client:
            self.check(client.get("/api/v1/runs/task_x"), 404, "run_not_found")
            response = client.get("/api/v1/runs/task_x")
        self.check(response, 429, "RATE_LIMITED", "Rate limit")
        assert int(response.headers["retry-after"]) >= 1

    def test_500_is_internal_error_without_details(
        self, gateway: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("database on fire")

        monkeypatch.setattr(gateway.gateway.tasks, "get", broken)
        with gateway.client(gateway.new_key()) as client:
            message = self.check(client.get("/api/v1/runs/task_x"), 500, "internal_error")
        assert "fire" not in message
