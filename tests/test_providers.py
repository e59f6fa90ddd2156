"""Real upstream providers, end to end: gateway A routes to gateway B, which serves the
provider's dialect on its simulator (B is the emulator). A mirrors B's video into its own
storage; A's clients only ever see A's URLs."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from seedgate import cli
from seedgate.domain.webhooks import DeliveryStatus
from seedgate.media.probe import probe_video
from seedgate.store import attempts, keys, schema
from seedgate.store.tasks import get_task
from seedgate.store.webhooks import deliveries_of

from . import s3
from .conftest import (
    KEY_ENV,
    DatabaseTarget,
    RunningGateway,
    ThreadedServer,
    free_port,
    gateway_settings,
)
from .faults import FaultProxy

TASKS = "/api/v3/contents/generations/tasks"
FAST_ROUTING = {"expected_generation": 0.3, "poll_min": 0.05, "poll_max": 0.3,
                "backoff_base": 0.05, "backoff_max": 0.2, "breaker_cooldown": 0.5}


def provider(name: str, kind: str, base_url: str, **extra: Any) -> dict[str, Any]:
    # The emulator still serves 1.5 Pro, which the catalog retires on BytePlus (2026-11-11).
    kept = {"serves_retired": ["seedance-1-5-pro"]} if kind == "ark-byteplus" else {}
    return {"name": name, "kind": kind, "base_url": base_url, "api_key_env": KEY_ENV,
            **kept, **extra}


def front(make_gateway: Any, *providers: dict[str, Any],
          settings: dict[str, Any] | None = None, **routing: Any) -> RunningGateway:
    """Gateway A, routing to `providers`, with callbacks to itself."""
    port = free_port()
    return make_gateway(  # type: ignore[no-any-return]
        port=port, providers=list(providers), **(settings or {}),
        routing={**FAST_ROUTING, "callback_url": f"http://127.0.0.1:{port}", **routing})


def ark_body(model: str, prompt: str, **fields: Any) -> dict[str, Any]:
    return {"model": model, "content": [{"type": "text", "text": prompt}], **fields}


def create(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post(TASKS, json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def wait(client: httpx.Client, task_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task = client.get(f"{TASKS}/{task_id}").json()
        if task["status"] not in ("queued", "running"):
            return task  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"{task_id} stuck in {task['status']}"
        time.sleep(0.05)


def attempts_of(gateway: RunningGateway, task_id: str) -> list[attempts.Attempt]:
    return gateway.gateway.db.read_sync(  # type: ignore[no-any-return]
        lambda conn: attempts.of_task(conn, task_id))


# Each kind with a request its API can express (B's simulator renders it).
KINDS = {
    "ark-byteplus": ("/api/v3", ark_body("seedance-1-5-pro-251215", "a red kite",
                                         resolution="480p", duration=4,
                                         return_last_frame=True)),
    "ark-volcengine": ("/api/v3", ark_body("doubao-seedance-1-0-lite-t2v-250428", "a boat",
                                           resolution="480p", duration=2)),
    "seedance1-5pro": ("", ark_body("seedance-1-5-pro", "a lighthouse", resolution="720p",
                                    duration=5, ratio="16:9", generate_audio=False)),
    "runbase": ("", ark_body("seedance-1-5-pro", "a cat", resolution="480p", duration=4,
                             ratio="1:1")),
    "defapi": ("", ark_body("seedance-2-0", "a fox", duration=5, ratio="16:9")),
    "apixo": ("", ark_body("seedance-1-5-pro", "a calm sea", resolution="480p", duration=4,
                           ratio="9:16", generate_audio=True)),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_gateway_whose_upstream_is_another_gateway(
        kind: str, upstream: RunningGateway, make_gateway: Any, tmp_path: Path) -> None:
    prefix, body = KINDS[kind]
    a = front(make_gateway, provider("b", kind, upstream.url + prefix))
    key = a.new_key(credits=100_000)
    with a.client(key) as client:
        task_id = create(client, body)
        task = wait(client, task_id)
        assert task["status"] == "succeeded", task
        url = task["content"]["video_url"]
        assert url.startswith(a.url + "/media/") and upstream.url not in str(task)
        if body.get("return_last_frame"):
            assert task["content"]["last_frame_url"].startswith(a.url + "/media/")
        video = tmp_path / "mirrored.mp4"
        video.write_bytes(httpx.get(url).content)
    info = probe_video(video)
    assert info.container == "mp4" and info.frame_count > 0
    assert task["duration"] == body["duration"]
    stored = a.gateway.db.read_sync(lambda conn: get_task(conn, task_id))
    assert stored is not None and stored.price > 0
    # debited once, nothing refunded; a shape smaller than 16:9 settles a little back
    assert a.balance(key) == 100_000 - stored.consumed_credits
    assert stored.consumed_credits > stored.price * 0.9
    [attempt] = attempts_of(a, task_id)
    assert (attempt.provider, attempt.state.value) == ("b", "finished")
    assert attempt.calls >= 2  # the submit and at least one status call
    with upstream.client(os.environ[KEY_ENV]) as b_client:  # B ran exactly one task for A
        assert b_client.get(TASKS).json()["total"] == 1



# -- faults, failover, refunds --------------------------------------------------------

SLOW = "@sim:delay=1"
ARK_15 = "seedance-1-5-pro-251215"


@pytest.fixture
def proxy(upstream: RunningGateway) -> Iterator[FaultProxy]:
    with FaultProxy(upstream.url) as running:
        yield running


def ark(name: str, base: str, **extra: Any) -> dict[str, Any]:
    return provider(name, "ark-byteplus", base + "/api/v3", **extra)


def small(prompt: str = "a kite", **fields: Any) -> dict[str, Any]:
    return ark_body(ARK_15, prompt, resolution="480p", duration=4, **fields)


def ledger_kinds(gateway: RunningGateway, task_id: str) -> list[str]:
    return gateway.gateway.db.read_sync(lambda conn: [row.kind for row in conn.execute(
        sa.select(schema.ledger.c.kind).where(schema.ledger.c.task_id == task_id))])


def test_failover_from_a_failing_provider_charges_once(
        proxy: FaultProxy, upstream: RunningGateway, make_gateway: Any,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    proxy.inject("status", path="/api/v3", method="POST", times=100, status=500)
    a = front(make_gateway, ark("flaky", proxy.url, priority=1), ark("steady", upstream.url))
    key = a.new_key(credits=10_000)
    with a.client(key) as client:
        task_id = create(client, small())
        assert wait(client, task_id)["status"] == "succeeded"
    states = [(x.provider, x.state.value) for x in attempts_of(a, task_id)]
    assert states == [("flaky", "failed"), ("steady", "finished")]
    assert ledger_kinds(a, task_id) == ["debit"]
    stored = a.gateway.db.read_sync(lambda conn: get_task(conn, task_id))
    assert stored is not None and stored.provider == "steady"
    assert a.balance(key) == 10_000 - stored.price
    [figures] = a.gateway.db.read_sync(partial(attempts.figures, since=0))
    assert (figures.provider, figures.jobs) == ("steady", 1) and figures.calls_per_job >= 2
    assert len(figures.delays_ms) == 1 and 0 <= figures.delays_ms[0] < 10_000
    monkeypatch.setenv("SEEDGATE_HOME", str(a.settings.home))
    monkeypatch.setenv("DATABASE_URL", a.settings.resolved_database_url)
    if a.settings.database_schema:
        monkeypatch.setenv("SEEDGATE_DATABASE_SCHEMA", a.settings.database_schema)
    assert cli.main(["providers"]) == 0
    assert re.search(r"^steady\s+1\s", capsys.readouterr().out, re.MULTILINE)


@pytest.mark.parametrize("fault", ["reset", "delay", "malformed"])
def test_resets_timeouts_and_malformed_answers_fail_over(
        fault: str, proxy: FaultProxy, upstream: RunningGateway, make_gateway: Any) -> None:
    proxy.inject(fault, path="/api/v3", method="POST", seconds=1.5)
    a = front(make_gateway, ark("faulty", proxy.url, priority=1, timeout=0.5),
              ark("steady", upstream.url))
    with a.client(a.new_key()) as client:
        task_id = create(client, small())
        assert wait(client, task_id)["status"] == "succeeded"
    assert [x.provider for x in attempts_of(a, task_id)] == ["faulty", "steady"]


def test_rate_limits_back_off_for_retry_after(
        proxy: FaultProxy, make_gateway: Any) -> None:
    proxy.inject("status", path="/api/v3", method="POST", status=429, retry_after=1,
                 body=b'{"error": {"code": "RateLimitExceeded", "message": "slow down"}}')
    a = front(make_gateway, ark("only", proxy.url))
    with a.client(a.new_key()) as client:
        started = time.monotonic()
        task_id = create(client, small())
        assert wait(client, task_id)["status"] == "succeeded"
    tries = attempts_of(a, task_id)
    assert [x.state.value for x in tries] == ["failed", "finished"]
    assert (tries[1].created_at - tries[0].created_at) >= 1000  # Retry-After honoured
    assert time.monotonic() - started >= 1


def test_every_provider_failing_fails_the_task_refunded_once(
        proxy: FaultProxy, make_gateway: Any) -> None:
    proxy.inject("status", path="/api/v3", method="POST", times=100, status=503)
    a = front(make_gateway, ark("one", proxy.url), ark("two", proxy.url), submit_rounds=2,
              breaker_failures=10)
    key = a.new_key(credits=10_000)
    with a.client(key) as client:
        task_id = create(client, small())
        task = wait(client, task_id)
    assert task["status"] == "failed" and task["error"]["code"] == "InternalServiceError"
    assert len(attempts_of(a, task_id)) == 4  # two rounds over two providers
    assert sorted(ledger_kinds(a, task_id)) == ["debit", "refund"]
    assert a.balance(key) == 10_000


def test_a_refused_request_fails_without_failover(
        proxy: FaultProxy, upstream: RunningGateway, make_gateway: Any) -> None:
    proxy.inject("status", path="/api/v3", method="POST", status=400, body=(
        b'{"error": {"code": "InputTextSensitiveContentDetected", "message": "no"}}'))
    a = front(make_gateway, ark("strict", proxy.url, priority=1), ark("other", upstream.url))
    key = a.new_key(credits=10_000)
    with a.client(key) as client:
        task = wait(client, create(client, small()))
    assert task["status"] == "failed"
    assert task["error"]["code"] == "OutputVideoSensitiveContentDetected"
    assert [x.provider for x in attempts_of(a, task["id"])] == ["strict"]
    assert a.balance(key) == 10_000


def test_an_upstream_failure_is_mapped_and_refunded(
        upstream: RunningGateway, make_gateway: Any) -> None:
    a = front(make_gateway, provider("b", "apixo", upstream.url))
    key = a.new_key(credits=10_000)
    with a.client(key) as client:
        task = wait(client, create(client, small("x @sim:content_violation")))
    assert task["status"] == "failed"
    assert task["error"]["code"] == "OutputVideoSensitiveContentDetected"
    assert a.balance(key) == 10_000


def test_malformed_status_answers_are_polled_again(
        proxy: FaultProxy, make_gateway: Any) -> None:
    proxy.inject("malformed", path="/api/v3/contents/generations/tasks/", method="GET",
                  times=2)
    a = front(make_gateway, ark("b", proxy.url))
    with a.client(a.new_key()) as client:
        task_id = create(client, small())
        assert wait(client, task_id)["status"] == "succeeded"
    assert attempts_of(a, task_id)[0].calls >= 4  # submit, two bad answers, the good one


def test_a_dead_result_url_fails_the_task_refunded(
        proxy: FaultProxy, make_gateway: Any) -> None:
    proxy.inject("status", path="/media/videos/", method="GET", times=100, status=404)
    a = front(make_gateway, ark("b", proxy.url))
    key = a.new_key(credits=10_000)
    with a.client(key) as client:
        task = wait(client, create(client, small()))
    assert task["status"] == "failed" and "could not copy" in task["error"]["message"]
    assert proxy.count("GET", "/media/videos/") == 3  # mirror_attempts
    assert a.balance(key) == 10_000


def test_a_slow_download_is_mirrored(proxy: FaultProxy, make_gateway: Any,
                                     tmp_path: Path) -> None:
    proxy.inject("slow", path="/media/videos/", method="GET", seconds=0.05)
    a = front(make_gateway, ark("b", proxy.url))
    with a.client(a.new_key()) as client:
        task = wait(client, create(client, small()))
    assert task["status"] == "succeeded"
    video = tmp_path / "slow.mp4"
    video.write_bytes(httpx.get(task["content"]["video_url"]).content)
    assert probe_video(video).frame_count > 0


def test_the_circuit_breaker_rests_a_failing_provider(
        proxy: FaultProxy, upstream: RunningGateway, make_gateway: Any) -> None:
    proxy.inject("status", path="/api/v3", method="POST", times=100, status=500)
    a = front(make_gateway, ark("broken", proxy.url, priority=1), ark("good", upstream.url),
              breaker_failures=1, breaker_cooldown=60)
    with a.client(a.new_key()) as client:
        first = create(client, small())
        assert wait(client, first)["status"] == "succeeded"
        second = create(client, small())
        assert wait(client, second)["status"] == "succeeded"
    assert [x.provider for x in attempts_of(a, second)] == ["good"]
    assert proxy.count("POST") == 1


def test_a_concurrency_cap_keeps_tasks_queued(
        upstream: RunningGateway, make_gateway: Any) -> None:
    a = front(make_gateway, ark("b", upstream.url, max_concurrency=1))
    with a.client(a.new_key()) as client:
        # The first holds the slot long enough to be seen holding it on a loaded machine.
        first = create(client, small("first @sim:delay=10"))
        second = create(client, small(f"second {SLOW}"))
        deadline = time.monotonic() + 60
        while client.get(f"{TASKS}/{first}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.get(f"{TASKS}/{second}").json()["status"] == "queued"
        assert wait(client, first)["status"] == "succeeded"
        assert wait(client, second)["status"] == "succeeded"
    assert attempts_of(a, first)[0].created_at <= attempts_of(a, second)[0].created_at


def test_strategies_choose_providers(
        upstream: RunningGateway, make_gateway: Any) -> None:
    a = front(make_gateway,
              ark("official", upstream.url, cost_per_second=5.0),
              provider("cheap", "apixo", upstream.url, cost_per_second=1.0),
              strategy="value")
    with a.client(a.new_key()) as client:
        by_value = create(client, small())
        assert wait(client, by_value)["status"] == "succeeded"
        response = client.post("/api/v1/generateTask/seedance-1-5-pro", json={
            "provider": "official", "input": {"prompt": "a quiet lake", "sound": False,
                                              "resolution": "480p", "duration": 4}})
        by_request = response.json()["data"]["taskId"]
        assert wait(client, by_request)["status"] == "succeeded"
    official_key = a.new_key()
    a.gateway.db.write_sync(lambda conn: keys.set_strategy(
        conn, a.gateway.accounts.find(official_key).id, "official"))
    with a.client(official_key) as client:
        by_key = create(client, small())
        assert wait(client, by_key)["status"] == "succeeded"
    assert attempts_of(a, by_value)[0].provider == "cheap"
    assert attempts_of(a, by_key)[0].provider == "official"
    assert attempts_of(a, by_request)[0].provider == "official"


# -- callbacks and deadlines ----------------------------------------------------------


def upstream_task(a: RunningGateway, upstream: RunningGateway, task_id: str) -> Any:
    deadline = time.monotonic() + 10
    while True:
        stored = a.gateway.db.read_sync(lambda conn: get_task(conn, task_id))
        if stored is not None and stored.upstream_id:
            return upstream.gateway.db.read_sync(partial(get_task, task_id=stored.upstream_id))
        assert time.monotonic() < deadline, "never submitted"
        time.sleep(0.05)


def test_the_upstreams_callbacks_trigger_a_poll(
        upstream: RunningGateway, make_gateway: Any) -> None:
    """The upstream (a gateway too) delivers its Ark callbacks to the per-task URL; each one
    makes the gateway poll at once, where the schedule's next poll was a minute away."""
    a = front(make_gateway, ark("b", upstream.url), expected_generation=60, poll_min=60)
    with a.client(a.new_key()) as client:
        started = time.monotonic()
        task_id = create(client, small())
        remote = upstream_task(a, upstream, task_id)
        callback = a.gateway.callbacks.url(task_id)
        assert remote.client_request["callback_url"] == callback
        forged = httpx.post(f"{a.url}/upstream/callbacks/{task_id}.{'0' * 32}",
                            json={"id": remote.id, "status": "succeeded"})
        assert forged.status_code == 404
        assert wait(client, task_id, timeout=10)["status"] == "succeeded"
        assert time.monotonic() - started < 8
    deadline = time.monotonic() + 5  # the upstream records a delivery once it was answered
    while True:
        sent = upstream.gateway.db.read_sync(partial(deliveries_of, task_id=remote.id))
        if sent and all(d.status == DeliveryStatus.DELIVERED for d in sent):
            break
        assert time.monotonic() < deadline, sent
        time.sleep(0.05)
    assert {d.url for d in sent} == {callback}


