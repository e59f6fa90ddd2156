"""The console's pages: overview, keys, credits, tasks and providers (the playground has its
own module). Each is the admin API's use case rendered as HTML."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import orjson
from starlette.responses import Response

from seedgate.domain.catalog import CATALOG
from seedgate.domain.errors import GatewayError, invalid
from seedgate.domain.limits import KeyLimits
from seedgate.domain.task import TaskStatus
from seedgate.http.admin import codec
from seedgate.http.console.charts import day_charts, week_charts
from seedgate.http.console.views import ROOT, Page, page
from seedgate.http.media import output_urls
from seedgate.providers.config import Strategy
from seedgate.service.admin.keys import STRATEGY

LEDGER_PAGE = 50
TASK_PAGE = 50


def _quoted(segment: str) -> str:
    """A key name or task id as one URL path segment."""
    return quote(segment, safe="")


@page
async def overview(view: Page) -> Response:
    figures = await view.gateway.admin.usage.overview()
    return view.render("overview.html", nav="overview", figures=figures,
                       day=day_charts(figures.day), week=week_charts(figures.week))


# -- keys ---------------------------------------------------------------------------------


def _key_form_context() -> dict[str, Any]:
    return {"models": CATALOG.models, "strategies": [s.value for s in Strategy]}


@page
async def keys(view: Page) -> Response:
    return await _keys_page(view)


async def _keys_page(view: Page, status: int = 200, **context: Any) -> Response:
    return view.render("keys.html", status, nav="keys", keys=await view.gateway.admin.keys.list(),
                       form=context.pop("form", {}), **_key_form_context(), **context)


@page
async def create_key(view: Page) -> Response:
    try:
        limits = _limits(view)
        key, secret = await view.gateway.admin.keys.create(
            view.field("name"), _credits(view.field("credits") or "0"),
            KeyLimits(**limits), view.field(STRATEGY) or None)
    except GatewayError as error:
        assert view.form is not None
        return await _keys_page(view, 400, error=error.message, form=_echo(view))
    return view.render("key_created.html", nav="keys", view=key, secret=secret,
                       base=view.base)


@page
async def key_page(view: Page) -> Response:
    found = await view.gateway.admin.keys.get(view.request.path_params["name"])
    ledger = await view.gateway.admin.keys.ledger(found.key.name, limit=10)
    limit_values = {**found.key.limits.to_json(), STRATEGY: found.key.strategy}
    return view.render("key.html", nav="keys", view=found, ledger=ledger,
                       limit_values=limit_values, **_key_form_context())


@page
async def update_key(view: Page) -> Response:
    name = view.request.path_params["name"]
    target = f"{ROOT}/keys/{_quoted(name)}"
    try:
        changes = {**_limits(view), STRATEGY: view.field(STRATEGY) or None}
        await view.gateway.admin.keys.update(name, changes)
    except GatewayError as error:
        return view.redirect(target, error.message, error=True)
    return view.redirect(target, f"Saved the limits of {name}.")


@page
async def revoke_key(view: Page) -> Response:
    name = view.request.path_params["name"]
    await view.gateway.admin.keys.revoke(name)
    return view.redirect(f"{ROOT}/keys/{_quoted(name)}",
                         f"Revoked {name}: requests with it are refused from now on.")


@page
async def webhook_secret(view: Page) -> Response:
    name = view.request.path_params["name"]
    rotate = view.field("action") == "rotate"
    secret = await view.gateway.admin.keys.webhook_secret(name, rotate=rotate)
    found = await view.gateway.admin.keys.get(name)
    return view.render("webhook_secret.html", nav="keys", view=found, secret=secret,
                       rotated=rotate)


def _limits(view: Page) -> dict[str, Any]:
    """The limits of a key form: an empty number is the server's default (or no limit);
    lists are comma- or line-separated."""
    assert view.form is not None
    limits: dict[str, Any] = {}
    for name in codec.COUNTS:
        text = view.field(name).replace(",", "").replace("_", "")
        if text and not text.isdecimal():
            raise invalid(name, f"`{name}` must be a whole number, or empty for the default.")
        limits[name] = int(text[:16]) if text else None
    ips = view.field("allowed_ips").replace("\n", ",")
    limits["allowed_ips"] = tuple(item.strip() for item in ips.split(",") if item.strip())
    limits["allowed_models"] = tuple(str(m) for m in view.form.getlist("allowed_models"))
    return limits


def _credits(text: str) -> int:
    cleaned = text.replace(",", "").replace("_", "").strip()
    if not cleaned.lstrip("-").isdecimal():
        raise invalid("credits", "Credits must be a whole number.")
    return int(cleaned[:16])


def _echo(view: Page) -> dict[str, Any]:
    """A submitted form's values, to show it again with its error."""
    assert view.form is not None
    return {name: view.field(name) for name in view.form if name != "csrf"} | {
        "allowed_models": [str(m) for m in view.form.getlist("allowed_models")]}


