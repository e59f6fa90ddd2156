"""The OpenAPI 3.1 document of every dialect (`GET /openapi.json`) and a self-contained
HTML rendering of it (`GET /docs`: no scripts, no CDN, readable offline).

The document is data: one `Dialect` per wire format, holding its schemas, its error
envelope and its operations. Values the codecs enforce (statuses, ratios, durations, error
codes...) are read from the codecs themselves, so the two cannot drift apart.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from seedgate import __version__
from seedgate.dialects import apixo, ark, defapi, native, runbase, seedance15pro
from seedgate.dialects.common import HTTP_STATUS
from seedgate.domain.catalog import MOV, MP4, RATIOS, RESOLUTIONS, TaskType
from seedgate.domain.errors import ErrorKind
from seedgate.domain.paging import MAX_PAGE
from seedgate.domain.request import MediaKind, Role
from seedgate.engine.callbacks import PATH as CALLBACKS
from seedgate.http.ark import TASKS as ARK_TASKS
from seedgate.http.plumbing import JSON
from seedgate.media.storage import MEDIA_TYPES

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
URL: Schema = {"type": "string", "description": "An http(s) URL (or a base64 data URL)."}
TIMESTAMP: Schema = {"type": "string", "description": "ISO-8601 UTC, e.g. 2025-06-14T05:21:11Z."}
BINARY: Schema = {"type": "string", "format": "binary"}
# A path segment: anything but a slash (a slash would name another path).
SEGMENT: Schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def enum(values: Any) -> Schema:
    """A string (or integer) among `values`, deduplicated and in a stable order."""
    listed = sorted(set(values), key=str)
    return {"type": "integer" if isinstance(listed[0], int) else "string", "enum": listed}


def obj(properties: dict[str, Schema], required: tuple[str, ...] = (), *,
        closed: bool = False, description: str | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def with_optional(schema: Schema, **properties: Schema) -> Schema:
    """`schema` with properties that are present only sometimes."""
    return {**schema, "properties": {**schema["properties"], **properties}}


def everything(properties: dict[str, Schema], **kwargs: Any) -> Schema:
    """An object whose every property is always present (a reply the gateway encodes)."""
    return obj(properties, tuple(properties), **kwargs)


# -- operations ---------------------------------------------------------------------------

ERROR_MEANINGS = {
    400: "The body or a parameter is missing or invalid (the message names it).",
    401: "No `Authorization: Bearer` header, or an unknown or revoked key.",
    402: "The balance cannot cover the task.",
    403: "The request is not allowed.",
    404: "No such task for this key (other keys' tasks are invisible).",
    409: "The task is not in a state that allows this.",
    410: "The model was retired by every provider; the message names its replacement.",
    429: "Over the key's rate limit; `Retry-After` says when to retry.",
    500: "An internal error; retry with exponential backoff.",
}
READ_ERRORS = (401, 404, 429, 500)
CREATE_ERRORS = (400, 401, 402, 403, 410, 429, 500)


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: what it takes, what it answers, and the errors it can answer."""

    summary: str
    ok: Schema | dict[str, Schema]  # a JSON schema, or content by media type
    errors: tuple[int, ...]
    body: Schema | dict[str, Schema] | None = None  # a JSON schema, or content by media type
    parameters: tuple[Schema, ...] = ()
    description: str | None = None
    ok_headers: dict[str, Schema] = field(default_factory=dict)
    error_meanings: dict[int, str] = field(default_factory=dict)


def query(name: str, schema: Schema, description: str, *, required: bool = False) -> Schema:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


def path(name: str, description: str, schema: Schema = SEGMENT) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


def content(schema: Schema | dict[str, Schema]) -> dict[str, Any]:
    """`schema` as JSON content, or a `{media type: schema}` map as it is."""
    by_type = schema if all("/" in key for key in schema) else {JSON: schema}
    return {media_type: {"schema": s} for media_type, s in by_type.items()}


def render(op: Op, operation_id: str, tag: str, error: str) -> Schema:
    """The operation object; `error` names the dialect's error envelope schema."""
    out: Schema = {"tags": [tag], "summary": op.summary, "operationId": operation_id}
    if op.description:
        out["description"] = op.description
    if op.parameters:
        out["parameters"] = list(op.parameters)
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": content(op.body)}
    ok_headers = {"x-request-id": {"$ref": "#/components/headers/RequestId"}}
    for name, schema in op.ok_headers.items():
        ok_headers[name] = {"schema": schema}
    responses: Schema = {"200": {"description": "Success.", "headers": ok_headers,
                                 "content": content(op.ok)}}
    for status in op.errors:
        if status in op.error_meanings:  # this operation's own meaning, written out
            responses[str(status)] = {**error_response(error, status),
                                      "description": op.error_meanings[status]}
        else:
            responses[str(status)] = {"$ref": f"#/components/responses/{error}{status}"}
    out["responses"] = responses
    return out


def error_response(error: str, status: int) -> Schema:
    """An error answer in the envelope named `error`."""
    headers: Schema = {"x-request-id": {"$ref": "#/components/headers/RequestId"}}
    if status == 429:
        headers["retry-after"] = {"$ref": "#/components/headers/RetryAfter"}
    return {"description": ERROR_MEANINGS[status], "headers": headers,
            "content": content(ref(error))}


@dataclass(frozen=True, slots=True)
class Dialect:
    """A wire format: its tag, its schemas, its error envelope and its operations."""

    tag: str
    description: str
    error: str  # the name, in `schemas`, of its error envelope
    schemas: dict[str, Schema]
    operations: dict[str, dict[str, tuple[str, Op]]]  # path -> method -> (operationId, op)
    security: str = "bearer"  # the security scheme its operations take


