"""The gateway as separate processes, started the way an operator starts it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from seedgate.media.config import parse_media_url
from seedgate.media.probe import probe_video

from . import s3
from .conftest import DatabaseTarget
from .helpers import wait_for_status
from .processes import SEEDGATE, Server, seedgate


@pytest.fixture
def env(tmp_path: Path, database: DatabaseTarget) -> Iterator[dict[str, str]]:
    values = {
        **os.environ, "SEEDGATE_HOME": str(tmp_path / "home"), "DATABASE_URL": database.url,
        "SEEDGATE_LEASE_SECONDS": "2", "SEEDGATE_WORKER_POLL_INTERVAL": "0.1",
        "SEEDGATE_LOG_LEVEL": "WARNING", "SEEDGATE_SIMULATOR_LATENCY": "0",
    }
    if database.schema:
        values["SEEDGATE_DATABASE_SCHEMA"] = database.schema
    media = s3.media_overrides()
    if media:
        values.update(s3.process_env(media["media_url"]))
    yield values
    if media:
        s3.empty(parse_media_url(media["media_url"]))


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def test_cli_manages_keys_and_credits(env: dict[str, str]) -> None:
    secret = seedgate(env, "keys", "create", "--name", "acme", "--credits", "300",
                      "--quiet", "--init").strip()
    assert secret.startswith("sg_") and "\n" not in secret
    assert "acme" in seedgate(env, "keys", "list")
    assert "balance: 350" in seedgate(env, "credits", "add", secret, "50")
    assert "acme: 350 (unfinished tasks: 0" in seedgate(env, "credits", "show", "acme")
    assert "revoked" in seedgate(env, "keys", "revoke", "acme")
    assert "revoked" in seedgate(env, "keys", "list")
    failed = subprocess.run([*SEEDGATE, "credits", "add", "nobody", "5"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert failed.returncode == 2 and "nobody" in failed.stderr



def test_cli_sets_and_changes_a_keys_limits(env: dict[str, str]) -> None:
    seedgate(env, "keys", "create", "--init", "--name", "capped", "--credits", "1000",
             "--max-concurrency", "3", "--daily-spend", "500", "--allow-ip", "10.0.0.0/8",
             "--models", "bytedance/seedance-1.5-pro")
    listed = seedgate(env, "keys", "list")
    assert "concurrency 3" in listed and "spend 500/day, unlimited/month" in listed
    assert "IPs 10.0.0.0/8" in listed and "models seedance-1-5-pro" in listed
    changed = seedgate(env, "keys", "update", "capped", "--daily-spend", "none",
                       "--monthly-spend", "9000", "--allow-ip", "")
    assert "spend unlimited/day, 9000/month" in changed and "IPs any" in changed
    assert "concurrency 3" in changed  # what was not given stays
    assert "unfinished tasks: 0; spent today: 0" in seedgate(env, "credits", "show", "capped")
    for wrong in (["--models", "sora-2"], ["--max-concurrency", "many"],
                  ["--allow-ip", "10.0.0.0/99"], []):
        failed = subprocess.run([*SEEDGATE, "keys", "update", "capped", *wrong], env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert failed.returncode == 2 and failed.stderr.startswith("seedgate: "), wrong

def test_first_start_prints_a_working_dev_key(env: dict[str, str],
                                              servers: list[Server]) -> None:
    server = Server(env)
    servers.append(server)
    assert httpx.get(f"{server.url}/api/status").status_code == 401
    output = server.output()
    key = next(word for word in output.split() if word.startswith("sg_"))
    assert "curl" in output and "/api/generate" in output
    second = Server(env)
    servers.append(second)
    with second.client(key) as client:
        created = client.post("/api/generate", json={
            "prompt": "Drone shot over neon night market", "aspect_ratio": "16:9",
            "duration": "5", "sound": False})
        assert created.status_code == 200, created.text
    assert "sg_" not in second.output()  # shown again only to a terminal


def test_kill_9_mid_task_and_the_task_completes_after_restart(
    env: dict[str, str], servers: list[Server]
) -> None:
    env = {**env, "SEEDGATE_SIMULATOR_LATENCY": "3"}
    key = seedgate(env, "keys", "create", "--name", "k", "--credits", "1000", "--quiet",
                   "--init").strip()
    first = Server(env)
    servers.append(first)
    with first.client(key) as client:
        task_id = client.post("/api/generate", json={
            "prompt": "survives a crash", "aspect_ratio": "1:1", "duration": "5"},
        ).json()["data"]["task_id"]
        time.sleep(1.0)  # leased, submitted and rendering
        assert client.get("/api/status", params={"task_id": task_id}).json()["data"][
            "status"] == "IN_PROGRESS"
    first.kill()
    second = Server(env)
    servers.append(second)
    with second.client(key) as client:
        data = wait_for_status(client, task_id, {"SUCCESS", "FAILED"}, timeout=60)
    assert data["status"] == "SUCCESS", data
    assert data["consumed_credits"] == 65
    assert "k: 935" in seedgate(env, "credits", "show", "k")


def test_api_only_server_and_a_separate_worker(env: dict[str, str],
                                               servers: list[Server]) -> None:
    key = seedgate(env, "keys", "create", "--name", "k", "--credits", "1000", "--quiet",
                   "--init").strip()
    api = Server(env, "--no-worker")
    servers.append(api)
    with api.client(key) as client:
        task_id = client.post("/api/generate", json={
            "prompt": "made by a worker", "aspect_ratio": "16:9", "duration": "5"},
        ).json()["data"]["task_id"]
        time.sleep(0.5)
        assert client.get("/api/status", params={"task_id": task_id}).json()["data"][
            "status"] == "IN_PROGRESS"
        worker = subprocess.Popen([*SEEDGATE, "worker"], env=env)
        try:
            data = wait_for_status(client, task_id, {"SUCCESS", "FAILED"}, timeout=60)
        finally:
            worker.terminate()
            assert worker.wait(timeout=30) == 0
    assert data["status"] == "SUCCESS", data


def test_two_instances_run_side_by_side(env: dict[str, str], tmp_path: Path,
                                        servers: list[Server]) -> None:
    homes = [tmp_path / "a", tmp_path / "b"]
    envs = [{**env, "SEEDGATE_HOME": str(home), "DATABASE_URL": f"sqlite:///{home}/db.sqlite"}
            for home in homes]
    for instance_env in envs:
        instance_env.pop("SEEDGATE_DATABASE_SCHEMA", None)
    keys = [seedgate(e, "keys", "create", "--init", "--name", "k", "--credits", "100",
                     "--quiet").strip() for e in envs]
    running = [Server(e) for e in envs]
    servers.extend(running)
    for server, key, other in zip(running, keys, reversed(keys), strict=True):
        with server.client(key) as client:
            created = client.post("/api/generate", json={
                "prompt": "side by side", "aspect_ratio": "1:1", "duration": "5"})
            assert created.status_code == 200
        with server.client(other) as client:  # each instance has its own keys
            assert client.get("/api/status", params={"task_id": "x"}).status_code == 401
    assert all((home / "db.sqlite").exists() for home in homes)


def test_first_start_prints_the_console_and_an_admin_token_that_rotates(
    env: dict[str, str], servers: list[Server],
) -> None:
    server = Server(env)
    servers.append(server)
    output = server.output()
    assert f"Console: http://127.0.0.1:{server.port}/console" in output
    token = next(word for word in output.split() if word.startswith("sga_"))
    second = Server(env)
    servers.append(second)
    admin = {"authorization": f"Bearer {token}"}
    keys = httpx.get(f"{second.url}/admin/v1/keys", headers=admin)
    assert keys.status_code == 200 and [k["name"] for k in keys.json()["data"]] == ["dev"]
    rotated = seedgate(env, "admin", "token", "--rotate").split()[-1]
    assert rotated.startswith("sga_") and rotated != token
    deadline = time.monotonic() + 60  # a running server honours it within seconds
    while httpx.get(f"{second.url}/admin/v1/keys", headers=admin).status_code != 401:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert httpx.get(f"{second.url}/admin/v1/keys",
                     headers={"authorization": f"Bearer {rotated}"}).status_code == 200
    again = subprocess.run([*SEEDGATE, "admin", "token"], env=env, capture_output=True,
                           text=True, timeout=60, check=False)
    assert again.returncode == 1 and "cannot be shown again" in again.stdout
    assert "sga_" not in second.output()  # the token is shown on first start only


def test_a_worker_on_another_machine_stores_what_the_api_serves(
        env: dict[str, str], tmp_path: Path, servers: list[Server], s3_bucket: s3.Bucket
) -> None:
    """Two machines (two homes, nothing shared on disk) with one database, one signing
    secret and one bucket: the worker's video downloads through the API server."""
    shared = {**env, **s3.process_env(s3_bucket.url), "SEEDGATE_SECRET": "one-for-all"}
    api_env = {**shared, "SEEDGATE_HOME": str(tmp_path / "api")}
    worker_env = {**shared, "SEEDGATE_HOME": str(tmp_path / "worker")}
    key = seedgate(api_env, "keys", "create", "--init", "--name", "k", "--credits", "1000",
                   "--quiet").strip()
    api = Server(api_env, "--no-worker")
    servers.append(api)
    worker = subprocess.Popen([*SEEDGATE, "worker"], env=worker_env)
    try:
        with api.client(key) as client:
            task_id = client.post("/api/generate", json={
                "prompt": "made elsewhere", "aspect_ratio": "1:1", "duration": "5"},
            ).json()["data"]["task_id"]
            data = wait_for_status(client, task_id, {"SUCCESS", "FAILED"}, timeout=60)
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0
    assert data["status"] == "SUCCESS", data
    assert f"videos/{task_id}.mp4" in s3_bucket.objects()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(httpx.get(data["response"][0]).content)
    info = probe_video(clip)
    assert (info.width, info.height) == (960, 960)
    assert info.duration_s == pytest.approx(5.0, abs=0.05)
    assert not any((tmp_path / home / "media").exists() for home in ("api", "worker"))


