"""The seedance1-5pro API (seed 000): `POST /api/generate`, `GET|POST /api/status`.

Envelope `{code, message, data}`; statuses IN_PROGRESS (queued or running), SUCCESS and
FAILED; durations are the strings "5" and "10"; a given image list switches to image to
video, with the first image as first frame and a second as last frame.
"""

from __future__ import annotations

from typing import Any

from seedgate.clock import iso_utc
from seedgate.dialects import upstream
from seedgate.dialects.common import (
    HTTP_STATUS,
    frame_inputs,
    not_an_object,
    renamed,
    status_names,
)
from seedgate.domain.errors import GatewayError, invalid, missing
from seedgate.domain.request import GenerationRequest
from seedgate.domain.task import Task, TaskStatus
from seedgate.domain.upstream import RemoteStatus, Unsupported, UpstreamError, UpstreamState

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


# -- outbound: the gateway as a client of a seedance1-5pro provider ---------------------

UPSTREAM_STATES = {"IN_PROGRESS": UpstreamState.RUNNING, "SUCCESS": UpstreamState.SUCCEEDED,
                   "FAILED": UpstreamState.FAILED}
RESOLUTION = "720p"


def encode_create(request: GenerationRequest, model: str,
                  callback_url: str | None = None) -> dict[str, Any]:
    """The generate body; the API has one model, 720p, 5 or 10 s, three ratios and frame
    images, so any other request is `Unsupported`. It has no seed, fixed camera, watermark
    or callback: those are left to the provider's defaults."""
    images = upstream.frame_urls(request, "seedance1-5pro")
    if request.model != MODEL or request.resolution != RESOLUTION or request.draft:
        raise Unsupported("seedance1-5pro renders Seedance 1.5 Pro at 720p only")
    if str(request.duration) not in DURATIONS:
        raise Unsupported("seedance1-5pro renders 5 or 10 seconds only")
    body: dict[str, Any] = {"prompt": request.prompt, "duration": str(request.duration),
                            "sound": bool(request.generate_audio)}
    if images:
        body["image_urls"] = images
        if request.ratio != "adaptive":
            raise Unsupported("with images, seedance1-5pro follows the first image's shape")
    elif request.ratio in ASPECT_RATIOS:
        body["aspect_ratio"] = request.ratio
    else:
        raise Unsupported(f"seedance1-5pro has no ratio {request.ratio}")
    return body


def decode_created(body: Any) -> str:
    return upstream.envelope_id(body, "task_id")


def decode_status(body: Any) -> RemoteStatus:
    data = upstream.envelope_data(body)
    state = upstream.state(UPSTREAM_STATES, data.get("status"))
    if state is UpstreamState.SUCCEEDED:
        return RemoteStatus(state, 100, video_url=upstream.first_url(data.get("response"),
                                                                     "`data.response`"))
    if state is UpstreamState.FAILED:
        message = data.get("error_message")
        return upstream.failed(None, message)
    return RemoteStatus(state)


def decode_error(status: int, body: Any) -> UpstreamError:
    message = body.get("message") if isinstance(body, dict) else None
    return upstream.http_error(status, None, message)
