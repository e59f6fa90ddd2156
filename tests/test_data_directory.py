"""How commands find the data directory, and the development key across restarts."""

from __future__ import annotations

import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pexpect
import pytest

from .conftest import free_port

# Nothing here depends on the store, Redis or S3: the SQLite pass alone runs it.
pytestmark = pytest.mark.store_agnostic

SEEDGATE = [sys.executable, "-m", "seedgate.cli"]
KEY = re.compile(r"sg_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def env() -> dict[str, str]:
    """No seedgate settings at all: the data directory (and its SQLite database) is found
    the way a user's shell would find it."""
    values = {name: value for name, value in os.environ.items()
              if not name.startswith("SEEDGATE_") and name != "DATABASE_URL"}
    return {**values, "SEEDGATE_LOG_LEVEL": "WARNING", "SEEDGATE_SIMULATOR_LATENCY": "0"}


def seedgate(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SEEDGATE, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False)


def test_a_command_refuses_to_start_an_empty_data_directory(
        env: dict[str, str], tmp_path: Path) -> None:
    done = seedgate(env, tmp_path, "keys", "list")
    assert done.returncode == 2
    assert f"no data directory at {tmp_path / 'var'}" in done.stderr
    assert "--init" in done.stderr and "SEEDGATE_HOME" in done.stderr
    assert not (tmp_path / "var").exists()


def test_init_creates_it_and_commands_below_find_it(env: dict[str, str],
                                                     tmp_path: Path) -> None:
    created = seedgate(env, tmp_path, "keys", "create", "--name", "acme", "--credits", "5",
                       "--quiet", "--init")
    assert created.returncode == 0, created.stderr
    assert KEY.fullmatch(created.stdout.strip())  # the key alone: scriptable
    assert f"data directory {tmp_path / 'var'}" in created.stderr
    below = tmp_path / "app" / "src"
    below.mkdir(parents=True)
    listed = seedgate(env, below, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert "acme" in listed.stdout
    assert f"data directory {tmp_path / 'var'} (found above {below}" in listed.stderr
    assert not (below / "var").exists()


def test_seedgate_home_wins_over_a_directory_found_above(env: dict[str, str],
                                                         tmp_path: Path) -> None:
    assert seedgate(env, tmp_path, "keys", "create", "--name", "here", "--init").returncode == 0
    other = tmp_path / "other"
    env = {**env, "SEEDGATE_HOME": str(other)}
    refused = seedgate(env, tmp_path, "keys", "list")
    assert refused.returncode == 2 and f"no data directory at {other}" in refused.stderr
    other.mkdir()
    listed = seedgate(env, tmp_path, "keys", "list")
    assert listed.returncode == 0
    assert f"data directory {other} (from SEEDGATE_HOME)" in listed.stderr
    assert "here" not in listed.stdout


class TerminalServer:
    """`seedgate serve` with its stdout on a terminal and its log (stderr) in a file."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = shlex.join([*SEEDGATE, "serve", "--port", str(port)])
        self.child = pexpect.spawn("bash", ["-c", f"exec {command} 2>>{shlex.quote(str(log))}"],
                                   env=env, cwd=str(cwd), encoding="utf-8", timeout=60)

    def stop(self) -> str:
        """Everything it printed on the terminal."""
        self.child.kill(signal.SIGTERM)
        self.child.expect(pexpect.EOF)
        self.child.wait()
        return str(self.child.before)


def started_and_stopped(env: dict[str, str], cwd: Path, log: Path) -> str:
    """What `seedgate serve` shows on the terminal up to the moment it listens."""
    server = TerminalServer(env, cwd, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(server.url, timeout=1)
            return server.stop()
        except httpx.TransportError:
            assert server.child.isalive() and time.monotonic() < deadline, server.stop()
            time.sleep(0.1)


def test_serve_shows_the_development_key_again_in_a_terminal(env: dict[str, str],
                                                              tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    env = {**env, "SEEDGATE_LOG_LEVEL": "DEBUG"}
    first = started_and_stopped(env, tmp_path, log)
    key = KEY.search(first)
    assert key is not None and "Created a development API key" in first
    again = started_and_stopped(env, tmp_path, log)
    assert "The development API key" in again and key[0] in again
    assert 'generate "Drone shot over neon night market"' in again

    sealed = tmp_path / "var" / "dev-key.sealed"
    assert stat.S_IMODE(sealed.stat().st_mode) == 0o600
    assert key[0] not in sealed.read_text()
    logged = log.read_text()  # stderr: the log, at DEBUG
    assert "alembic" in logged and key[0] not in logged

    assert seedgate(env, tmp_path, "keys", "revoke", "dev").returncode == 0
    assert key[0] not in started_and_stopped(env, tmp_path, log)
