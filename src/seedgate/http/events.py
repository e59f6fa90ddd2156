"""`GET /v1/videos/{id}/events`: a video's changes as Server-Sent Events.

Each change of status, progress or queue position is one `video` event whose data is the
native video object; the stream ends after the event that shows the video finished. A
comment line keeps quiet connections open through proxies.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from seedgate.dialects import native as codec
from seedgate.domain.errors import GatewayError
from seedgate.domain.keys import ApiKey
from seedgate.gateway import Gateway
from seedgate.http.media import output_urls
from seedgate.http.plumbing import authorize, base_url, error_reply, gateway_of, scope_client
from seedgate.service.watch import Snapshot, changes, snapshot

EVENT_STREAM = "text/event-stream"
HEARTBEAT_S = 15.0
RECONNECT_MS = 2000


async def stream_events(request: Request) -> Response:
    gateway = gateway_of(request)
    try:
        client = scope_client(gateway, request.scope, request.headers.get("x-forwarded-for"))
        key = await authorize(gateway, request.headers.get("authorization"), client)
        first = await snapshot(gateway.tasks, key, request.path_params["video_id"])
    except GatewayError as error:
        return error_reply(error, codec.encode_error).response()
    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    if request.method == "HEAD":  # the headers only: no stream to hold open
        return Response(media_type=EVENT_STREAM, headers=headers)
    base = base_url(gateway, request.url.scheme, request.headers.get("host"))
    return StreamingResponse(_events(gateway, key, first, base), media_type=EVENT_STREAM,
                             headers=headers)


async def _events(gateway: Gateway, key: ApiKey, first: Snapshot,
                  base: str) -> AsyncIterator[bytes]:
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    numbers = itertools.count(1)
    async for found in changes(gateway.tasks, gateway.bus, key, first,
                               heartbeat_s=HEARTBEAT_S):
        if found is None:
            yield b": keep-alive\n\n"
            continue
        video = codec.encode_video(
            found.task, queue_position=found.queue_position,
            urls=output_urls(gateway, found.task, base), media_ttl=gateway.settings.media_ttl)
        yield b"id: %d\nevent: video\ndata: %s\n\n" % (next(numbers), orjson.dumps(video))


routes = [Route("/v1/videos/{video_id}/events", stream_events, methods=["GET"])]