# -- seedance15pro ------------------------------------------------------------------------

S15 = seedance15pro
SEEDANCE = Dialect(
    tag="seedance15pro",
    description="The seedance1-5pro.com API: envelope `{code, message, data}`.",
    error="Seedance15proError",
    schemas={
        "Seedance15proGenerate": obj({
            "prompt": {"type": "string", "maxLength": S15.MAX_PROMPT_CHARS},
            "aspect_ratio": {**enum(S15.ASPECT_RATIOS),
                             "description": "Required unless `image_urls` is given."},
            "duration": {"anyOf": [enum(S15.DURATIONS), enum(int(d) for d in S15.DURATIONS)],
                         "description": "Seconds."},
            "sound": {"type": ["boolean", "null"], "default": False},
            "image_urls": {"type": "array", "items": URL, "minItems": 1,
                           "maxItems": S15.MAX_IMAGES,
                           "description": "The first frame, then optionally the last frame."},
        }, ("prompt", "duration")),
        "Seedance15proCreated": everything({
            "code": {"const": 200}, "message": {"const": "success"},
            "data": everything({"task_id": STRING}),
        }),
        "Seedance15proStatus": everything({
            "code": {"const": 200}, "message": {"const": "success"},
            "data": everything({
                "task_id": STRING,
                "status": enum(S15.STATUS.values()),
                "request": {"type": "object", "description": "The sanitized request."},
                "response": {"type": "array", "items": URL,
                             "description": "The signed video URL, once succeeded."},
                "consumed_credits": INTEGER,
                "error_message": nullable(STRING),
                "created_at": TIMESTAMP,
            }),
        }),
        "Seedance15proError": everything({
            "code": enum(HTTP_STATUS.values()), "message": STRING, "data": {"type": "null"},
        }),
    },
    operations={
        "/api/generate": {"post": ("seedance15proGenerate", Op(
            "Create a task", ref("Seedance15proCreated"), CREATE_ERRORS,
            body=ref("Seedance15proGenerate"),
        ))},
        "/api/status": {
            "get": ("seedance15proStatus", Op(
                "Read a task", ref("Seedance15proStatus"), (400, *READ_ERRORS),
                parameters=(query("task_id", STRING, "The task's id.", required=True),),
            )),
            "post": ("seedance15proStatusPost", Op(
                "Read a task (id in the body)", ref("Seedance15proStatus"), (400, *READ_ERRORS),
                body=obj({"task_id": STRING}, ("task_id",)),
            )),
        },
    },
)

# -- runbase ------------------------------------------------------------------------------

RB15 = runbase.SCHEMAS["seedance-1-5-pro"]
RUNBASE = Dialect(
    tag="runbase",
    description="Runs: `{model, input}` in, the run object out; errors `{error: {message, "
                "code}}`.",
    error="RunbaseError",
    schemas={
        "RunbaseCreate": obj({
            "model": {"type": "string", "examples": ["bytedance/seedance-1.5-pro"]},
            "input": ref("RunbaseInput"),
        }, ("model", "input")),
        "RunbaseInput": obj({
            "prompt": STRING,
            "aspect_ratio": enum(RATIOS),
            "resolution": enum(RESOLUTIONS),
            "duration": {"type": "string", "pattern": "^-?[0-9]+$", "description":
                         f"Seconds; for 1.5 Pro one of {', '.join(RB15.durations)}."},
            "generate_audio": BOOLEAN,
            "image_urls": {"type": "array", "items": URL, "maxItems": runbase.MAX_IMAGES},
        }, ("prompt",), description="The model's input; fields left out take its defaults."),
        "RunbaseRun": everything({
            "id": STRING,
            "model": STRING,
            "status": enum(runbase.STATUS.values()),
            "input": {"type": "object"},
            "output": nullable(everything({"urls": {"type": "array", "items": URL}})),
            "error": nullable(STRING),
            "cost": INTEGER,
            "created_at": TIMESTAMP,
            "completed_at": nullable(TIMESTAMP),
        }),
        "RunbaseError": everything({"error": everything({
            "message": STRING,
            "code": enum([*runbase.CODES.values(), *runbase.MISSING_CODES.values(),
                          "invalid_api_key", "missing_api_key"]),
        })}),
    },
    operations={
        "/api/v1/runs": {"post": ("runbaseCreate", Op(
            "Create a run", ref("RunbaseRun"), CREATE_ERRORS, body=ref("RunbaseCreate"),
        ))},
        "/api/v1/runs/{run_id}": {"get": ("runbaseGet", Op(
            "Read a run", ref("RunbaseRun"), READ_ERRORS,
            parameters=(path("run_id", "The run's id."),),
        ))},
    },
)

# -- defapi -------------------------------------------------------------------------------

