"""`seedgate generate` in a terminal (a pseudo-terminal, driven by pexpect) and in a pipe,
against a live gateway."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from seedgate.domain.catalog import CATALOG

from .conftest import RunningGateway
from .helpers import decode_video, png_bytes

SEEDGATE = [sys.executable, "-m", "seedgate.cli", "generate"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ELAPSED = re.compile(r"\d:\d\d:\d\d")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where the command runs (the gateway's own files are elsewhere in tmp_path)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def client_env(gateway: RunningGateway, key: str) -> dict[str, str]:
    values = {name: value for name, value in os.environ.items()
              if not name.startswith("SEEDGATE_")}
    return {**values, "SEEDGATE_BASE_URL": gateway.url, "SEEDGATE_API_KEY": key,
            "TERM": "xterm-256color"}


def in_terminal(env: dict[str, str], cwd: Path, *args: str) -> pexpect.spawn:
    return pexpect.spawn(SEEDGATE[0], [*SEEDGATE[1:], *args], env=env, cwd=str(cwd),
                         encoding="utf-8", timeout=90, dimensions=(30, 140))


def finished(child: pexpect.spawn) -> tuple[int, str]:
    """Its exit status and all it showed, without the terminal's control sequences."""
    child.expect(pexpect.EOF)
    child.wait()
    return child.exitstatus, ANSI.sub("", str(child.before))


def test_a_video_with_a_live_progress_bar(make_gateway: Any, workdir: Path) -> None:
    gateway = make_gateway(simulator_latency=3.0)
    key = gateway.new_key(credits=1000)
    status, shown = finished(in_terminal(
        client_env(gateway, key), workdir, "Drone shot over neon night market",
        "--seconds", "4", "--ratio", "9:16", "--resolution", "480p", "--audio",
        "-o", "market.mp4"))
    assert status == 0, shown
    assert re.search(r"in progress\s.*\s\d{1,2}%\s+" + ELAPSED.pattern, shown), shown
    assert re.search(r"completed\s.*\s100%", shown)
    assert "saved market.mp4 (496x864, 4 s, 50 credits)" in shown  # 25, twice with audio
    decoded = decode_video(workdir / "market.mp4")
    assert (decoded.width, decoded.height) == CATALOG["seedance-1-5-pro"].pixel_size(
        "480p", "9:16")
    assert decoded.frames == 4 * 24 and decoded.audio
    assert gateway.balance(key) == 1000 - 50


def test_a_failed_video_exits_non_zero_with_the_gateways_error(
        gateway: RunningGateway, workdir: Path) -> None:
    key = gateway.new_key(credits=1000)
    status, shown = finished(in_terminal(
        client_env(gateway, key), workdir, "Stormy sea @sim:content_violation",
        "--seconds", "4", "--resolution", "480p"))
    assert status == 1
    assert re.search(r"seedgate: video task_\w+ failed \(CONTENT_VIOLATION: The generated "
                     r"video was rejected by the content safety system", shown), shown
    assert not list(workdir.iterdir())
    assert gateway.balance(key) == 1000  # refunded

    refused = subprocess.run([*SEEDGATE, "x", "--seconds", "99"], capture_output=True,
                             text=True, env=client_env(gateway, key), timeout=60, check=False)
    assert refused.returncode == 1
    assert "400 invalid_parameter: `duration` must be between 4 and 12" in refused.stderr


def test_interrupting_a_queued_video_cancels_it(make_gateway: Any, workdir: Path) -> None:
    gateway = make_gateway(worker=False)  # nothing runs: the video stays queued
    key = gateway.new_key(credits=1000)
    child = in_terminal(client_env(gateway, key), workdir, "never mind", "--seconds", "4")
    child.expect("queued")
    child.sendintr()
    status, shown = finished(child)
    assert status == 130
    assert re.search(r"video task_\w+ was cancelled and its credits refunded", shown), shown
    assert gateway.balance(key) == 1000


def test_in_a_pipe_stdout_is_the_saved_path(gateway: RunningGateway, workdir: Path) -> None:
    key = gateway.new_key(credits=1000)
    frame = workdir / "first.png"
    frame.write_bytes(png_bytes(640, 640, (220, 30, 30)))
    done = subprocess.run([*SEEDGATE, "A red square", "--image", str(frame), "--seconds",
                           "4", "--resolution", "480p", "--no-audio"],
                          capture_output=True, text=True, cwd=workdir,
                          env=client_env(gateway, key), timeout=90, check=False)
    assert done.returncode == 0, done.stderr
    saved = workdir / done.stdout.strip()
    assert done.stdout.strip().endswith(".mp4") and "\n" not in done.stdout.strip()
    decoded = decode_video(saved)
    assert (decoded.width, decoded.height) == (640, 640)  # the image's shape
    assert not decoded.audio
    assert decoded.first_frame[200:300, 100:540].mean(axis=(0, 1))[0] > 150


@pytest.mark.parametrize(("env_key", "message", "code"), [
    ("", "no API key", 2),
    ("sg_wrong", "401 unauthorized", 1),
])
def test_a_missing_or_wrong_key_is_explained(gateway: RunningGateway, env_key: str,
                                             message: str, code: int) -> None:
    done = subprocess.run([*SEEDGATE, "x"], capture_output=True, text=True, timeout=60,
                          env=client_env(gateway, env_key), check=False)
    assert done.returncode == code and message in done.stderr, done.stderr
