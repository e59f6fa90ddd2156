"""Benchmark of the seedgate HTTP gateway with wrk, against real `seedgate serve` processes.

Run from anywhere as `.venv/bin/python bench/run.py` (or `make bench`). It:

1. makes sure `wrk` is installed (installs Debian's package when running as root);
2. starts `seedgate serve` in a fresh temporary SEEDGATE_HOME on a free loopback port
   (SEEDGATE_SIMULATOR_LATENCY=0, SEEDGATE_LOG_LEVEL=WARNING) and creates an unlimited key;
3. prepares finished tasks: some that render and succeed, many that fail fast;
4. measures with wrk (`-t1`, `--latency`; the server then pinned to one core, wrk to another):
   - `status`: authenticated `GET /api/status` rotating over the finished tasks,
   - `create`: durable `POST /api/generate` creates (fast-failing prompt) with the worker on,
   - `create-api-only`: the same against `seedgate serve --no-worker` in another fresh home,
   - `hello`: a bare ASGI hello-world (bench/hello_asgi.py) served the same way (granian embedded);
   - `status-redis`, `create-redis`: `status` and `create` against a gateway whose key's
     limits are enforced through Redis (`--redis-url`), judged against the embedded run;
   and checks that the creates happened (sampled tasks looked up, stored tasks counted),
   then how fast the worker finishes the backlog (bounded wait);
5. prints a table and writes it as JSON to bench/results/latest.json.

All traffic stays on 127.0.0.1; the servers are always stopped, even on errors or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
RESULTS_FILE = REPO / "bench" / "results" / "latest.json"
HOST = "127.0.0.1"
CREDITS = 10**15
FAIL_PROMPT = "@sim:content_violation"
PROMPTS_IN_ROTATION = 64
TERMINAL = frozenset({"SUCCESS", "FAILED"})
STATUS_TARGET_RPS = 10_000
STATUS_TARGET_P99_MS = 25.0
CREATE_TARGET_RPS = 2_000
# Status reads in the other dialects, each measured like `status` and judged against it.
OTHER_DIALECT_READS = {
    "status-native": ("/v1/videos/", "native, OpenAI videos"),
    "status-ark": ("/api/v3/contents/generations/tasks/", "Ark v3"),
}
DIALECT_READ_TARGET = 0.8
READY_TIMEOUT_S = 30.0
PREPARE_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0
SCENARIO_GROUPS = ("status", "create", "hello", "redis")
# Limits enforced through Redis may cost at most this much of the embedded throughput.
REDIS_STATUS_TARGET = 0.8
REDIS_CREATE_TARGET = 0.9
# A key's limits, enforced on every request but never reached by the benchmark.
UNREACHED_LIMITS = ("--rate-limit", "1000000000", "--max-concurrency", "1000000000",
                    "--daily-spend", str(CREDITS))
NO_LIMITS = ("--rate-limit", "0", "--max-concurrency", "0")
PROBLEM_LINE = re.compile(r"\b(ERROR|CRITICAL|WARNING|Traceback)\b")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T][\d:,.]+")
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Disconnect|Exit)\b")


def log(message: str) -> None:
    print(f"- {message}", flush=True)


class BenchError(RuntimeError):
    """The benchmark could not run (not a slow gateway: a broken setup)."""


# ------------------------------------------------------------------------------------------
# Machine, tools and processes


def usable_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("bench: `wrk` is not installed and this is not root; install it "
                         "(Debian/Ubuntu: `sudo apt-get install -y wrk`) and run again.")
    log("wrk is missing: installing Debian's package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench: could not install `wrk` with apt-get; install it and run again.")
    return found


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    text = (done.stdout + done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pinned(argv: Sequence[str], cpu: int | None) -> list[str]:
    """Prefix argv with `taskset` so that the process (and its children) use one core."""
    taskset = shutil.which("taskset")
    if cpu is None or taskset is None:
        return list(argv)
    return [taskset, "-c", str(cpu), *argv]


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (from /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(stat.parent.name))
    tree, queue = [], [root]
    while queue:
        pid = queue.pop()
        tree.append(pid)
        queue.extend(parents.get(pid, []))
    return tree


def pin_tree(root: int, cpu: int) -> int:
    """Move every thread of `root` and its descendants to one core; returns the count.

    Done after start-up and preparation, so that preparing (rendering) uses every core."""
    threads = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(task.name), {cpu})
                    threads += 1
    return threads


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) that a live process has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def seedgate_bin() -> str:
    local = Path(sys.executable).parent / "seedgate"
    if local.exists():
        return str(local)
    found = shutil.which("seedgate")
    if not found:
        raise SystemExit("bench: the `seedgate` command is not installed (run `make` first).")
    return found


def server_env(home: Path | None) -> dict[str, str]:
    """This environment without any seedgate configuration, plus the benchmark's own."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("SEEDGATE_") and name != "DATABASE_URL"}
    env["PYTHONUNBUFFERED"] = "1"
    if home is not None:
        env["SEEDGATE_HOME"] = str(home)
        env["SEEDGATE_SIMULATOR_LATENCY"] = "0"
        env["SEEDGATE_LOG_LEVEL"] = "WARNING"
    return env


