"""A remote provider reached over HTTP, driven through its dialect's codec.

One `UpstreamClient` is shared by every provider (one bounded connection pool); each call has
the provider's timeout. Failures become `UpstreamError`s with a `Fault` the router acts on:
timeouts, connection errors, 5xx and malformed answers are the provider's trouble and
retryable; 4xx answers are classified by the codec from the provider's own error codes.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson

from seedgate.domain.catalog import CATALOG
from seedgate.domain.request import GenerationRequest
from seedgate.domain.task import Task
from seedgate.domain.upstream import Fault, Unsupported, UpstreamError, UpstreamState
from seedgate.providers.base import UpstreamStatus
from seedgate.providers.client import UpstreamClient
from seedgate.providers.config import ProviderSettings
from seedgate.providers.wires import Wire

log = logging.getLogger(__name__)


class HttpProvider:
    remote = True

    def __init__(self, settings: ProviderSettings, wire: Wire, http: UpstreamClient,
                 api_key: str | None) -> None:
        self.name = settings.name
        self.callbacks = wire.callbacks
        self.settings = settings
        self._wire = wire
        self._http = http
        self._base = (settings.base_url or wire.base_url).rstrip("/")
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}

    def upstream_model(self, model_id: str) -> str | None:
        model = CATALOG[model_id]
        if self.settings.models:
            return self.settings.models.get(model.id)
        return self._wire.model_id(model)

    def serves(self, model_id: str) -> bool:
        return self.upstream_model(model_id) is not None

    def accepts(self, request: GenerationRequest) -> bool:
        model = self.upstream_model(request.model)
        if model is None:
            return False
        try:
            self._wire.codec.encode_create(request, model)
        except Unsupported:
            return False
        return True

    async def submit(self, task: Task, callback_url: str | None = None) -> str:
        model = self.upstream_model(task.model)
        if model is None:
            raise Unsupported(f"{self.name} does not serve {task.model}")
        body = self._wire.codec.encode_create(task.request, model, callback_url)
        answer = await self._call("POST", self._wire.create(model), json=body)
        return self._wire.job_id(model, self._wire.codec.decode_created(answer))

    async def poll(self, upstream_id: str) -> UpstreamStatus:
        method, path, query = self._wire.status(upstream_id)
        try:
            answer = await self._call(method, path, params=query)
        except UpstreamError as error:
            if error.fault is Fault.NOT_FOUND:
                return UpstreamStatus(UpstreamState.LOST)
            raise
        return self.status_of(answer)

    def status_of(self, answer: Any) -> UpstreamStatus:
        """A status answer, or a callback's body, in the engine's terms."""
        remote = self._wire.codec.decode_status(answer)
        return UpstreamStatus(remote.state, remote.progress, error_code=remote.error_code,
                              error_message=remote.error_message, remote=remote)

    async def cancel(self, upstream_id: str) -> None:
        """Cancel (or, once finished, delete) the job where the API allows it."""
        if self._wire.cancel is None:
            return
        method, path, query = self._wire.cancel(upstream_id)
        try:
            await self._call(method, path, params=query)
        except UpstreamError as error:
            log.info("cancelling job %s at %s failed: %s", upstream_id, self.name, error)

    async def _call(self, method: str, path: str, *, json: Any = None,
                    params: dict[str, str] | None = None) -> Any:
        try:
            response = await self._http.request(
                method, f"{self._base}{path}", json=json, params=params,
                headers=self._headers, timeout=self.settings.timeout)
        except httpx.TimeoutException as exc:
            raise UpstreamError(Fault.TIMEOUT, f"{self.name} did not answer in time.") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(Fault.UNAVAILABLE, f"{self.name} could not be reached "
                                f"({type(exc).__name__}).") from exc
        try:
            body = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = None
            if response.is_success:
                raise UpstreamError(Fault.UNAVAILABLE, f"{self.name} answered HTTP "
                                    f"{response.status_code} with a body that is not JSON.",
                                    status=response.status_code) from None
        if response.is_success:
            return body
        error = self._wire.codec.decode_error(response.status_code, body)
        error.retry_after = retry_after(response.headers.get("retry-after"))
        raise error


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the delta form; the date form is rare from APIs)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
