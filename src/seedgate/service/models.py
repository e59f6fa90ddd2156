"""Which model a request runs: the operator's aliases, allow-listed models and retirements."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from seedgate.domain.catalog import CATALOG
from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.domain.lifecycle import Retirement
from seedgate.domain.request import GenerationRequest
from seedgate.providers.config import ModelSettings


class Retirements(Protocol):
    def retirement(self, model_id: str) -> Retirement | None: ...


class Lineup:
    def __init__(self, settings: ModelSettings, retirements: Retirements | None = None) -> None:
        self._settings = settings
        self._retirements = retirements

    def resolve(self, request: GenerationRequest) -> GenerationRequest:
        """The request for the model that runs it. An aliased model runs as its target (the
        request remembers the name asked for); a model every provider retired is refused
        with its replacement, an allow-listed one the operator did not enable too."""
        model = CATALOG.get(request.model) if isinstance(request.model, str) else None
        if model is None:
            return request  # validation reports it
        target = self._settings.aliases.get(model.id)
        if target is not None:
            request = replace(request, model=target, requested_model=model.id)
            model = CATALOG[target]
        if model.allow_listed and model.id not in self._settings.enabled:
            raise GatewayError(ErrorKind.MODEL_NOT_ALLOWED, f"`{model.id}` is served to "
                               "allow-listed accounts only, and this gateway's operator has "
                               "not enabled it.", param="model")
        retired = self._retirements.retirement(model.id) if self._retirements else None
        if retired is not None:
            successor = retired.replacement
            raise GatewayError(
                ErrorKind.MODEL_RETIRED, f"`{model.id}` was retired on "
                f"{retired.retired.isoformat()} and no provider of this gateway serves it any "
                "more." + (f" Use `{successor}` instead." if successor else ""),
                param="model", replacement=successor or None)
        return request