class Server:
    """A server subprocess in its own session, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int,
                 log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.port = port
        self.log_path = log_path
        self.base_url = f"http://{HOST}:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        log(f"starting {self.name}: {shlex.join(self.argv)}")
        with self.log_path.open("wb") as output:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise BenchError(f"{self.name} exited with {self.proc.returncode}:\n"
                                     f"{self.log_tail()}")
                try:
                    client.get(f"{self.base_url}/api/status")
                except httpx.TransportError:
                    time.sleep(0.1)
                    continue
                return
        raise BenchError(f"{self.name} did not answer within {READY_TIMEOUT_S:.0f} s:\n"
                         f"{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group, then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            self._reap_group()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log(f"{self.name} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._reap_group()

    def _reap_group(self) -> None:
        """Kill what is left of the server's own process group (render processes)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def pin(self, cpu: int | None) -> None:
        if cpu is not None:
            threads = pin_tree(self.pid, cpu)
            log(f"{self.name}: pinned {threads} threads to CPU {cpu}")

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def problems(self, limit: int = 10) -> dict[str, int]:
        """What the server logged at WARNING and above, and the exceptions in its
        tracebacks: each distinct line (timestamps stripped) with its count."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return {}
        found: Counter[str] = Counter()
        for line in lines:
            if PROBLEM_LINE.search(line) and "Traceback" not in line:
                found[TIMESTAMP.sub("", line).strip()] += 1
            elif EXCEPTION_LINE.match(line):
                found[f"exception {line.strip()[:200]}"] += 1
        return dict(found.most_common(limit))


def create_key(env: dict[str, str], limits: Sequence[str]) -> str:
    argv = [seedgate_bin(), "keys", "create", "--name", "bench", "--credits", str(CREDITS),
            *limits, "--quiet"]
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise BenchError(f"`seedgate keys create` failed ({done.returncode}):\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def start_gateway(workdir: Path, name: str, *, worker: bool,
                  redis_url: str | None = None) -> tuple[Server, str]:
    """A gateway in a fresh home, and a key: without limits, or (with Redis) with limits
    that every request is checked against through Redis but never reaches."""
    home = workdir / name
    home.mkdir()
    env = server_env(home)
    if redis_url:
        env.update(SEEDGATE_REDIS_URL=redis_url, SEEDGATE_REDIS_PREFIX=f"bench-{home.name}-"
                   f"{os.getpid()}")
    key = create_key(env, UNREACHED_LIMITS if redis_url else NO_LIMITS)
    port = free_port()
    argv = [seedgate_bin(), "serve", "--host", HOST, "--port", str(port)]
    if not worker:
        argv.append("--no-worker")
    server = Server(name, argv, env, port, workdir / f"{name}.log")
    server.start()
    return server, key


def start_hello(workdir: Path) -> Server:
    port = free_port()
    argv = [sys.executable, str(Path(__file__).parent / "hello_asgi.py"), str(port)]
    server = Server("hello-asgi", argv, server_env(None), port, workdir / "hello.log")
    server.start()
    return server


# ------------------------------------------------------------------------------------------
# The gateway's API (preparation and verification)


def body_for(prompt: str) -> dict[str, Any]:
    return {"prompt": prompt, "aspect_ratio": "16:9", "duration": "5", "sound": False}


def submit(client: httpx.Client, prompt: str) -> str:
    response = client.post("/api/generate", json=body_for(prompt))
    payload = response.json()
    if response.status_code != 200 or payload.get("code") != 200:
        raise BenchError(f"create failed: HTTP {response.status_code} {response.text[:300]}")
    return str(payload["data"]["task_id"])


def task_status(client: httpx.Client, task_id: str) -> str:
    response = client.get("/api/status", params={"task_id": task_id})
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    return str(response.json()["data"]["status"])


def api_client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=10.0,
                        headers={"Authorization": f"Bearer {key}"})


@dataclass
class Prepared:
    succeeded: list[str]
    failed: list[str]
    seconds: float
    anomalies: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [*self.succeeded, *self.failed]


def prepare_tasks(server: Server, key: str, successes: int, failures: int) -> Prepared:
    log(f"preparing {successes} rendered tasks and {failures} fast-failing tasks")
    started = time.monotonic()
    with api_client(server, key) as client:
        good = [submit(client, f"bench prepared clip {i}") for i in range(successes)]
        bad = [submit(client, f"{FAIL_PROMPT} bench prepared {i}") for i in range(failures)]
        expected = {**dict.fromkeys(good, "SUCCESS"), **dict.fromkeys(bad, "FAILED")}
        final: dict[str, str] = {}
        pending = list(expected)
        deadline = started + PREPARE_TIMEOUT_S
        while pending:
            if time.monotonic() > deadline:
                raise BenchError(f"{len(pending)} prepared tasks were still unfinished after "
                                 f"{PREPARE_TIMEOUT_S:.0f} s, e.g. {pending[:3]}")
            still: list[str] = []
            for task_id in pending:
                status = task_status(client, task_id)
                if status in TERMINAL:
                    final[task_id] = status
                else:
                    still.append(task_id)
            pending = still
            if pending:
                time.sleep(0.25)
    anomalies = [f"{task_id}: expected {want}, got {final[task_id]}"
                 for task_id, want in expected.items() if final[task_id] != want]
    prepared = Prepared(good, bad, round(time.monotonic() - started, 2), anomalies)
    log(f"prepared in {prepared.seconds:.1f} s"
        + (f"; {len(anomalies)} unexpected outcomes" if anomalies else ""))
    return prepared


# ------------------------------------------------------------------------------------------
# wrk and its Lua scripts

LUA_COMMON = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function oneline(text)
  return (string.gsub(string.sub(text or "", 1, 400), "[\r\n]", " "))
end

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. TOKEN
  if CONTENT_TYPE then wrk.headers["Content-Type"] = CONTENT_TYPE end
  prepared = {}
  for i, item in ipairs(ITEMS) do
    if METHOD == "GET" then
      prepared[i] = wrk.format("GET", PATH .. item)
    else
      prepared[i] = wrk.format(METHOD, PATH, nil, item)
    end
  end
  counter = 0
  ok = 0
  non200 = 0
  codes = {}
  first_bad = ""
  first_ok = ""
  last_ok = ""
end

function request()
  counter = counter + 1
  return prepared[(counter % #prepared) + 1]
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    if KEEP_BODIES then
      last_ok = body
      if ok == 1 then first_ok = body end
    end
  else
    non200 = non200 + 1
    local code = tostring(status)
    codes[code] = (codes[code] or 0) + 1
    if first_bad == "" then first_bad = code .. " " .. oneline(body) end
  end
end

function done(summary, latency, requests)
  local ok_total, bad_total, codes_total, bad, first, last = 0, 0, {}, "", "", ""
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    bad_total = bad_total + thread:get("non200")
    for code, count in pairs(thread:get("codes")) do
      codes_total[code] = (codes_total[code] or 0) + count
    end
    if bad == "" then bad = thread:get("first_bad") end
    if first == "" then first = thread:get("first_ok") end
    last = thread:get("last_ok")
  end
  local errors = summary.errors
  local out = {
    "requests " .. summary.requests,
    "duration_us " .. summary.duration,
    "ok " .. ok_total,
    "non200 " .. bad_total,
    "connect " .. errors.connect,
    "read " .. errors.read,
    "write " .. errors.write,
    "timeout " .. errors.timeout,
    "wrk_status " .. errors.status,
    "p50_us " .. latency:percentile(50),
    "p90_us " .. latency:percentile(90),
    "p99_us " .. latency:percentile(99),
    "max_us " .. latency.max,
  }
  for code, count in pairs(codes_total) do table.insert(out, "code " .. code .. " " .. count) end
  if bad ~= "" then table.insert(out, "first_bad " .. bad) end
  if first ~= "" then table.insert(out, "first_ok " .. oneline(first)) end
  if last ~= "" then table.insert(out, "last_ok " .. oneline(last)) end
  for _, line in ipairs(out) do io.write("BENCH " .. line .. "\n") end
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


def status_script(key: str, task_ids: Sequence[str], path: str = "/api/status?task_id=") -> str:
    """GETs of `path` + task id, rotating over `task_ids`."""
    items = ", ".join(lua_string(task_id) for task_id in task_ids)
    return (f"TOKEN = {lua_string(key)}\nMETHOD = \"GET\"\nPATH = {lua_string(path)}\n"
            f"CONTENT_TYPE = nil\nKEEP_BODIES = false\nITEMS = {{{items}}}\n{LUA_COMMON}")


def create_script(key: str) -> str:
    bodies = [json.dumps(body_for(f"{FAIL_PROMPT} bench load {i}"), separators=(",", ":"))
              for i in range(PROMPTS_IN_ROTATION)]
    items = ", ".join(lua_string(body) for body in bodies)
    return (f"TOKEN = {lua_string(key)}\nMETHOD = \"POST\"\nPATH = \"/api/generate\"\n"
            f"CONTENT_TYPE = \"application/json\"\nKEEP_BODIES = true\nITEMS = {{{items}}}\n"
            f"{LUA_COMMON}")


@dataclass
class WrkRun:
    command: str
    output: str
    values: dict[str, str]
    codes: dict[str, int]
    server_cpu: float
    wrk_cpu: float

    def number(self, name: str) -> float:
        return float(self.values.get(name, "0"))


@dataclass
class Options:
    wrk: str
    duration: int
    warmup: int
    connections: int
    server_cpu: int | None
    wrk_cpu: int | None


def run_wrk(options: Options, url: str, script: Path, server: Server, duration: int) -> WrkRun:
    argv = pinned([options.wrk, "-t1", f"-c{options.connections}", f"-d{duration}s",
                   "--latency", "--timeout", "5s", "-s", str(script), url], options.wrk_cpu)
    cpu_before, wrk_before = process_cpu_s(server.pid), children_cpu_s()
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False,
                          timeout=duration + 60)
    wall = time.monotonic() - started
    cpu_after, wrk_after = process_cpu_s(server.pid), children_cpu_s()
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    values: dict[str, str] = {}
    codes: dict[str, int] = {}
    for line in done.stdout.splitlines():
        if not line.startswith("BENCH "):
            continue
        name, _, rest = line[len("BENCH "):].partition(" ")
        if name == "code":
            code, _, count = rest.partition(" ")
            codes[code] = int(count)
        else:
            values[name] = rest
    if "requests" not in values:
        raise BenchError(f"wrk printed no results:\n{done.stdout}\n{done.stderr}")
    output = "\n".join(line for line in done.stdout.splitlines() if not line.startswith("BENCH"))
    return WrkRun(shlex.join(argv), output, values, codes,
                  round(100 * (cpu_after - cpu_before) / wall, 1),
                  round(100 * (wrk_after - wrk_before) / wall, 1))


# ------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Result:
    scenario: str
    description: str
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    ok_200: int
    errors: int
    non_200: int
    non_200_by_code: dict[str, int]
    socket_errors: dict[str, int]
    first_non_200: str | None
    server_cpu_pct: float
    wrk_cpu_pct: float
    target: str
    target_met: bool | None
    command: str
    wrk_output: str
    ratio_to_hello: float | None = None
    ratio_to_status: float | None = None  # other dialects' reads, to the seed dialect's
    ratio_to_embedded: float | None = None  # limits through Redis, to the embedded run
    checks: dict[str, Any] = field(default_factory=dict)


def measure(options: Options, server: Server, *, name: str, description: str, path: str,
            script_text: str, workdir: Path) -> tuple[Result, WrkRun]:
    script = workdir / f"{name}.lua"
    script.write_text(script_text)
    url = f"{server.base_url}{path}"
    server.pin(options.server_cpu)
    tasks_before = count_tasks(server)
    warmup_ok = 0
    if options.warmup > 0:
        log(f"{name}: warming up for {options.warmup} s")
        warmup_ok = int(run_wrk(options, url, script, server, options.warmup).number("ok"))
    log(f"{name}: measuring for {options.duration} s")
    run = run_wrk(options, url, script, server, options.duration)
    seconds = run.number("duration_us") / 1e6
    requests = int(run.number("requests"))
    socket_errors = {kind: int(run.number(kind)) for kind in ("connect", "read", "write",
                                                               "timeout")}
    non_200 = int(run.number("non200"))
    result = Result(
        scenario=name, description=description,
        requests_per_s=round(requests / seconds, 1) if seconds else 0.0,
        p50_ms=round(run.number("p50_us") / 1000, 2),
        p90_ms=round(run.number("p90_us") / 1000, 2),
        p99_ms=round(run.number("p99_us") / 1000, 2),
        max_ms=round(run.number("max_us") / 1000, 2),
        requests=requests, ok_200=int(run.number("ok")),
        errors=non_200 + sum(socket_errors.values()), non_200=non_200,
        non_200_by_code=run.codes, socket_errors=socket_errors,
        first_non_200=run.values.get("first_bad"),
        server_cpu_pct=run.server_cpu, wrk_cpu_pct=run.wrk_cpu,
        target="", target_met=None, command=run.command, wrk_output=run.output,
        checks={"warmup_ok_200": warmup_ok, "tasks_before_warmup": tasks_before},
    )
    log(f"{name}: {result.requests_per_s:,.0f} req/s, p99 {result.p99_ms} ms, "
        f"{result.errors} errors")
    return result, run


TASK_ID = re.compile(r'"task_id"\s*:\s*"(task_[A-Za-z0-9]+)"')


def measure_creates(options: Options, server: Server, key: str, workdir: Path, *, name: str,
                    worker: bool) -> Result:
    """Durable creates with a fast-failing prompt; with the worker on, also its backlog."""
    setting = "worker on" if worker else "`serve --no-worker`"
    result, run = measure(
        options, server, name=name,
        description=f"POST /api/generate, fast-failing prompt, {setting}",
        path="/api/generate", script_text=create_script(key), workdir=workdir)
    verify_creates(result, run, server, key, drain=worker, in_flight=2 * options.connections)
    return result


def verify_creates(result: Result, run: WrkRun, server: Server, key: str, *,
                   drain: bool, in_flight: int) -> None:
    """Check that wrk's 200s were real creates.

    The tasks of the first and last 200 answers are looked up through the API, and the
    tasks stored meanwhile are counted in the server's database: the count may exceed the
    200s by the requests in flight when wrk stopped (at most `in_flight`), never fall short.
    With the worker on, also wait (bounded) for it to finish the backlog, for its rate.
    """
    sampled = [match.group(1) for name in ("first_ok", "last_ok")
               if (match := TASK_ID.search(run.values.get(name, "")))]
    checks = result.checks
    acknowledged = checks["warmup_ok_200"] + result.ok_200
    checks["creates_acknowledged_incl_warmup"] = acknowledged
    before, after = checks["tasks_before_warmup"], count_tasks(server)
    stored = None if before is None or after is None else after - before
    checks["tasks_stored_incl_warmup"] = stored
    with api_client(server, key) as client:
        checks["sampled"] = {task_id: task_status(client, task_id) for task_id in sampled}
    checks["verified"] = (
        bool(sampled)
        and all(status in {"IN_PROGRESS", *TERMINAL} for status in checks["sampled"].values())
        and (stored is None or acknowledged <= stored <= acknowledged + in_flight)
    )
    log(f"{result.scenario}: {acknowledged} creates answered 200 (warm-up included), "
        f"{'?' if stored is None else stored} tasks stored; sampled {checks['sampled']}")
    if drain:
        wait_for_worker(server, checks)


def wait_for_worker(server: Server, checks: dict[str, Any]) -> None:
    """Wait (at most DRAIN_TIMEOUT_S) for the worker to finish the tasks left unfinished."""
    backlog = count_tasks(server, unfinished=True)
    if backlog is None:
        return
    started = time.monotonic()
    left = backlog
    while left and time.monotonic() - started < DRAIN_TIMEOUT_S:
        time.sleep(0.5)
        left = count_tasks(server, unfinished=True) or 0
    seconds = time.monotonic() - started
    checks.update(backlog_after_run=backlog, backlog_left=left,
                  drain_wait_s=round(seconds, 1),
                  worker_tasks_per_s=round((backlog - left) / seconds, 1) if seconds else None)
    log(f"worker: {backlog} unfinished tasks after the run, {left} after {seconds:.1f} s "
        f"({checks['worker_tasks_per_s']} tasks/s with no other load)")


def count_tasks(server: Server, *, unfinished: bool = False) -> int | None:
    """Tasks in the server's SQLite database, read-only (None where that is not possible)."""
    home = server.env.get("SEEDGATE_HOME")
    database = Path(home) / "seedgate.db" if home else None
    if database is None or not database.is_file():
        return None
    query = "SELECT count(*) FROM tasks"
    if unfinished:
        query += " WHERE status IN ('queued', 'running')"
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True,
                                                timeout=5)) as conn:
            return int(conn.execute(query).fetchone()[0])
    except sqlite3.Error:
        return None


