"""State shared between processes through a real Redis on loopback: rate limits, notices
(a change, a delete, a callback in one process heard in another), the circuit breaker and
learned generation times; and what happens while Redis is away.

Gateways here are processes of one deployment: one database, one Redis namespace.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from seedgate.providers.health import Breaker
from seedgate.shared.bus import RedisBus, Topic
from seedgate.shared.health import RedisHealth
from seedgate.shared.link import RedisLink
from seedgate.shared.timings import RedisPollSchedule

from .conftest import REDIS_URL, free_port
from .helpers import wait_for_status
from .test_providers import FAST_ROUTING, ark, create, small, wait

SEED = {"prompt": "Fog rolling over a harbour", "aspect_ratio": "16:9", "duration": "5",
        "sound": False}


def until(condition: Any, what: str, timeout: float = 60.0) -> Any:
    """Wait for `condition()` to be truthy (generously: the machine may be busy)."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


@pytest.fixture
def deployment(make_gateway: Any, namespace: str) -> Any:
    """Start processes of one deployment sharing Redis, whatever the suite's settings."""

    def start(**overrides: Any) -> Any:
        return make_gateway(**{"redis_url": REDIS_URL, "redis_prefix": namespace, **overrides})

    return start


# -- rate limits ----------------------------------------------------------------------


