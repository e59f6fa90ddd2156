"""What operators see and rely on, against live gateways: liveness and readiness (with the
database, Redis and the object storage taken away for real), Prometheus metrics scraped
over HTTP after real traffic, the access log, read timeouts on half-sent requests, and
webhook deliveries cancelled with their task."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from seedgate.clock import now_ms
from seedgate.ops.access import JsonFormatter
from seedgate.store import webhooks as delivery_store
from seedgate.webhooks.delivery import SCHEDULE_S

from . import s3
from .conftest import POSTGRES_URL, RunningGateway, free_port, postgres_schema
from .helpers import until, wait_for_status
from .receiver import Answer, Receiver
from .tcpproxy import TcpProxy

TOKEN = "metrics-token-for-the-tests"
VIOLATION = "a fox in the snow @sim:content_violation"
GENERATE = {"prompt": "Drone shot over neon night market", "aspect_ratio": "16:9",
            "duration": "5", "sound": False}


def readiness(gateway: RunningGateway) -> tuple[int, dict[str, Any]]:
    reply = httpx.get(f"{gateway.url}/readyz", timeout=30)
    return reply.status_code, reply.json()


def test_alive_and_ready_with_every_check_named(gateway: RunningGateway) -> None:
    alive = httpx.get(f"{gateway.url}/healthz")
    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
    status, body = readiness(gateway)
    expected = {"database", "storage"} | ({"redis"} if gateway.settings.redis_url else set())
    assert status == 200, body
    assert body == {"status": "ready", "checks": dict.fromkeys(expected, "ok")}


def test_not_ready_while_postgresql_is_unreachable(
    make_gateway: Callable[..., RunningGateway]
) -> None:
    with postgres_schema(POSTGRES_URL) as target, TcpProxy(5432) as proxy:
        url = target.url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        assert url != target.url
        gateway = make_gateway(worker=False, database_url=url,
                               database_schema=target.schema)
        assert readiness(gateway)[0] == 200
        proxy.stop()
        status, body = readiness(gateway)
        assert status == 503 and body["status"] == "unavailable"
        assert body["checks"]["database"].startswith("unavailable")
        assert body["checks"]["storage"] == "ok"
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200  # alive all the same


def test_not_ready_while_redis_is_unreachable(
    make_gateway: Callable[..., RunningGateway], namespace: str
) -> None:
    gateway = make_gateway(worker=False, redis_url=f"redis://127.0.0.1:{free_port()}/0",
                           redis_prefix=namespace)
    status, body = readiness(gateway)
    assert status == 503 and body["checks"]["redis"].startswith("unavailable")
    assert body["checks"]["database"] == "ok"


def test_not_ready_while_the_object_storage_is_unreachable(
    make_gateway: Callable[..., RunningGateway]
) -> None:
    gateway = make_gateway(worker=False, media_url="s3://sg-unreachable/media",
                           s3=s3.settings(f"http://127.0.0.1:{free_port()}"))
    status, body = readiness(gateway)
    assert status == 503 and body["checks"]["storage"].startswith("unavailable")
    assert "sg-unreachable" in body["checks"]["storage"]
    assert body["checks"]["database"] == "ok"


def scrape(gateway: RunningGateway) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics: (name, labels) -> value."""
    reply = httpx.get(f"{gateway.url}/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 200, reply.text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(reply.text)
            for sample in family.samples}


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def test_metrics_count_real_traffic(make_gateway: Callable[..., RunningGateway]) -> None:
    gateway = make_gateway(metrics_token=TOKEN)
    assert httpx.get(f"{gateway.url}/metrics").status_code == 401
    assert httpx.get(f"{gateway.url}/metrics",
                     headers={"authorization": "Bearer wrong"}).status_code == 401
    before = scrape(gateway)
    key = gateway.new_key(allowed_models=("seedance-1-5-pro",))
    with gateway.client(key) as client:
        task_id = client.post("/api/generate", json=GENERATE).json()["data"]["task_id"]
        wait_for_status(client, task_id, {"SUCCESS"})
        run = client.post("/api/v1/runs", json={"model": "bytedance/seedance-1.5-pro",
                                                "input": {"prompt": "a quiet harbour"}})
        assert run.status_code == 200, run.text
        assert client.get(f"/api/v1/runs/{run.json()['id']}").status_code == 200
        refused = client.post("/v1/videos", json={"prompt": "x", "model": "seedance-1-0-pro"})
        assert refused.status_code == 403, refused.text
    after = scrape(gateway)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("seedgate_http_requests_total", dialect="seedance15pro", route="/api/status",
                 method="GET", status="200") >= 1
    assert moved("seedgate_http_requests_total", dialect="runbase",
                 route="/api/v1/runs/{run_id}", status="200") == 1
    assert moved("seedgate_http_request_duration_seconds_count", dialect="seedance15pro",
                 route="/api/generate") == 1
    assert moved("seedgate_tasks_created_total", model="seedance-1-5-pro") == 2
    assert moved("seedgate_tasks_finished_total", model="seedance-1-5-pro",
                 outcome="succeeded") >= 1
    assert moved("seedgate_credits_debited_total") >= 65
    assert moved("seedgate_upstream_calls_total", operation="submit") >= 1
    assert moved("seedgate_upstream_call_duration_seconds_count", operation="poll") >= 1
    assert moved("seedgate_refusals_total", limit="model") == 1
    assert ("seedgate_queue_depth", frozenset()) in after
    assert ("seedgate_queue_oldest_age_seconds", frozenset()) in after
    provider = next(iter(gateway.gateway.router.routes))
    assert after[("seedgate_provider_breaker_state",
                  frozenset({("provider", provider)}))] == 0
    # Routes are templates: no task id ever becomes a label.
    assert not any(task_id in str(labels) for _, labels in after)