REDIS_TARGETS = {"status-redis": REDIS_STATUS_TARGET, "create-redis": REDIS_CREATE_TARGET}


def judge(result: Result) -> None:
    if result.scenario == "status":
        result.target = f">= {STATUS_TARGET_RPS:,} req/s, p99 <= {STATUS_TARGET_P99_MS:g} ms"
        result.target_met = (result.requests_per_s >= STATUS_TARGET_RPS
                             and result.p99_ms <= STATUS_TARGET_P99_MS and result.errors == 0)
    elif result.scenario in OTHER_DIALECT_READS:
        ratio = "?" if result.ratio_to_status is None else f"{result.ratio_to_status:.2f}"
        result.target = f"{ratio} x status, >= {DIALECT_READ_TARGET:.2f}"
        result.target_met = (result.ratio_to_status is not None and result.errors == 0
                             and result.ratio_to_status >= DIALECT_READ_TARGET)
    elif result.scenario in REDIS_TARGETS:
        target = REDIS_TARGETS[result.scenario]
        ratio = "?" if result.ratio_to_embedded is None else f"{result.ratio_to_embedded:.2f}"
        result.target = f"{ratio} x embedded, >= {target:.2f}"
        result.target_met = (result.ratio_to_embedded is not None and result.errors == 0
                             and result.ratio_to_embedded >= target
                             and result.checks.get("verified", True) is True)
    elif result.scenario.startswith("create"):
        result.target = f">= {CREATE_TARGET_RPS:,} creates/s"
        result.target_met = (result.requests_per_s >= CREATE_TARGET_RPS and result.errors == 0
                             and bool(result.checks.get("verified")))


