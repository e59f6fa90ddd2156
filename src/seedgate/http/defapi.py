"""Endpoints of the defapi dialect: `POST /api/video/seedance/gen`, `GET /api/task/query`."""

from __future__ import annotations

from seedgate.dialects import defapi as codec
from seedgate.dialects.common import decode_task_id
from seedgate.gateway import Gateway
from seedgate.http.fastpath import Call, Methods
from seedgate.http.plumbing import Reply, answer, authorize, json_reply, parse_json
from seedgate.http.reading import TaskReplies


class DefapiEndpoints:
    dialect = codec.NAME

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._replies = TaskReplies(gateway, codec.encode_task)

    def routes(self) -> dict[str, Methods]:
        return {
            "/api/video/seedance/gen": {"POST": self.generate},
            "/api/task/query": {"GET": self.query},
        }

    async def generate(self, call: Call) -> Reply:
        return await answer(self._generate(call), codec.encode_error,
                            "POST /api/video/seedance/gen")

    async def query(self, call: Call) -> Reply:
        return await answer(self._query(call), codec.encode_error, "GET /api/task/query")

    async def _generate(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        generation, sanitized = codec.decode_create(parse_json(call.body))
        task = await self.gateway.tasks.create(key, codec.NAME, generation, sanitized)
        return json_reply(codec.encode_created(task))

    async def _query(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        task_id = decode_task_id(call.query.get("task_id"))
        return await self._replies.read(key, task_id, call.base_url)
