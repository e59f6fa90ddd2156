"""`seedgate generate`: make a video on a running gateway, watching its progress, and save it.

The progress (status, percent, elapsed time) is drawn live on stderr when it is a terminal;
stdout gets the saved file's path alone, for scripts. Exit status: 0 saved, 1 the video
failed or the gateway refused (its error is shown), 2 bad arguments, 130 interrupted (a
video still queued is cancelled and refunded; a running one goes on).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from seedgate.client.connection import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL
from seedgate.client.models import ApiError, SeedgateError, Video
from seedgate.client.operations import VideoOptions
from seedgate.client.sync import Client

CONFLICT = 409


def add_generate_command(commands: Any, **parser_options: Any) -> None:
    """Add `generate` to the `seedgate` command's subcommands."""
    parser = commands.add_parser(
        "generate", help="generate a video on a running gateway and save it",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        **parser_options)
    parser.add_argument("prompt", help="the scene")
    parser.add_argument("--model", help="a catalog model (default: the gateway's, "
                        "seedance-1-5-pro)")
    parser.add_argument("--seconds", type=int, help="duration")
    parser.add_argument("--ratio", help="16:9, 4:3, 1:1, 3:4, 9:16, 21:9 or adaptive")
    parser.add_argument("--resolution", help="480p, 720p, 1080p or 4k, as the model allows")
    parser.add_argument("--audio", action=argparse.BooleanOptionalAction,
                        help="with a sound track, or without (default: the model's)")
    parser.add_argument("--image", action="append", default=[], metavar="FILE_OR_URL",
                        help="the first frame; given twice, the second is the last frame "
                        "(local files are uploaded)")
    parser.add_argument("-o", "--output", type=Path,
                        help="where to save the MP4 (default: VIDEO_ID.mp4)")
    parser.add_argument("--base-url", help=f"the gateway (default: ${BASE_URL_ENV}, else "
                        f"{DEFAULT_BASE_URL})")
    parser.add_argument("--api-key", help=f"the API key (default: ${API_KEY_ENV})")
    parser.set_defaults(func=run, client=True)


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    options: VideoOptions = {"images": args.image}
    for name in ("model", "seconds", "ratio", "resolution", "audio"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)  # type: ignore[literal-required]
    try:
        client = Client(args.base_url, args.api_key)
    except SeedgateError as exc:
        console.print(f"seedgate: {exc}")
        return 2
    progress = ProgressBar(console)
    with client:
        try:
            with progress:
                video = client.generate(args.prompt, on_update=progress.update, **options)
                path = client.download(video.id, args.output)
        except (ValueError, OSError) as exc:  # an image file that cannot be sent
            console.print(f"seedgate: {exc}")
            return 2
        except SeedgateError as exc:
            console.print(f"seedgate: {exc}")
            return 1
        except httpx.TransportError as exc:
            console.print(f"seedgate: no answer from the gateway at {client.base_url}: "
                          f"{exc or type(exc).__name__}")
            return 1
        except KeyboardInterrupt:
            console.print(f"seedgate: {_interrupted(client, progress.video)}")
            return 130
    console.print(f"saved {path} ({_summary(video)})")
    print(path)
    return 0


class ProgressBar:
    """A video's status, progress and elapsed time, redrawn live (and the elapsed time
    ticking) while nothing changes."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            TaskProgressColumn(), TimeElapsedColumn(), console=console)
        self._task = self._progress.add_task("submitting", total=100)
        self.video: Video | None = None

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, video: Video) -> None:
        if self.video is None:
            self._progress.console.print(f"{video.id}: {video.model} ({_summary(video)})")
        self.video = video
        self._progress.update(self._task, description=_status(video),
                              completed=video.progress)


def _status(video: Video) -> str:
    if video.status == "queued" and video.queue_position:
        return f"queued ({video.queue_position} ahead)"
    return video.status.replace("_", " ")


def _summary(video: Video) -> str:
    return ", ".join(part for part in (
        video.size, f"{video.seconds} s" if video.seconds else None,
        f"{video.credits} credits" if video.credits is not None else None) if part)


def _interrupted(client: Client, video: Video | None) -> str:
    """Cancel a video still queued (refunded); one already running cannot be."""
    if video is None:
        return "interrupted before the gateway answered"
    if video.finished:
        return f"interrupted; video {video.id} is {video.status}"
    try:
        client.cancel(video.id)
    except ApiError as exc:
        if exc.status != CONFLICT:
            raise
        return (f"interrupted; video {video.id} is running and goes on "
                f"(GET /v1/videos/{video.id}/content fetches it once completed)")
    return f"interrupted; video {video.id} was cancelled and its credits refunded"
