"""Public identifiers."""

import re
import secrets

TASK_PREFIX = "task_"
TASK_ID = re.compile(r"task_[0-9a-f]{24}")


def new_task_id() -> str:
    """An unguessable id; tasks are ordered by an internal sequence, not by this id."""
    return TASK_PREFIX + secrets.token_hex(12)


def is_task_id(value: str) -> bool:
    """Whether `value` can name a task; anything else names none (and never reaches SQL)."""
    return TASK_ID.fullmatch(value) is not None