@pytest.mark.parametrize("read_refresh", [0.5, 0.0])
def test_reads_refresh_a_remote_task_at_most_once_per_interval(
        upstream: RunningGateway, make_gateway: Any, read_refresh: float) -> None:
    """Without callbacks and with the next scheduled poll a minute away, a client's reads
    ask the provider (at most once per `read_refresh`), and so see the task end."""
    a = front(make_gateway, ark("b", upstream.url), expected_generation=60, poll_min=60,
              callback_url=None, read_refresh=read_refresh)
    with a.client(a.new_key()) as client:
        task_id = create(client, small())
        remote = upstream_task(a, upstream, task_id)
        with upstream.client(os.environ[KEY_ENV]) as b_client:
            wait(b_client, remote.id)
        reading = time.monotonic()
        if not read_refresh:
            time.sleep(1)
            assert client.get(f"{TASKS}/{task_id}").json()["status"] == "running"
            assert a.gateway.refresher.provider_calls == 0
            return
        assert wait(client, task_id, timeout=10)["status"] == "succeeded"
    seconds = time.monotonic() - reading
    assert 1 <= a.gateway.refresher.provider_calls <= seconds / read_refresh + 1


def test_a_forged_callback_cannot_complete_a_task(
        upstream: RunningGateway, make_gateway: Any) -> None:
    a = front(make_gateway, ark("b", upstream.url), expected_generation=60, poll_min=60)
    with a.client(a.new_key()) as client:
        task_id = create(client, small("@sim:delay=30"))
        upstream_task(a, upstream, task_id)
        body = {"status": "succeeded", "content": {"video_url": "http://127.0.0.1:9/x.mp4"}}
        assert httpx.post(a.gateway.callbacks.url(task_id), json=body).status_code == 200
        time.sleep(1)
        assert client.get(f"{TASKS}/{task_id}").json()["status"] == "running"


