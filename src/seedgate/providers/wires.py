"""Where each kind of remote provider answers: its paths, its codec and its model names.

The codec (a dialect module) turns requests and answers into wire bodies and back; a
`Wire` adds what only a client needs to know: the host, the paths, and the model ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from seedgate.dialects import apixo, ark, defapi, runbase, seedance15pro
from seedgate.domain.catalog import Model
from seedgate.providers.config import Kind

ARK_TASKS = "/contents/generations/tasks"
Request = tuple[str, str, dict[str, str]]  # method, path, query


@dataclass(frozen=True, slots=True)
class Wire:
    codec: ModuleType
    base_url: str
    create: Callable[[str], str]  # upstream model -> path
    status: Callable[[str], Request]  # job id -> request
    cancel: Callable[[str], Request] | None
    model_id: Callable[[Model], str | None]  # a catalog model's id there, None if absent
    callbacks: bool  # whether the API calls a callback URL given with the create
    job_id: Callable[[str, str], str] = lambda _model, task_id: task_id


def _models(*names: tuple[str, str]) -> Callable[[Model], str | None]:
    table = dict(names)
    return lambda model: table.get(model.id)


def _ark(base_url: str, model_id: Callable[[Model], str | None]) -> Wire:
    return Wire(
        ark, base_url, create=lambda _model: ARK_TASKS,
        status=lambda job: ("GET", f"{ARK_TASKS}/{job}", {}),
        cancel=lambda job: ("DELETE", f"{ARK_TASKS}/{job}", {}), model_id=model_id,
        callbacks=True,
    )


def _runbase_model(model: Model) -> str | None:
    name = runbase.runbase_name(model.id)
    return name if name.startswith(runbase.MODEL_PREFIX) else None


def _apixo_status(job: str) -> Request:
    model, _, task_id = job.partition("/")
    return "GET", f"/api/v1/statusTask/{model}", {"taskId": task_id}


WIRES: dict[Kind, Wire] = {
    Kind.ARK_BYTEPLUS: _ark("https://ark.ap-southeast.bytepluses.com/api/v3",
                           lambda model: model.byteplus_id),
    Kind.ARK_VOLCENGINE: _ark("https://ark.cn-beijing.volces.com/api/v3",
                              lambda model: model.volcengine_id),
    Kind.SEEDANCE15PRO: Wire(
        seedance15pro, "https://seedance1-5pro.com", create=lambda _model: "/api/generate",
        status=lambda job: ("GET", "/api/status", {"task_id": job}), cancel=None,
        model_id=_models(("seedance-1-5-pro", "seedance-1-5-pro")), callbacks=False,
    ),
    Kind.RUNBASE: Wire(
        runbase, "https://runbase.net", create=lambda _model: "/api/v1/runs",
        status=lambda job: ("GET", f"/api/v1/runs/{job}", {}), cancel=None,
        model_id=_runbase_model, callbacks=False,
    ),
    Kind.DEFAPI: Wire(
        defapi, "https://api.defapi.org", create=lambda _model: "/api/video/seedance/gen",
        status=lambda job: ("GET", "/api/task/query", {"task_id": job}), cancel=None,
        model_id=_models(("seedance-2-0", "seedance-2.0"),
                         ("seedance-2-0-fast", "seedance-2.0-fast")), callbacks=True,
    ),
    Kind.APIXO: Wire(
        apixo, "https://api.apixo.ai", create=lambda model: f"/api/v1/generateTask/{model}",
        status=_apixo_status, cancel=None,
        model_id=_models(*((name, name) for name in apixo.PUBLISHED)), callbacks=True,
        job_id=lambda model, task_id: f"{model}/{task_id}",  # the status path needs both
    ),
}