DEFAPI = Dialect(
    tag="defapi",
    description="Envelope `{code, message, data}`: code 0 on success, 1 on any error.",
    error="DefapiError",
    schemas={
        "DefapiGenerate": obj({
            "model": {"type": "string", "minLength": 1, "default": defapi.DEFAULT_MODEL},
            "content": {"type": "array", "items": {"oneOf": [
                obj({"type": {"const": "text"}, "text": STRING}, ("type", "text")),
                obj({"type": {"const": "image_url"},
                     "image_url": obj({"url": URL}, ("url",))}, ("type", "image_url")),
            ]}, "description": f"One text item (it may name @image1..@image{defapi.MAX_IMAGES}"
                               f") and up to {defapi.MAX_IMAGES} image_url items."},
            "duration": {**enum(defapi.DURATIONS), "default": defapi.DEFAULT_DURATION},
            "ratio": {**enum(defapi.RATIOS), "default": defapi.DEFAULT_RATIO},
            "callback_url": {"type": "string", "description": "An http(s) URL."},
        }, ("content",)),
        "DefapiCreated": everything({
            "code": {"const": 0}, "message": {"const": "ok"},
            "data": everything({"task_id": STRING}),
        }),
        "DefapiTask": everything({
            "code": {"const": 0}, "message": {"const": "ok"},
            "data": everything({
                "task_id": STRING,
                "status": enum(defapi.STATUS.values()),
                "result": nullable(everything({"video": URL})),
                "consumed": {"type": "string", "pattern": r"^\d+\.\d{6}$"},
                "status_reason": everything({"message": nullable(STRING)}),
                "created_at": {"type": "string", "description": "ISO-8601 UTC with ms."},
            }),
        }),
        "DefapiError": everything({
            "code": {"const": 1}, "message": STRING, "data": {"type": "null"},
        }),
    },
    operations={
        "/api/video/seedance/gen": {"post": ("defapiGenerate", Op(
            "Create a task", ref("DefapiCreated"), CREATE_ERRORS, body=ref("DefapiGenerate"),
        ))},
        "/api/task/query": {"get": ("defapiQuery", Op(
            "Read a task", ref("DefapiTask"), (400, *READ_ERRORS),
            parameters=(query("task_id", STRING, "The task's id.", required=True),),
        ))},
    },
)

# -- apixo --------------------------------------------------------------------------------

APIXO_MODEL = path("model", "An apixo model; any of them reads any task.", enum(apixo.MODES))
URLS: Schema = {"type": "array", "items": URL}
APIXO = Dialect(
    tag="apixo",
    description="The model in the path; envelope `{code, message, data}`; errors carry "
                "`data.error`.",
    error="ApixoError",
    schemas={
        "ApixoGenerate": obj({
            "request_type": {**enum(apixo.REQUEST_TYPES), "default": "async"},
            "callback_url": {"type": "string",
                             "description": "Required with `request_type: callback`."},
            "provider": {**enum(apixo.PROVIDERS), "default": "auto"},
            "input": ref("ApixoInput"),
        }, ("input",)),
        "ApixoInput": obj({
            "mode": {**enum(m for modes in apixo.MODES.values() for m in modes),
                     "description": "; ".join(f"{model}: {', '.join(modes)}"
                                              for model, modes in apixo.MODES.items())},
            "prompt": STRING,
            "resolution": enum(RESOLUTIONS),
            "duration": {"type": "integer", "description": "; ".join(
                f"{model}: {low}-{high}" for model, (low, high) in apixo.DURATIONS.items())},
            "sound": {"type": "boolean", "description": f"Required for {apixo.V1_5}."},
            "aspect_ratio": enum((apixo.AUTO, *RATIOS)),
            "fixed_lens": BOOLEAN,
            "web_search": BOOLEAN,
            "image_urls": URLS,
            "video_urls": URLS,
            "audio_urls": URLS,
        }, ("prompt",), description="The fields of the path's model; `null` counts as absent."),
        "ApixoCreated": everything({
            "code": {"const": 200}, "message": {"const": "success"},
            "data": everything({"taskId": STRING}),
        }),
        "ApixoStatus": everything({
            "code": {"const": 200}, "message": {"const": "success"},
            "data": obj({
                "taskId": STRING,
                "state": enum(apixo.STATE.values()),
                "resultJson": {"type": "string",
                               "description": 'JSON text: {"resultUrls": [...]}.'},
                "failCode": STRING,
                "failMsg": STRING,
                "createTime": {"type": "integer", "description": "Unix milliseconds."},
                "costTime": {"type": "integer", "description": "Milliseconds."},
                "completeTime": {"type": "integer", "description": "Unix milliseconds."},
            }, ("taskId", "state", "createTime")),
        }),
        "ApixoError": everything({
            "code": enum(apixo.STATUS.values()), "message": enum(apixo.TITLES.values()),
            "data": everything({"error": STRING}),
        }),
    },
    operations={
        "/api/v1/generateTask/{model}": {"post": ("apixoGenerate", Op(
            "Create a task", ref("ApixoCreated"), (*CREATE_ERRORS, 404), body=ref("ApixoGenerate"),
            parameters=(APIXO_MODEL,),
            error_meanings={404: "The path names an unknown model."},
        ))},
        "/api/v1/statusTask/{model}": {"get": ("apixoStatus", Op(
            "Read a task", ref("ApixoStatus"), (400, *READ_ERRORS),
            parameters=(APIXO_MODEL, query("taskId", STRING, "The task's id.", required=True)),
        ))},
    },
)

# -- native -------------------------------------------------------------------------------

VIDEO_ID = path("video_id", "The video's id.")
FLAG: Schema = {"anyOf": [BOOLEAN, {"type": "string"}], "description": "true/false (or 1/0, "
                "yes/no, on/off as form text)."}
NUMBER_TEXT: Schema = {"anyOf": [INTEGER, {"type": "string"}], "description": "An integer, "
                       "or its decimal text."}
