"""The tests' S3-compatible server: moto's server mode on a loopback port, started by
`make services` (.ci/services). Every test that needs a bucket gets one of its own."""

from __future__ import annotations

import os
import secrets
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from seedgate.media.config import S3Location, S3Settings

ENDPOINT = os.environ.get("SEEDGATE_TEST_S3_ENDPOINT", "http://127.0.0.1:4566")
# With SEEDGATE_TEST_MEDIA_URL (s3://bucket), every test gateway keeps its media there,
# under a prefix of its own.
MEDIA_URL = os.environ.get("SEEDGATE_TEST_MEDIA_URL")


def settings(endpoint: str = ENDPOINT) -> S3Settings:
    """Where the test server is; moto accepts any credentials."""
    return S3Settings(endpoint_url=endpoint, region="us-east-1", access_key_id="test",
                      secret_access_key="test-secret", addressing_style="path",
                      connect_timeout=2, read_timeout=10)


def client() -> Any:
    config = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
    return boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test-secret",
                        config=config)


def ensure_bucket(name: str) -> None:
    s3 = client()
    try:
        s3.create_bucket(Bucket=name)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    except botocore.exceptions.EndpointConnectionError as exc:
        raise RuntimeError(f"no S3 server answers at {ENDPOINT}: start it with "
                           "`make services`") from exc


def objects(location: S3Location) -> dict[str, bytes]:
    """Every object under the location, by key relative to its prefix."""
    s3 = client()
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=location.bucket, Prefix=location.prefix):
        for entry in page.get("Contents", ()):
            body = s3.get_object(Bucket=location.bucket, Key=entry["Key"])["Body"].read()
            found[entry["Key"].removeprefix(location.prefix)] = body
    return found


def empty(location: S3Location) -> None:
    s3 = client()
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket,
                                                          Prefix=location.prefix)
    try:
        for page in pages:
            keys = [{"Key": entry["Key"]} for entry in page.get("Contents", ())]
            if keys:
                s3.delete_objects(Bucket=location.bucket, Delete={"Objects": keys})
    except s3.exceptions.NoSuchBucket:
        pass


class Bucket:
    """A fresh bucket, emptied and deleted on exit."""

    def __init__(self) -> None:
        self.location = S3Location(f"sg-test-{secrets.token_hex(6)}", "media/")

    @property
    def url(self) -> str:
        return f"s3://{self.location.bucket}/{self.location.prefix}"

    def __enter__(self) -> Bucket:
        ensure_bucket(self.location.bucket)
        return self

    def __exit__(self, *exc: object) -> None:
        empty(S3Location(self.location.bucket, ""))
        client().delete_bucket(Bucket=self.location.bucket)

    def objects(self) -> dict[str, bytes]:
        return objects(self.location)


def process_env(media_url: str) -> dict[str, str]:
    """What points a `seedgate` process at the test server: the variables an operator sets."""
    return {"SEEDGATE_MEDIA_URL": media_url, "AWS_ENDPOINT_URL_S3": ENDPOINT,
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test-secret",
            "AWS_REGION": "us-east-1"}


def media_overrides() -> dict[str, Any]:
    """Settings that put a test gateway's media in S3 when SEEDGATE_TEST_MEDIA_URL asks."""
    if not MEDIA_URL:
        return {}
    return {"media_url": f"{MEDIA_URL.rstrip('/')}/{secrets.token_hex(6)}",
            "s3": settings()}
