"""The access log: one line per request on the `seedgate.access` logger, as text or as
JSON (`access_log` setting). It names the API key by its name, never by the key."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

import orjson

ACCESS = logging.getLogger("seedgate.access")
# The name of the key that authenticated the current request (set by `authorize`).
KEY_NAME: ContextVar[str | None] = ContextVar("seedgate_key_name", default=None)
FIELDS = "access"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and an access line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": self.formatTime(record), "level": record.levelname,
                                "logger": record.name, "message": record.getMessage()}
        line.update(getattr(record, FIELDS, {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def configure(mode: str) -> None:
    """`text`: lines go where every log goes; `json`: to stderr as JSON objects; `off`.
    Lines are INFO records: a `log_level` above INFO leaves them out too."""
    ACCESS.handlers.clear()
    ACCESS.propagate = mode == "text"
    ACCESS.setLevel(logging.NOTSET if mode != "off" else logging.CRITICAL + 1)
    if mode == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        ACCESS.addHandler(handler)


def record(request_id: str, method: str, status: int, duration_ms: float, *, dialect: str,
           route: str) -> None:
    key = KEY_NAME.get()
    fields = {"request_id": request_id, "key": key, "dialect": dialect, "route": route,
              "method": method, "status": status, "duration_ms": round(duration_ms, 2)}
    ACCESS.info("%s %s %d %.1f ms dialect=%s key=%s request_id=%s", method, route, status,
                duration_ms, dialect, key or "-", request_id, extra={FIELDS: fields})
