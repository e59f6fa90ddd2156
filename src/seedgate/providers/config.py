"""How operators declare upstream providers: `[[providers]]` tables in seedgate.toml.

API keys are never written in the file: each provider names the environment variable that
holds its key (`api_key_env`), read when the gateway starts and kept in memory only.
"""

from __future__ import annotations

import os
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from seedgate.domain.catalog import CATALOG, Model
from seedgate.domain.lifecycle import Retirement

ARK_KEY_ENV = "ARK_API_KEY"
ARK_URL_ENV = "ARK_BASE_URL"


def _canonical(name: str) -> str:
    found = CATALOG.get(name)
    if found is None:
        raise ValueError(f"no model named {name!r} in the catalog")
    return found.id


# A model named in the file by any of its catalog names, stored as its canonical id.
ModelName = Annotated[str, AfterValidator(_canonical)]


class Kind(StrEnum):
    ARK_BYTEPLUS = "ark-byteplus"
    ARK_VOLCENGINE = "ark-volcengine"
    SEEDANCE15PRO = "seedance1-5pro"
    RUNBASE = "runbase"
    DEFAPI = "defapi"
    APIXO = "apixo"
    SIMULATOR = "simulator"

    @property
    def official(self) -> bool:
        return self in (Kind.ARK_BYTEPLUS, Kind.ARK_VOLCENGINE)


class Strategy(StrEnum):
    OFFICIAL = "official"  # only the official Ark providers
    VALUE = "value"  # the cheapest healthy provider first
    AUTO = "auto"  # health, latency and cost weighed


class ProviderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Kind
    base_url: str | None = Field(default=None, description="the kind's public host if unset")
    api_key_env: str | None = Field(default=None, description="env variable with the API key")
    models: dict[str, str] = Field(
        default_factory=dict,
        description="catalog model -> upstream model id; empty: every model the kind knows")
    cost_per_second: float = Field(default=0.0, ge=0)
    max_concurrency: int = Field(default=0, ge=0, description="tasks at once; 0: no cap")
    weight: float = Field(default=1.0, gt=0)
    priority: int = Field(default=0, description="higher is tried first")
    timeout: float = Field(default=30.0, gt=0, description="seconds per upstream call")
    retired: dict[ModelName, date] = Field(
        default_factory=dict, description="model -> the day this provider stopped serving "
        "it, besides the catalog's retirements for the kind (the simulator has none)")
    serves_retired: list[ModelName] = Field(
        default_factory=list, description="models the catalog retires for this kind that "
        "this provider still serves (e.g. where a date proves wrong)")

    def retirement(self, model: Model, today: date) -> Retirement | None:
        """The model's retirement at this provider as of `today`, if it is retired here."""
        known = model.retirement(self.kind.value)
        if model.id in self.retired:
            day = self.retired[model.id]
            return Retirement(self.kind.value, day, known.replacement if known else "") \
                if today >= day else None
        if known is None or model.id in self.serves_retired or not known.retired_on(today):
            return None
        return known

    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class ModelSettings(BaseModel):
    """`[models]` in the file: aliases, and the allow-listed models this gateway may run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    aliases: dict[ModelName, ModelName] = Field(
        default_factory=dict, description="requested model -> the model that runs instead "
        "(e.g. a retired model -> its replacement)")
    enabled: list[ModelName] = Field(
        default_factory=list, description="allow-listed models the operator's accounts may "
        "use (Seedance 2.5 Premium)")

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, aliases: dict[str, str]) -> dict[str, str]:
        if set(aliases) & set(aliases.values()):
            raise ValueError("an alias may not lead to another alias")
        return aliases

class RoutingSettings(BaseModel):
    """Failover, circuit breaker, polling and mirroring knobs (`[routing]` in the file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Strategy = Strategy.AUTO
    submit_rounds: int = Field(default=3, ge=1, description="passes over all candidates")
    backoff_base: float = Field(default=1.0, gt=0)
    backoff_max: float = Field(default=60.0, gt=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown: float = Field(default=30.0, gt=0)
    expected_generation: float = Field(default=60.0, ge=0, description="seconds, until learned")
    poll_min: float = Field(default=2.0, gt=0)
    poll_max: float = Field(default=30.0, gt=0)
    read_refresh: float = Field(default=5.0, ge=0, description="seconds between a remote task's "
                                "refreshes on client reads; 0: reads never call upstream")
    callback_url: str | None = Field(default=None, description="public base URL for callbacks")
    max_connections: int = Field(default=16, ge=1, description="upstream calls at once")
    mirror_max_bytes: int = Field(default=500 << 20, gt=0)
    mirror_attempts: int = Field(default=3, ge=1)


def zero_file_providers(environ: dict[str, str] | os._Environ[str]) -> list[ProviderSettings]:
    """Without `[[providers]]`: the official BytePlus Ark when `ARK_API_KEY` is set, else
    none (the simulator then serves everything)."""
    if not environ.get(ARK_KEY_ENV):
        return []
    return [ProviderSettings(name="ark", kind=Kind.ARK_BYTEPLUS, api_key_env=ARK_KEY_ENV,
                             base_url=environ.get(ARK_URL_ENV) or None)]

