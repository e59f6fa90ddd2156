"""Errors the gateway raises, independent of any wire format; each dialect renders them."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID_PARAMETER = "invalid_parameter"
    MISSING_PARAMETER = "missing_parameter"
    INVALID_JSON = "invalid_json"
    UNAUTHORIZED = "unauthorized"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    MODEL_NOT_FOUND = "model_not_found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    CONCURRENCY_LIMITED = "concurrency_limit_exceeded"
    SPEND_LIMITED = "spend_limit_exceeded"
    IP_NOT_ALLOWED = "ip_not_allowed"
    MODEL_NOT_ALLOWED = "model_not_allowed"
    MODEL_RETIRED = "model_retired"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class Rule(StrEnum):
    """Which model rule a request broke, where a dialect has a code of its own for it."""

    TASK_TYPE_CONSTRAINT = "task_type_constraint"  # e.g. a concrete ratio with a first frame
    TASK_TYPE_MISMATCH = "task_type_mismatch"  # the inputs do not fit the task type
    DRAFT_RESOLUTION = "draft_resolution"  # a draft's final at another resolution


class GatewayError(Exception):
    """A client-facing error: what went wrong, which parameter, and when to retry."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        param: str | None = None,
        retry_after: float | None = None,
        rule: Rule | None = None,
        replacement: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.param = param
        self.retry_after = retry_after
        self.rule = rule
        self.replacement = replacement  # a retired model's successor

    def renamed(self, param: str, message: str) -> GatewayError:
        """The same error naming the parameter as a dialect calls it."""
        return GatewayError(self.kind, message, param=param, retry_after=self.retry_after,
                            rule=self.rule, replacement=self.replacement)

    def __repr__(self) -> str:
        return f"GatewayError({self.kind.value!r}, {self.message!r}, param={self.param!r})"


def invalid(param: str, message: str) -> GatewayError:
    return GatewayError(ErrorKind.INVALID_PARAMETER, message, param=param)


def missing(param: str) -> GatewayError:
    return GatewayError(ErrorKind.MISSING_PARAMETER, f"`{param}` is required.", param=param)


class FailureCode(StrEnum):
    """Why a task failed; stored on the task and mapped to each dialect's codes."""

    CONTENT_VIOLATION = "CONTENT_VIOLATION"
    INVALID_IMAGE_URL = "INVALID_IMAGE_URL"
    INVALID_INPUT = "INVALID_INPUT"
    GENERATION_FAILED = "GENERATION_FAILED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    PROCESSING_TIMEOUT = "PROCESSING_TIMEOUT"
    CANCELLED = "CANCELLED"
