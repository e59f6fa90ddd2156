"""Endpoints of the seedance1-5pro dialect: `POST /api/generate`, `GET|POST /api/status`."""

from __future__ import annotations

from seedgate.dialects import seedance15pro as codec
from seedgate.dialects.common import decode_task_id, not_an_object
from seedgate.gateway import Gateway
from seedgate.http.fastpath import Call, Methods
from seedgate.http.plumbing import Reply, answer, authorize, json_reply, parse_json
from seedgate.http.reading import TaskReplies


class SeedanceEndpoints:
    dialect = codec.NAME

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._replies = TaskReplies(gateway, codec.encode_task)

    def routes(self) -> dict[str, Methods]:
        return {
            "/api/generate": {"POST": self.generate},
            "/api/status": {"GET": self.status, "POST": self.status},
        }

    async def generate(self, call: Call) -> Reply:
        return await answer(self._generate(call), codec.encode_error, "POST /api/generate")

    async def status(self, call: Call) -> Reply:
        return await answer(self._status(call), codec.encode_error, "/api/status")

    async def _generate(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        generation, sanitized = codec.decode_create(parse_json(call.body))
        task = await self.gateway.tasks.create(key, codec.NAME, generation, sanitized)
        return json_reply(codec.encode_created(task))

    async def _status(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        if call.method == "POST":
            payload = parse_json(call.body)
            if not isinstance(payload, dict):
                raise not_an_object()
            raw_id = payload.get("task_id")
        else:
            raw_id = call.query.get("task_id")
        return await self._replies.read(key, decode_task_id(raw_id), call.base_url)
