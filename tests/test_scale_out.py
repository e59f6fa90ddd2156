"""seedgate scaled out as an operator runs it: PostgreSQL, Redis and S3, two API processes
and two workers, each on a "machine" of its own (its own data directory), sharing only the
database, Redis, the bucket and the signing secret; then workers and an API process are
SIGKILLed while tasks run.

It runs on the PostgreSQL pass only (`make test-postgres`): it always uses PostgreSQL,
Redis and S3, so the SQLite pass would run the same thing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from seedgate.media.probe import probe_video
from seedgate.store import schema
from seedgate.store.database import Database

from . import s3
from .conftest import POSTGRES_URL, REDIS_URL, postgres_schema
from .helpers import until
from .processes import SEEDGATE, Server, seedgate

pytestmark = pytest.mark.scale_out

BODY = {"resolution": "480p", "ratio": "1:1", "generate_audio": False, "seconds": "4"}
TASKS = 48
FAILING = {i for i in range(TASKS) if i % 4 == 3}  # refused by the simulator: refunded


@dataclass
class Deployment:
    """The shared services and one environment per machine."""

    root: Path
    shared: dict[str, str]
    database: Database
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)

    def machine(self, name: str) -> dict[str, str]:
        return {**self.shared, "SEEDGATE_HOME": str(self.root / name)}

    def api(self, name: str) -> Server:
        server = Server(self.machine(name), "--no-worker")
        self.servers.append(server)
        return server

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([*SEEDGATE, "worker"], env=self.machine(name),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers.append(process)
        return process

    def rows(self, query: sa.Select[Any]) -> list[Any]:
        with self.database.reader.connect() as conn:
            return list(conn.execute(query))


@pytest.fixture
def deployment(tmp_path: Path, namespace: str, s3_bucket: s3.Bucket) -> Iterator[Deployment]:
    with postgres_schema(POSTGRES_URL) as target:
        shared = {
            **os.environ, **s3.process_env(s3_bucket.url),
            "DATABASE_URL": target.url, "SEEDGATE_DATABASE_SCHEMA": str(target.schema),
            "SEEDGATE_REDIS_URL": REDIS_URL, "SEEDGATE_REDIS_PREFIX": namespace,
            "SEEDGATE_SECRET": "one-secret-for-every-machine",
            "SEEDGATE_LEASE_SECONDS": "2", "SEEDGATE_WORKER_POLL_INTERVAL": "0.1",
            "SEEDGATE_SIMULATOR_LATENCY": "2", "SEEDGATE_LOG_LEVEL": "WARNING",
        }
        database = Database(target.url, schema=target.schema)
        running = Deployment(tmp_path, shared, database)
        try:
            yield running
        finally:
            for server in running.servers:
                server.kill()
            for process in running.workers:
                kill(process)
            database.reader.dispose()
            database.writer.dispose()


def new_key(deployment: Deployment, name: str, *limits: str) -> str:
    return seedgate(deployment.machine("api-1"), "keys", "create", "--init", "--name", name,
                    "--credits", "1000000", "--quiet", *limits).strip()


def kill(process: subprocess.Popen[Any]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


class Creator:
    """Creates tasks the way a careful client behind a load balancer does: each with its
    own Idempotency-Key, sent to one API process and, when that one fails to answer,
    retried on the other with the same key."""

    def __init__(self, key: str, apis: list[Server]) -> None:
        self.key = key
        self.apis = apis
        self.created: dict[int, str] = {}
        self.lock = threading.Lock()

    def create(self, number: int) -> None:
        prompt = f"task {number}" + (" @sim:content_violation" if number in FAILING else "")
        headers = {"authorization": f"Bearer {self.key}", "idempotency-key": f"job-{number}"}
        deadline = time.monotonic() + 120
        for attempt in range(10_000):
            api = self.apis[(number + attempt) % len(self.apis)]
            try:
                answer = httpx.post(f"{api.url}/v1/videos", headers=headers, timeout=30,
                                    json={"prompt": prompt, **BODY})
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code == 200:
                with self.lock:
                    self.created[number] = answer.json()["id"]
                return
            # Refused connection (a killed process), 409 (the same key still in flight on
            # the process that died holding it) or 429: try again.
            assert answer is None or answer.status_code in {409, 429}, answer.text
            assert time.monotonic() < deadline, f"task {number} could not be created"
            time.sleep(0.2)

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.created)


def test_a_key_gets_its_limits_once_across_two_api_processes(deployment: Deployment) -> None:
    apis = [deployment.api("api-1"), deployment.api("api-2")]
    limited = new_key(deployment, "limited", "--rate-limit", "60")  # bursts of 10, 1 a second
    capped = new_key(deployment, "capped", "--max-concurrency", "10")

    started = time.monotonic()
    statuses = [httpx.get(f"{apis[i % 2].url}/v1/videos/video_x", timeout=30,
                          headers={"authorization": f"Bearer {limited}"}).status_code
                for i in range(40)]
    elapsed = time.monotonic() - started
    admitted = statuses.count(404)
    # One bucket of 10 for both processes, refilled once a second; counted per process the
    # key would have had 20 and then twice the refill.
    assert 10 <= admitted <= 10 + int(elapsed) + 1, (admitted, elapsed)
    assert statuses.count(429) == 40 - admitted

    # No worker runs yet: every admitted task stays unfinished and holds its place.
    def create(i: int) -> int:
        return httpx.post(f"{apis[i % 2].url}/v1/videos", json={"prompt": "capped", **BODY},
                          headers={"authorization": f"Bearer {capped}"},
                          timeout=120).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = Counter(pool.map(create, range(40)))
    assert answers == {200: 10, 429: 30}
    debits = deployment.rows(sa.select(schema.ledger.c.amount).join(
        schema.api_keys, schema.api_keys.c.id == schema.ledger.c.key_id).where(
        schema.api_keys.c.name == "capped", schema.ledger.c.kind == "debit"))
    assert len(debits) == 10


def test_killed_workers_and_api_process_lose_no_task_and_no_credit(
        deployment: Deployment, s3_bucket: s3.Bucket, tmp_path: Path) -> None:
    apis = [deployment.api("api-1"), deployment.api("api-2")]
    key = new_key(deployment, "load", "--max-concurrency", "0")
    first, second = deployment.worker("worker-1"), deployment.worker("worker-2")

    creator = Creator(key, apis)
    orphans: set[str] = set()  # tasks that a worker held when it was killed
    with ThreadPoolExecutor(max_workers=6) as pool:
        submitted = pool.map(creator.create, range(TASKS))
        until(lambda: creator.count >= TASKS // 4, "the first creates")
        apis[1].kill()  # mid-burst: its clients retry on the other process
        orphans |= until(lambda: held_by(deployment, first), "a task run by worker 1")
        kill(first)
        deployment.worker("worker-3")
        list(submitted)
    orphans |= until(lambda: held_by(deployment, second), "a task run by worker 2")
    kill(second)
    deployment.worker("worker-4")

    assert sorted(creator.created) == list(range(TASKS))
    tasks = until(lambda: finished_tasks(deployment, TASKS), "every task to finish", 300)
    assert set(tasks) == set(creator.created.values())  # none lost, none twice

    outcome = {number: tasks[task_id] for number, task_id in creator.created.items()}
    assert {n for n, status in outcome.items() if status == "failed"} == FAILING
    assert all(outcome[n] == "succeeded" for n in range(TASKS) if n not in FAILING)

    ledger = deployment.rows(sa.select(schema.ledger.c.task_id, schema.ledger.c.kind))
    kinds = Counter((task_id, kind) for task_id, kind in ledger if task_id in tasks)
    for number, task_id in creator.created.items():
        assert kinds[(task_id, "debit")] == 1
        assert kinds[(task_id, "refund")] == (1 if number in FAILING else 0)
    assert_balances_match_ledgers(deployment)
    leases = dict(deployment.rows(sa.select(schema.tasks.c.id, schema.tasks.c.attempts)))
    assert all(leases[task_id] >= 2 for task_id in orphans)  # taken over after the kill

    objects = s3_bucket.objects()
    survivor = apis[0].client(key)
    for number, task_id in creator.created.items():
        if number in FAILING:
            continue
        content = survivor.get(f"/v1/videos/{task_id}/content")
        assert content.status_code == 200
        assert content.content == objects[f"videos/{task_id}.mp4"]
        clip = tmp_path / f"{task_id}.mp4"
        clip.write_bytes(content.content)
        video = probe_video(clip)
        assert (video.width, video.height) == (640, 640) and round(video.duration_s) == 4


def held_by(deployment: Deployment, worker: subprocess.Popen[Any]) -> set[str]:
    """The running tasks that this worker process holds the lease of."""
    return {task_id for task_id, in deployment.rows(sa.select(schema.tasks.c.id).where(
        schema.tasks.c.status == "running",
        schema.tasks.c.lease_owner.like(f"%:{worker.pid}:%")))}


def finished_tasks(deployment: Deployment, expected: int) -> dict[str, str] | None:
    """Every task's status, once `expected` of them exist and all are finished."""
    rows = deployment.rows(sa.select(schema.tasks.c.id, schema.tasks.c.status).join(
        schema.api_keys, schema.api_keys.c.id == schema.tasks.c.key_id).where(
        schema.api_keys.c.name == "load"))
    statuses = dict(rows)
    done = {"succeeded", "failed", "cancelled", "expired"}
    if len(statuses) < expected or not set(statuses.values()) <= done:
        return None
    return statuses


def assert_balances_match_ledgers(deployment: Deployment) -> None:
    sums = dict(deployment.rows(sa.select(schema.ledger.c.key_id, sa.func.sum(
        schema.ledger.c.amount)).group_by(schema.ledger.c.key_id)))
    balances = deployment.rows(sa.select(schema.balances.c.key_id, schema.balances.c.balance,
                                         schema.balances.c.active_tasks))
    assert balances
    for key_id, balance, active in balances:
        assert balance == sums[key_id]
        assert active == 0  # every finished task gave its place back
