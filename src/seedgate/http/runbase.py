"""Endpoints of the runbase dialect: `POST /api/v1/runs`, `GET /api/v1/runs/{run_id}`."""

from __future__ import annotations

from functools import partial

from seedgate.dialects import runbase as codec
from seedgate.gateway import Gateway
from seedgate.http.fastpath import Call, Methods
from seedgate.http.plumbing import (
    ErrorEncoder,
    Reply,
    answer,
    authorize,
    json_reply,
    parse_json,
)
from seedgate.http.reading import TaskReplies


class RunbaseEndpoints:
    dialect = codec.NAME

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._replies = TaskReplies(gateway, codec.encode_task)

    def routes(self) -> dict[str, Methods]:
        return {
            "/api/v1/runs": {"POST": self.create},
            "/api/v1/runs/{run_id}": {"GET": self.get},
        }

    async def create(self, call: Call) -> Reply:
        return await answer(self._create(call), _errors(call), "POST /api/v1/runs")

    async def get(self, call: Call) -> Reply:
        return await answer(self._get(call), _errors(call), "GET /api/v1/runs/{run_id}")

    async def _create(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        generation, sent = codec.decode_create(parse_json(call.body))
        task = await self.gateway.tasks.create(key, codec.NAME, generation, sent)
        return json_reply(codec.encode_task(task, []))

    async def _get(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        return await self._replies.read(key, call.path_params["run_id"], call.base_url)


def _errors(call: Call) -> ErrorEncoder:
    """Runbase tells a missing API key from a wrong one, so errors see the header."""
    return partial(codec.encode_error, key_sent=codec.api_key_sent(call.authorization))
