"""Media downloads under signed, expiring URLs (no API key needed), streamed from the
storage whatever backend holds it, with byte ranges and conditional requests."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.task import Task
from seedgate.gateway import Gateway
from seedgate.http.plumbing import Reply, gateway_of, json_reply, json_response
from seedgate.http.ranges import (
    Unsatisfiable,
    http_date,
    none_match,
    range_applies,
    requested_range,
)
from seedgate.media.storage import InvalidKey, NotStored, Storage, StorageUnavailable, media_type

log = logging.getLogger(__name__)

UNAVAILABLE_RETRY_S = 30


async def store_upload(storage: Storage, media_key: str, data: bytes) -> None:
    """Store an uploaded input; a storage outage is the client's 503 (retry shortly)."""
    try:
        await storage.put_bytes(media_key, data)
    except StorageUnavailable as exc:
        log.warning("storing an uploaded input failed: %s", exc)
        raise GatewayError(ErrorKind.UNAVAILABLE, "The uploaded image could not be stored "
                           "now; retry shortly.", retry_after=UNAVAILABLE_RETRY_S) from exc


def output_urls(gateway: Gateway, task: Task, base: str) -> list[str]:
    """Signed URLs of a succeeded task's video (and last frame, if the request asked for it)."""
    return gateway.signer.outputs(task, base, gateway.settings.media_ttl)


async def media_reply(storage: Storage, key: str, method: str,
                      header: Callable[[str], str | None]) -> Reply:
    """The object under `key` as a download: whole (200), one byte range (206), unchanged
    since the client's copy (304), or a range past its end (416); HEAD gets the headers
    alone. `header` looks up a request header by its lower-case name. Raises NotStored,
    and StorageUnavailable when the storage cannot be reached."""
    found = await storage.stat(key)
    if found is None:
        raise NotStored(key)
    last_modified = http_date(found.modified)
    headers = {"accept-ranges": "bytes", "etag": found.etag, "last-modified": last_modified,
               "cache-control": "private"}
    kind = media_type(key)
    if none_match(header("if-none-match"), found.etag):
        return Reply(304, b"", headers, kind)
    wanted = None
    if range_applies(header("if-range"), found.etag, last_modified):
        try:
            wanted = requested_range(header("range"), found.size)
        except Unsatisfiable:
            headers["content-range"] = f"bytes */{found.size}"
            return json_reply({"error": {
                "code": "range_not_satisfiable",
                "message": f"The range is outside the file, which has {found.size} bytes."}},
                416, headers)
    start, length = (wanted.start, wanted.length) if wanted else (0, found.size)
    headers["content-length"] = str(length)
    if wanted is not None:
        headers["content-range"] = wanted.content_range(found.size)
    stream = None if method == "HEAD" else storage.read(key, start, length)
    return Reply(206 if wanted else 200, b"", headers, kind, stream)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None
           ) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


async def download(request: Request) -> Response:
    gateway = gateway_of(request)
    key = request.path_params["key"]
    try:
        expires = int(request.query_params.get("exp", ""))
    except ValueError:
        return _error(403, "forbidden", "This media link is incomplete: it needs `exp` and `sig`.")
    signature = request.query_params.get("sig", "")
    if not gateway.signer.verify(key, expires, signature, time.time()):
        return _error(403, "forbidden", "This media link is invalid or has expired.")
    try:
        reply = await media_reply(gateway.storage, key, request.method, request.headers.get)
    except InvalidKey:
        return _error(403, "forbidden", "This media link is invalid.")
    except NotStored:
        return _error(404, "not_found", "This media file no longer exists.")
    except StorageUnavailable as exc:
        log.warning("media download failed: %s", exc)
        return _error(503, "unavailable", "The media storage cannot be reached now; retry "
                      "shortly.", {"retry-after": str(UNAVAILABLE_RETRY_S)})
    return reply.response()


routes = [Route("/media/{key:path}", download, methods=["GET", "HEAD"])]