# ------------------------------------------------------------------------------------------
# Report


def print_table(results: Sequence[Result]) -> None:
    header = ("scenario", "requests/s", "p50 ms", "p99 ms", "errors", "vs hello",
              "srv cpu", "target")
    rows = [header]
    for result in results:
        ratio = "-" if result.ratio_to_hello is None else f"{result.ratio_to_hello:.2f}"
        met = "" if result.target_met is None else ("met" if result.target_met else "MISSED")
        rows.append((result.scenario, f"{result.requests_per_s:,.0f}", f"{result.p50_ms:.2f}",
                     f"{result.p99_ms:.2f}", str(result.errors), ratio,
                     f"{result.server_cpu_pct:.0f}%", f"{met} {result.target}".strip()))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print()
    for index, row in enumerate(rows):
        cells = [cell.ljust(widths[i]) if i in (0, 7) else cell.rjust(widths[i])
                 for i, cell in enumerate(row)]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    for result in results:
        if result.non_200:
            print(f"  {result.scenario}: non-200 by code {result.non_200_by_code}; first: "
                  f"{result.first_non_200}")
        if any(result.socket_errors.values()):
            print(f"  {result.scenario}: socket errors {result.socket_errors}")
        if result.wrk_cpu_pct >= 90:
            print(f"  {result.scenario}: wrk used {result.wrk_cpu_pct:.0f}% of its core; the "
                  "load generator may be the limit")
    print()


