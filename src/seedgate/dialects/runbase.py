"""The runbase API (seed 001): `POST /api/v1/runs`, `GET /api/v1/runs/{run_id}`.

A run is created with `{"model": "bytedance/seedance-1.5-pro", "input": {...}}` and read
back as a run object whose `status` is pending, processing, succeeded or failed. Errors are
`{"error": {"message", "code"}}` with runbase's codes. The input schema is documented for
Seedance 1.5 Pro and 1.0 Pro (`Schema`); other models follow the catalog's rules. Fields
left out (or null) take the catalog's defaults, e.g. a 5 s video when `duration` is absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
from seedgate.domain.catalog import CATALOG, RATIOS
from seedgate.domain.errors import ErrorKind, GatewayError, invalid, missing
from seedgate.domain.request import GenerationRequest
from seedgate.domain.task import Task, TaskStatus
from seedgate.domain.upstream import RemoteStatus, Unsupported, UpstreamError, UpstreamState

NAME = "runbase"
MODEL_PREFIX = "bytedance/"
MAX_IMAGES = 2
# Canonical parameter names that runbase spells differently (the rest are the same).
PARAM_NAMES = {"ratio": "aspect_ratio", "inputs": "image_urls"}
STATUS = status_names("pending", "processing", "succeeded", "failed")
CODES = {
    ErrorKind.INVALID_JSON: "invalid_json",
    ErrorKind.INVALID_PARAMETER: "invalid_input",
    ErrorKind.MISSING_PARAMETER: "invalid_input",
    ErrorKind.MODEL_NOT_FOUND: "model_not_found",
    ErrorKind.INSUFFICIENT_CREDITS: "insufficient_balance",
    ErrorKind.FORBIDDEN: "forbidden",
    ErrorKind.NOT_FOUND: "run_not_found",
    ErrorKind.CONFLICT: "conflict",
    ErrorKind.RATE_LIMITED: "RATE_LIMITED",
    ErrorKind.CONCURRENCY_LIMITED: "USAGE_EXCEEDED",
    ErrorKind.SPEND_LIMITED: "api_key_spend_limit_exceeded",
    ErrorKind.IP_NOT_ALLOWED: "ip_not_allowed",
    ErrorKind.MODEL_NOT_ALLOWED: "model_not_allowed",
    ErrorKind.MODEL_RETIRED: "model_retired",
    ErrorKind.UNAVAILABLE: "service_unavailable",
    ErrorKind.INTERNAL: "internal_error",
}
# A missing top-level field has a code of its own; a missing input field is invalid input.
MISSING_CODES = {"model": "missing_model", "input": "missing_input"}
# Runbase sells Seedance 1.0 Lite as one model; upstream splits it by mode.
IMAGE_VARIANTS = {"seedance-1-0-lite-t2v": "seedance-1-0-lite-i2v"}
SECONDS = re.compile(r"-?[0-9]{1,9}")  # bounded: int() refuses over 4300 digits


@dataclass(frozen=True, slots=True)
class Schema:
    """The documented input options of a model; `None` leaves a field to the catalog."""

    ratios: tuple[str, ...] | None
    resolutions: tuple[str, ...]
    durations: tuple[str, ...]
    audio: bool


SCHEMAS = {
    "seedance-1-5-pro": Schema(RATIOS, ("480p", "720p", "1080p"), ("4", "8", "12"), True),
    "seedance-1-0-pro": Schema(None, ("720p", "1080p"), ("5", "10"), False),
}


def runbase_name(model_id: str) -> str:
    """The name runbase lists a catalog model under, else its canonical id."""
    base = next((k for k, v in IMAGE_VARIANTS.items() if v == model_id), model_id)
    model = CATALOG[base]
    return next((a for a in model.aliases if a.startswith(MODEL_PREFIX)), model_id)


def decode_create(body: Any) -> tuple[GenerationRequest, dict[str, Any]]:
    """The canonical request and what the run shows back: `{"model", "input"}` as sent."""
    if not isinstance(body, dict):
        raise not_an_object()
    name = body.get("model")
    if name is None or name == "":
        raise missing("model")
    if not isinstance(name, str):
        raise invalid("model", "`model` must be a string such as "
                      "\"bytedance/seedance-1.5-pro\".")
    model = CATALOG.get(name)
    if model is None:
        known = sorted({runbase_name(m.id) for m in CATALOG.models})
        raise GatewayError(ErrorKind.MODEL_NOT_FOUND, f"Model `{name}` does not exist. "
                           f"Known models: {', '.join(known)}.", param="model")
    fields = body.get("input")
    if fields is None:
        raise missing("input")
    if not isinstance(fields, dict):
        raise invalid("input", "`input` must be an object of the model's input fields.")
    schema = SCHEMAS.get(model.id)
    prompt = _prompt(fields.get("prompt"))
    inputs = frame_inputs(fields.get("image_urls"))
    ratio = _choice("aspect_ratio", fields.get("aspect_ratio"), schema.ratios if schema else None)
    resolution = _choice("resolution", fields.get("resolution"),
                         schema.resolutions if schema else None)
    duration = _duration(fields.get("duration"), schema.durations if schema else None)
    audio = _audio(fields.get("generate_audio"), name, schema is None or schema.audio)
    request = GenerationRequest(
        model=IMAGE_VARIANTS.get(model.id, model.id) if inputs else model.id,
        prompt=prompt, inputs=inputs, duration=None if duration is None else int(duration),
        ratio=ratio, resolution=resolution, generate_audio=audio,
    )
    sent = {
        "prompt": prompt, "aspect_ratio": ratio, "resolution": resolution,
        "duration": duration, "generate_audio": audio,
        "image_urls": [image.url for image in inputs] or None,
    }
    return request, {"model": name, "input": {k: v for k, v in sent.items() if v is not None}}


def _prompt(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise missing("prompt")
    if not isinstance(value, str):
        raise invalid("prompt", "`prompt` must be a string.")
    return value


def _choice(param: str, value: Any, options: tuple[str, ...] | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or (options is not None and value not in options):
        allowed = f"one of {', '.join(options)}" if options else "a string"
        raise invalid(param, f"`{param}` must be {allowed}; got {value!r}.")
    return value


def _duration(value: Any, options: tuple[str, ...] | None) -> str | None:
    """Seconds as the documented string ("8"); the integer form (8) is accepted too."""
    if value is None:
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if options is not None and text not in options:
        listed = ", ".join(f'"{o}"' for o in options)
        raise invalid("duration", f"`duration` must be one of {listed} (seconds); "
                      f"got {value!r}.")
    if not isinstance(text, str) or not SECONDS.fullmatch(text):
        raise invalid("duration", f"`duration` must be a number of seconds such as \"5\"; "
                      f"got {value!r}.")
    return text


def _audio(value: Any, model: str, supported: bool) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid("generate_audio", "`generate_audio` must be true or false.")
    if value and not supported:
        raise invalid("generate_audio", f"`{model}` cannot generate audio; leave "
                      "`generate_audio` out or set it to false.")
    return value


def encode_task(task: Task, urls: list[str]) -> dict[str, Any]:
    """The run object, for creation and every read."""
    if task.dialect == NAME:
        model, fields = task.client_request["model"], task.client_request["input"]
    else:
        model, fields = runbase_name(task.model), input_of(task.request)
    return {
        "id": task.id,
        "model": model,
        "status": STATUS[task.status],
        "input": fields,
        "output": {"urls": urls} if task.status is TaskStatus.SUCCEEDED else None,
        "error": task.error_message,
        "cost": task.consumed_credits,
        "created_at": iso_utc(task.created_at),
        "completed_at": iso_utc(task.completed_at) if task.completed_at is not None else None,
    }


def input_of(request: GenerationRequest) -> dict[str, Any]:
    """A task created in another dialect, told as the runbase input it amounts to."""
    fields: dict[str, Any] = {
        "prompt": request.prompt, "aspect_ratio": request.ratio,
        "resolution": request.resolution, "duration": str(request.duration),
        "generate_audio": request.generate_audio,
    }
    if request.images:
        fields["image_urls"] = [image.url for image in request.images]
    return fields


def api_key_sent(authorization: str | None) -> bool:
    """Whether the request carried any credential, to tell missing from invalid keys."""
    value = (authorization or "").strip()
    return bool(value) and value.lower() != "bearer"


def encode_error(error: GatewayError, *, key_sent: bool = True) -> tuple[int, dict[str, Any]]:
    error = renamed(error, PARAM_NAMES)
    status = HTTP_STATUS[error.kind]
    if error.kind is ErrorKind.UNAUTHORIZED:
        code = "invalid_api_key" if key_sent else "missing_api_key"
    elif error.kind is ErrorKind.MISSING_PARAMETER:
        code = MISSING_CODES.get(error.param or "", "invalid_input")
    else:
        code = CODES[error.kind]
    return status, {"error": {"message": error.message, "code": code}}


# -- outbound: the gateway as a client of a runbase provider ----------------------------

UPSTREAM_STATES = {"pending": UpstreamState.QUEUED, "processing": UpstreamState.RUNNING,
                   "succeeded": UpstreamState.SUCCEEDED, "failed": UpstreamState.FAILED}


def encode_create(request: GenerationRequest, model: str,
                  callback_url: str | None = None) -> dict[str, Any]:
    """The run body under the provider's model name (`bytedance/seedance-1.5-pro`). Runbase
    documents no seed, fixed camera, watermark or callback, so those are not sent; a
    request outside a model's documented options is `Unsupported`."""
    images = upstream.frame_urls(request, "runbase")
    if request.draft or request.duration == -1:
        raise Unsupported("runbase has no drafts nor model-picked durations")
    schema = SCHEMAS.get(request.model)
    fields: dict[str, Any] = {"prompt": request.prompt, "resolution": request.resolution,
                              "duration": str(request.duration)}
    if request.ratio != "adaptive":
        fields["aspect_ratio"] = request.ratio
    elif not images:
        raise Unsupported("runbase has no adaptive ratio without an image")
    if schema is not None and (fields["duration"] not in schema.durations or (
            request.resolution not in schema.resolutions) or (
            schema.ratios is not None and fields.get("aspect_ratio", schema.ratios[0])
            not in schema.ratios)):
        raise Unsupported(f"runbase does not offer this duration, resolution or ratio "
                          f"for {model}")
    if CATALOG[request.model].audio and (schema is None or schema.audio):
        fields["generate_audio"] = request.generate_audio
    if images:
        fields["image_urls"] = images
    return {"model": model, "input": fields}


def decode_created(body: Any) -> str:
    return upstream.text(upstream.mapping(body, "the run").get("id"), "`id`")


def decode_status(body: Any) -> RemoteStatus:
    run = upstream.mapping(body, "the run")
    state = upstream.state(UPSTREAM_STATES, run.get("status"))
    finished_at = upstream.iso_ms(run.get("completed_at"))
    if state is UpstreamState.SUCCEEDED:
        output = upstream.mapping(run.get("output"), "`output`")
        return RemoteStatus(state, 100, completed_at=finished_at,
                            video_url=upstream.first_url(output.get("urls"), "`output.urls`"))
    if state is UpstreamState.FAILED:
        error = run.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        code = error.get("code") if isinstance(error, dict) else None
        return upstream.failed(code, message, finished_at)
    return RemoteStatus(state)


def decode_error(status: int, body: Any) -> UpstreamError:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    return upstream.http_error(status, error.get("code"), error.get("message"))
