"""The playground: generate a video as a chosen key and watch it arrive.

The form's choices come from the catalog (each model's resolutions, the ratios of each,
its durations, audio and frame inputs), so a combination the model cannot render cannot be
picked; what slips through (a retired model, say) comes back as the validation message a
client would get. A create goes through the native dialect's codec and the same task
service as every client's, spending the key's credits under its model allow-list,
concurrency cap and spend limits (its IP allow-list and rate limit guard the key's own
requests and do not apply to the operator). Uploaded frames are stored as native uploads
are. Progress streams as Server-Sent Events from `/console/tasks/{id}/events`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse

from seedgate.dialects import native
from seedgate.domain.catalog import CATALOG, Mode, Model
from seedgate.domain.errors import GatewayError, invalid
from seedgate.domain.request import Role
from seedgate.domain.task import TaskStatus
from seedgate.http.admin import codec
from seedgate.http.console.views import HEADERS, ROOT, Page, page
from seedgate.http.media import output_urls, store_upload
from seedgate.media.images import MAX_IMAGE_BYTES, UnsupportedImage
from seedgate.media.uploads import Upload, stage_image
from seedgate.service.watch import changes, snapshot

FRAMES = (("first_frame", Role.FIRST_FRAME), ("last_frame", Role.LAST_FRAME))
# A quote prices the choices, not an image: frames are counted with a stand-in link.
STAND_IN = "https://frame.invalid/stand-in.png"
HEARTBEAT_S = 15.0

PLAYGROUND_DURATION = 5  # seconds, where the model has no default of its own


def choices(model: Model) -> dict[str, Any]:
    """What the form may offer for `model`."""
    return {
        "id": model.id,
        "name": model.display_name,
        "resolutions": list(model.resolutions),
        "default_resolution": model.default_resolution,
        "ratios": {resolution: list(model.sizes[resolution]) for resolution in model.resolutions},
        "durations": list(model.durations()),
        "default_duration": next((d for d in (model.default_duration, PLAYGROUND_DURATION)
                                  if d in model.durations()), model.min_duration),
        "audio": model.audio,
        "text": Mode.TEXT in model.modes,
        "first_frame": bool(model.modes & {Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME}),
        "last_frame": Mode.FIRST_LAST_FRAME in model.modes,
    }


def catalog_choices() -> list[dict[str, Any]]:
    return [choices(model) for model in CATALOG.models]


@page
async def playground(view: Page) -> Response:
    task_id = view.request.query_params.get("task")
    shown = None
    if task_id:
        record = await view.gateway.admin.tasks.record(task_id)
        shown = codec.encode_task(record.task, record.key.name,
                                  output_urls(view.gateway, record.task, view.base))
    return await _page(view, shown=shown, values=_values_of(shown))


async def _page(view: Page, status: int = 200, **context: Any) -> Response:
    keys = [found for found in await view.gateway.admin.keys.list() if found.key.active]
    models = catalog_choices()
    values = context.pop("values") or {"model": native.DEFAULT_MODEL}
    model = next((m for m in models if m["id"] == values.get("model")), models[0])
    return view.render("playground.html", status, nav="playground", keys=keys, models=models,
                       model=model, values=values, **{"shown": None, **context})


def _values_of(task: dict[str, Any] | None) -> dict[str, Any] | None:
    """The form as it was for a shown task, so the next try starts from it."""
    if task is None:
        return None
    return {"key": task["key"], "model": task["model"], "prompt": task["prompt"],
            "resolution": task["resolution"], "ratio": task["ratio"],
            "seconds": str(task["seconds"]), "audio": bool(task["audio"])}


@page
async def generate(view: Page) -> Response:
    values = {name: view.field(name) for name in (
        "key", "model", "prompt", "resolution", "ratio", "seconds")} | {
        "audio": view.field("audio") == "on"}
    try:
        key = await view.gateway.admin.keys.find(values["key"])
        if not key.active:
            raise invalid("key", f"The key {key.name} is revoked; choose another.")
        uploads = {role: found for name, role in FRAMES
                   if (found := await _upload(view, key.id, name)) is not None}
        request, parameters = native.decode_create(_body(values, {
            role: upload.url for role, (upload, _) in uploads.items()}))
        for upload, data in uploads.values():
            await store_upload(view.gateway.storage, upload.media_key, data)
        task = await view.gateway.tasks.create(key, native.NAME, request, parameters)
    except GatewayError as error:
        return await _page(view, 400, values=values, error=error.message)
    return view.redirect(f"{ROOT}/playground?task={task.id}")


def _body(values: dict[str, Any], frames: dict[Role, str]) -> dict[str, Any]:
    """The native create the form stands for; `frames`: the URL of each frame given."""
    body: dict[str, Any] = {"model": values["model"], "prompt": values["prompt"],
                            "generate_audio": values["audio"]}
    for name in ("resolution", "ratio", "seconds"):
        if values[name]:
            body[name] = values[name]
    if frames:
        body["inputs"] = [{"type": "image", "url": url, "role": role.value}
                          for role, url in frames.items()]
    return body


async def _upload(view: Page, key_id: int, field: str) -> tuple[Upload, bytes] | None:
    """An uploaded frame, checked, and where it will be stored; None if none was sent."""
    assert view.form is not None
    sent = view.form.get(field)
    if not isinstance(sent, UploadFile) or not sent.filename:
        return None
    data = await sent.read(MAX_IMAGE_BYTES + 1)
    try:
        upload = await asyncio.to_thread(stage_image, view.gateway.signer, key_id, data,
                                         view.base, view.gateway.settings.media_ttl)
    except UnsupportedImage as exc:
        label = field.replace("_", " ")
        raise invalid(field, f"The {label} is not a usable image: {exc}.") from exc
    return upload, data


@page
async def quote(view: Page) -> Response:
    """The price of the form's current choices, or why they cannot be made."""
    query = view.request.query_params
    values = {name: query.get(name, "") for name in ("model", "resolution", "ratio", "seconds")}
    values |= {"prompt": "quote", "audio": query.get("audio") == "on"}
    frames = {role: STAND_IN for name, role in FRAMES if query.get(name)}
    try:
        request, _ = native.decode_create(_body(values, frames))
        _, credits = view.gateway.tasks.quote(request)
    except GatewayError as error:
        return _json({"error": error.message}, 400)
    return _json({"credits": credits})


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json", headers=HEADERS)


@page
async def events(view: Page) -> Response:
    """A task's progress as Server-Sent Events, until it has ended."""
    task, key = await view.gateway.admin.tasks.owner(view.request.path_params["task_id"])
    first = await snapshot(view.gateway.tasks, key, task.id)

    async def stream() -> AsyncIterator[bytes]:
        async for found in changes(view.gateway.tasks, view.gateway.bus, key, first,
                                   heartbeat_s=HEARTBEAT_S):
            if found is None:
                yield b": keep-alive\n\n"
                continue
            state = {"status": found.task.status.value, "progress": found.task.progress,
                     "queue_position": found.queue_position,
                     "ended": found.task.status.terminal,
                     "succeeded": found.task.status is TaskStatus.SUCCEEDED}
            yield b"event: task\ndata: %s\n\n" % orjson.dumps(state)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={**HEADERS, "x-accel-buffering": "no"})