def write_json(report: dict[str, Any]) -> None:
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n")
    log(f"results written to {RESULTS_FILE.relative_to(REPO)}")


# ------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=1,
                        help="seconds of unrecorded load before each measurement (0: none)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--only", choices=SCENARIO_GROUPS, action="append",
                        help="run only this group (repeatable); default: all")
    parser.add_argument("--successes", type=int, default=20,
                        help="prepared tasks that render and succeed")
    parser.add_argument("--failures", type=int, default=300,
                        help="prepared tasks that fail fast")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary homes and server logs")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0",
                        help="the Redis of the `redis` scenarios (keys under a prefix of "
                        "their own)")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.connections < 1 or args.warmup < 0:
        parser.error("--duration and --connections must be >= 1, --warmup >= 0")
    if args.successes + args.failures < 1:
        parser.error("prepare at least one task")
    return args


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so that `finally` blocks stop the servers."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace, workdir: Path,
        problems: dict[str, dict[str, int]]) -> list[Result]:
    """Run the chosen scenarios; what each server logged at WARNING and above goes to
    `problems`."""
    groups = set(args.only or SCENARIO_GROUPS)
    cpus = usable_cpus()
    server_cpu, wrk_cpu = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
    options = Options(ensure_wrk(), args.duration, args.warmup, args.connections, server_cpu,
                      wrk_cpu)
    results: list[Result] = []

    if groups & {"status", "create"}:
        server, key = start_gateway(workdir, "gateway", worker=True)
        try:
            if "status" in groups:
                result, prepared = measure_status(
                    args, options, server, key, workdir, name="status",
                    description="GET /api/status over finished tasks (worker on)")
                results.append(result)
                for name, (path, dialect) in OTHER_DIALECT_READS.items():
                    result, _ = measure(
                        options, server, name=name,
                        description=f"GET {path}{{id}} ({dialect}) over the same tasks",
                        path=path, script_text=status_script(key, prepared.ids, path),
                        workdir=workdir)
                    results.append(result)
            if "create" in groups:
                results.append(measure_creates(
                    options, server, key, workdir, name="create", worker=True))
        finally:
            server.stop()
            problems[server.name] = server.problems()

    if "create" in groups:
        server, key = start_gateway(workdir, "gateway-api-only", worker=False)
        try:
            results.append(measure_creates(
                options, server, key, workdir, name="create-api-only", worker=False))
        finally:
            server.stop()
            problems[server.name] = server.problems()

    if "redis" in groups:
        results += measure_redis(args, options, workdir, problems)

    if "hello" in groups:
        hello = start_hello(workdir)
        try:
            ids = [f"task_{i:024x}" for i in range(args.successes + args.failures)]
            result, _ = measure(
                options, hello, name="hello",
                description="bare ASGI hello-world (bench/hello_asgi.py), same wrk script",
                path="/api/status", script_text=status_script("hello", ids), workdir=workdir)
            results.append(result)
        finally:
            hello.stop()
            problems[hello.name] = hello.problems()

    compare(results)
    return results


