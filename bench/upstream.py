"""Upstream tracking at scale: one `seedgate serve` process (HTTP and worker) tracks
thousands of in-flight tasks at a light Ark emulator (`bench/ark_emulator.py`), with
upstream callbacks.

Measured: the gateway's peak RSS while every task is in flight, the upstream calls per task
(create, status calls, and the final delete, counted by the emulator), and the delay from
the emulator completing a job to the gateway showing the task succeeded (the job's
completion time at the emulator vs the task's `completed_at`, both wall clock on this
machine), whose p99 must stay within 1 s.

    .venv/bin/python bench/upstream.py [--tasks 10000] [--min-s 120] [--max-s 480]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from run import (
    HOST,
    REPO,
    Server,
    create_key,
    free_port,
    log,
    seedgate_bin,
    server_env,
)

RSS_TARGET_MB = 500
DELAY_P99_TARGET_S = 1.0
KEY_ENV = "BENCH_UPSTREAM_KEY"
RESULTS = REPO / "bench" / "results" / "upstream.json"
CREATE_BODY = {"model": "seedance-1-0-pro-fast-251015", "resolution": "480p", "duration": 2,
               "content": [{"type": "text", "text": "a kite over the sea"}]}


def config(emulator: str, gateway: str, args: argparse.Namespace) -> str:
    expected = (args.min_s + args.max_s) / 2
    return f"""
[routing]
max_connections = {args.connections}
expected_generation = {expected}
poll_min = 30.0
poll_max = 120.0
callback_url = "{gateway}"

[[providers]]
name = "emulator"
kind = "ark-byteplus"
base_url = "{emulator}/api/v3"
api_key_env = "{KEY_ENV}"
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, rss_mb(self.pid))


async def submit_all(url: str, key: str, count: int) -> list[str]:
    """Create `count` tasks, 64 requests at a time."""
    ids: list[str] = []
    queue = iter(range(count))
    async with httpx.AsyncClient(base_url=url, timeout=60,
                                 headers={"authorization": f"Bearer {key}"}) as client:
        async def creator() -> None:
            for _ in queue:
                response = await client.post("/api/v3/contents/generations/tasks",
                                             json=CREATE_BODY)
                response.raise_for_status()
                ids.append(response.json()["id"])
        await asyncio.gather(*(creator() for _ in range(64)))
    return ids


def gateway_tasks(home: Path) -> dict[str, tuple[str, str | None, int | None]]:
    with contextlib.closing(sqlite3.connect(f"file:{home / 'seedgate.db'}?mode=ro", uri=True,
                                            timeout=10)) as conn:
        rows = conn.execute("SELECT id, status, upstream_id, completed_at FROM tasks")
        return {row[0]: (row[1], row[2], row[3]) for row in rows}


def wait_until_done(home: Path, count: int, timeout_s: float) -> None:
    """Until every task finished, or `timeout_s` passed (the report then says how many
    did not)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tasks = gateway_tasks(home)
        unfinished = sum(1 for status, _, _ in tasks.values() if status in ("queued", "running"))
        if len(tasks) >= count and not unfinished:
            return
        log(f"{unfinished} tasks unfinished")
        time.sleep(5)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    emulator_port, gateway_port = free_port(), free_port()
    emulator = Server("ark-emulator", [sys.executable, str(REPO / "bench" / "ark_emulator.py"),
                                       str(emulator_port), str(args.min_s), str(args.max_s)],
                      server_env(None), emulator_port, workdir / "emulator.log")
    home = workdir / "gateway"
    home.mkdir()
    gateway_url = f"http://{HOST}:{gateway_port}"
    (home / "seedgate.toml").write_text(config(emulator.base_url, gateway_url, args))
    env = {**server_env(home), KEY_ENV: "bench-upstream-key",
           "SEEDGATE_WORKER_CONCURRENCY": str(args.tasks + 100), "SEEDGATE_RATE_LIMIT": "0"}
    gateway = Server("gateway", [seedgate_bin(), "serve", "--host", HOST, "--port",
                                 str(gateway_port)], env, gateway_port, workdir / "gateway.log")
    emulator.start()
    key = create_key(home)
    gateway.start()
    sampler = RssSampler(gateway.pid)
    sampler.start()
    try:
        started = time.monotonic()
        ids = asyncio.run(submit_all(gateway.base_url, key, args.tasks))
        submit_s = time.monotonic() - started
        log(f"submitted {len(ids)} tasks in {submit_s:.1f} s")
        wait_until_done(home, args.tasks, args.max_s + args.grace_s)
        jobs = httpx.get(f"{emulator.base_url}/stats", timeout=60).json()
    finally:
        sampler.stop.set()
        gateway.stop()
        emulator.stop()
    tasks = gateway_tasks(home)
    succeeded = [t for t in tasks.values() if t[0] == "succeeded"]
    delays = [(completed - jobs[upstream][1]) / 1000 for _, upstream, completed in succeeded
              if upstream in jobs and completed is not None and jobs[upstream][1] is not None]
    calls = [job[2] for job in jobs.values()]
    report = {
        "tasks": args.tasks, "succeeded": len(succeeded), "upstream_jobs": len(jobs),
        "max_connections": args.connections,
        "submit_s": round(submit_s, 1), "job_seconds": [args.min_s, args.max_s],
        "peak_rss_mb": round(sampler.peak, 1),
        "upstream_calls_per_task": {"mean": round(statistics.mean(calls), 2),
                                    "max": max(calls)},
        "completion_delay_s": {"p50": round(percentile(delays, 0.5), 3),
                               "p99": round(percentile(delays, 0.99), 3),
                               "max": round(max(delays), 3)} if delays else None,
        "gateway_problems": gateway.problems(),
    }
    report["ok"] = bool(report["succeeded"] == args.tasks and report["upstream_jobs"] == args.tasks
                    and report["peak_rss_mb"] <= RSS_TARGET_MB
                    and delays and percentile(delays, 0.99) <= DELAY_P99_TARGET_S)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--min-s", type=float, default=120.0, help="shortest upstream job")
    parser.add_argument("--max-s", type=float, default=480.0, help="longest upstream job")
    parser.add_argument("--grace-s", type=float, default=120.0,
                        help="how long past the longest job to wait for the gateway")
    parser.add_argument("--connections", type=int, default=4,
                        help="the gateway's routing.max_connections")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="seedgate-upstream-") as tmp:
        report = measure(args, Path(tmp))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print(f"targets: RSS <= {RSS_TARGET_MB} MB, completion delay p99 <= "
          f"{DELAY_P99_TARGET_S} s: {'met' if report['ok'] else 'NOT met'}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