def test_metrics_are_off_without_a_token(gateway: RunningGateway) -> None:
    assert httpx.get(f"{gateway.url}/metrics").status_code == 404


def test_one_access_line_per_request_names_the_key_never_its_secret(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = gateway.new_key(name="acme-prod")
    with gateway.client(key) as client:
        reply = client.get("/api/v1/runs/run_missing")
    assert reply.status_code == 404
    request_id = reply.headers["x-request-id"]
    lines = until(lambda: [r for r in caplog.records if r.name == "seedgate.access"
                                and r.access["request_id"] == request_id], "the access line")
    [line] = lines
    fields = line.access
    assert fields["key"] == "acme-prod" and fields["dialect"] == "runbase"
    assert fields["route"] == "/api/v1/runs/{run_id}" and fields["status"] == 404
    assert fields["method"] == "GET" and fields["duration_ms"] >= 0
    as_json = orjson.loads(JsonFormatter().format(line))
    assert as_json["logger"] == "seedgate.access" and as_json["key"] == "acme-prod"
    assert key not in caplog.text


def half_sent(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(data)
    return sock


def closed_by_server(sock: socket.socket, timeout: float = 60.0) -> bytes:
    """Everything the server sent until it closed the connection (fails if it stays open)."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the server kept a half-sent request open {timeout} s: {received!r}")
    finally:
        sock.close()
    return received


def test_half_sent_requests_are_cut_off(make_gateway: Callable[..., RunningGateway]) -> None:
    gateway = make_gateway(worker=False, header_read_timeout=2, body_read_timeout=2)
    port = gateway.settings.port
    headers = half_sent(port, b"GET /api/status HTTP/1.1\r\nHost: x\r\nAuthor")
    body = half_sent(port, b"POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: "
                           b"application/json\r\nContent-Length: 1000\r\n\r\n{\"prompt\"")
    form = half_sent(port, b"POST /console/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: "
                           b"application/x-www-form-urlencoded\r\nContent-Length: 500\r\n"
                           b"\r\ntoken=sga_")
    closed_by_server(headers)
    for sock in (body, form):  # a dialect's route, and a Starlette one
        answer = closed_by_server(sock)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"request_timeout" in answer
    with gateway.client() as client:  # whole requests are served as ever
        assert client.get("/healthz").status_code == 200


def test_deleting_a_task_cancels_its_pending_webhook_deliveries(
    gateway: RunningGateway, tmp_path: Path
) -> None:
    with Receiver() as receiver:
        receiver.answer("/failing", Answer(500))
        with gateway.client(gateway.new_key()) as client:
            video_id = client.post("/v1/videos", json={
                "prompt": VIOLATION, "webhook": {"url": receiver.url("/failing")}}).json()["id"]
            deliveries = partial(delivery_store.deliveries_of, task_id=video_id)
            until(lambda: [d for d in gateway.gateway.db.read_sync(deliveries)
                                if d.attempts == 1], "the first attempt")
            assert client.delete(f"/v1/videos/{video_id}").status_code == 200
        [delivery] = gateway.gateway.db.read_sync(deliveries)
        assert delivery.status == "cancelled" and delivery.last_error == "The task was deleted."
        engine = gateway.gateway.deliveries
        assert engine is not None
        engine.clock = lambda: now_ms() + SCHEDULE_S[1] * 1000 + 1000  # the retry is due
        # A later delivery goes out: the engine ran a round in which the retry was due.
        with gateway.client(gateway.new_key()) as client:
            client.post("/v1/videos", json={
                "prompt": VIOLATION, "webhook": {"url": receiver.url("/probe")}})
        receiver.wait_for("/probe", 1, timeout=60)
        assert len(receiver.at("/failing")) == 1
        assert gateway.gateway.db.read_sync(deliveries)[0].attempts == 1