NATIVE_FIELDS: dict[str, Schema] = {
    "prompt": STRING,
    "model": {"type": "string", "default": native.DEFAULT_MODEL},
    "seconds": NUMBER_TEXT,
    "size": {"type": "string", "description": "WxH, one of the model's exact pixel sizes."},
    "ratio": STRING,
    "resolution": STRING,
    "duration": NUMBER_TEXT,
    "seed": NUMBER_TEXT,
    "priority": {**NUMBER_TEXT, "description": "0-9, higher first."},
    "safety_identifier": {"type": "string", "description": "The end user's id, 1-64 "
                          "characters."},
    **dict.fromkeys(native.BOOLEANS, FLAG),
    "task_type": {**enum(TaskType), "description": "2.5 family; edit and extend take one "
                  "video in `inputs`, the source."},
    "output_format": {**enum((MP4, MOV)), "description": "mov: 2.5 family."},
    "draft_task_id": {"type": "string", "description": "Render this draft's final."},
}
OUTPUT_FORMAT = enum((MP4, MOV))
TASK_TYPE = enum(TaskType)
TOOLS: Schema = {"type": "array", "items": obj({"type": {"const": "web_search"}}, ("type",)),
                 "description": "Web search (2.0 family, text-only input)."}
NATIVE_INPUT = obj({
    "type": enum(kind.value for kind in MediaKind),
    "url": STRING,
    "role": enum(role.value for role in Role),
})
VIDEO_CONTENT = {"video/mp4": BINARY, "video/quicktime": BINARY, "image/png": BINARY}
PREFER = {"name": "Prefer", "in": "header", "required": False, "schema": STRING,
          "description": "`wait` or `wait=N` (RFC 7240, as Replicate): answer once the video "
                         "has ended, or after N seconds (capped by the operator, 60 by "
                         "default); `Preference-Applied` says the wait used."}
