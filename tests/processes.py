"""`seedgate` started as separate processes, the way an operator starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from .conftest import free_port

SEEDGATE = [sys.executable, "-m", "seedgate.cli"]


def seedgate(env: dict[str, str], *args: str) -> str:
    """Run a CLI command to completion; its output."""
    done = subprocess.run([*SEEDGATE, *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Server:
    """`seedgate serve` on a free port, answering by the time the constructor returns.

    It runs in a process group of its own: `serve --workers N` has child processes, which
    outlive a parent killed alone."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*SEEDGATE, "serve", "--port", str(self.port), *args], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        deadline = time.monotonic() + 120  # a start takes seconds, many on a loaded machine
        while True:
            try:
                httpx.get(f"{self.url}/api/status", timeout=1)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {self.output()}") from None
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the server and every process it started."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def output(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        out, _ = self.process.communicate(timeout=30)
        return out

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {key}"},
                            timeout=30)
