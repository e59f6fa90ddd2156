"""The admin API's wire format (`/admin/v1`): request bodies and queries in, keys, tasks,
ledgers, providers, usage and prices out (no I/O). Times are Unix seconds, as in the native
dialect, whose error envelope the admin API answers in: `{"error": {"message", "type",
"code", "param"}}`."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from seedgate.dialects import native
from seedgate.dialects.common import HTTP_STATUS, decode_model, decode_statuses
from seedgate.domain.catalog import CATALOG, Model
from seedgate.domain.errors import ErrorKind, GatewayError, invalid
from seedgate.domain.limits import MAXIMA, KeyLimits
from seedgate.domain.pricing import ModelPrice, PriceTable
from seedgate.domain.task import Task, TaskStatus
from seedgate.domain.usage import Grouping, Measures
from seedgate.service.admin.keys import STRATEGY, KeyView, LedgerPage
from seedgate.service.admin.providers import ProviderView
from seedgate.service.admin.tasks import DEFAULT_PAGE, MAX_PAGE, TaskQuery, TaskRecord
from seedgate.service.admin.usage import UsageReport
from seedgate.store.ledger import Entry
from seedgate.store.tasks import Search


def encode_error(error: GatewayError) -> tuple[int, dict[str, Any]]:
    """The native envelope, with the admin API's own parameter names."""
    return HTTP_STATUS[error.kind], {"error": {
        "message": error.message, "type": native.ERROR_TYPES.get(error.kind,
                                                                 "invalid_request_error"),
        "code": error.kind.value, "param": error.param}}


COUNTS = tuple(MAXIMA)  # the limits that are numbers
LISTS = ("allowed_ips", "allowed_models")
LIMITS = (*COUNTS, *LISTS)
KEY_FIELDS = frozenset({"name", "credits", *LIMITS, STRATEGY})
CHANGE_FIELDS = frozenset({*LIMITS, STRATEGY})
CREDIT_FIELDS = frozenset({"amount", "note"})
STATUSES = {status.value: status for status in TaskStatus}
DATA_URL_SHOWN = 64  # characters of a base64 data URL kept in a task's record
CSV = "text/csv"
USAGE_COLUMNS = ("tasks", "succeeded", "failed", "seconds", "credits_debited",
                 "credits_refunded", "credits_net")


# -- requests -----------------------------------------------------------------------------


