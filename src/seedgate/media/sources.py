"""Source videos of edits and extends, copied into the gateway's storage when the task is
created: the provider (or the simulator) then fetches the gateway's own signed copy, checked
and probed, never the client's URL, which may be gone or changed by the time the task runs.
A source that already is the gateway's own media (a remix of a finished video) is kept."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import replace

from seedgate.domain.catalog import MIN_EDIT_SOURCE_SECONDS, TaskType
from seedgate.domain.errors import ErrorKind, GatewayError, invalid
from seedgate.domain.request import GenerationRequest
from seedgate.media.inputs import MAX_VIDEO_BYTES, InputError, InputFetcher
from seedgate.media.probe import InvalidMedia, probe_bytes
from seedgate.media.signing import UrlSigner
from seedgate.media.storage import Storage, StorageUnavailable

RETRY_S = 30


class SourceVideos:
    def __init__(self, inputs: InputFetcher, storage: Storage, signer: UrlSigner,
                 ttl_s: int, check: Callable[[GenerationRequest], object]) -> None:
        self._check = check  # validates a request (raises GatewayError)
        self._inputs = inputs
        self._storage = storage
        self._signer = signer
        self._ttl_s = ttl_s

    async def stage(self, key_id: int, request: GenerationRequest, base: str
                    ) -> GenerationRequest:
        """The request with its edit or extend source replaced by a signed link to the
        gateway's copy. Raises `GatewayError` naming the input when it is unusable (or
        the request is invalid anyway: checked first, before anything is downloaded)."""
        source = request.source_video
        if source is None or self._inputs.own_key(source.url) is not None:
            return request
        self._check(request)
        index = request.inputs.index(source)
        where = f"inputs[{index}].url"
        try:
            data = await self._inputs.fetch(source.url, max_bytes=MAX_VIDEO_BYTES)
        except InputError as exc:
            raise invalid(where, f"`{where}`: {exc}") from exc
        try:
            info = await asyncio.to_thread(probe_bytes, data)
        except InvalidMedia as exc:
            raise invalid(where, f"`{where}` is not a playable video: {exc}") from exc
        if request.task_type == TaskType.EDIT and info.duration_s < MIN_EDIT_SOURCE_SECONDS:
            raise invalid(where, f"The source video of an edit must be at least "
                          f"{MIN_EDIT_SOURCE_SECONDS} s long; `{where}` is "
                          f"{info.duration_s:.1f} s.")
        digest = hashlib.sha256(data).hexdigest()
        media_key = (f"inputs/{self._signer.signature(f'input/{key_id}/{digest}', 0)}"
                     f".{info.container}")
        try:
            await self._storage.put_bytes(media_key, data)
        except StorageUnavailable as exc:
            raise GatewayError(ErrorKind.UNAVAILABLE, "The source video could not be stored "
                               "now; retry shortly.", retry_after=RETRY_S) from exc
        url = self._signer.url(base, media_key, int(time.time()) + self._ttl_s)
        inputs = list(request.inputs)
        inputs[index] = replace(source, url=url)
        return replace(request, inputs=tuple(inputs))

