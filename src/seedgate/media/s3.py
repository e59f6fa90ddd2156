"""Media in S3-compatible object storage (AWS S3, MinIO, Ceph, R2, ...), through boto3.

boto3 blocks, so its calls run on a thread pool of this storage's own: a slow bucket holds
up neither the event loop nor the database's threads. Objects are streamed out in chunks
(a byte range is one ranged GET), never read whole into memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from seedgate.media.config import S3Location, S3Settings
from seedgate.media.storage import (
    CHUNK,
    NotStored,
    Storage,
    StorageUnavailable,
    StoredObject,
    key_parts,
    media_type,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes
# At DEBUG, botocore logs each request's signed headers (session tokens included): its
# loggers stay at WARNING whatever the gateway's log level.
QUIET_LOGGERS = ("boto3", "botocore", "s3transfer")


class S3Storage(Storage):
    def __init__(self, where: S3Location, settings: S3Settings) -> None:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self._bucket = where.bucket
        self._prefix = where.prefix
        session = boto3.session.Session(
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=_revealed(settings.secret_access_key),
            aws_session_token=_revealed(settings.session_token),
            region_name=settings.region or os.environ.get("AWS_REGION") or None,
        )
        config = Config(
            max_pool_connections=settings.max_connections,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries={"mode": "standard", "max_attempts": 3},
            s3={"addressing_style": settings.addressing_style},
            # Checksums only where S3 requires them: the newer default (on every request)
            # is refused by many S3-compatible servers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client = session.client("s3", endpoint_url=settings.endpoint_url, config=config)
        # The health check asks once and briefly: a probe must not wait out retries.
        self._probe = session.client("s3", endpoint_url=settings.endpoint_url, config=config.merge(
            Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5)))
        self._pool = ThreadPoolExecutor(settings.max_connections, thread_name_prefix="s3")
        self.location = f"{where} at {self._client.meta.endpoint_url}"

    def _object(self, key: str) -> str:
        return self._prefix + "/".join(key_parts(key))

    async def _run(self, call: Callable[[], T]) -> T:
        """`call` on the pool; the client's failures become StorageUnavailable."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, call)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"media storage {self.location}: {_reason(exc)}") from exc

    async def put_file(self, key: str, source: Path) -> None:
        # upload_file sends large files in parts, in parallel.
        await self._run(partial(self._client.upload_file, str(source), self._bucket,
                                self._object(key), ExtraArgs={"ContentType": media_type(key)}))

    async def put_bytes(self, key: str, data: bytes) -> None:
        await self._run(partial(self._client.put_object, Bucket=self._bucket,
                                Key=self._object(key), Body=data, ContentType=media_type(key)))

    async def stat(self, key: str) -> StoredObject | None:
        return await self._run(partial(self._head, self._object(key)))

    def _head(self, name: str) -> StoredObject | None:
        try:
            found = self._client.head_object(Bucket=self._bucket, Key=name)
        except ClientError as exc:
            if _status(exc) == 404:
                return None
            raise
        return StoredObject(found["ContentLength"], found["LastModified"].timestamp(),
                            found["ETag"])

    async def read(self, key: str, start: int = 0,
                   length: int | None = None) -> AsyncGenerator[bytes, None]:
        if length == 0:
            return
        name = self._object(key)
        body = await self._run(partial(self._open, name, start, length))
        try:
            while chunk := await self._run(partial(body.read, CHUNK)):
                yield chunk
        finally:
            body.close()

    def _open(self, name: str, start: int, length: int | None) -> Any:
        ranged = {}
        if start or length is not None:
            end = "" if length is None else start + length - 1
            ranged["Range"] = f"bytes={start}-{end}"
        try:
            return self._client.get_object(Bucket=self._bucket, Key=name, **ranged)["Body"]
        except ClientError as exc:
            if _status(exc) == 404 and _code(exc) != "NoSuchBucket":
                raise NotStored(name) from None
            raise

    async def delete(self, *keys: str) -> None:
        names = [self._object(key) for key in keys]
        await self._run(partial(self._delete, iter(names)))

    def _delete(self, names: Iterator[str]) -> int:
        """Delete in batches; how many went. Keys already gone count as deleted, as S3
        reports them."""
        deleted = 0
        while batch := list(islice(names, DELETE_BATCH)):
            answer = self._client.delete_objects(Bucket=self._bucket, Delete={
                "Objects": [{"Key": name} for name in batch], "Quiet": True})
            errors = answer.get("Errors", [])
            for error in errors[:3]:
                log.warning("could not delete s3://%s/%s: %s %s", self._bucket,
                            error.get("Key"), error.get("Code"), error.get("Message"))
            deleted += len(batch) - len(errors)
        return deleted

    async def remove_older_than(self, cutoff: float) -> int:
        return await self._run(partial(self._delete, self._older_than(cutoff)))

    def _older_than(self, cutoff: float) -> Iterator[str]:
        """Every object under the prefix last written before `cutoff`, page by page."""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._prefix)
        for page in pages:
            for found in page.get("Contents", ()):
                if found["LastModified"].timestamp() < cutoff:
                    yield found["Key"]

    async def check(self) -> None:
        """The bucket answers and lets the gateway in (one HeadBucket, no retries)."""
        await self._run(partial(self._probe.head_bucket, Bucket=self._bucket))

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()
        self._probe.close()


def _revealed(secret: Any) -> str | None:
    return None if secret is None else str(secret.get_secret_value())


def _status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")  # type: ignore[no-any-return]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _reason(exc: Exception) -> str:
    """Why a call failed, in an operator's words (botocore's never hold credentials)."""
    if isinstance(exc, NoCredentialsError):
        return ("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                "access_key_id and secret_access_key in [s3]")
    if isinstance(exc, ClientError):
        status, code = _status(exc), _code(exc)
        if code == "NoSuchBucket" or (status == 404 and code in ("404", "NotFound")):
            return "the bucket does not exist"
        if status == 403:
            return f"access denied ({code}): check the credentials and the bucket's policy"
        return f"{code or status}: {exc.response.get('Error', {}).get('Message', exc)}"
    return str(exc)
