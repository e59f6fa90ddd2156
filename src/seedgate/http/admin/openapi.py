"""The admin API in the OpenAPI document: its schemas and operations, with the values the
codec enforces read from the codec (statuses, groupings, strategies, page sizes)."""

from __future__ import annotations

from typing import Any

from seedgate.domain.limits import MAXIMA
from seedgate.domain.task import TaskStatus
from seedgate.domain.usage import Grouping
from seedgate.http.admin import codec
from seedgate.http.admin.api import PREFIX
from seedgate.http.openapi import (
    BOOLEAN,
    INTEGER,
    JSON,
    STRING,
    URL,
    Dialect,
    Op,
    Schema,
    enum,
    everything,
    nullable,
    obj,
    path,
    query,
    ref,
)
from seedgate.providers.config import Strategy
from seedgate.service.admin.keys import MAX_CREDITS
from seedgate.service.admin.tasks import MAX_PAGE
from seedgate.store.attempts import AttemptState
from seedgate.store.ledger import EntryKind

NUMBER: Schema = {"type": "number"}
SECURITY = "adminToken"
AUTH_MEANINGS = {
    401: "No admin token, a malformed `Authorization` header, or a wrong token.",
    403: "A client API key: the admin API takes the admin token.",
}
NAME = path("name", "The key's name.")
TASK_ID = path("task_id", "The task's id.")
PAGE = (query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "Page size."),)
RANGE = (query("since", STRING, "From this moment (Unix seconds or ISO-8601; UTC)."),
         query("until", STRING, "Before this moment (Unix seconds or ISO-8601; UTC)."))
COUNT: Schema = nullable({"type": "integer", "minimum": 0})
STRATEGY: Schema = nullable(enum(s.value for s in Strategy))
LIMIT_FIELDS: dict[str, Schema] = {
    **{name: nullable({"type": "integer", "minimum": 0, "maximum": most})
       for name, most in MAXIMA.items()},
    "allowed_ips": nullable({"type": "array", "items": STRING,
                             "description": "CIDRs or addresses; empty: any address."}),
    "allowed_models": nullable({"type": "array", "items": STRING,
                                "description": "Catalog model names; empty: every model."}),
}
MEASURES: Schema = everything(dict.fromkeys(codec.USAGE_COLUMNS, INTEGER))
TASK_FIELDS: dict[str, Schema] = {
    "object": {"const": "task"},
    "id": STRING,
    "key": {"type": "string", "description": "The name of the task's key."},
    "dialect": STRING,
    "model": STRING,
    "status": enum(codec.STATUSES),
    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
    "prompt": STRING,
    "seconds": nullable(INTEGER),
    "resolution": nullable(STRING),
    "ratio": nullable(STRING),
    "size": nullable(STRING),
    "audio": nullable(BOOLEAN),
    "price": {"type": "integer", "description": "Credits debited at creation."},
    "refunded": {"type": "integer", "description": "Credits returned (refund, settlement)."},
    "credits": {"type": "integer", "description": "What the task cost: price - refunded."},
    "provider": nullable(STRING),
    "upstream_id": nullable(STRING),
    "error": nullable(everything({"code": STRING, "message": nullable(STRING)})),
    "created_at": INTEGER,
    "started_at": nullable(INTEGER),
    "completed_at": nullable(INTEGER),
    "video_url": nullable(URL),
    "last_frame_url": nullable(URL),
}
ENTRY = everything({
    "id": INTEGER, "kind": enum(kind.value for kind in EntryKind), "amount": INTEGER,
    "task_id": nullable(STRING), "note": nullable(STRING), "created_at": INTEGER,
})


def op(summary: str, ok: Schema | dict[str, Schema], errors: tuple[int, ...] = (), *,
       meanings: dict[int, str] | None = None, **kwargs: Any) -> Op:
    """An admin operation: every one may answer 401, 403 and 500."""
    return Op(summary, ok, (*errors, 401, 403, 500),
              error_meanings={**AUTH_MEANINGS, **(meanings or {})}, **kwargs)


def listing(item: str, **extra: Schema) -> Schema:
    return everything({"object": {"const": "list"},
                       "data": {"type": "array", "items": ref(item)}, **extra})


