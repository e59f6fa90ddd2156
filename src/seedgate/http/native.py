"""Endpoints of the native dialect, `/v1/videos` (a superset of the OpenAI Videos API)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from functools import partial
from typing import Any

import orjson

from seedgate.dialects import native as codec
from seedgate.dialects.common import decode_task_id
from seedgate.domain.errors import ErrorKind, GatewayError, invalid
from seedgate.domain.idempotency import checked_key, fingerprint
from seedgate.domain.keys import ApiKey
from seedgate.domain.task import Task, TaskStatus
from seedgate.gateway import Gateway
from seedgate.http.fastpath import Call, Methods
from seedgate.http.forms import is_form, parse_form
from seedgate.http.media import UNAVAILABLE_RETRY_S, media_reply, output_urls, store_upload
from seedgate.http.plumbing import Reply, ReplyCache, answer, authorize, json_reply, parse_json
from seedgate.media.images import UnsupportedImage
from seedgate.media.storage import NotStored, StorageUnavailable
from seedgate.media.uploads import stage_image
from seedgate.service.drafts import final_request
from seedgate.service.watch import wait_for_end

log = logging.getLogger(__name__)

REFERENCE = "input_reference"
DRAFT_PARAM = "draft_task_id"


class NativeEndpoints:
    dialect = codec.NAME

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._finished = ReplyCache(gateway.bus)

    def routes(self) -> dict[str, Methods]:
        return {
            "/v1/videos": {"POST": self.create, "GET": self.list_videos},
            "/v1/videos/{video_id}": {"GET": self.retrieve, "DELETE": self.delete},
            "/v1/videos/{video_id}/cancel": {"POST": self.cancel},
            "/v1/videos/{video_id}/remix": {"POST": self.remix},
            "/v1/videos/{video_id}/content": {"GET": self.content},
            "/v1/videos/{video_id}/webhooks": {"GET": self.webhooks},
            "/v1/videos/{video_id}/webhooks/{delivery_id}/replay": {"POST": self.replay},
        }

    async def create(self, call: Call) -> Reply:
        return await _answer(self._create(call), "POST /v1/videos")

    async def list_videos(self, call: Call) -> Reply:
        return await _answer(self._list(call), "GET /v1/videos")

    async def retrieve(self, call: Call) -> Reply:
        return await _answer(self._retrieve(call), "GET /v1/videos/{id}")

    async def delete(self, call: Call) -> Reply:
        return await _answer(self._delete(call), "DELETE /v1/videos/{id}")

    async def cancel(self, call: Call) -> Reply:
        return await _answer(self._cancel(call), "POST /v1/videos/{id}/cancel")

    async def remix(self, call: Call) -> Reply:
        return await _answer(self._remix(call), "POST /v1/videos/{id}/remix")

    async def content(self, call: Call) -> Reply:
        return await _answer(self._content(call), "GET /v1/videos/{id}/content")

    async def webhooks(self, call: Call) -> Reply:
        return await _answer(self._webhooks(call), "GET /v1/videos/{id}/webhooks")

    async def replay(self, call: Call) -> Reply:
        return await _answer(self._replay(call), "POST /v1/videos/{id}/webhooks/{d}/replay")

    # -- create -------------------------------------------------------------------------

    async def _create(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        fields, image = _create_fields(call)
        upload = await self._reference(key, image, call.base_url) if image is not None else None
        request, parameters = codec.decode_create(fields, upload[0] if upload else None)
        if upload is not None:
            await store_upload(self.gateway.storage, upload[1], image)
        tasks = self.gateway.tasks
        if (draft_id := parameters.get("draft_task_id")) is not None:
            request = await final_request(tasks, key, request, decode_task_id(
                draft_id, DRAFT_PARAM), DRAFT_PARAM)
        request = await self.gateway.sources.stage(key.id, request, call.base_url)
        wait = codec.decode_wait(call.prefer, self.gateway.settings.max_wait)
        if call.idempotency_key is None:
            task = await tasks.create(key, codec.NAME, request, parameters)
            if wait:
                return await self._waited(key, task.id, wait, call.base_url)
            return json_reply(self._video(task, await tasks.queue_position(task), call.base_url))
        stored = await tasks.create_once(
            key, codec.NAME, request, parameters,
            idempotency_key=checked_key(call.idempotency_key),
            request_hash=fingerprint(parameters),
            render=partial(self._created, base=call.base_url),
        )
        if wait and stored.status == 200:
            return await self._waited(key, stored.task_id, wait, call.base_url)
        return Reply(stored.status, stored.body)

    async def _waited(self, key: ApiKey, task_id: str, seconds: int, base: str) -> Reply:
        """`Prefer: wait=N`: the video once it has ended, or as it is after N seconds."""
        task = await wait_for_end(self.gateway.tasks, self.gateway.bus, key, task_id, seconds)
        headers = {"preference-applied": f"wait={seconds}"}
        if not task.status.terminal:
            headers["openai-poll-after-ms"] = codec.POLL_AFTER_MS
        video = self._video(task, await self.gateway.tasks.queue_position(task), base)
        return json_reply(video, headers=headers)

    def _created(self, task: Task, queue_position: int, base: str) -> tuple[int, bytes]:
        return 200, orjson.dumps(self._video(task, queue_position, base))

    async def _reference(
        self, key: ApiKey, image: bytes, base: str
    ) -> tuple[codec.Reference, str]:
        """Where an uploaded image will be stored, and its signed URL for the provider."""
        try:
            upload = await asyncio.to_thread(stage_image, self.gateway.signer, key.id, image,
                                             base, self.gateway.settings.media_ttl)
        except UnsupportedImage as exc:
            raise invalid(REFERENCE, f"`{REFERENCE}` is not a usable image: {exc}.") from exc
        return (codec.Reference(upload.url, upload.width, upload.height, upload.sha256),
                upload.media_key)

    async def _remix(self, call: Call) -> Reply:
        """A Seedance 2.5 edit of a finished video of this key, with a new prompt; the
        source goes to the provider as a signed link to the gateway's own copy."""
        key = await authorize(self.gateway, call.authorization, call.client)
        body = parse_json(call.body)
        codec.check_remix(body)
        source = await self.gateway.tasks.get(key, call.path_params["video_id"], refresh=False)
        video_key = _content_key(source, "video")
        expires = int(time.time()) + self.gateway.settings.media_ttl
        link = self.gateway.signer.url(call.base_url, video_key, expires)
        request, parameters = codec.decode_remix(body, source, link)
        task = await self.gateway.tasks.create(key, codec.NAME, request, parameters)
        return json_reply(self._video(task, await self.gateway.tasks.queue_position(task),
                                      call.base_url))

    # -- reads --------------------------------------------------------------------------

    async def _retrieve(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        wait = codec.decode_wait(call.prefer, self.gateway.settings.max_wait)
        if wait:
            return await self._waited(key, call.path_params["video_id"], wait, call.base_url)
        task = await self.gateway.tasks.get(key, call.path_params["video_id"])
        cache_key = (task.id, call.base_url)
        if cached := self._finished.get(cache_key):
            return cached
        if not task.status.terminal:
            video = self._video(task, await self.gateway.tasks.queue_position(task),
                                call.base_url)
            return json_reply(video, headers={"openai-poll-after-ms": codec.POLL_AFTER_MS})
        reply = json_reply(self._video(task, None, call.base_url))
        self._finished.put(cache_key, reply)
        return reply

    async def _list(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        page = await self.gateway.tasks.page(key, codec.decode_list(call.query))
        videos = [self._video(task, page.queue_positions.get(task.id), call.base_url)
                  for task in page.tasks]
        return json_reply(codec.encode_list(videos, page.has_more))

    async def _content(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        variant = codec.decode_variant(call.query)
        task = await self.gateway.tasks.get(key, call.path_params["video_id"])
        try:
            return await media_reply(self.gateway.storage, _content_key(task, variant),
                                     call.method, lambda name: call.header(name.encode()))
        except NotStored:
            raise GatewayError(ErrorKind.NOT_FOUND, f"The {variant} of video {task.id} has "
                               "expired and was removed.") from None
        except StorageUnavailable as exc:
            log.warning("video content failed: %s", exc)
            raise GatewayError(ErrorKind.UNAVAILABLE, "The media storage cannot be reached "
                               "now; retry shortly.", retry_after=UNAVAILABLE_RETRY_S) from exc

    # -- changes ------------------------------------------------------------------------

    async def _cancel(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        task = await self.gateway.tasks.cancel(key, call.path_params["video_id"])
        return json_reply(self._video(task, None, call.base_url))

    async def _delete(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        video_id = call.path_params["video_id"]
        await self.gateway.tasks.delete(key, video_id)
        return json_reply(codec.encode_deleted(video_id))

    # -- webhooks -----------------------------------------------------------------------

    async def _webhooks(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        found = await self.gateway.webhooks.deliveries(key, call.path_params["video_id"])
        return json_reply(codec.encode_deliveries(found))

    async def _replay(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        delivery = await self.gateway.webhooks.replay(
            key, call.path_params["video_id"], call.path_params["delivery_id"])
        return json_reply(codec.encode_delivery(delivery))

    def _video(self, task: Task, queue_position: int | None, base: str) -> dict[str, Any]:
        return codec.encode_video(
            task, queue_position=queue_position, urls=output_urls(self.gateway, task, base),
            media_ttl=self.gateway.settings.media_ttl,
        )


async def _answer(work: Awaitable[Reply], what: str) -> Reply:
    return await answer(work, codec.encode_error, what)


def _create_fields(call: Call) -> tuple[Any, bytes | None]:
    """The create's fields (a form's, or the JSON body) and the uploaded image, if any."""
    if not is_form(call.content_type):
        return parse_json(call.body), None
    assert call.content_type is not None
    form = parse_form(call.body, call.content_type)
    for name in form.files:
        if name != REFERENCE:
            raise invalid(name, f"Only `{REFERENCE}` may be a file; `{name}` was one.")
    return codec.form_fields(form.fields), form.files.get(REFERENCE)


def _content_key(task: Task, variant: str) -> str:
    """The stored media of a finished video; an error while it has none."""
    if not task.status.terminal:
        raise GatewayError(ErrorKind.CONFLICT, f"Video {task.id} is not ready yet: it is "
                           f"{codec.STATUS[task.status]} ({task.progress}%). Poll it until "
                           "it is completed.")
    if task.status is not TaskStatus.SUCCEEDED or task.outputs is None:
        raise GatewayError(ErrorKind.NOT_FOUND, f"Video {task.id} has no content: it "
                           f"{codec.STATUS[task.status]}.")
    media_key = task.outputs.video_key if variant == "video" else task.outputs.last_frame_key
    if media_key is None:
        raise GatewayError(ErrorKind.NOT_FOUND, f"Video {task.id} has no {variant}.")
    return media_key
