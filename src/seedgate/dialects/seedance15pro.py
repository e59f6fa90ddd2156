"""The seedance1-5pro API (seed 000): `POST /api/generate`, `GET|POST /api/status`.

Envelope `{code, message, data}`; statuses IN_PROGRESS (queued or running), SUCCESS and
FAILED; durations are the strings "5" and "10"; a given image list switches to image to
video, with the first image as first frame and a second as last frame.
"""

from __future__ import annotations

from typing import Any

from seedgate.dialects.common import (
    HTTP_STATUS,
    frame_inputs,
    iso_utc,
    not_an_object,
    renamed,
    status_names,
)
from seedgate.domain.errors import GatewayError, invalid, missing
from seedgate.domain.request import GenerationRequest
from seedgate.domain.task import Task, TaskStatus

NAME = "seedance15pro"
MODEL = "seedance-1-5-pro"
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
DURATIONS = ("5", "10")
MAX_PROMPT_CHARS = 1000
MAX_IMAGES = 2
PARAM_NAMES = {
    "ratio": "aspect_ratio", "generate_audio": "sound", "inputs": "image_urls",
    "model": "model", "duration": "duration", "prompt": "prompt",
}
STATUS = status_names("IN_PROGRESS", "IN_PROGRESS", "SUCCESS", "FAILED")


def decode_create(body: Any) -> tuple[GenerationRequest, dict[str, Any]]:
    """The canonical request and the sanitized copy shown back as `request`."""
    if not isinstance(body, dict):
        raise not_an_object()
    prompt = body.get("prompt")
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        raise missing("prompt")
    if not isinstance(prompt, str):
        raise invalid("prompt", "`prompt` must be a string.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise invalid("prompt", f"`prompt` must be at most {MAX_PROMPT_CHARS} characters; "
                      f"it has {len(prompt)}.")
    inputs = frame_inputs(body.get("image_urls"))
    ratio = body.get("aspect_ratio")
    if ratio is None and not inputs:
        raise missing("aspect_ratio")
    if ratio is not None and ratio not in ASPECT_RATIOS:
        raise invalid("aspect_ratio", f"`aspect_ratio` must be one of "
                      f"{', '.join(ASPECT_RATIOS)}; got {ratio!r}.")
    duration = _duration(body.get("duration"))
    sound = body.get("sound", False)
    if sound is None:
        sound = False
    if not isinstance(sound, bool):
        raise invalid("sound", "`sound` must be true or false.")
    request = GenerationRequest(
        model=MODEL, prompt=prompt, inputs=inputs, duration=int(duration),
        ratio="adaptive" if inputs else ratio, generate_audio=sound,
    )
    sanitized: dict[str, Any] = {
        "prompt": prompt, "aspect_ratio": ratio, "duration": duration, "sound": sound,
    }
    if inputs:
        sanitized["image_urls"] = [image.url for image in inputs]
    return request, sanitized


def _duration(value: Any) -> str:
    if value is None:
        raise missing("duration")
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if text not in DURATIONS:
        raise invalid("duration", f'`duration` must be "5" or "10" (seconds); got {value!r}.')
    return text


def encode_created(task: Task) -> dict[str, Any]:
    return {"code": 200, "message": "success", "data": {"task_id": task.id}}


def encode_task(task: Task, urls: list[str]) -> dict[str, Any]:
    return {
        "code": 200,
        "message": "success",
        "data": {
            "task_id": task.id,
            "status": STATUS[task.status],
            "request": task.client_request,
            "response": urls if task.status is TaskStatus.SUCCEEDED else [],
            "consumed_credits": task.consumed_credits,
            "error_message": task.error_message,
            "created_at": iso_utc(task.created_at),
        },
    }


def encode_error(error: GatewayError) -> tuple[int, dict[str, Any]]:
    error = renamed(error, PARAM_NAMES)
    status = HTTP_STATUS[error.kind]
    return status, {"code": status, "message": error.message, "data": None}
