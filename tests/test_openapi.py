"""The OpenAPI document: valid, in step with the routes the app serves, and true to a live
gateway (schemathesis fuzzes every operation; real replies of a finished task are checked
against their schemas)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette
from starlette.routing import Mount

from seedgate.http.admin.api import PREFIX as ADMIN
from seedgate.http.app import create_app
from seedgate.http.ark import TASKS as ARK_TASKS
from seedgate.http.console.views import ROOT as CONSOLE
from seedgate.http.fastpath import JsonRoutes
from seedgate.http.observe import Observed
from seedgate.http.openapi import document
from seedgate.http.plumbing import JSON

from .conftest import RunningGateway
from .helpers import wait_for_status

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 8}
PARAMETER = re.compile(r"\{[^}]+\}")
Matcher = Callable[[str], Any]


def load_schema() -> Any:
    """A fresh copy: the loader rewrites the dictionary it is given."""
    return schemathesis.openapi.from_dict(orjson.loads(orjson.dumps(document())))


def test_the_document_is_valid_openapi_3_1() -> None:
    schema = load_schema()
    schema.validate()
    assert document()["openapi"].startswith("3.1")
    ids = [op["operationId"] for methods in document()["paths"].values()
           for op in methods.values()]
    assert len(ids) == len(set(ids))


def served_routes(app: JsonRoutes) -> list[tuple[str, Matcher, set[str]]]:
    """What the app serves, in dispatch order: `(label, match, methods)`. JsonRoutes'
    exact and templated paths come first, then the Starlette app's routes behind it, where
    HEAD comes with every GET and is left out here."""
    routes: list[tuple[str, Matcher, set[str]]] = [
        (path, path.__eq__, set(methods)) for path, methods in app.exact.items()
    ]
    routes += [(pattern.pattern, pattern.fullmatch, set(methods))
               for pattern, methods in app.templated]
    starlette = app.app
    assert isinstance(starlette, Starlette)
    # The console's pages are HTML for people, not API: its twin is the admin API.
    routes += [(route.path, route.path_regex.fullmatch, set(route.methods) - {"HEAD"})
               for route in starlette.routes if not isinstance(route, Mount)]
    assert [r.path for r in starlette.routes if isinstance(r, Mount)] == [CONSOLE]
    return routes


def test_every_served_route_is_documented_and_every_documented_route_is_served(
    gateway: RunningGateway,
) -> None:
    app = create_app(gateway.gateway)
    assert isinstance(app, Observed) and isinstance(app.app, JsonRoutes)
    served = served_routes(app.app)
    documented: dict[str, list[str]] = {label: [] for label, _, _ in served}
    for path, operations in document()["paths"].items():
        concrete = PARAMETER.sub("x1", path)
        label, _, methods = next(
            (route for route in served if route[1](concrete)), (None, None, set()))
        assert label is not None, f"{path} is documented but not served"
        documented[label].append(path)
        assert {m.upper() for m in operations} - {"HEAD"} == methods, path
    undocumented = [label for label, paths in documented.items() if not paths]
    assert not undocumented, f"served but not documented: {undocumented}"
    assert all(len(paths) == 1 for paths in documented.values()), documented


def test_the_document_and_its_html_are_served(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        served = client.get("/openapi.json")
        page = client.get("/docs")
    assert served.status_code == 200
    assert served.headers["content-type"] == JSON
    assert served.json() == orjson.loads(orjson.dumps(document()))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text and "src=" not in page.text  # nothing from the internet
    for path in document()["paths"]:
        assert f"<code>{path}</code>" in page.text


@pytest.mark.timeout(600)  # hundreds of requests: minutes on a loaded machine
def test_schemathesis_finds_no_server_error_and_no_reply_off_the_schema(
    make_gateway: Callable[..., RunningGateway],
) -> None:
    """Every operation, fuzzed with valid and invalid requests. No worker runs, so the
    tasks the fuzzer creates stay queued (no renders); finished tasks are checked below."""
    gateway = make_gateway(worker=False, max_wait=1)
    client = {"authorization": f"Bearer {gateway.new_key(credits=10**9, rate_limit=0)}"}
    admin = {"authorization": f"Bearer {gateway.gateway.admin.tokens.rotate()}"}
    failures: list[str] = []
    for result in load_schema().get_all_operations():
        operation = result.ok()
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def call(case: Any) -> None:
                headers = admin if case.operation.path.startswith(ADMIN) else client
                case.call_and_validate(base_url=gateway.url, headers=headers, checks=CHECKS)

            try:
                call()
            except Unsatisfiable:  # nothing to make invalid: no parameters, no body
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as exc:  # every operation is tried; all failures are listed
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    # The admin operations ran with the admin token: the fuzzer's keys exist.
    assert len(gateway.gateway.accounts.balances()) > 1


def test_replies_about_a_finished_task_match_the_schema(gateway: RunningGateway) -> None:
    """Succeeded tasks carry what queued ones lack (URLs, completion times, resultJson)."""
    schema = load_schema()
    key = gateway.new_key(credits=10**9, rate_limit=0)
    with gateway.client(key) as client:
        created = client.post("/api/generate", json={
            "prompt": "A lighthouse", "aspect_ratio": "16:9", "duration": "5"}).json()
        task_id = created["data"]["task_id"]
        done = wait_for_status(client, task_id, {"SUCCESS"})
        failed_id = client.post("/api/generate", json={
            "prompt": "@sim:internal_error", "aspect_ratio": "1:1", "duration": "5",
        }).json()["data"]["task_id"]
        wait_for_status(client, failed_id, {"FAILED"})
        reads = [
            ("/api/status", "GET", client.get("/api/status", params={"task_id": task_id})),
            ("/api/v1/runs/{run_id}", "GET", client.get(f"/api/v1/runs/{task_id}")),
            ("/api/task/query", "GET", client.get("/api/task/query",
                                                 params={"task_id": task_id})),
            ("/v1/videos/{video_id}", "GET", client.get(f"/v1/videos/{task_id}")),
            ("/v1/videos", "GET", client.get("/v1/videos")),
            ("/v1/videos/{video_id}/content", "GET",
             client.get(f"/v1/videos/{task_id}/content")),
        ]
        for task in (task_id, failed_id):
            reads.append(("/api/v1/statusTask/{model}", "GET", client.get(
                "/api/v1/statusTask/seedance-2-0", params={"taskId": task})))
            reads.append(("/api/v1/runs/{run_id}", "GET", client.get(f"/api/v1/runs/{task}")))
            reads.append(("/v1/videos/{video_id}", "GET", client.get(f"/v1/videos/{task}")))
            reads.append((f"{ARK_TASKS}/{{task_id}}", "GET", client.get(f"{ARK_TASKS}/{task}")))
        reads.append((ARK_TASKS, "GET", client.get(ARK_TASKS)))
        reads.append(("/v1/videos/{video_id}", "DELETE", client.delete(f"/v1/videos/{failed_id}")))
    media = httpx.get(done["response"][0])
    reads += [("/media/{key}", "GET", media)]
    for path, method, response in reads:
        assert response.status_code == 200, (path, response.text)
        schema[path][method].validate_response(response)


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_the_docs_need_no_api_key(gateway: RunningGateway, path: str) -> None:
    assert httpx.get(f"{gateway.url}{path}").status_code == 200
