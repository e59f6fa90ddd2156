"""Endpoints of the apixo dialect: `POST /api/v1/generateTask/{model}`,
`GET /api/v1/statusTask/{model}?taskId=`."""

from __future__ import annotations

from seedgate.dialects import apixo as codec
from seedgate.gateway import Gateway
from seedgate.http.fastpath import Call, Methods
from seedgate.http.plumbing import Reply, answer, authorize, json_reply, parse_json
from seedgate.http.reading import TaskReplies


class ApixoEndpoints:
    dialect = codec.NAME

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._replies = TaskReplies(gateway, codec.encode_task)

    def routes(self) -> dict[str, Methods]:
        return {
            "/api/v1/generateTask/{model}": {"POST": self.generate},
            "/api/v1/statusTask/{model}": {"GET": self.status},
        }

    async def generate(self, call: Call) -> Reply:
        return await answer(self._generate(call), codec.encode_error,
                            "POST /api/v1/generateTask")

    async def status(self, call: Call) -> Reply:
        return await answer(self._status(call), codec.encode_error, "/api/v1/statusTask")

    async def _generate(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        model = codec.decode_model(call.path_params["model"])
        generation, sanitized = codec.decode_create(model, parse_json(call.body))
        task = await self.gateway.tasks.create(key, codec.NAME, generation, sanitized)
        return json_reply(codec.encode_created(task))

    async def _status(self, call: Call) -> Reply:
        """Any task of the key, whichever dialect created it and whatever its model.

        The path's model must be one apixo knows, but it need not be the task's: the task id
        alone identifies the task, and a client polling a task created elsewhere (or under a
        sibling model's path) should get it rather than a misleading 404.
        """
        key = await authorize(self.gateway, call.authorization, call.client)
        codec.decode_model(call.path_params["model"])
        task_id = codec.decode_task_id(call.query.get("taskId"))
        return await self._replies.read(key, task_id, call.base_url)