WAITED = {"preference-applied": {"type": "string", "description": "wait=N, when waited."}}
DELIVERY_STATUS = enum(("pending", "delivered", "failed", "cancelled"))
NATIVE = Dialect(
    tag="native",
    description="A superset of the OpenAI Videos API; errors `{error: {message, type, code, "
                "param}}`.",
    error="NativeError",
    schemas={
        "NativeCreate": obj({
            **NATIVE_FIELDS,
            "inputs": {"type": "array", "items": NATIVE_INPUT},
            "input_reference": obj({"image_url": STRING}, ("image_url",),
                                   description="The first frame, by URL."),
            "webhook": ref("NativeWebhook"),
            "tools": TOOLS,
        }, closed=True, description="Unknown fields are a 400 naming the field."),
        "NativeRemix": obj({
            "prompt": STRING,
            "model": {"type": "string", "default": native.REMIX_MODEL},
            "resolution": STRING,
            "generate_audio": FLAG,
            "seed": NUMBER_TEXT,
            "output_format": OUTPUT_FORMAT,
            "webhook": ref("NativeWebhook"),
        }, ("prompt",), closed=True, description="Unknown fields are a 400 naming the field."),
        "NativeWebhook": obj({
            "url": {"type": "string", "description": "An http(s) URL on a public address."},
            "events": {"type": "array", "minItems": 1,
                       "items": enum(native.EVENTS.values()),
                       "description": "Default: the endings (completed, failed, cancelled, "
                                      "expired)."},
        }, ("url",), closed=True, description="Signed Standard Webhooks events of this video."),
        "NativeCreateForm": obj({
            **dict.fromkeys(NATIVE_FIELDS, STRING),
            "inputs": {"type": "string", "description": "The inputs array as JSON text."},
            # OpenAPI 3.1 names a file part by its content, not `format: binary` (on which
            # schemathesis 4.32's negative multipart cases crash: "Unsupported type: 'Binary'").
            "input_reference": {"type": "string", "contentMediaType": "application/octet-stream",
                                "description": "A JPEG, PNG or WebP first frame (a file)."},
            "webhook": {"type": "string", "description": "The webhook object as JSON text."},
        }, closed=True, description="As the openai SDK sends it."),
        "NativeVideo": with_optional(everything({
            "id": STRING,
            "object": {"const": "video"},
            "model": STRING,
            "status": enum(native.STATUS.values()),
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "created_at": INTEGER,
            "completed_at": nullable(INTEGER),
            "expires_at": nullable(INTEGER),
            "size": nullable(STRING),
            "seconds": nullable(STRING),
            "prompt": STRING,
            "remixed_from_video_id": nullable(STRING),
            "error": nullable(everything({"code": STRING, "message": nullable(STRING)})),
            "queue_position": nullable(INTEGER),
            "usage": everything({"credits": INTEGER, "completion_tokens": nullable(INTEGER)}),
            "outputs": everything({"video_url": nullable(URL), "last_frame_url": nullable(URL)}),
        }), requested_model={"type": "string", "description": "Only when an operator's "
                             "alias ran another model (`model`): the model asked for."}),
        "NativeVideoList": everything({
            "object": {"const": "list"},
            "data": {"type": "array", "items": ref("NativeVideo")},
            "first_id": nullable(STRING),
            "last_id": nullable(STRING),
            "has_more": BOOLEAN,
        }),
        "NativeWebhookDelivery": everything({
            "id": {"type": "string", "description": "The event id (`webhook-id` header)."},
            "object": {"const": "webhook_delivery"},
            "type": STRING,
            "url": STRING,
            "status": DELIVERY_STATUS,
            "attempts": INTEGER,
            "created_at": INTEGER,
            "next_attempt_at": nullable(INTEGER),
            "finished_at": nullable(INTEGER),
            "last_status_code": nullable(INTEGER),
            "last_error": nullable(STRING),
            "payload": {"description": "The body sent, as JSON."},
            "attempt_log": {"type": "array", "items": everything({
                "attempted_at": INTEGER, "duration_ms": INTEGER,
                "status_code": nullable(INTEGER), "error": nullable(STRING),
                "response": nullable(STRING),
            })},
        }),
        "NativeWebhookDeliveryList": everything({
            "object": {"const": "list"},
            "data": {"type": "array", "items": ref("NativeWebhookDelivery")},
        }),
        "NativeVideoDeleted": everything({
            "id": STRING, "object": {"const": "video.deleted"}, "deleted": {"const": True},
        }),
        "NativeError": everything({"error": with_optional(everything({
            "message": STRING,
            "type": enum([*native.ERROR_TYPES.values(), "invalid_request_error",
                          "idempotency_error"]),
            "code": enum([*(kind.value for kind in ErrorKind), "idempotency_key_in_use",
                          "idempotency_key_reused"]),
            "param": nullable(STRING),
        }), replacement={"type": "string", "description": "A retired model's successor."})}),
    },
    operations={
        "/v1/videos": {
            "post": ("nativeCreate", Op(
                "Create a video", ref("NativeVideo"), (*CREATE_ERRORS, 409),
                body={JSON: ref("NativeCreate"), MULTIPART: ref("NativeCreateForm"),
                      FORM: ref("NativeCreateForm")},
                parameters=({"name": "Idempotency-Key", "in": "header", "required": False,
                             "schema": STRING, "description": "Stripe's semantics: the same "
                             "key and body get the same video, debited once."}, PREFER),
                ok_headers=WAITED,
                error_meanings={409: "A request with this Idempotency-Key is still in "
                                "flight."},
            )),
            "get": ("nativeList", Op(
                "List videos", ref("NativeVideoList"), (400, 401, 429, 500),
                parameters=(
                    query("after", STRING, "The last id of the previous page."),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                          "Page size."),
                    query("order", enum(("asc", "desc")), "By creation time."),
                    query("status", STRING, "Comma-separated statuses."),
                    query("model", STRING, "A catalog model name."),
                ),
            )),
        },
        "/v1/videos/{video_id}": {
            "get": ("nativeRetrieve", Op(
                "Read a video", ref("NativeVideo"), READ_ERRORS, parameters=(VIDEO_ID, PREFER),
                ok_headers={"openai-poll-after-ms": {
                    "type": "string", "description": "While the video is unfinished."},
                    **WAITED},
            )),
            "delete": ("nativeDelete", Op(
                "Delete a video", ref("NativeVideoDeleted"), (*READ_ERRORS, 409),
                parameters=(VIDEO_ID,),
                description="A queued video is cancelled and refunded first.",
                error_meanings={409: "The video is running."},
            )),
        },
        "/v1/videos/{video_id}/cancel": {"post": ("nativeCancel", Op(
            "Cancel a queued video", ref("NativeVideo"), (*READ_ERRORS, 409),
            parameters=(VIDEO_ID,), error_meanings={409: "The video is no longer queued."},
        ))},
        "/v1/videos/{video_id}/remix": {"post": ("nativeRemix", Op(
            "Remix a completed video: a Seedance 2.5 edit with a new prompt", ref("NativeVideo"),
            (*CREATE_ERRORS, 404, 409), parameters=(VIDEO_ID,), body=ref("NativeRemix"),
            description="The new video keeps the source's length and shape; "
                        "`remixed_from_video_id` names the source.",
            error_meanings={404: "No such video for this key, or it has no video (it "
                                 "failed).",
                            409: "The video is not completed yet."},
        ))},
        "/v1/videos/{video_id}/content": {"get": ("nativeContent", Op(
            "Download a video (MP4 or MOV) or its last frame (PNG)", VIDEO_CONTENT,
            (400, *READ_ERRORS, 409),
            parameters=(VIDEO_ID, query("variant", enum(("video", "thumbnail")),
                                        "video (default) or thumbnail (the last frame).")),
            description="Streamed from the media storage; `Range`, `If-Range` and "
                        "`If-None-Match` work as on the signed media links.",
            error_meanings={409: "The video is not finished yet."},
        ))},
        "/v1/videos/{video_id}/events": {"get": ("nativeEvents", Op(
            "Follow a video's changes (Server-Sent Events)",
            {"text/event-stream": {"type": "string", "description": "One `video` event (the "
                                   "video object) per change of status, progress or queue "
                                   "position; the stream ends once the video has ended."}},
            READ_ERRORS, parameters=(VIDEO_ID,),
        ))},
        "/v1/videos/{video_id}/webhooks": {"get": ("nativeWebhookDeliveries", Op(
            "A video's webhook deliveries and their attempts",
            ref("NativeWebhookDeliveryList"), READ_ERRORS, parameters=(VIDEO_ID,),
            description="Every webhook the video's task made, in any dialect.",
        ))},
        "/v1/videos/{video_id}/webhooks/{delivery_id}/replay": {"post": (
            "nativeReplayWebhook", Op(
                "Send a webhook delivery again", ref("NativeWebhookDelivery"), READ_ERRORS,
                parameters=(VIDEO_ID, path("delivery_id", "The delivery's id (msg_...).")),
                description="From the start of the retry schedule; re-enables an endpoint "
                            "that answered 410.",
            ))},
    },
)

# -- ark ----------------------------------------------------------------------------------

