"""Settings: environment variables (`SEEDGATE_*`, `DATABASE_URL`) over an optional TOML
file (`$SEEDGATE_HOME/seedgate.toml`, or the path in `SEEDGATE_CONFIG`) over defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from seedgate.domain.limits import DEFAULT_CONCURRENCY
from seedgate.domain.networks import Network, parse_networks
from seedgate.domain.pricing import PriceTable
from seedgate.home import locate
from seedgate.media.config import S3Location, S3Settings, parse_media_url
from seedgate.providers.config import ModelSettings, ProviderSettings, RoutingSettings

DAY_S = 86_400


def _home() -> Path:
    return locate().path


def _config_file() -> Path:
    return Path(os.environ.get("SEEDGATE_CONFIG", _home() / "seedgate.toml"))


class Settings(BaseSettings):
    # Errors name the field and the reason, never the value: it may hold a credential.
    model_config = SettingsConfigDict(env_prefix="SEEDGATE_", extra="forbid",
                                      hide_input_in_errors=True)

    home: Path = Field(default_factory=_home)
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "SEEDGATE_DATABASE_URL",
                                                    "database_url"),
    )
    database_schema: str | None = None
    redis_url: str | None = Field(default=None, description="Redis for state shared by "
                                  "processes: rate limits, breakers, notices")
    redis_prefix: str = Field(default="seedgate", min_length=1, max_length=64,
                              description="namespace of this gateway's Redis keys")
    public_url: str | None = None
    secret: str | None = None
    media_ttl: int = Field(default=15 * DAY_S, ge=60)
    media_url: str | None = Field(default=None, description="s3://bucket/prefix: media in "
                                  "S3-compatible storage; unset: on the local disk")
    s3: S3Settings = Field(default_factory=S3Settings)
    simulator_latency: float = Field(default=5.0, ge=0)
    render_processes: int = Field(default=1, ge=1)
    worker_concurrency: int = Field(default=32, ge=1)
    worker_poll_interval: float = Field(default=0.5, gt=0)
    lease_seconds: float = Field(default=30.0, ge=1)
    refresh_interval: float = Field(default=1.0, ge=0)
    rate_limit: int = Field(default=600, ge=0, description="requests a minute per key; 0: none")
    max_concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=0, description="unfinished "
                                 "tasks a key may have, unless it has its own cap; 0: none")
    trusted_proxies: str = Field(default="", description="CIDRs, comma-separated, of reverse "
                                 "proxies whose X-Forwarded-For names the client")
    dev_key_credits: int = Field(default=10_000, ge=0)
    log_level: str = "INFO"
    prices: dict[str, dict[str, int]] = Field(default_factory=dict)
    outbound_allow: str = Field(default="", description="CIDRs, comma-separated, that client "
                                "URLs (inputs, webhooks) may reach despite the SSRF guard")
    webhook_timeout: float = Field(default=15.0, gt=0, le=60)
    max_wait: int = Field(default=60, ge=1, le=600, description="most seconds of Prefer: wait")

    @field_validator("outbound_allow", "trusted_proxies", mode="before")
    @classmethod
    def _cidrs(cls, value: Any) -> str:
        """A comma-separated string (environment) or a list (TOML) of valid CIDRs."""
        text = value if isinstance(value, str) else ",".join(str(v) for v in value)
        parse_networks(text)
        return text

    @field_validator("media_url")
    @classmethod
    def _media_url(cls, value: str | None) -> str | None:
        if value:
            parse_media_url(value)
        return value or None

    providers: list[ProviderSettings] = Field(default_factory=list)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return init_settings, env_settings, toml

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'seedgate.db'}"

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    @property
    def media_bucket(self) -> S3Location | None:
        """Where media lives in object storage; None: on the local disk (`media_dir`)."""
        return parse_media_url(self.media_url) if self.media_url else None

    @property
    def simulator_dir(self) -> Path:
        return self.home / "simulator"

    def outbound_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.outbound_allow)

    def proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    def price_table(self) -> PriceTable:
        return PriceTable.with_overrides(self.prices)

    def signing_secret(self) -> bytes:
        """The media-URL secret: configured, or generated once and kept in the home dir."""
        if self.secret:
            return self.secret.encode()
        path = self.home / "secret.key"
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        return path.read_bytes().strip()


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
