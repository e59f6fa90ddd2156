"""Media downloads under signed, expiring URLs (no API key needed)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from seedgate.domain.task import Task
from seedgate.gateway import Gateway
from seedgate.http.plumbing import gateway_of, json_response
from seedgate.media.storage import InvalidKey

MEDIA_TYPES = {
    ".mp4": "video/mp4", ".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp",
}


def output_urls(gateway: Gateway, task: Task, base: str) -> list[str]:
    """Signed URLs of a succeeded task's video (and last frame, if the request asked for it)."""
    return gateway.signer.outputs(task, base, gateway.settings.media_ttl)


def _denied(message: str) -> Response:
    return json_response({"error": {"code": "forbidden", "message": message}}, 403)


async def download(request: Request) -> Response:
    gateway = gateway_of(request)
    key = request.path_params["key"]
    try:
        expires = int(request.query_params.get("exp", ""))
    except ValueError:
        return _denied("This media link is incomplete: it needs `exp` and `sig`.")
    signature = request.query_params.get("sig", "")
    if not gateway.signer.verify(key, expires, signature, time.time()):
        return _denied("This media link is invalid or has expired.")
    try:
        path = gateway.storage.path(key)
    except InvalidKey:
        return _denied("This media link is invalid.")
    if not path.is_file():
        return json_response({"error": {"code": "not_found",
                                        "message": "This media file no longer exists."}}, 404)
    media_type = MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers={"cache-control": "private"})


routes = [Route("/media/{key:path}", download, methods=["GET", "HEAD"])]