ARK_TASK_ID = path("task_id", "The task's id.")
ARK_MEDIA_ITEMS: list[Schema] = [
    obj({"type": {"const": kind}, kind: obj({"url": URL}, ("url",)),
         "role": enum(role.value for role in ark.ROLES[media])}, ("type", kind))
    for kind, media in ark.MEDIA_ITEMS.items()
]
ARK = Dialect(
    tag="ark",
    description="The official Ark v3 content generation tasks API (BytePlus ModelArk, "
                "Volcengine Ark); errors `{error: {code, message, param, type}}`.",
    error="ArkError",
    schemas={
        "ArkCreate": obj({
            "model": {"type": "string", "examples": ["seedance-1-5-pro-251215"]},
            "content": {"type": "array", "minItems": 1, "items": {"oneOf": [
                obj({"type": {"const": "text"}, "text": STRING}, ("type", "text")),
                *ARK_MEDIA_ITEMS,
                obj({"type": {"const": "draft_task"}, "draft_task": obj({"id": STRING}, ("id",))},
                    ("type", "draft_task")),
            ]}, "description": "One text item and media items, or one draft_task item."},
            **dict.fromkeys(ark.BOOLEANS, BOOLEAN),
            **dict.fromkeys(ark.INTEGERS, INTEGER),
            "resolution": STRING,
            "ratio": STRING,
            "callback_url": {"type": "string", "description": "An http(s) URL."},
            "service_tier": enum(ark.TIERS),
            "safety_identifier": {"type": "string", "description": "1-64 characters."},
            "output_format": OUTPUT_FORMAT,
            "omni_reference_task_type": {**TASK_TYPE, "description": "2.5 family; edit and "
                                         "extend take one reference_video item, the source."},
            "tools": TOOLS,
        }, ("model", "content"), closed=True,
            description="`null` means not given; unknown fields are a 400."),
        "ArkCreated": everything({"id": STRING}),
        "ArkTask": obj({
            "id": STRING,
            "model": STRING,
            "status": enum(ark.STATUS.values()),
            "error": nullable(everything({"code": STRING, "message": STRING})),
            "created_at": {"type": "integer", "description": "Unix seconds."},
            "updated_at": {"type": "integer", "description": "Unix seconds."},
            "content": obj({"video_url": URL, "last_frame_url": URL}, ("video_url",),
                           description="Once succeeded."),
            "usage": everything({"completion_tokens": INTEGER, "total_tokens": INTEGER}),
            "seed": INTEGER,
            "resolution": nullable(STRING),
            "ratio": nullable(STRING),
            "duration": nullable(INTEGER),
            "frames": INTEGER,
            "framespersecond": INTEGER,
            "generate_audio": nullable(BOOLEAN),
            "draft": BOOLEAN,
            "draft_task_id": STRING,
            "service_tier": enum(ark.TIERS),
            "execution_expires_after": INTEGER,
            "priority": INTEGER,
            "safety_identifier": STRING,
            "output_format": OUTPUT_FORMAT,
            "omni_reference_task_type": TASK_TYPE,
            "tools": TOOLS,
        }, ("id", "model", "status", "error", "created_at", "updated_at", "usage", "seed",
            "resolution", "ratio", "framespersecond", "draft", "service_tier",
            "execution_expires_after")),
        "ArkTaskList": everything({
            "total": INTEGER, "items": {"type": "array", "items": ref("ArkTask")},
        }),
        "ArkDeleted": obj({}, closed=True),
        "ArkError": everything({"error": everything({
            "code": enum([*(code for code, _ in ark.ERROR_CLASSES.values()),
                          *ark.RULE_CODES.values()]),
            "message": STRING,
            "param": nullable(STRING),
            "type": enum(ark.ERROR_TYPES.values()),
        })}),
    },
    operations={
        ARK_TASKS: {
            "post": ("arkCreate", Op(
                "Create a task", ref("ArkCreated"), (400, 401, 403, 404, 429, 500),
                body=ref("ArkCreate"),
                error_meanings={403: "The balance cannot cover the task "
                                "(`AccountOverdueError`).",
                                404: "Unknown model (`InvalidEndpointOrModel.NotFound`)."},
            )),
            "get": ("arkList", Op(
                "List tasks", ref("ArkTaskList"), (400, 401, 404, 429, 500),
                parameters=(
                    query("page_num", {"type": "integer", "minimum": 1}, "From 1."),
                    query("page_size", {"type": "integer", "minimum": 1,
                                        "maximum": ark.MAX_PAGE_SIZE}, "Page size."),
                    query("filter.status", enum(ark.STATUS.values()), "One status."),
                    {**query("filter.task_ids", {"type": "array", "items": STRING},
                             "Task ids (the parameter repeats)."), "explode": True},
                    query("filter.model", STRING, "A model id."),
                    query("filter.service_tier", enum(ark.TIERS), "Accepted, not filtered."),
                ),
                error_meanings={404: "`filter.model` names an unknown model."},
            )),
        },
        f"{ARK_TASKS}/{{task_id}}": {
            "get": ("arkRetrieve", Op(
                "Read a task", ref("ArkTask"), READ_ERRORS, parameters=(ARK_TASK_ID,),
            )),
            "delete": ("arkDelete", Op(
                "Cancel a queued task, or delete a finished one", ref("ArkDeleted"),
                (400, *READ_ERRORS), parameters=(ARK_TASK_ID,),
                error_meanings={400: "The task is running or cancelled (`OperationDenied`)."},
            )),
        },
    },
)

DIALECTS = (SEEDANCE, NATIVE, APIXO, RUNBASE, DEFAPI, ARK)

# -- routes outside the dialects ----------------------------------------------------------

def header(name: str, description: str) -> Schema:
    return {"name": name, "in": "header", "required": False, "schema": STRING,
            "description": description}