def test_an_overdue_task_expires_refunded_and_is_cancelled_upstream(
        proxy: FaultProxy, upstream: RunningGateway, make_gateway: Any) -> None:
    a = front(make_gateway, ark("b", proxy.url), expected_generation=60, poll_min=60)
    key = a.new_key(credits=10_000)
    with a.client(key) as client:
        task_id = create(client, small("@sim:delay=30"))
        upstream_task(a, upstream, task_id)
        a.gateway.db.write_sync(lambda conn: conn.execute(
            schema.tasks.update().where(schema.tasks.c.id == task_id)
            .values(deadline_at=int(time.time() * 1000))))
        assert wait(client, task_id, timeout=10)["status"] == "expired"
    assert a.balance(key) == 10_000
    deadline = time.monotonic() + 5
    while proxy.count("DELETE", TASKS) == 0:
        assert time.monotonic() < deadline, "the upstream job was not cancelled"
        time.sleep(0.05)


def test_an_oversized_result_fails_at_once_refunded(
        proxy: FaultProxy, make_gateway: Any) -> None:
    a = front(make_gateway, ark("b", proxy.url), mirror_max_bytes=1000)
    key = a.new_key(credits=10_000)
    with a.client(key) as client:
        task = wait(client, create(client, small()))
    assert task["status"] == "failed" and "larger than 1000 bytes" in task["error"]["message"]
    assert proxy.count("GET", "/media/videos/") == 1  # too large is final: no retries
    assert a.balance(key) == 10_000