# -- credits ------------------------------------------------------------------------------


@page
async def credits(view: Page) -> Response:
    return view.render("credits.html", nav="credits", keys=await view.gateway.admin.keys.list(),
                       chosen=view.request.query_params.get("key", ""))


@page
async def move_credits(view: Page) -> Response:
    name = view.field("key")
    back = f"{ROOT}/credits?key={_quoted(name)}"
    try:
        amount = _credits(view.field("amount"))
        if amount <= 0:
            raise invalid("amount", "Give a positive number of credits; choose Grant or "
                          "Withdraw to say which way they go.")
        signed = -amount if view.field("direction") == "withdraw" else amount
        found = await view.gateway.admin.keys.add_credits(name, signed,
                                                          view.field("note") or None)
    except GatewayError as error:
        return view.redirect(back, error.message, error=True)
    verb = "Withdrew" if signed < 0 else "Granted"
    return view.redirect(back, f"{verb} {abs(signed):,} credits {'from' if signed < 0 else 'to'} "
                         f"{found.key.name}; the balance is now {found.totals.balance:,}.")


@page
async def ledger(view: Page) -> Response:
    after = view.request.query_params.get("after")
    found = await view.gateway.admin.keys.ledger(
        view.request.path_params["name"], limit=LEDGER_PAGE,
        before=int(after[:18]) if after and after.isdecimal() else None)
    account = await view.gateway.admin.keys.get(found.key.name)
    return view.render("ledger.html", nav="credits", page=found, view=account)


# -- tasks --------------------------------------------------------------------------------


@page
async def tasks(view: Page) -> Response:
    query = dict(view.request.query_params)
    wanted = query.get("id", "").strip()
    if wanted:  # a task id typed into the search box: go to it
        return view.redirect(f"{ROOT}/tasks/{_quoted(wanted)}")
    filters = {name: value for name, value in query.items() if value}
    error, found = None, None
    try:
        search = codec.decode_task_query({**filters, "limit": str(TASK_PAGE)})
        found = await view.gateway.admin.tasks.search(search)
    except GatewayError as exc:
        error = exc.message
    keys = await view.gateway.admin.keys.list()
    return view.render("tasks.html", 400 if error else 200, nav="tasks", page=found,
                       error=error, filters=filters, keys=keys, models=CATALOG.models,
                       statuses=[s.value for s in TaskStatus],
                       providers=list(view.gateway.router.routes),
                       more=_next_page(filters, found.found[-1].task.id)
                       if found and found.has_more else None)


def _next_page(filters: dict[str, str], last: str) -> str:
    return f"{ROOT}/tasks?{urlencode({**filters, 'after': last})}"


@page
async def task_page(view: Page) -> Response:
    record = await view.gateway.admin.tasks.record(view.request.path_params["task_id"])
    task = record.task
    return view.render("task.html", nav="tasks", record=record, task=task,
                       urls=output_urls(view.gateway, task, view.base),
                       request_json=_pretty(task.request.to_json()),
                       client_json=_pretty(task.client_request),
                       payloads=[_pretty(orjson.loads(d.payload)) for d in record.deliveries])


def _pretty(value: Any) -> str:
    return orjson.dumps(codec.shortened(value), option=orjson.OPT_INDENT_2).decode()


@page
async def cancel_task(view: Page) -> Response:
    task_id = view.request.path_params["task_id"]
    target = f"{ROOT}/tasks/{_quoted(task_id)}"
    try:
        await view.gateway.admin.tasks.cancel(task_id)
    except GatewayError as error:
        return view.redirect(target, error.message, error=True)
    return view.redirect(target, "Cancelled the task and refunded its credits.")


@page
async def replay_delivery(view: Page) -> Response:
    task_id = view.request.path_params["task_id"]
    await view.gateway.admin.tasks.replay(task_id, view.request.path_params["delivery_id"])
    return view.redirect(f"{ROOT}/tasks/{_quoted(task_id)}#deliveries",
                         "The delivery is sent again now.")


# -- providers ----------------------------------------------------------------------------


@page
async def providers(view: Page) -> Response:
    return view.render("providers.html", nav="providers",
                       providers=await view.gateway.admin.providers.list())
