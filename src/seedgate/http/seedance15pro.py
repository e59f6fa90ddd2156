"""Endpoints of the seedance1-5pro dialect."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from seedgate.dialects import seedance15pro as codec
from seedgate.dialects.common import not_an_object
from seedgate.gateway import Gateway
from seedgate.http.media import output_urls
from seedgate.http.plumbing import (
    Reply,
    ReplyCache,
    answer,
    authorize,
    json_reply,
    parse_json,
    request_base_url,
)

STATUS_PATH = "/api/status"


class SeedanceEndpoints:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._finished = ReplyCache()

    async def generate(self, authorization: str | None, body: bytes) -> Reply:
        key = await authorize(self.gateway, authorization)
        generation, sanitized = codec.decode_create(parse_json(body))
        task = await self.gateway.tasks.create(key, codec.NAME, generation, sanitized)
        return json_reply(codec.encode_created(task))

    async def status(self, authorization: str | None, task_id: object, base: str) -> Reply:
        key = await authorize(self.gateway, authorization)
        task = await self.gateway.tasks.get(key, codec.decode_task_id(task_id))
        cache_key = (task.id, base)
        if cached := self._finished.get(cache_key):
            return cached
        urls = output_urls(self.gateway, base, task)
        reply = json_reply(codec.encode_task(task, urls))
        if task.status.terminal:
            self._finished.put(cache_key, reply)
        return reply

    async def status_from_body(self, authorization: str | None, body: bytes, base: str) -> Reply:
        payload = parse_json(body)
        if not isinstance(payload, dict):
            raise not_an_object()
        return await self.status(authorization, payload.get("task_id"), base)


def endpoints_of(request: Request) -> SeedanceEndpoints:
    return request.app.state.seedance  # type: ignore[no-any-return]


async def generate(request: Request) -> Response:
    work = endpoints_of(request).generate(request.headers.get("authorization"),
                                          await request.body())
    return (await answer(work, codec.encode_error, "POST /api/generate")).response()


async def status(request: Request) -> Response:
    endpoints = endpoints_of(request)
    authorization = request.headers.get("authorization")
    base = request_base_url(request)
    if request.method == "POST":
        work = endpoints.status_from_body(authorization, await request.body(), base)
    else:
        work = endpoints.status(authorization, request.query_params.get("task_id"), base)
    return (await answer(work, codec.encode_error, f"{request.method} {STATUS_PATH}")).response()


def mount(gateway: Gateway) -> tuple[SeedanceEndpoints, list[Route]]:
    endpoints = SeedanceEndpoints(gateway)
    routes = [
        Route("/api/generate", generate, methods=["POST"]),
        Route(STATUS_PATH, status, methods=["GET", "POST"]),
    ]
    return endpoints, routes

