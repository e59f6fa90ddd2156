"""The admin API, `/admin/v1`: the operators' use cases as JSON, for the holder of the admin
token (`Authorization: Bearer <admin token>`; never a client key). Errors come in the native
envelope; nothing a caller sends produces a 500."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.task import Task
from seedgate.gateway import Gateway
from seedgate.http.admin import codec
from seedgate.http.media import output_urls
from seedgate.http.plumbing import base_url, error_reply, gateway_of, json_response, parse_json

log = logging.getLogger(__name__)

PREFIX = "/admin/v1"
Handler = Callable[[Request, Gateway], Awaitable[Response]]


def task_urls(gateway: Gateway, request: Request, task: Task) -> list[str]:
    """The signed links of a task's video and last frame, on the host the caller used."""
    return output_urls(gateway, task, base_url(gateway, request.url.scheme,
                                               request.headers.get("host")))


async def _body(request: Request) -> Any:
    return parse_json(await request.body())


# -- keys and credits ---------------------------------------------------------------------


async def list_keys(_request: Request, gateway: Gateway) -> Response:
    return json_response(codec.encode_keys(await gateway.admin.keys.list()))


async def create_key(request: Request, gateway: Gateway) -> Response:
    name, credits, limits, strategy = codec.decode_key(await _body(request))
    view, secret = await gateway.admin.keys.create(name, credits, limits, strategy)
    return json_response(codec.encode_key(view, secret), headers={"cache-control": "no-store"})


async def get_key(request: Request, gateway: Gateway) -> Response:
    return json_response(codec.encode_key(await gateway.admin.keys.get(_name(request))))


async def update_key(request: Request, gateway: Gateway) -> Response:
    changes = codec.decode_changes(await _body(request))
    return json_response(codec.encode_key(
        await gateway.admin.keys.update(_name(request), changes)))


async def revoke_key(request: Request, gateway: Gateway) -> Response:
    return json_response(codec.encode_key(await gateway.admin.keys.revoke(_name(request))))


async def show_secret(request: Request, gateway: Gateway) -> Response:
    return await _secret(request, gateway, rotate=False)


async def rotate_secret(request: Request, gateway: Gateway) -> Response:
    return await _secret(request, gateway, rotate=True)


async def _secret(request: Request, gateway: Gateway, *, rotate: bool) -> Response:
    name = _name(request)
    secret = await gateway.admin.keys.webhook_secret(name, rotate=rotate)
    return json_response(codec.encode_secret(name, secret), headers={"cache-control": "no-store"})


async def add_credits(request: Request, gateway: Gateway) -> Response:
    amount, note = codec.decode_credits(await _body(request))
    return json_response(codec.encode_key(
        await gateway.admin.keys.add_credits(_name(request), amount, note)))


async def ledger(request: Request, gateway: Gateway) -> Response:
    limit, after = codec.decode_ledger_query(dict(request.query_params))
    page = await gateway.admin.keys.ledger(_name(request), limit=limit, before=after)
    return json_response(codec.encode_ledger(page))


def _name(request: Request) -> str:
    return str(request.path_params["name"])


# -- tasks --------------------------------------------------------------------------------


async def search_tasks(request: Request, gateway: Gateway) -> Response:
    page = await gateway.admin.tasks.search(codec.decode_task_query(dict(request.query_params)))
    found = [codec.encode_task(item.task, item.key_name, task_urls(gateway, request, item.task))
             for item in page.found]
    return json_response(codec.encode_tasks(found, page.has_more))


async def get_task(request: Request, gateway: Gateway) -> Response:
    record = await gateway.admin.tasks.record(request.path_params["task_id"])
    return json_response(codec.encode_record(record, task_urls(gateway, request, record.task)))


async def cancel_task(request: Request, gateway: Gateway) -> Response:
    await gateway.admin.tasks.cancel(request.path_params["task_id"])
    return await get_task(request, gateway)


async def replay_delivery(request: Request, gateway: Gateway) -> Response:
    delivery = await gateway.admin.tasks.replay(request.path_params["task_id"],
                                                request.path_params["delivery_id"])
    return json_response(codec.native.encode_delivery(delivery))


# -- providers, usage, prices -------------------------------------------------------------


async def providers(_request: Request, gateway: Gateway) -> Response:
    return json_response(codec.encode_providers(await gateway.admin.providers.list()))


async def usage(request: Request, gateway: Gateway) -> Response:
    grouping, since, until = codec.decode_usage_query(dict(request.query_params))
    report = await gateway.admin.usage.report(grouping, since, until)
    if codec.wants_csv(request.headers.get("accept")):
        return Response(codec.usage_csv(report), media_type=codec.CSV)
    return json_response(codec.encode_usage(report))


async def prices(_request: Request, gateway: Gateway) -> Response:
    return json_response(codec.encode_prices(gateway.admin.prices))


# -- dispatch -----------------------------------------------------------------------------


def operations(**handlers: Handler) -> Callable[[Request], Awaitable[Response]]:
    """One path's endpoint: the admin token is checked, then the method's handler runs;
    every failure is an answer in the native envelope."""

    async def endpoint(request: Request) -> Response:
        gateway = gateway_of(request)
        method = "GET" if request.method == "HEAD" else request.method
        try:
            await gateway.admin.tokens.authorize(request.headers.get("authorization"))
            return await handlers[method](request, gateway)
        except GatewayError as error:
            return error_reply(error, codec.encode_error).response()
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.url.path)
            error = GatewayError(ErrorKind.INTERNAL, "An internal error occurred; it is logged.")
            return error_reply(error, codec.encode_error).response()

    return endpoint


ROUTES: dict[str, dict[str, Handler]] = {
    "/keys": {"GET": list_keys, "POST": create_key},
    "/keys/{name}": {"GET": get_key, "PATCH": update_key, "DELETE": revoke_key},
    "/keys/{name}/webhook-secret": {"GET": show_secret},
    "/keys/{name}/webhook-secret/rotate": {"POST": rotate_secret},
    "/keys/{name}/credits": {"POST": add_credits},
    "/keys/{name}/ledger": {"GET": ledger},
    "/tasks": {"GET": search_tasks},
    "/tasks/{task_id}": {"GET": get_task},
    "/tasks/{task_id}/cancel": {"POST": cancel_task},
    "/tasks/{task_id}/webhooks/{delivery_id}/replay": {"POST": replay_delivery},
    "/providers": {"GET": providers},
    "/usage": {"GET": usage},
    "/prices": {"GET": prices},
}

routes = [Route(PREFIX + path, operations(**handlers), methods=list(handlers))
          for path, handlers in ROUTES.items()]
