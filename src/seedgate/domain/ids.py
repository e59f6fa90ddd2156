"""Public identifiers."""

import secrets

TASK_PREFIX = "task_"


def new_task_id() -> str:
    """An unguessable id; tasks are ordered by an internal sequence, not by this id."""
    return TASK_PREFIX + secrets.token_hex(12)