def compare(results: list[Result]) -> None:
    """Each result's ratios to the runs it is judged against, and its verdict."""
    rates = {result.scenario: result.requests_per_s for result in results}
    for result in results:
        if rates.get("hello"):
            result.ratio_to_hello = round(result.requests_per_s / rates["hello"], 3)
        if rates.get("status") and result.scenario in OTHER_DIALECT_READS:
            result.ratio_to_status = round(result.requests_per_s / rates["status"], 3)
        embedded = rates.get(result.scenario.removesuffix("-redis"))
        if result.scenario in REDIS_TARGETS and embedded:
            result.ratio_to_embedded = round(result.requests_per_s / embedded, 3)
        judge(result)


def measure_status(args: argparse.Namespace, options: Options, server: Server, key: str,
                   workdir: Path, *, name: str, description: str) -> tuple[Result, Prepared]:
    """Finished tasks prepared on `server`, then the seed dialect's status reads over them."""
    prepared = prepare_tasks(server, key, args.successes, args.failures)
    result, _ = measure(options, server, name=name, description=description,
                        path="/api/status", script_text=status_script(key, prepared.ids),
                        workdir=workdir)
    result.checks.update(prepared_succeeded=len(prepared.succeeded),
                         prepared_failed=len(prepared.failed), prepare_s=prepared.seconds,
                         prepare_anomalies=prepared.anomalies)
    return result, prepared


