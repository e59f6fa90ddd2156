"""The native dialect: a superset of the OpenAI Videos API (`/v1/videos`).

`openai.OpenAI(base_url=".../v1").videos.*` works unchanged: creates arrive as multipart
forms (or JSON) with `prompt`, `model`, `seconds`, `size` and an `input_reference` image,
and every Seedance option as an extra field. The video object adds `queue_position`,
`usage` and `outputs` to OpenAI's; statuses are OpenAI's plus `cancelled` and `expired`
(any status but `queued` and `in_progress` ends the SDK's `poll()`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from seedgate.clock import iso_utc_ms
from seedgate.dialects.common import (
    HTTP_STATUS,
    decode_model,
    decode_statuses,
    decode_tools,
    not_an_object,
    renamed,
)
from seedgate.domain.catalog import (
    ADAPTIVE,
    CATALOG,
    FPS,
    MIN_EDIT_SOURCE_SECONDS,
    Model,
    TaskType,
    closest_ratio,
)
from seedgate.domain.errors import ErrorKind, GatewayError, invalid
from seedgate.domain.idempotency import IdempotencyError
from seedgate.domain.paging import DEFAULT_PAGE, MAX_PAGE, ListQuery
from seedgate.domain.request import URL_SCHEMES, GenerationRequest, MediaInput, MediaKind, Role
from seedgate.domain.task import Task, TaskStatus
from seedgate.domain.webhooks import ENDINGS, Delivery, DeliveryStatus, Subscription

NAME = "native"
DEFAULT_MODEL = "seedance-1-5-pro"
REMIX_MODEL = "seedance-2-5"  # remix is Seedance 2.5's edit
REMIX_FIELDS = frozenset({"prompt", "model", "resolution", "generate_audio", "seed",
                          "output_format", "webhook"})
POLL_AFTER_MS = "1000"
STATUS = {
    TaskStatus.QUEUED: "queued",
    TaskStatus.RUNNING: "in_progress",
    TaskStatus.SUCCEEDED: "completed",
    TaskStatus.FAILED: "failed",
    TaskStatus.CANCELLED: "cancelled",
    TaskStatus.EXPIRED: "expired",
}
STATUS_NAMES = {name: status for status, name in STATUS.items()}
EVENTS = {status: f"video.{name}" for status, name in STATUS.items()}
EVENT_STATUSES = {event: status for status, event in EVENTS.items()}
DEFAULT_EVENTS = tuple(event for status, event in EVENTS.items() if status in ENDINGS)
ERROR_TYPES = {
    ErrorKind.UNAUTHORIZED: "authentication_error",
    ErrorKind.FORBIDDEN: "authentication_error",
    ErrorKind.INSUFFICIENT_CREDITS: "insufficient_quota",
    ErrorKind.NOT_FOUND: "not_found_error",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
    ErrorKind.CONCURRENCY_LIMITED: "rate_limit_error",
    ErrorKind.SPEND_LIMITED: "insufficient_quota",
    ErrorKind.IP_NOT_ALLOWED: "permission_error",
    ErrorKind.MODEL_NOT_ALLOWED: "permission_error",
    ErrorKind.INTERNAL: "api_error",
    ErrorKind.UNAVAILABLE: "api_error",
}
PARAM_NAMES = {"task_id": "video_id"}
BOOLEANS = ("generate_audio", "camera_fixed", "watermark", "draft", "return_last_frame")
INTEGERS = ("duration", "seed", "priority")
STRINGS = ("safety_identifier", "output_format", "task_type")
FIELDS = frozenset({"prompt", "model", "seconds", "size", "ratio", "resolution", "inputs",
                    "input_reference", "webhook", "tools", "draft_task_id", *BOOLEANS,
                    *INTEGERS, *STRINGS})
DEFAULT_ROLES = {MediaKind.IMAGE: Role.FIRST_FRAME, MediaKind.VIDEO: Role.REFERENCE_VIDEO,
                 MediaKind.AUDIO: Role.REFERENCE_AUDIO}
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
SIZE = re.compile(r"(\d{2,5})x(\d{2,5})")
INTEGER = re.compile(r"-?\d{1,10}")
FLAT_INPUT = "inputs[]["
FLAT_WEBHOOK = "webhook["


@dataclass(frozen=True, slots=True)
class Reference:
    """An uploaded `input_reference` image, already stored: where the provider fetches it."""

    url: str
    width: int
    height: int
    sha256: str


# -- create ---------------------------------------------------------------------------


def decode_create(
    body: Any, reference: Reference | None = None
) -> tuple[GenerationRequest, dict[str, Any]]:
    """The canonical request and the parameters that identify it (for idempotency).

    Form fields arrive as strings; JSON may type them. Both are accepted for every field.
    """
    if not isinstance(body, dict):
        raise not_an_object()
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise invalid(unknown[0], f"Unrecognized request argument supplied: `{unknown[0]}`.")
    model = body.get("model", DEFAULT_MODEL)
    if not isinstance(model, str):
        raise invalid("model", "`model` must be a string.")
    inputs = _linked_reference(body.get("input_reference")) + _inputs(body.get("inputs"))
    ratio, resolution = _ratio_and_resolution(body, CATALOG.get(model))
    known = CATALOG.get(model)
    if reference is not None:
        inputs = (MediaInput(MediaKind.IMAGE, reference.url, Role.FIRST_FRAME), *inputs)
        if not (known and known.adaptive_frames):  # those take a first frame's own shape
            ratio = ratio or closest_ratio(reference.width, reference.height)
    request = GenerationRequest(
        model=model, prompt=body.get("prompt", ""), inputs=inputs,
        duration=_duration(body), ratio=ratio, resolution=resolution,
        web_search=decode_tools(body.get("tools")),
        **_options(body, BOOLEANS, ("seed", "priority"), STRINGS),
    )
    parameters = _parameters(body, model)
    if reference is not None:
        parameters["input_reference"] = {"sha256": reference.sha256}
    return request, parameters


def decode_remix(body: Any, source: Task, source_url: str
                 ) -> tuple[GenerationRequest, dict[str, Any]]:
    """A remix of a finished video (`source`, whose stored video `source_url` links to): a
    Seedance 2.5 edit with a new prompt, keeping the source's length and shape; its
    resolution too, where the model has it."""
    prompt = check_remix(body)
    if source.outputs and source.outputs.rendition.duration < MIN_EDIT_SOURCE_SECONDS:
        raise invalid("video_id", f"Video {source.id} lasts {source.outputs.rendition.duration}"
                      f" s; an edit's source lasts at least {MIN_EDIT_SOURCE_SECONDS} s.")
    model = body.get("model", REMIX_MODEL)
    found = CATALOG.get(model) if isinstance(model, str) else None
    resolution = body.get("resolution")
    if resolution is None and found is not None and source.request.resolution in (
            found.resolutions):
        resolution = source.request.resolution
    request = GenerationRequest(
        model=model, prompt=prompt, resolution=resolution, ratio=ADAPTIVE, duration=-1,
        inputs=(MediaInput(MediaKind.VIDEO, source_url, Role.REFERENCE_VIDEO),),
        task_type=TaskType.EDIT,
        **_options(body, ("generate_audio",), ("seed",), ("output_format",)),
    )
    return request, _parameters(body, model, remixed_from_video_id=source.id)


def check_remix(body: Any) -> str:
    """A remix body's own faults (before the source is looked at); returns its prompt."""
    if not isinstance(body, dict):
        raise not_an_object()
    unknown = sorted(set(body) - REMIX_FIELDS)
    if unknown:
        raise invalid(unknown[0], f"Unrecognized request argument supplied: `{unknown[0]}`.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("prompt", "`prompt` must be a non-empty string: the edit to make.")
    return prompt


def _options(body: dict[str, Any], booleans: tuple[str, ...], integers: tuple[str, ...],
             strings: tuple[str, ...]) -> dict[str, Any]:
    """The request's fields of these types that the body gives."""
    return {**{name: _boolean(body, name) for name in booleans if body.get(name) is not None},
            **{name: _integer(body, name) for name in integers if body.get(name) is not None},
            **{name: body[name] for name in strings if body.get(name) is not None}}


def _parameters(body: dict[str, Any], model: str, **extra: Any) -> dict[str, Any]:
    """What identifies a create (kept with the task), its webhook checked."""
    parameters = {**body, "model": model, **extra}
    if body.get("webhook") is not None:
        parameters["webhook"] = _webhook(body["webhook"])
    return parameters


def form_fields(fields: dict[str, list[str]]) -> dict[str, Any]:
    """A form's fields as a create body. The openai SDK flattens a list of objects given in
    `extra_body` into repeated `inputs[][type]`, `inputs[][url]`... fields; they are zipped
    back, so every item must give the same keys (or `inputs` is sent as JSON text). A
    `webhook` object arrives as `webhook[url]` and repeated `webhook[events][]`."""
    body: dict[str, Any] = {name: values[-1] for name, values in fields.items()
                            if not name.startswith((FLAT_INPUT, FLAT_WEBHOOK))}
    flat_hook = {name: values for name, values in fields.items()
                 if name.startswith(FLAT_WEBHOOK)}
    if flat_hook:
        body["webhook"] = _flat_webhook(flat_hook)
    columns = {name[len(FLAT_INPUT):-1]: values for name, values in fields.items()
               if name.startswith(FLAT_INPUT) and name.endswith("]")}
    if columns:
        if len({len(values) for values in columns.values()}) != 1:
            raise invalid("inputs", "As form fields, every item of `inputs` must give the "
                          "same keys; or send `inputs` as one JSON text field.")
        body["inputs"] = [dict(zip(columns, row, strict=True))
                          for row in zip(*columns.values(), strict=True)]
    return body


def _flat_webhook(fields: dict[str, list[str]]) -> dict[str, Any]:
    hook: dict[str, Any] = {}
    for name, values in fields.items():
        if name == FLAT_WEBHOOK + "url]":
            hook["url"] = values[-1]
        elif name == FLAT_WEBHOOK + "events][]":
            hook["events"] = values
        else:
            raise invalid("webhook", f"Unrecognized form field `{name}`; `webhook` takes "
                          "`webhook[url]` and `webhook[events][]`.")
    return hook


def _boolean(body: dict[str, Any], name: str) -> bool:
    value = body[name]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (*TRUE, *FALSE):
        return value.strip().lower() in TRUE
    raise invalid(name, f"`{name}` must be true or false; got {value!r}.")


def _integer(body: dict[str, Any], name: str) -> int:
    value = body[name]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and INTEGER.fullmatch(value.strip()):
        return int(value)
    raise invalid(name, f"`{name}` must be an integer; got {value!r}.")


def _duration(body: dict[str, Any]) -> int | None:
    seconds = _integer(body, "seconds") if body.get("seconds") is not None else None
    duration = _integer(body, "duration") if body.get("duration") is not None else None
    if seconds is not None and duration is not None and seconds != duration:
        raise invalid("seconds", f"`seconds` ({seconds}) and `duration` ({duration}) "
                      "disagree; give one of them.")
    return duration if seconds is None else seconds


def _ratio_and_resolution(body: dict[str, Any], model: Model | None) -> tuple[Any, Any]:
    """`ratio` and `resolution`, from `size` when given ("WxH" of the model's table)."""
    ratio, resolution, size = body.get("ratio"), body.get("resolution"), body.get("size")
    if size is None or model is None:  # an unknown model is reported by validation
        return ratio, resolution
    found = _size_entry(size, model)
    if found is None:
        sizes = ", ".join(f"{w}x{h}" for res in model.resolutions
                          for w, h in model.sizes[res].values())
        raise invalid("size", f"`size` must be one of {sizes} for `{model.id}`; "
                      f"got {size!r}.")
    if ratio not in (None, found[0]) or resolution not in (None, found[1]):
        raise invalid("size", f"`size` {size} is {found[0]} at {found[1]}, which disagrees "
                      "with the `ratio` or `resolution` also given.")
    return found


def _size_entry(size: Any, model: Model) -> tuple[str, str] | None:
    match = SIZE.fullmatch(size.strip()) if isinstance(size, str) else None
    if match is None:
        return None
    pixels = (int(match[1]), int(match[2]))
    for resolution in model.resolutions:
        for ratio, entry in model.sizes[resolution].items():
            if entry == pixels:
                return ratio, resolution
    return None


def _webhook(value: Any) -> dict[str, Any]:
    """`{url, events}`: an http(s) URL and the events to send (default: the endings)."""
    value = _from_form(value, "webhook", "a JSON object")
    if not isinstance(value, dict):
        raise invalid("webhook", '`webhook` must be an object: {"url": "https://...", '
                      '"events": ["video.completed", ...]}.')
    unknown = sorted(set(value) - {"url", "events"})
    if unknown:
        raise invalid(f"webhook.{unknown[0]}", f"Unrecognized argument `webhook.{unknown[0]}`;"
                      " `webhook` takes `url` and `events`.")
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(URL_SCHEMES):
        raise invalid("webhook.url", "`webhook.url` must be an http(s) URL.")
    events = value.get("events", list(DEFAULT_EVENTS))
    if (not isinstance(events, list) or not events
            or not all(isinstance(e, str) and e in EVENT_STATUSES for e in events)):
        raise invalid("webhook.events", "`webhook.events` must be a non-empty array of "
                      f"{', '.join(EVENT_STATUSES)}.")
    return {"url": url, "events": sorted(set(events), key=list(EVENT_STATUSES).index)}


def webhook_of(client_request: dict[str, Any]) -> Subscription | None:
    hook = client_request.get("webhook")
    if not isinstance(hook, dict):
        return None
    statuses = frozenset(EVENT_STATUSES[event] for event in hook["events"])
    return Subscription(hook["url"], "webhook.url", statuses)


def encode_event(event_id: str, event_type: str, at_ms: int,
                 video: dict[str, Any]) -> dict[str, Any]:
    """A Standard Webhooks event (`type`, `timestamp`, `data`) in OpenAI's event shape."""
    return {"id": event_id, "object": "event", "type": event_type,
            "created_at": at_ms // 1000, "timestamp": iso_utc_ms(at_ms), "data": video}


def _linked_reference(value: Any) -> tuple[MediaInput, ...]:
    """`input_reference` given as `{"image_url": ...}` (JSON) instead of an uploaded file."""
    if value is None:
        return ()
    if not isinstance(value, dict) or not isinstance(value.get("image_url"), str):
        raise invalid("input_reference", "`input_reference` must be an image file (multipart) "
                      'or {"image_url": "https://..."}.')
    return (MediaInput(MediaKind.IMAGE, value["image_url"], Role.FIRST_FRAME),)


def _inputs(value: Any) -> tuple[MediaInput, ...]:
    if value is None:
        return ()
    value = _from_form(value, "inputs", "a JSON array")
    if not isinstance(value, list):
        raise invalid("inputs", "`inputs` must be an array of {type, url, role} objects.")
    return tuple(_input(index, item) for index, item in enumerate(value))


def _from_form(value: Any, name: str, what: str) -> Any:
    """A structured field: a form field carries it as JSON text."""
    if not isinstance(value, str):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        raise invalid(name, f"`{name}` must be {what}.") from None


def _input(index: int, item: Any) -> MediaInput:
    where = f"inputs[{index}]"
    if not isinstance(item, dict):
        raise invalid(where, f"`{where}` must be an object with `type`, `url` and `role`.")
    try:
        kind = MediaKind(item.get("type", "image"))
    except ValueError:
        raise invalid(f"{where}.type", f"`{where}.type` must be image, video or "
                      "audio.") from None
    try:
        role = Role(item["role"]) if item.get("role") is not None else DEFAULT_ROLES[kind]
    except ValueError:
        roles = ", ".join(role.value for role in Role)
        raise invalid(f"{where}.role", f"`{where}.role` must be one of {roles}.") from None
    return MediaInput(kind, item.get("url"), role)


# -- list and content -----------------------------------------------------------------


def decode_list(query: dict[str, str]) -> ListQuery:
    limit = _integer(query, "limit") if query.get("limit") else DEFAULT_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise invalid("limit", f"`limit` must be between 1 and {MAX_PAGE}; got {limit}.")
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid("order", f"`order` must be asc or desc; got {order!r}.")
    return ListQuery(limit=limit, ascending=order == "asc", after=query.get("after") or None,
                     statuses=decode_statuses(query.get("status"), STATUS_NAMES),
                     model=decode_model(query.get("model")))


def decode_variant(query: dict[str, str]) -> str:
    variant = query.get("variant", "video")
    if variant not in ("video", "thumbnail"):
        raise invalid("variant", f"`variant` must be video or thumbnail; got {variant!r}.")
    return variant


# -- the video object -----------------------------------------------------------------


def encode_video(
    task: Task, *, queue_position: int | None, urls: list[str], media_ttl: int
) -> dict[str, Any]:
    """The video object; `urls` are the signed output URLs (video, then last frame)."""
    pixels, seconds = _pixels(task), _seconds(task)
    done = task.status is TaskStatus.SUCCEEDED
    return {
        "id": task.id,
        "object": "video",
        "model": task.model,
        **({"requested_model": task.request.requested_model}
           if task.request.requested_model else {}),
        "status": STATUS[task.status],
        "progress": 100 if done else task.progress,
        "created_at": task.created_at // 1000,
        "completed_at": task.completed_at // 1000 if task.completed_at else None,
        "expires_at": task.completed_at // 1000 + media_ttl if done and task.completed_at
        else None,
        "size": f"{pixels[0]}x{pixels[1]}" if pixels else None,
        "seconds": str(seconds) if seconds else None,
        "prompt": task.request.prompt,
        "remixed_from_video_id": task.client_request.get("remixed_from_video_id")
        if task.dialect == NAME else None,
        "error": {"code": task.error_code, "message": task.error_message}
        if task.error_code else None,
        "queue_position": queue_position,
        "usage": {"credits": task.consumed_credits,
                  "completion_tokens": _tokens(task, pixels, seconds)},
        "outputs": {"video_url": urls[0] if urls else None,
                    "last_frame_url": urls[1] if len(urls) > 1 else None},
    }


def _pixels(task: Task) -> tuple[int, int] | None:
    """The video's size: as rendered, else as requested (unknown while `adaptive`)."""
    if task.outputs is not None:
        return task.outputs.rendition.width, task.outputs.rendition.height
    request = task.request
    if request.ratio == ADAPTIVE or request.resolution is None or request.ratio is None:
        return None
    return CATALOG[request.model].pixel_size(request.resolution, request.ratio)


def _seconds(task: Task) -> int | None:
    if task.outputs is not None:
        return task.outputs.rendition.duration
    duration = task.request.duration
    return None if duration is None or duration == -1 else duration


def _tokens(task: Task, pixels: tuple[int, int] | None, seconds: int | None) -> int | None:
    """What the provider billed, else Ark's token count of the video (ark.md 5.10):
    width x height x frames / 1024."""
    if task.outputs is not None and task.outputs.tokens is not None:
        return task.outputs.tokens
    if pixels is None or seconds is None:
        return None
    return pixels[0] * pixels[1] * (FPS * seconds + 1) // 1024


def encode_list(videos: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list", "data": videos,
        "first_id": videos[0]["id"] if videos else None,
        "last_id": videos[-1]["id"] if videos else None,
        "has_more": has_more,
    }


def encode_deleted(video_id: str) -> dict[str, Any]:
    return {"id": video_id, "object": "video.deleted", "deleted": True}


def encode_delivery(delivery: Delivery) -> dict[str, Any]:
    """A webhook delivery and its attempts; times in Unix seconds."""
    pending = delivery.status == DeliveryStatus.PENDING
    return {
        "id": delivery.event_id,
        "object": "webhook_delivery",
        "type": delivery.event_type,
        "url": delivery.url,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at // 1000,
        "next_attempt_at": delivery.next_attempt_at // 1000 if pending else None,
        "finished_at": delivery.finished_at // 1000 if delivery.finished_at else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "payload": orjson.loads(delivery.payload),
        "attempt_log": [{
            "attempted_at": attempt.attempted_at // 1000, "duration_ms": attempt.duration_ms,
            "status_code": attempt.status_code, "error": attempt.error,
            "response": attempt.response,
        } for attempt in delivery.log],
    }


def encode_deliveries(deliveries: list[Delivery]) -> dict[str, Any]:
    return {"object": "list", "data": [encode_delivery(d) for d in deliveries]}


def decode_wait(prefer: str | None, most: int) -> int | None:
    """Seconds of `Prefer: wait[=N]` (RFC 7240, Replicate's use), at most `most`; None when
    the client did not ask to wait. Preferences the gateway does not know are ignored."""
    for token in (prefer or "").split(","):
        name, _, value = token.strip().partition("=")
        if name.strip().lower() != "wait":
            continue
        value = value.strip().strip('"')
        if not value:
            return most
        if value.isdigit():
            return min(int(value[:6]), most)
    return None


def encode_error(error: GatewayError) -> tuple[int, dict[str, Any]]:
    error = renamed(error, PARAM_NAMES)
    status = HTTP_STATUS[error.kind]
    if isinstance(error, IdempotencyError):
        kind, code = "idempotency_error", (
            "idempotency_key_in_use" if error.kind is ErrorKind.CONFLICT
            else "idempotency_key_reused")
    else:
        kind, code = ERROR_TYPES.get(error.kind, "invalid_request_error"), error.kind.value
    body = {"message": error.message, "type": kind, "code": code, "param": error.param}
    if error.replacement:
        body["replacement"] = error.replacement
    return status, {"error": body}