def test_a_restarted_worker_resumes_without_submitting_again(
        upstream: RunningGateway, make_gateway: Any, database: DatabaseTarget,
        tmp_path: Path) -> None:
    """The first gateway stops while its task runs upstream; the second, on the same
    database, takes the lease over and polls the same job: one attempt, one debit."""
    providers = [ark("b", upstream.url)]
    first = ThreadedServer(gateway_settings(tmp_path / "first", database, providers=providers,
                                            routing=FAST_ROUTING)).__enter__()
    try:
        _, secret = first.gateway.accounts.create_key("k", 10_000)
        with httpx.Client(base_url=f"http://127.0.0.1:{first.settings.port}", timeout=30,
                          headers={"authorization": f"Bearer {secret}"}) as client:
            task_id = create(client, small("@sim:delay=3"))
        remote = upstream_task(RunningGateway("", first.gateway, first.settings), upstream,
                               task_id)
        assert "callback_url" not in remote.client_request  # no public URL configured
    finally:
        first.__exit__()
    second = front(make_gateway, *providers)
    with second.client(secret) as client:
        assert wait(client, task_id)["status"] == "succeeded"
    assert [x.state.value for x in attempts_of(second, task_id)] == ["finished"]
    assert ledger_kinds(second, task_id) == ["debit"]