def test_a_keys_rate_limit_holds_across_processes(deployment: Any) -> None:
    first, second = deployment(worker=False), deployment(worker=False)
    secret = first.new_key(rate_limit=6)  # a burst of one request, then one each 10 s
    with first.client(secret) as a, second.client(secret) as b:
        assert a.get("/api/status", params={"task_id": "task_x"}).status_code == 404
        limited = b.get("/api/status", params={"task_id": "task_x"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_without_redis_each_process_counts_alone(make_gateway: Any) -> None:
    first = make_gateway(worker=False, redis_url=None)
    second = make_gateway(worker=False, redis_url=None)
    secret = first.new_key(rate_limit=6)
    for gateway in (first, second):
        with gateway.client(secret) as client:
            assert client.get("/api/status", params={"task_id": "task_x"}).status_code == 404


def test_many_concurrent_checks_are_exact(deployment: Any) -> None:
    """Checks batched into one script call still count one token each."""
    gateway = deployment(worker=False)
    secret = gateway.new_key(rate_limit=600)  # bursts of 100

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=60,
                                     limits=httpx.Limits(max_connections=300),
                                     headers={"authorization": f"Bearer {secret}"}) as client:
            answers = await asyncio.gather(*(client.get("/api/status", params={
                "task_id": "task_x"}) for _ in range(300)))
        return [answer.status_code for answer in answers]

    statuses = asyncio.run(burst())
    # 100 tokens, plus the few that trickle in while the burst is served (10 a second).
    assert 100 <= statuses.count(404) <= 100 + 10 * 60 and statuses.count(429) >= 1
    assert set(statuses) == {404, 429}


# -- notices between processes --------------------------------------------------------


def test_a_delete_in_one_process_empties_every_processs_cache(deployment: Any) -> None:
    api, worker = deployment(worker=False), deployment()
    secret = api.new_key()
    with api.client(secret) as a, worker.client(secret) as w:
        task_id = a.post("/api/generate", json=SEED).json()["data"]["task_id"]
        wait_for_status(w, task_id, {"SUCCESS"})
        assert w.get(f"/v1/videos/{task_id}").json()["status"] == "completed"  # cached
        assert a.delete(f"/v1/videos/{task_id}").json()["deleted"] is True
        until(lambda: w.get(f"/v1/videos/{task_id}").status_code == 404, "the delete notice")
        assert w.get("/api/status", params={"task_id": task_id}).status_code == 404


def test_prefer_wait_and_events_follow_a_task_run_by_another_process(
        deployment: Any) -> None:
    api, _worker = deployment(worker=False, simulator_latency=1.0), deployment()
    secret = api.new_key()
    with api.client(secret) as client:
        video = client.post("/v1/videos", json={"prompt": "a heron", "seconds": "4",
                                                "size": "864x496"},
                            headers={"prefer": "wait=90"}).json()
        assert video["status"] == "completed"
        second = client.post("/v1/videos", json={"prompt": "a crane", "seconds": "4",
                                                 "size": "864x496"}).json()["id"]
        with client.stream("GET", f"/v1/videos/{second}/events", timeout=90) as stream:
            statuses = [line for line in stream.iter_lines() if line.startswith("data:")]
    assert '"status":"completed"' in statuses[-1]


def test_a_callback_to_one_process_wakes_the_worker_in_another(
        upstream: Any, make_gateway: Any, namespace: str) -> None:
    """The upstream calls back to the API process; the worker holding the task is another
    process, whose next scheduled poll is minutes away, and reads do not refresh."""
    port = free_port()
    providers = [ark("b", upstream.url)]
    routing = {**FAST_ROUTING, "callback_url": f"http://127.0.0.1:{port}",
               "expected_generation": 300, "poll_min": 300, "poll_max": 300,
               "read_refresh": 0}
    shared = {"redis_url": REDIS_URL, "redis_prefix": namespace}
    api = make_gateway(worker=False, port=port, providers=providers, routing=routing,
                       **shared)
    make_gateway(providers=providers, routing=routing, **shared)
    with api.client(api.new_key()) as client:
        task_id = create(client, small())
        assert wait(client, task_id, timeout=90)["status"] == "succeeded"


# -- circuit breaker and learned timings ---------------------------------------------


async def two_processes(namespace: str) -> tuple[RedisLink, RedisLink]:
    return RedisLink(REDIS_URL, namespace), RedisLink(REDIS_URL, namespace)


def test_the_circuit_breaker_is_shared(namespace: str) -> None:
    async def scenario() -> None:
        links = await two_processes(namespace)
        a, b = (RedisHealth(failures=2, cooldown_s=1.0, link=link) for link in links)
        try:
            await a.failed("ark")
            await b.failed("ark")  # the second failure, counted across both
            assert a.breaker("ark") is Breaker.OPEN or await a.refresh(["ark"]) is None
            await a.refresh(["ark"])
            assert a.resting("ark") and b.resting("ark")
            assert not await b.admit("ark")
            await asyncio.sleep(1.2)
            await a.refresh(["ark"])
            await b.refresh(["ark"])
            assert a.breaker("ark") is b.breaker("ark") is Breaker.HALF_OPEN
            trials = [await a.admit("ark"), await b.admit("ark")]
            assert trials.count(True) == 1  # one trial among all processes
            await b.succeeded("ark", 0.5)
            await a.refresh(["ark"])
            assert a.breaker("ark") is Breaker.CLOSED
            assert a.latency("ark") == pytest.approx(0.1)  # 0 + 0.2 * (0.5 - 0)
        finally:
            for link in links:
                await link.close()

    asyncio.run(scenario())


def test_learned_generation_times_are_shared(namespace: str) -> None:
    async def scenario() -> None:
        links = await two_processes(namespace)
        a, b = (RedisPollSchedule(60, 2, 30, link) for link in links)
        try:
            await a.observe("ark", "seedance-1-5-pro", 20)
            await b.observe("ark", "seedance-1-5-pro", 30)  # 20 + 0.3 * (30 - 20)
            assert b.expected("ark", "seedance-1-5-pro") == pytest.approx(23)
            await a.refresh()
            assert a.expected("ark", "seedance-1-5-pro") == pytest.approx(23)
            assert a.expected("ark", "other") == 60
        finally:
            for link in links:
                await link.close()

    asyncio.run(scenario())


def test_notices_reach_the_other_processes_watchers_and_listeners(namespace: str) -> None:
    async def scenario() -> None:
        links = await two_processes(namespace)
        a, b = RedisBus(links[0]), RedisBus(links[1])
        heard: list[str] = []
        b.subscribe(Topic.DELETED, heard.append)
        await a.start()
        await b.start()
        try:
            await until_async(lambda: a.fallback_s == b.fallback_s == 5.0)
            heard.clear()  # the start's "anything may have changed"
            with b.watch("task_1") as changed:
                a.publish(Topic.TASK, "task_1")
                a.publish(Topic.DELETED, "task_2")
                await asyncio.wait_for(changed.wait(), 30)
            await until_async(lambda: heard == ["task_2"])
        finally:
            await a.stop()
            await b.stop()
            for link in links:
                await link.close()

    asyncio.run(scenario())


async def until_async(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


# -- Redis going away -----------------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own on a free loopback port, to stop and start."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (make test installs it)"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until(self._answers, "redis-server to start", timeout=30)

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_the_gateway_keeps_serving_while_redis_is_away_and_reconnects(
        make_gateway: Any, own_redis: RedisServer) -> None:
    gateway = make_gateway(redis_url=own_redis.url, redis_prefix="outage")
    secret, limited = gateway.new_key(), gateway.new_key(rate_limit=6)
    with gateway.client(secret) as client, gateway.client(limited) as slow:
        assert slow.get("/api/status", params={"task_id": "task_x"}).status_code == 404
        assert slow.get("/api/status", params={"task_id": "task_x"}).status_code == 429
        own_redis.stop()
        # Tasks are created, run and read; limits fall back to this process's buckets.
        task_id = client.post("/api/generate", json=SEED).json()["data"]["task_id"]
        assert wait_for_status(client, task_id, {"SUCCESS"})["consumed_credits"] == 65
        until(lambda: not gateway.gateway.redis.up, "the outage to be noticed")
        assert slow.get("/api/status", params={"task_id": "task_x"}).status_code == 404
        assert slow.get("/api/status", params={"task_id": "task_x"}).status_code == 429
        own_redis.start()
        until(lambda: gateway.gateway.redis.up, "Redis to be reachable again")
        until(lambda: gateway.gateway.bus.fallback_s == 5.0, "the notice channel")
        second = client.post("/api/generate", json=SEED).json()["data"]["task_id"]
        assert wait_for_status(client, second, {"SUCCESS"})["status"] == "SUCCESS"
    assert gateway.balance(secret) == 10_000 - 2 * 65