def test_a_port_in_use_is_a_clear_error_at_start(env: dict[str, str],
                                                 servers: list[Server]) -> None:
    first = Server(env)
    servers.append(first)
    second = subprocess.run([*SEEDGATE, "serve", "--port", str(first.port)], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert second.returncode == 2
    assert f"port {first.port} on 127.0.0.1 is already in use" in second.stderr
    assert httpx.get(f"{first.url}/healthz").status_code == 200  # the first serves on


def test_workers_serve_one_port_and_their_metrics_add_up(env: dict[str, str],
                                                         servers: list[Server]) -> None:
    token = "a-metrics-token-of-the-tests"
    server = Server({**env, "SEEDGATE_METRICS_TOKEN": token}, "--workers", "2")
    servers.append(server)
    processes: set[str] = set()  # each process numbers its request ids after a prefix
    sent = 0
    deadline = time.monotonic() + 120
    while len(processes) < 2:
        assert time.monotonic() < deadline, f"one process answered everything: {processes}"
        reply = httpx.get(f"{server.url}/healthz")  # a new connection each time
        assert reply.status_code == 200
        processes.add(reply.headers["x-request-id"][:8])
        sent += 1
    def counted() -> float:
        scraped = httpx.get(f"{server.url}/metrics",
                            headers={"authorization": f"Bearer {token}"}).text
        return sum(sample.value for family in text_string_to_metric_families(scraped)
                   for sample in family.samples
                   if sample.name == "seedgate_http_requests_total"
                   and sample.labels["route"] == "/healthz")

    # Both processes' counts, whichever one answers the scrape (each moves its tally into
    # the shared files every second).
    deadline = time.monotonic() + 60
    while (seen := counted()) != sent:
        assert seen < sent and time.monotonic() < deadline, (seen, sent)
        time.sleep(0.2)


def test_json_access_log_and_private_files(env: dict[str, str], servers: list[Server]
                                           ) -> None:
    """On its own SQLite database: the data directory's secrets are readable by their
    owner only, and the JSON access log names the key, never the key itself."""
    env = {name: value for name, value in env.items()
           if name not in ("DATABASE_URL", "SEEDGATE_DATABASE_SCHEMA")}
    server = Server({**env, "SEEDGATE_ACCESS_LOG": "json", "SEEDGATE_LOG_LEVEL": "INFO"})
    servers.append(server)
    key = seedgate(env, "keys", "create", "--name", "acme", "--quiet").strip()  # besides dev
    with server.client(key) as client:
        reply = client.get("/api/status", params={"task_id": "task_missing"})
    assert reply.status_code == 404
    output = server.output()
    lines = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
    [line] = [line for line in lines if line.get("request_id") == reply.headers["x-request-id"]]
    assert line["logger"] == "seedgate.access" and line["key"] == "acme"
    assert (line["dialect"], line["route"], line["status"]) == ("seedance15pro",
                                                                "/api/status", 404)
    assert key not in output
    home = Path(env["SEEDGATE_HOME"])
    private = [home / name for name in ("seedgate.db", "secret.key", "dev-key.sealed")]
    private += home.glob("seedgate.db-*")
    assert {path.name: oct(path.stat().st_mode & 0o777) for path in private} == {
        path.name: "0o600" for path in private}
