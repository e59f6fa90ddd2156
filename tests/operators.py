"""Helpers of the operators' tests: an admin API client that checks every reply against the
OpenAPI document, and waiting for a task through it."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import httpx
import orjson
import schemathesis

from seedgate.http.admin.api import PREFIX
from seedgate.http.openapi import document

from .conftest import RunningGateway


@cache
def schema() -> Any:
    return schemathesis.openapi.from_dict(orjson.loads(orjson.dumps(document())))


class Admin:
    """`/admin/v1` with the admin token; `checked` replies are validated against the
    document's schema of their operation."""

    def __init__(self, gateway: RunningGateway, token: str | None = None) -> None:
        self.token = token or gateway.gateway.admin.tokens.rotate()
        self.http = httpx.Client(base_url=gateway.url + PREFIX, timeout=30,
                                 headers={"authorization": f"Bearer {self.token}"})

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def call(self, method: str, path: str, template: str | None = None,
             **kwargs: Any) -> httpx.Response:
        """A request; its reply is checked against the schema of `template` (the
        documented path, when it has parameters) whatever its status."""
        response = self.http.request(method, path, **kwargs)
        operation = schema()[PREFIX + (template or path.split("?", maxsplit=1)[0])][method]
        operation.validate_response(response)
        return response

    def ok(self, method: str, path: str, template: str | None = None,
           **kwargs: Any) -> Any:
        response = self.call(method, path, template, **kwargs)
        assert response.status_code == 200, response.text
        return response.json() if response.headers["content-type"].startswith(
            "application/json") else response.text

    def wait_for(self, task_id: str, statuses: set[str], timeout: float = 90.0) -> Any:
        deadline = time.monotonic() + timeout
        while (task := self.ok("GET", f"/tasks/{task_id}", "/tasks/{task_id}"))[
                "status"] not in statuses:
            assert time.monotonic() < deadline, f"{task_id} stuck in {task['status']}"
            time.sleep(0.1)
        return task