ADMIN = Dialect(
    tag="admin",
    description="The operators' API: keys, credits, tasks of every key, providers, usage and "
                "prices. `Authorization: Bearer <admin token>` (never a client key); errors "
                "in the native envelope.",
    error="NativeError",
    security=SECURITY,
    schemas={
        "AdminKey": obj({
            **everything({
                "object": {"const": "key"}, "name": STRING, "prefix": STRING,
                "active": BOOLEAN, "created_at": INTEGER, "revoked_at": nullable(INTEGER),
                "balance": INTEGER, "limits": ref("AdminLimits"), "strategy": STRATEGY,
                "unfinished_tasks": INTEGER, "spent_today": INTEGER,
                "spent_this_month": INTEGER,
            })["properties"],
            "key": {"type": "string", "description": "The secret, in the create's answer "
                    "only: it is never shown again."},
        }, ("object", "name", "prefix", "active", "created_at", "revoked_at", "balance",
            "limits", "strategy", "unfinished_tasks", "spent_today", "spent_this_month")),
        "AdminLimits": everything({
            **dict.fromkeys(MAXIMA, COUNT),
            "allowed_ips": {"type": "array", "items": STRING},
            "allowed_models": {"type": "array", "items": STRING},
        }),
        "AdminKeyCreate": obj({
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "credits": {"type": "integer", "minimum": 0, "maximum": MAX_CREDITS},
            **LIMIT_FIELDS, "strategy": STRATEGY,
        }, ("name",), closed=True),
        "AdminKeyChange": {**obj({**LIMIT_FIELDS, "strategy": STRATEGY}, closed=True,
                                 description="The limits to change; the others stay."),
                           "minProperties": 1},
        "AdminCredits": obj({
            "amount": {"type": "integer", "minimum": -MAX_CREDITS, "maximum": MAX_CREDITS,
                       "not": {"const": 0}, "description": "Negative withdraws."},
            "note": nullable({"type": "string", "maxLength": 200}),
        }, ("amount",), closed=True),
        "AdminKeyList": listing("AdminKey"),
        "AdminWebhookSecret": everything({"object": {"const": "webhook_secret"},
                                          "key": STRING, "secret": STRING}),
        "AdminLedger": everything({
            "object": {"const": "list"}, "key": STRING,
            "data": {"type": "array", "items": ENTRY}, "has_more": BOOLEAN,
            "last_id": nullable(INTEGER),
        }),
        "AdminTask": everything(TASK_FIELDS),
        "AdminTaskList": listing("AdminTask", has_more=BOOLEAN, last_id=nullable(STRING)),
        "AdminTaskRecord": everything({
            **TASK_FIELDS,
            "queue_position": nullable(INTEGER),
            "request": {"type": "object", "description": "As the gateway understood it."},
            "client_request": {"type": "object", "description": "As the client sent it."},
            "attempts": {"type": "array", "items": everything({
                "number": INTEGER, "provider": STRING,
                "state": enum(state.value for state in AttemptState),
                "upstream_id": nullable(STRING), "error": nullable(STRING), "calls": INTEGER,
                "created_at": INTEGER, "updated_at": nullable(INTEGER),
                "upstream_done_at": nullable(INTEGER),
            })},
            "ledger": {"type": "array", "items": ENTRY},
            "deliveries": {"type": "array", "items": ref("NativeWebhookDelivery")},
        }),
        "AdminProvider": everything({
            "object": {"const": "provider"}, "name": STRING, "kind": STRING,
            "models": {"type": "array", "items": STRING},
            "breaker": enum(("closed", "open", "half_open")),
            "success_rate": {"type": "number", "minimum": 0, "maximum": 1},
            "latency_s": {"type": "number", "minimum": 0,
                          "description": "Running average of its submit calls' time."},
            "in_flight": INTEGER, "in_flight_here": INTEGER, "max_concurrency": INTEGER,
            "priority": INTEGER, "weight": {"type": "number"},
            "cost_per_second": {"type": "number"}, "last_24h": MEASURES,
        }),
        "AdminProviderList": listing("AdminProvider"),
        "AdminUsage": everything({
            "object": {"const": "usage"}, "group_by": enum(g.value for g in Grouping),
            "since": INTEGER, "until": INTEGER,
            "data": {"type": "array", "items": everything({
                "group": STRING, **MEASURES["properties"]})},
            "total": MEASURES,
        }),
        "AdminPrices": listing("AdminPrice"),
        "AdminPrice": obj({
            "model": STRING, "display_name": STRING,
            "per_second": {"type": "object", "additionalProperties": NUMBER,
                           "description": "Credits a second of silent 16:9 video, by "
                           "resolution (the price is per token: other ratios differ)."},
            "per_second_with_video": {"type": "object", "additionalProperties": NUMBER,
                                      "description": "The same when the input holds a video."},
            "audio_multiplier": INTEGER,
            "min_seconds_with_video": INTEGER,
        }, ("model", "display_name", "per_second"),
            description="The model's prices as configured (defaults and overrides)."),
    },
    operations={
        f"{PREFIX}/keys": {
            "get": ("adminListKeys", op("List keys", ref("AdminKeyList"))),
            "post": ("adminCreateKey", op(
                "Create a key (its secret is in this answer only)", ref("AdminKey"),
                (400, 409), body=ref("AdminKeyCreate"),
                meanings={409: "A key with this name exists."})),
        },
        f"{PREFIX}/keys/{{name}}": {
            "get": ("adminGetKey", op("Read a key", ref("AdminKey"), (404,),
                                      parameters=(NAME,))),
            "patch": ("adminUpdateKey", op(
                "Change a key's limits or routing strategy", ref("AdminKey"), (400, 404),
                body=ref("AdminKeyChange"), parameters=(NAME,))),
            "delete": ("adminRevokeKey", op("Revoke a key", ref("AdminKey"), (404,),
                                            parameters=(NAME,))),
        },
        f"{PREFIX}/keys/{{name}}/webhook-secret": {"get": ("adminShowWebhookSecret", op(
            "A key's webhook signing secret (made on first use)", ref("AdminWebhookSecret"),
            (404,), parameters=(NAME,)))},
        f"{PREFIX}/keys/{{name}}/webhook-secret/rotate": {"post": (
            "adminRotateWebhookSecret", op(
                "Replace a key's webhook signing secret (the old one signs along for 24 h)",
                ref("AdminWebhookSecret"), (404,), parameters=(NAME,)))},
        f"{PREFIX}/keys/{{name}}/credits": {"post": ("adminAddCredits", op(
            "Grant credits, or withdraw them (never below zero)", ref("AdminKey"),
            (400, 404), body=ref("AdminCredits"), parameters=(NAME,)))},
        f"{PREFIX}/keys/{{name}}/ledger": {"get": ("adminLedger", op(
            "A key's ledger, newest first", ref("AdminLedger"), (400, 404),
            parameters=(NAME, *PAGE, query("after", STRING, "The last entry id of the "
                                           "previous page."))))},
        f"{PREFIX}/tasks": {"get": ("adminSearchTasks", op(
            "Tasks of every key, newest first", ref("AdminTaskList"), (400,),
            parameters=(
                query("key", STRING, "A key's name."),
                query("status", STRING, "Comma-separated: "
                      f"{', '.join(s.value for s in TaskStatus)}."),
                query("model", STRING, "A catalog model name."),
                query("provider", STRING, "A provider's name."),
                *RANGE, *PAGE,
                query("after", STRING, "The last task id of the previous page."),
            )))},
        f"{PREFIX}/tasks/{{task_id}}": {"get": ("adminGetTask", op(
            "A task's full record: request, upstream attempts, ledger rows, webhook "
            "deliveries", ref("AdminTaskRecord"), (404,), parameters=(TASK_ID,)))},
        f"{PREFIX}/tasks/{{task_id}}/cancel": {"post": ("adminCancelTask", op(
            "Cancel a queued task and refund it", ref("AdminTaskRecord"), (404, 409),
            parameters=(TASK_ID,),
            meanings={409: "The task is running or finished."}))},
        f"{PREFIX}/tasks/{{task_id}}/webhooks/{{delivery_id}}/replay": {"post": (
            "adminReplayDelivery", op(
                "Send a webhook delivery again now", ref("NativeWebhookDelivery"), (404,),
                parameters=(TASK_ID, path("delivery_id", "The delivery's id (msg_...).")),
                description="From the start of the retry schedule; re-enables an endpoint "
                            "that answered 410."))},
        f"{PREFIX}/providers": {"get": ("adminProviders", op(
            "Providers: models, breaker, recent success rate and latency, tasks in flight",
            ref("AdminProviderList")))},
        f"{PREFIX}/usage": {"get": ("adminUsage", op(
            "Usage over a time range, grouped", {JSON: ref("AdminUsage"), codec.CSV: STRING},
            (400,), parameters=(
                query("group_by", enum(g.value for g in Grouping), "Default: day."),
                *RANGE),
            description="Tasks created in the range (default: the last 30 days), with the "
                        "seconds of video delivered and the credits debited, refunded and "
                        "net. `Accept: text/csv` answers CSV."))},
        f"{PREFIX}/prices": {"get": ("adminPrices", op(
            "The effective price table", ref("AdminPrices")))},
    },
)