def test_mirrored_results_land_in_the_bucket(upstream: RunningGateway, make_gateway: Any,
                                              s3_bucket: s3.Bucket, tmp_path: Path) -> None:
    prefix, body = KINDS["ark-byteplus"]
    a = front(make_gateway, provider("b", "ark-byteplus", upstream.url + prefix),
              settings={"media_url": s3_bucket.url, "s3": s3.settings()})
    with a.client(a.new_key(credits=100_000)) as client:
        task = wait(client, create(client, body))
    assert task["status"] == "succeeded", task
    stored = s3_bucket.objects()
    assert set(stored) == {f"videos/{task['id']}.mp4", f"frames/{task['id']}.png"}
    video = tmp_path / "mirrored.mp4"
    video.write_bytes(httpx.get(task["content"]["video_url"]).content)
    assert video.read_bytes() == stored[f"videos/{task['id']}.mp4"]
    info = probe_video(video)
    assert (info.width, info.height) == (864, 496)
    assert info.duration_s == pytest.approx(4.0, abs=0.05)
    frame = httpx.get(task["content"]["last_frame_url"])
    assert frame.content == stored[f"frames/{task['id']}.png"]
    assert not a.settings.media_dir.exists()  # nothing stored on the local disk
    assert not list((a.settings.home / "mirror").rglob("*.mp4"))  # the download is gone
