"""Listing a key's tasks page by page (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from seedgate.domain.task import TaskStatus

MAX_PAGE = 100
DEFAULT_PAGE = 20


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Which of a key's tasks to list: those created after (or, descending, before) the task
    `after`, at most `limit`, optionally only some statuses and one model."""

    limit: int = DEFAULT_PAGE
    ascending: bool = False
    after: str | None = None
    statuses: tuple[TaskStatus, ...] = ()
    model: str | None = None


@dataclass(frozen=True, slots=True)
class NumberedQuery:
    """Page `number` (counted from 1) of `size` tasks, newest first, optionally only some
    statuses, ids and one model (Ark's `page_num`/`page_size` paging)."""

    number: int = 1
    size: int = DEFAULT_PAGE
    statuses: tuple[TaskStatus, ...] = ()
    task_ids: tuple[str, ...] = ()
    model: str | None = None