def measure_redis(args: argparse.Namespace, options: Options, workdir: Path,
                  problems: dict[str, dict[str, int]]) -> list[Result]:
    """`status` and `create` again, against a gateway whose key's limits go through Redis."""
    if not redis_answers(args.redis_url):
        raise BenchError(f"no Redis answers at {args.redis_url} (start one, e.g. `make "
                         "services`, or pass --redis-url)")
    server, key = start_gateway(workdir, "gateway-redis", worker=True,
                                redis_url=args.redis_url)
    try:
        status, _ = measure_status(
            args, options, server, key, workdir, name="status-redis",
            description="GET /api/status over finished tasks, the key's rate limit in Redis")
        creates = measure_creates(options, server, key, workdir, name="create-redis",
                                  worker=True)
        creates.description += ", the key's limits through Redis"
        return [status, creates]
    finally:
        server.stop()
        problems[server.name] = server.problems()


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join([sys.executable, *(sys.argv if argv is None else ["bench/run.py",
                                                                            *argv])])
    cpus = usable_cpus()
    print(f"seedgate benchmark: nproc {len(cpus)} ({cpu_model()}), Python "
          f"{platform.python_version()}", flush=True)
    print(f"command: {command}", flush=True)
    if len(cpus) < 2:
        log("fewer than 2 cores: server and wrk share the CPU, figures are pessimistic")
    else:
        log(f"servers pinned to CPU {cpus[0]} once prepared, wrk to CPU {cpus[1]}")
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="seedgate-bench-"))
    problems: dict[str, dict[str, int]] = {}
    try:
        with terminate_on_sigterm():
            results = run(args, workdir, problems)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    for name, found in problems.items():
        for line, count in found.items():
            print(f"{name} log: {count} x {line}")
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "machine": {"nproc": len(cpus), "cpu": cpu_model(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "wrk": wrk_version(shutil.which("wrk") or "wrk"),
                    "pinning": "server on one core, wrk on another" if len(cpus) >= 2
                    else "none (one core)"},
        "settings": {"duration_s": args.duration, "warmup_s": args.warmup,
                     "connections": args.connections, "wrk_threads": 1,
                     "prepared_successes": args.successes,
                     "prepared_failures": args.failures,
                     "simulator_latency_s": 0, "log_level": "WARNING"},
        "elapsed_s": round(time.monotonic() - started, 1),
        "results": [asdict(result) for result in results],
        "server_log_problems": problems,
    }
    write_json(report)
    log(f"done in {report['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
