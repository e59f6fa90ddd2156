"""Endpoints of the Ark v3 dialect, `/api/v3/contents/generations/tasks[/{id}]`."""

from __future__ import annotations

from collections.abc import Awaitable

from seedgate.dialects import ark as codec
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.task import TaskStatus
from seedgate.gateway import Gateway
from seedgate.http.fastpath import Call, Methods
from seedgate.http.media import output_urls
from seedgate.http.plumbing import Reply, answer, authorize, json_reply, parse_json
from seedgate.http.reading import TaskReplies
from seedgate.service.drafts import final_request

TASKS = "/api/v3/contents/generations/tasks"
DRAFT_PARAM = "content[0].draft_task.id"


class ArkEndpoints:
    dialect = codec.NAME

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._replies = TaskReplies(gateway, codec.encode_task)

    def routes(self) -> dict[str, Methods]:
        return {
            TASKS: {"POST": self.create, "GET": self.list_tasks},
            f"{TASKS}/{{task_id}}": {"GET": self.retrieve, "DELETE": self.delete},
        }

    async def create(self, call: Call) -> Reply:
        return await _answer(self._create(call), f"POST {TASKS}")

    async def list_tasks(self, call: Call) -> Reply:
        return await _answer(self._list(call), f"GET {TASKS}")

    async def retrieve(self, call: Call) -> Reply:
        return await _answer(self._retrieve(call), f"GET {TASKS}/{{id}}")

    async def delete(self, call: Call) -> Reply:
        return await _answer(self._delete(call), f"DELETE {TASKS}/{{id}}")

    async def _create(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        create = codec.decode_create(parse_json(call.body))
        if create.draft_task_id is not None:
            final = await final_request(self.gateway.tasks, key, create.request,
                                        create.draft_task_id, DRAFT_PARAM)
            create = codec.with_final(create, final)
        try:
            request = await self.gateway.sources.stage(key.id, create.request, call.base_url)
            task = await self.gateway.tasks.create(key, codec.NAME, request,
                                                   create.client_request)
        except GatewayError as error:
            raise codec.located(error, create) from None
        return json_reply(codec.encode_created(task))

    async def _retrieve(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        return await self._replies.read(key, call.path_params["task_id"], call.base_url)

    async def _list(self, call: Call) -> Reply:
        key = await authorize(self.gateway, call.authorization, call.client)
        page = await self.gateway.tasks.numbered_page(key, codec.decode_list(call.raw_query))
        items = [codec.encode_task(task, output_urls(self.gateway, task, call.base_url))
                 for task in page.tasks]
        return json_reply({"total": page.total, "items": items})

    async def _delete(self, call: Call) -> Reply:
        """Queued or running: cancel (a running task refuses). Cancelled: refused, as Ark
        does. Otherwise finished: delete the record and its media."""
        key = await authorize(self.gateway, call.authorization, call.client)
        task_id = call.path_params["task_id"]
        tasks = self.gateway.tasks
        task = await tasks.get(key, task_id, refresh=False)
        if task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
            await tasks.cancel(key, task_id)
        elif task.status is TaskStatus.CANCELLED:
            raise GatewayError(ErrorKind.CONFLICT, f"Task {task_id} is cancelled; a cancelled "
                               "task cannot be deleted (it is removed after 24 hours).",
                               param="id")
        else:
            await tasks.delete(key, task_id)
        return json_reply(codec.encode_deleted())


async def _answer(work: Awaitable[Reply], what: str) -> Reply:
    return await answer(work, codec.encode_error, what)
