"""What every dialect's endpoints share: JSON in and out, auth, errors in the dialect."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.keys import ApiKey
from seedgate.gateway import Gateway

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
ErrorEncoder = Callable[[GatewayError], tuple[int, dict[str, Any]]]
MAX_BODY_BYTES = 1 << 20


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


async def authorize(request: Request) -> ApiKey:
    gateway = gateway_of(request)
    key = await gateway.auth.authenticate(request.headers.get("authorization"))
    gateway.limiter.check(key)
    return key


async def read_json(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise GatewayError(ErrorKind.INVALID_PARAMETER, "The request body is larger than 1 MB.")
    if not body.strip():
        raise GatewayError(ErrorKind.INVALID_JSON, "The request body is empty; send JSON.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(ErrorKind.INVALID_JSON,
                           f"The request body is not valid JSON: {exc}") from exc


def base_url(request: Request) -> str:
    configured = gateway_of(request).settings.public_url
    return configured or str(request.base_url)


def in_dialect(encode_error: ErrorEncoder) -> Callable[[Handler], Handler]:
    """Render every failure of the handler in the dialect's own error envelope."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except GatewayError as error:
                return error_response(error, encode_error)
            except Exception:
                log.exception("unhandled error in %s %s", request.method, request.url.path)
                error = GatewayError(ErrorKind.INTERNAL, "An internal error occurred; retry "
                                     "with exponential backoff.")
                return error_response(error, encode_error)

        return endpoint

    return decorate


def error_response(error: GatewayError, encode_error: ErrorEncoder) -> Response:
    status, body = encode_error(error)
    headers = None
    if error.retry_after is not None:
        headers = {"retry-after": str(max(1, math.ceil(error.retry_after)))}
    return json_response(body, status, headers)
