"""Upstream callbacks: `POST /upstream/callbacks/{token}`.

The body is ignored: a valid token only makes the worker poll the task's provider now
(see `engine.callbacks`), so a forged callback cannot complete or fail a task.
"""

from __future__ import annotations

from seedgate.engine.callbacks import PATH
from seedgate.gateway import Gateway
from seedgate.http.fastpath import Call, Methods
from seedgate.http.plumbing import Reply, json_reply
from seedgate.shared.bus import Topic


class CallbackEndpoints:
    dialect = "upstream"

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def routes(self) -> dict[str, Methods]:
        return {f"{PATH}/{{token}}": {"POST": self.receive}}

    async def receive(self, call: Call) -> Reply:
        task_id = self.gateway.callbacks.task_of(call.path_params["token"])
        if task_id is None:
            return json_reply({"error": {"code": "not_found",
                                         "message": "No such callback URL."}}, 404)
        self.gateway.bus.publish(Topic.NUDGE, task_id)  # to the worker holding it
        return json_reply({})