def _object(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise GatewayError(ErrorKind.INVALID_JSON, "The request body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(unknown[0], f"Unrecognized field `{unknown[0]}`; this request takes "
                      f"{', '.join(f'`{name}`' for name in sorted(allowed))}.")
    return body


def decode_key(body: Any) -> tuple[Any, Any, KeyLimits, Any]:
    """A new key: its name, credits, limits and routing strategy (checked by the service
    and `KeyLimits`, which name what is wrong)."""
    fields = _object(body, KEY_FIELDS)
    if "name" not in fields:
        raise GatewayError(ErrorKind.MISSING_PARAMETER, "`name` is required.", param="name")
    limits = _limits(fields)
    return fields["name"], fields.get("credits", 0), KeyLimits(**limits), fields.get(STRATEGY)


def decode_changes(body: Any) -> dict[str, Any]:
    """The limits (and strategy) a PATCH changes; the fields it leaves out stay."""
    fields = _object(body, CHANGE_FIELDS)
    if not fields:
        raise invalid("body", "Nothing to change: give at least one of "
                      f"{', '.join(f'`{name}`' for name in sorted(CHANGE_FIELDS))}.")
    changes = _limits(fields)
    if STRATEGY in fields:
        changes[STRATEGY] = fields[STRATEGY]
    return changes


def _limits(fields: dict[str, Any]) -> dict[str, Any]:
    """The limits given; numbers are checked by `KeyLimits`, lists here."""
    limits = {name: fields[name] for name in COUNTS if name in fields}
    for name in LISTS:
        if name not in fields:
            continue
        value = fields[name]
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(name, f"`{name}` must be an array of strings (empty: no list).")
        limits[name] = tuple(value)
    return limits


def decode_credits(body: Any) -> tuple[Any, Any]:
    fields = _object(body, CREDIT_FIELDS)
    if "amount" not in fields:
        raise GatewayError(ErrorKind.MISSING_PARAMETER, "`amount` is required.",
                           param="amount")
    return fields["amount"], fields.get("note")


def decode_page(query: dict[str, str]) -> tuple[int, str | None]:
    """`limit` and `after` (the last id of the previous page)."""
    limit = _whole(query, "limit", DEFAULT_PAGE)
    if not 1 <= limit <= MAX_PAGE:
        raise invalid("limit", f"`limit` must be from 1 to {MAX_PAGE}; got {limit}.")
    return limit, query.get("after") or None


def decode_ledger_query(query: dict[str, str]) -> tuple[int, int | None]:
    limit, after = decode_page(query)
    if after is not None and not after.isdecimal():
        raise invalid("after", "`after` must be a ledger entry's id (a whole number).")
    return limit, int(after[:18]) if after else None


def decode_task_query(query: dict[str, str]) -> TaskQuery:
    limit, after = decode_page(query)
    since, until = decode_range(query)
    search = Search(statuses=decode_statuses(query.get("status"), STATUSES),
                    model=decode_model(query.get("model")),
                    provider=query.get("provider") or None, since=since, until=until)
    return TaskQuery(key=query.get("key") or None, search=search, limit=limit, after=after)


def decode_range(query: dict[str, str]) -> tuple[int | None, int | None]:
    """`since` and `until` (Unix ms; `until` excluded), each Unix seconds or ISO-8601."""
    since, until = (moment(query[name], name) if query.get(name) else None
                    for name in ("since", "until"))
    if since is not None and until is not None and since >= until:
        raise invalid("since", "`since` must be before `until`.")
    return since, until


def moment(text: str, param: str) -> int:
    """Unix seconds (`1764547200`) or an ISO-8601 date or time (`2026-12-01`,
    `2026-12-01T10:00:00Z`; without a zone, UTC), as Unix ms."""
    value = text.strip()
    try:
        if value.lstrip("-").isdecimal() and len(value) <= 12:
            return int(value) * 1000
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(param, f"`{param}` must be Unix seconds or an ISO-8601 date or time; "
                      f"got {text[:40]!r}.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def decode_usage_query(query: dict[str, str]) -> tuple[Grouping, int | None, int | None]:
    group = query.get("group_by", Grouping.DAY.value)
    if group not in tuple(Grouping):
        raise invalid("group_by", "`group_by` must be one of "
                      f"{', '.join(g.value for g in Grouping)}.")
    return Grouping(group), *decode_range(query)


def _whole(query: dict[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if not value:
        return default
    if not value.isdecimal() or len(value) > 9:
        raise invalid(name, f"`{name}` must be a whole number; got {value[:20]!r}.")
    return int(value)


def wants_csv(accept: str | None) -> bool:
    """Whether the client asked for CSV (`Accept: text/csv`) rather than JSON."""
    return any(part.split(";")[0].strip().lower() == CSV for part in (accept or "").split(","))


# -- keys and credits ---------------------------------------------------------------------


def _seconds(ms: int | None) -> int | None:
    return None if ms is None else ms // 1000


def encode_key(view: KeyView, secret: str | None = None) -> dict[str, Any]:
    key, totals = view.key, view.totals
    body: dict[str, Any] = {
        "object": "key",
        "name": key.name,
        "prefix": key.prefix,
        "active": key.active,
        "created_at": _seconds(key.created_at),
        "revoked_at": _seconds(key.revoked_at),
        "balance": totals.balance,
        "limits": key.limits.to_json(),
        "strategy": key.strategy,
        "unfinished_tasks": totals.active_tasks,
        "spent_today": totals.day_spent,
        "spent_this_month": totals.month_spent,
    }
    if secret is not None:
        body["key"] = secret
    return body


def encode_keys(views: list[KeyView]) -> dict[str, Any]:
    return {"object": "list", "data": [encode_key(view) for view in views]}


def encode_secret(name: str, secret: str) -> dict[str, Any]:
    return {"object": "webhook_secret", "key": name, "secret": secret}


def encode_entry(entry: Entry) -> dict[str, Any]:
    return {"id": entry.id, "kind": entry.kind, "amount": entry.amount,
            "task_id": entry.task_id, "note": entry.note,
            "created_at": _seconds(entry.created_at)}


def encode_ledger(page: LedgerPage) -> dict[str, Any]:
    data = [encode_entry(entry) for entry in page.entries]
    return {"object": "list", "key": page.key.name, "data": data, "has_more": page.has_more,
            "last_id": data[-1]["id"] if data else None}


# -- tasks --------------------------------------------------------------------------------


def encode_task(task: Task, key_name: str, urls: list[str]) -> dict[str, Any]:
    """A task of any key as operators see it; `urls`: its signed video (and last frame)."""
    request = task.request
    rendition = task.outputs.rendition if task.outputs else None
    return {
        "object": "task",
        "id": task.id,
        "key": key_name,
        "dialect": task.dialect,
        "model": task.model,
        "status": task.status.value,
        "progress": 100 if task.status is TaskStatus.SUCCEEDED else task.progress,
        "prompt": request.prompt,
        "seconds": rendition.duration if rendition else request.duration,
        "resolution": request.resolution,
        "ratio": rendition.ratio if rendition else request.ratio,
        "size": f"{rendition.width}x{rendition.height}" if rendition else None,
        "audio": rendition.has_audio if rendition else request.generate_audio,
        "price": task.price,
        "refunded": task.refunded,
        "credits": task.consumed_credits,
        "provider": task.provider,
        "upstream_id": task.upstream_id,
        "error": {"code": task.error_code, "message": task.error_message}
        if task.error_code else None,
        "created_at": _seconds(task.created_at),
        "started_at": _seconds(task.started_at),
        "completed_at": _seconds(task.completed_at),
        "video_url": urls[0] if urls else None,
        "last_frame_url": urls[1] if len(urls) > 1 else None,
    }


def encode_tasks(found: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": found, "has_more": has_more,
            "last_id": found[-1]["id"] if found else None}


def encode_record(record: TaskRecord, urls: list[str]) -> dict[str, Any]:
    """A task's full record: what was asked, every upstream attempt, its ledger rows and
    its webhook deliveries with their attempts."""
    task = record.task
    return {
        **encode_task(task, record.key.name, urls),
        "queue_position": record.queue_position,
        "request": shortened(task.request.to_json()),
        "client_request": shortened(task.client_request),
        "attempts": [{
            "number": attempt.number, "provider": attempt.provider,
            "state": attempt.state.value, "upstream_id": attempt.upstream_id,
            "error": attempt.error, "calls": attempt.calls,
            "created_at": _seconds(attempt.created_at),
            "updated_at": _seconds(attempt.updated_at),
            "upstream_done_at": _seconds(attempt.upstream_done_at),
        } for attempt in record.attempts],
        "ledger": [encode_entry(entry) for entry in record.ledger],
        "deliveries": [native.encode_delivery(delivery) for delivery in record.deliveries],
    }


def shortened(value: Any) -> Any:
    """`value` with base64 data URLs cut short (a record shows that one was sent, not the
    megabytes)."""
    if isinstance(value, str) and value.startswith("data:") and len(value) > DATA_URL_SHOWN:
        return f"{value[:DATA_URL_SHOWN]}… ({len(value)} characters)"
    if isinstance(value, dict):
        return {name: shortened(item) for name, item in value.items()}
    if isinstance(value, list):
        return [shortened(item) for item in value]
    return value


# -- providers, usage, prices -------------------------------------------------------------


def encode_measures(measures: Measures) -> dict[str, int]:
    return {
        "tasks": measures.tasks, "succeeded": measures.succeeded, "failed": measures.failed,
        "seconds": measures.seconds, "credits_debited": measures.debited,
        "credits_refunded": measures.refunded, "credits_net": measures.net,
    }


def encode_provider(view: ProviderView) -> dict[str, Any]:
    settings = view.settings
    return {
        "object": "provider",
        "name": view.name,
        "kind": settings.kind.value,
        "models": list(view.models),
        "breaker": view.breaker,
        "success_rate": round(view.success_rate, 4),
        "latency_s": round(view.latency_s, 3),
        "in_flight": view.in_flight,
        "in_flight_here": view.in_flight_here,
        "max_concurrency": settings.max_concurrency,
        "priority": settings.priority,
        "weight": settings.weight,
        "cost_per_second": settings.cost_per_second,
        "last_24h": encode_measures(view.last_day),
    }


def encode_providers(views: list[ProviderView]) -> dict[str, Any]:
    return {"object": "list", "data": [encode_provider(view) for view in views]}


def encode_usage(report: UsageReport) -> dict[str, Any]:
    return {
        "object": "usage", "group_by": report.grouping.value,
        "since": _seconds(report.since), "until": _seconds(report.until),
        "data": [{"group": row.group, **encode_measures(row.measures)} for row in report.rows],
        "total": encode_measures(report.total),
    }


def usage_csv(report: UsageReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((report.grouping.value, *USAGE_COLUMNS))
    for row in report.rows:
        values = encode_measures(row.measures)
        writer.writerow((row.group, *(values[name] for name in USAGE_COLUMNS)))
    return out.getvalue()


def encode_prices(prices: PriceTable) -> dict[str, Any]:
    """The effective price table (defaults with the operator's overrides), per model."""
    def seconds(price: ModelPrice, model: Model, video: bool) -> dict[str, float]:
        return {res: round(float(value), 4) for res, value in price.per_second(model,
                                                                             video).items()}

    return {"object": "list", "data": [
        {"model": model.id, "display_name": model.display_name,
         "per_second": seconds(price, model, False),
         "per_second_with_video": seconds(price, model, True),
         "audio_multiplier": price.audio_multiplier,
         "min_seconds_with_video": price.min_seconds_with_video}
        for model, price in ((CATALOG[model_id], price)
                             for model_id, price in prices.table().items())
    ]}
