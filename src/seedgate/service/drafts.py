"""Finals of drafts: a draft (`draft: true`, 480p) is rendered again at full quality with
the draft's own parameters, as Ark's `draft_task` content item does, in every dialect that
can name a draft."""

from __future__ import annotations

from dataclasses import replace

from seedgate.clock import now_ms
from seedgate.domain.catalog import CATALOG, TaskType
from seedgate.domain.errors import ErrorKind, GatewayError, Rule, invalid
from seedgate.domain.keys import ApiKey
from seedgate.domain.request import GenerationRequest
from seedgate.domain.task import Task, TaskStatus
from seedgate.service.tasks import TaskService

FINAL_WINDOW_MS = 7 * 86_400_000  # a draft can be finalised for 7 days


async def final_request(tasks: TaskService, key: ApiKey, ask: GenerationRequest,
                        draft_id: str, param: str) -> GenerationRequest:
    """`ask` as the final of the key's draft `draft_id`; errors name `param`. Another key's
    draft does not exist for this key."""
    try:
        draft = await tasks.get(key, draft_id, refresh=False)
    except GatewayError as error:
        if error.kind is not ErrorKind.NOT_FOUND:
            raise
        raise invalid(param, f"The draft task {draft_id!r} does not exist.") from None
    return final_of(ask, draft, param, now_ms())


def final_of(ask: GenerationRequest, draft: Task, param: str, now: int) -> GenerationRequest:
    """The draft's model, prompt, inputs, task type, audio, seed, ratio and duration (as the
    draft actually rendered them), at the model's final resolution (1080p on 2.5, 4K on
    Premium) or, for models without one, the resolution `ask` gives."""
    if draft.status is not TaskStatus.SUCCEEDED or not draft.request.draft:
        raise invalid(param, f"Task {draft.id} is not a succeeded draft task (created with "
                      "`draft`: true).")
    if draft.completed_at is not None and now - draft.completed_at > FINAL_WINDOW_MS:
        raise invalid(param, f"Draft {draft.id} finished more than 7 days ago; it can no "
                      "longer be finalised.")
    had = draft.request
    rendition = draft.outputs.rendition if draft.outputs else None
    # An edit or extend takes its shape from the source again; an edit its length too.
    sourced = had.task_type in (TaskType.EDIT, TaskType.EXTEND)
    return replace(
        ask, model=had.model, prompt=had.prompt, inputs=had.inputs, task_type=had.task_type,
        resolution=_final_resolution(ask, had.model), draft=False,
        generate_audio=had.generate_audio, camera_fixed=had.camera_fixed,
        seed=rendition.seed if rendition else had.seed,
        ratio=had.ratio if sourced or not rendition else rendition.ratio,
        duration=had.duration if had.task_type == TaskType.EDIT or not rendition
        else rendition.duration,
    )


def _final_resolution(ask: GenerationRequest, model_id: str) -> str | None:
    model = CATALOG[model_id]
    final = model.final_resolution
    if final is None or ask.resolution in (None, final):
        return final or ask.resolution
    raise GatewayError(ErrorKind.INVALID_PARAMETER, f"A final of a `{model.id}` draft "
                       f"renders at {final}; got {ask.resolution!r}.", param="resolution",
                       rule=Rule.DRAFT_RESOLUTION)