MEDIA_PARAMETERS = (
    path("key", "The stored file's key (it may contain slashes).", STRING),
    query("exp", INTEGER, "Expiry, unix seconds.", required=True),
    query("sig", STRING, "HMAC-SHA256 signature.", required=True),
    header("Range", "One byte range (`bytes=0-1023`, `bytes=1024-`, `bytes=-1024`); "
           "several ranges or another unit get the whole file."),
    header("If-Range", "The ETag or Last-Modified of the part the client has: the range "
           "is sent only while the file is unchanged, else the whole file."),
    header("If-None-Match", "ETags the client holds: 304 when the file still has one."),
)
FILE_HEADERS = {name: {"schema": STRING, "description": description} for name, description in (
    ("accept-ranges", "`bytes`."), ("etag", "The file's strong entity tag."),
    ("last-modified", "When the file was stored."), ("content-length", "Bytes in the body."),
)}
PLAIN_ERROR = everything({"error": everything({"code": STRING, "message": STRING})})


def media_operations() -> dict[str, Schema]:
    """The signed media download (GET and HEAD): no API key, the URL is the credential."""
    errors = {
        "403": {"description": "The link is incomplete, tampered with or expired.",
                "content": content(ref("PlainError"))},
        "404": {"description": "The file no longer exists.",
                "content": content(ref("PlainError"))},
        "416": {"description": "The range starts past the end of the file; "
                "`Content-Range: bytes */<size>` gives its size.",
                "headers": {"content-range": {"schema": STRING}},
                "content": content(ref("PlainError"))},
        "503": {"description": "The media storage cannot be reached; retry after "
                "`Retry-After` seconds.", "content": content(ref("PlainError"))},
    }
    files = {media_type: {"schema": BINARY} for media_type in
             (*sorted(set(MEDIA_TYPES.values())), "application/octet-stream")}
    range_headers = {**FILE_HEADERS, "content-range": {
        "schema": STRING, "description": "`bytes <first>-<last>/<size>`."}}
    return {
        method: {
            "tags": ["media"], "summary": summary, "operationId": f"media{method.title()}",
            "security": [], "parameters": list(MEDIA_PARAMETERS),
            "responses": {"200": {"description": "The file.", "headers": FILE_HEADERS,
                                  **({"content": files} if method == "get" else {})},
                          "206": {"description": "The requested range of the file.",
                                  "headers": range_headers,
                                  **({"content": files} if method == "get" else {})},
                          "304": {"description": "The client's copy is current "
                                  "(If-None-Match)."},
                          **errors},
        }
        for method, summary in (("get", "Download a stored video or image"),
                                ("head", "The headers of a stored video or image"))
    }


def upstream_callback_operations() -> dict[str, Schema]:
    """Where upstream providers report a task's change; the body is only a hint."""
    return {"post": {
        "tags": ["upstream"], "summary": "An upstream provider's callback for one task",
        "operationId": "upstreamCallback", "security": [],
        "description": "The URL (with its token) is given to the provider per task; a valid "
                       "callback makes the gateway poll the provider now. Its body is "
                       "ignored.",
        "parameters": [path("token", "The task's callback token.")],
        "requestBody": {"required": False, "content": content({})},
        "responses": {
            "200": {"description": "The task will be polled.", "content": content(
                {"type": "object"})},
            "404": {"description": "No such callback URL.",
                    "content": content(ref("PlainError"))},
        },
    }}


def own_operations() -> dict[str, dict[str, Schema]]:
    """This document and its HTML rendering."""
    return {
        "/openapi.json": {"get": {
            "tags": ["docs"], "summary": "This OpenAPI document", "operationId": "openapi",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1.",
                                  "content": content({"type": "object"})}},
        }},
        "/docs": {"get": {
            "tags": ["docs"], "summary": "This document as HTML", "operationId": "docs",
            "security": [],
            "responses": {"200": {"description": "A self-contained page.",
                                  "content": {"text/html": {"schema": STRING}}}},
        }},
    }


def operator_operations() -> dict[str, dict[str, Schema]]:
    """Liveness, readiness and Prometheus metrics, for load balancers and monitoring."""
    checks = everything({"status": enum(("ready", "unavailable")),
                         "checks": {"type": "object", "additionalProperties": STRING}})
    return {
        "/healthz": {"get": {
            "tags": ["operations"], "summary": "The process is alive", "operationId": "healthz",
            "security": [],
            "responses": {"200": {"description": "Alive.", "content": content(
                everything({"status": enum(("alive",))}))}},
        }},
        "/readyz": {"get": {
            "tags": ["operations"], "summary": "The database, Redis (when configured) and the "
            "media storage are reachable", "operationId": "readyz", "security": [],
            "responses": {"200": {"description": "Ready; every check is `ok`.",
                                  "content": content(checks)},
                          "503": {"description": "A check failed; it says why.",
                                  "content": content(checks)}},
        }},
        "/metrics": {"get": {
            "tags": ["operations"], "summary": "Prometheus metrics",
            "operationId": "metrics", "security": [{"metrics": []}],
            "responses": {"200": {"description": "The text exposition format 0.0.4.",
                                  "content": {"text/plain": {"schema": STRING}}},
                          "401": {"description": "The metrics token is missing or wrong.",
                                  "content": content(ref("PlainError"))},
                          "404": {"description": "Metrics are off (no `metrics_token`).",
                                  "content": content(ref("PlainError"))}},
        }},
    }


# -- the document -------------------------------------------------------------------------


