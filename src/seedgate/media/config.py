"""How operators choose where media lives: `media_url = "s3://bucket/prefix"` selects
S3-compatible object storage, with an optional `[s3]` table; unset, media stays on the
local disk.

Everything in `[s3]` may be left out: boto3 then reads the standard AWS variables
(`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`, `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_PROFILE`) and instance or pod roles;
`AWS_REGION` is honoured as the other AWS SDKs do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

# S3's rules for bucket names, loose enough for other S3-compatible servers.
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # "" or "some/folder/", prepended to every key

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_media_url(url: str) -> S3Location:
    """`s3://bucket` or `s3://bucket/prefix`; anything else is refused with the reason."""
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ValueError(f"media_url must look like s3://bucket/prefix, not {parts.scheme}://…")
    if "@" in parts.netloc:
        raise ValueError("media_url must not hold credentials: set AWS_ACCESS_KEY_ID and "
                         "AWS_SECRET_ACCESS_KEY (or [s3] in seedgate.toml) instead")
    if not BUCKET.match(parts.netloc):
        raise ValueError(f"media_url names no valid bucket ({parts.netloc!r}): 3-63 "
                         "lowercase letters, digits, dots and hyphens")
    if parts.query or parts.fragment:
        raise ValueError("media_url takes no query or fragment")
    segments = [segment for segment in parts.path.split("/") if segment]
    if any(segment in (".", "..") for segment in segments):
        raise ValueError("media_url's prefix may not contain . or .. segments")
    return S3Location(parts.netloc, "".join(f"{segment}/" for segment in segments))


class S3Settings(BaseModel):
    """`[s3]`: how to reach the object storage; each field defaults to the AWS variables."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    endpoint_url: str | None = Field(default=None, description="e.g. http://minio:9000; "
                                     "AWS S3 itself if unset")
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        default="auto", description="`path` for servers without bucket subdomains")
    max_connections: int = Field(default=64, ge=1, description="connections to the storage")
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _key_pairs(self) -> S3Settings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("[s3] needs both access_key_id and secret_access_key, or neither")
        return self
