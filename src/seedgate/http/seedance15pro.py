"""Endpoints of the seedance1-5pro dialect."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from seedgate.dialects import seedance15pro as codec
from seedgate.dialects.common import not_an_object
from seedgate.http.media import output_urls
from seedgate.http.plumbing import authorize, gateway_of, in_dialect, json_response, read_json


@in_dialect(codec.encode_error)
async def generate(request: Request) -> Response:
    key = await authorize(request)
    generation, sanitized = codec.decode_create(await read_json(request))
    task = await gateway_of(request).tasks.create(key, codec.NAME, generation, sanitized)
    return json_response(codec.encode_created(task))


@in_dialect(codec.encode_error)
async def status(request: Request) -> Response:
    key = await authorize(request)
    if request.method == "POST":
        body = await read_json(request)
        if not isinstance(body, dict):
            raise not_an_object()
        raw_id = body.get("task_id")
    else:
        raw_id = request.query_params.get("task_id")
    task = await gateway_of(request).tasks.get(key, codec.decode_task_id(raw_id))
    return json_response(codec.encode_task(task, output_urls(request, task)))


routes = [
    Route("/api/generate", generate, methods=["POST"]),
    Route("/api/status", status, methods=["GET", "POST"]),
]