@cache
def document() -> dict[str, Any]:
    from seedgate.http.admin import openapi as admin_openapi  # it builds on this module

    paths: dict[str, dict[str, Schema]] = {}
    schemas: dict[str, Schema] = {"PlainError": PLAIN_ERROR}
    responses: dict[str, Schema] = {}
    for dialect in (*DIALECTS, admin_openapi.ADMIN):
        schemas.update(dialect.schemas)
        for route, methods in dialect.operations.items():
            for method, (operation_id, op) in methods.items():
                paths.setdefault(route, {})[method] = render(
                    op, operation_id, dialect.tag, dialect.error)
                if dialect.security != "bearer":
                    paths[route][method]["security"] = [{dialect.security: []}]
                for status in op.errors:
                    responses[f"{dialect.error}{status}"] = error_response(dialect.error, status)
    paths["/media/{key}"] = media_operations()
    paths[f"{CALLBACKS}/{{token}}"] = upstream_callback_operations()
    paths.update(own_operations())
    paths.update(operator_operations())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "seedgate", "version": __version__,
            "description": "A self-hosted gateway for asynchronous Seedance video generation. "
                           "Every dialect is served at once, over the same tasks, keys and "
                           "credits; each answers errors in its own envelope.",
        },
        "tags": [*({"name": d.tag, "description": d.description}
                   for d in (*DIALECTS, admin_openapi.ADMIN)),
                 {"name": "media", "description": "Signed, expiring links to finished media."},
                 {"name": "upstream", "description": "Callbacks of upstream providers."},
                 {"name": "docs", "description": "This document."},
                 {"name": "operations", "description": "Health, readiness and metrics."}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API key, `sg_...`."},
                admin_openapi.SECURITY: {"type": "http", "scheme": "bearer",
                                         "description": "The admin token, `sga_...`."},
                "metrics": {"type": "http", "scheme": "bearer",
                            "description": "The `metrics_token` setting."},
            },
            "headers": {
                "RequestId": {"required": True, "schema": STRING,
                              "description": "Unique per response."},
                "RetryAfter": {"schema": STRING, "description": "Seconds to wait."},
            },
            "responses": dict(sorted(responses.items())),
            "schemas": schemas,
        },
    }


@cache
def document_bytes() -> bytes:
    return orjson.dumps(document())


async def openapi_json(_request: Request) -> Response:
    return Response(document_bytes(), media_type=JSON)


async def docs(_request: Request) -> Response:
    return HTMLResponse(docs_page())


# -- the HTML rendering -------------------------------------------------------------------

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
details{border:1px solid #ccc;border-radius:4px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer}code.m{display:inline-block;width:4.2rem;font-weight:bold}
pre{background:#f5f5f5;padding:.5rem;overflow:auto;font-size:13px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
"""


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """`node` with its `$ref`s replaced by what they point to (the document has no cycles)."""
    if isinstance(node, list):
        return [resolve(doc, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return resolve(doc, target)
    return {key: resolve(doc, value) for key, value in node.items()}


def pretty(value: Any) -> str:
    return f"<pre>{html.escape(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())}</pre>"


def operation_html(doc: dict[str, Any], route: str, method: str, op: Schema) -> str:
    op = resolve(doc, op)
    parts = [f"<details><summary><code class=m>{method.upper()}</code> "
             f"<code>{html.escape(route)}</code> — {html.escape(op['summary'])}</summary>"]
    if "description" in op:
        parts.append(f"<p>{html.escape(op['description'])}</p>")
    if op.get("parameters"):
        rows = "".join(
            f"<tr><td><code>{html.escape(p['name'])}</code></td><td>{p['in']}</td>"
            f"<td>{'yes' if p.get('required') else 'no'}</td>"
            f"<td>{html.escape(p.get('description', ''))}</td></tr>" for p in op["parameters"])
        parts.append("<table><tr><th>parameter</th><th>in</th><th>required</th>"
                     f"<th>meaning</th></tr>{rows}</table>")
    for media_type, body in op.get("requestBody", {}).get("content", {}).items():
        parts.append(f"<p>Request body ({html.escape(media_type)}):</p>{pretty(body['schema'])}")
    for status, response in op["responses"].items():
        parts.append(f"<p><b>{status}</b> {html.escape(response['description'])}</p>")
        for media_type, body in response.get("content", {}).items():
            if media_type == JSON:
                parts.append(pretty(body["schema"]))
            else:
                parts.append(f"<p>{html.escape(media_type)}</p>")
    parts.append("</details>")
    return "".join(parts)


@cache
def docs_page() -> str:
    doc = document()
    sections = []
    for tag in doc["tags"]:
        operations = [operation_html(doc, route, method, op)
                      for route, methods in doc["paths"].items()
                      for method, op in methods.items() if tag["name"] in op["tags"]]
        sections.append(f"<h2>{html.escape(tag['name'])}</h2>"
                        f"<p>{html.escape(tag['description'])}</p>{''.join(operations)}")
    info = doc["info"]
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{info['title']} API</title><style>{STYLE}</style></head><body>"
            f"<h1>{info['title']} {info['version']}</h1><p>{html.escape(info['description'])}"
            "</p><p>Every operation but media, the admin API and these docs takes "
            "<code>Authorization: Bearer &lt;key&gt;</code>; the admin API takes the admin "
            "token the same way. The machine-readable document: "
            f"<a href=/openapi.json>/openapi.json</a>.</p>{''.join(sections)}</body></html>")


routes = [Route("/openapi.json", openapi_json, methods=["GET"]),
          Route("/docs", docs, methods=["GET"])]
