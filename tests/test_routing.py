"""The pure parts of upstream routing: outbound codecs (one codec, two directions), error
classification, the poll schedule, the circuit breaker and backoff."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import pytest

from seedgate.dialects import apixo, ark, defapi, runbase, seedance15pro
from seedgate.domain.errors import FailureCode
from seedgate.domain.request import GenerationRequest, MediaInput, MediaKind, Role, normalize
from seedgate.domain.upstream import Fault, Unsupported, UpstreamError, UpstreamState
from seedgate.engine.dispatch import backoff
from seedgate.engine.schedule import PollSchedule
from seedgate.providers.health import Health
from seedgate.service import lifecycle
from seedgate.service.accounts import Accounts
from seedgate.store import attempts
from seedgate.store import tasks as task_store
from seedgate.store.attempts import AttemptState
from seedgate.store.database import Database

from .test_store import NOW, new_task

IMAGE = "https://cdn.example.com/a.png"
FIRST = MediaInput(MediaKind.IMAGE, IMAGE, Role.FIRST_FRAME)


def request(**fields: Any) -> GenerationRequest:
    return normalize(GenerationRequest(**{"model": "seedance-1-5-pro", "prompt": "a kite",
                                          "resolution": "480p", "duration": 4, **fields}))


def inbound(codec: Any, body: dict[str, Any], model: str) -> GenerationRequest:
    if codec is ark:
        return normalize(ark.decode_create(body).request)
    if codec is apixo:
        return normalize(apixo.decode_create(model, body)[0])
    return normalize(codec.decode_create(body)[0])


ROUND_TRIPS = [
    (ark, "seedance-1-5-pro-251215", request(seed=7, camera_fixed=True, inputs=(FIRST,))),
    (ark, "seedance-2-0", request(model="seedance-2-0", resolution="1080p", inputs=(
        MediaInput(MediaKind.IMAGE, IMAGE, Role.REFERENCE_IMAGE),
        MediaInput(MediaKind.VIDEO, "https://cdn.example.com/v.mp4", Role.REFERENCE_VIDEO)),
        ratio="16:9")),
    (apixo, "seedance-1-5-pro", request(ratio="9:16", generate_audio=True, camera_fixed=True)),
    (apixo, "seedance-2-0", request(model="seedance-2-0", ratio="adaptive", inputs=(FIRST,))),
    (runbase, "bytedance/seedance-1.5-pro", request(ratio="1:1", duration=8)),
    (defapi, "seedance-2.0", request(model="seedance-2-0", resolution="720p", duration=10,
                                     ratio="4:3")),
    (seedance15pro, "seedance-1-5-pro", request(resolution="720p", duration=10,
                                                ratio="9:16")),
]


@pytest.mark.parametrize(("codec", "model", "original"), ROUND_TRIPS)
def test_outbound_bodies_decode_back_to_the_same_request(
        codec: Any, model: str, original: GenerationRequest) -> None:
    body = codec.encode_create(original, model, None)
    decoded = inbound(codec, body, model)
    assert decoded.model == original.model
    assert (decoded.prompt, decoded.inputs, decoded.duration, decoded.ratio,
            decoded.resolution, decoded.generate_audio) == (
        original.prompt, original.inputs, original.duration, original.ratio,
        original.resolution, original.generate_audio)


@pytest.mark.parametrize(("codec", "model", "unsupported"), [
    (seedance15pro, "seedance-1-5-pro", request(duration=4)),
    (runbase, "bytedance/seedance-1.5-pro", request(duration=5)),
    (defapi, "seedance-2.0", request(model="seedance-2-0", resolution="480p", duration=5)),
    (apixo, "seedance-1-5-pro", request(resolution="1080p")),
    (apixo, "seedance-1-5-pro", request(inputs=(MediaInput(
        MediaKind.IMAGE, "data:image/png;base64,AAAA", Role.FIRST_FRAME),))),
])
def test_requests_an_api_cannot_express_are_unsupported(
        codec: Any, model: str, unsupported: GenerationRequest) -> None:
    with pytest.raises(Unsupported):
        codec.encode_create(unsupported, model, None)


@pytest.mark.parametrize(("codec", "status", "body", "fault"), [
    (ark, 429, {"error": {"code": "RateLimitExceeded.EndpointRPMExceeded"}}, Fault.RATE_LIMITED),
    (ark, 401, {"error": {"code": "AuthenticationError"}}, Fault.UNAUTHORIZED),
    (ark, 403, {"error": {"code": "AccountOverdueError"}}, Fault.INSUFFICIENT_BALANCE),
    (ark, 400, {"error": {"code": "InputImageSensitiveContentDetected"}},
     Fault.CONTENT_VIOLATION),
    (ark, 400, {"error": {"code": "InvalidParameter", "message": "image_url is bad"}},
     Fault.INVALID_IMAGE),
    (ark, 500, None, Fault.UNAVAILABLE),
    (runbase, 402, {"error": {"code": "insufficient_balance"}}, Fault.INSUFFICIENT_BALANCE),
    (apixo, 403, {"code": 403, "message": "Forbidden",
                  "data": {"error": "Content policy violation"}}, Fault.CONTENT_VIOLATION),
    (defapi, 504, {"code": 1, "message": "gateway timeout"}, Fault.TIMEOUT),
    (seedance15pro, 400, {"code": 400, "message": "`prompt` is required."},
     Fault.INVALID_REQUEST),
])
def test_http_errors_map_to_faults(codec: Any, status: int, body: Any, fault: Fault) -> None:
    error = codec.decode_error(status, body)
    assert isinstance(error, UpstreamError) and error.fault is fault


def test_task_failures_map_to_failure_codes() -> None:
    failed = ark.decode_status({"id": "cgt-1", "status": "failed", "error": {
        "code": "OutputVideoSensitiveContentDetected", "message": "no"}})
    assert (failed.state, failed.error_code) == (UpstreamState.FAILED,
                                                 FailureCode.CONTENT_VIOLATION)
    apixo_failed = apixo.decode_status({"code": 200, "data": {
        "taskId": "t", "state": "failed", "failCode": "IMAGE_DOWNLOAD_FAILED"}})
    assert apixo_failed.error_code is FailureCode.INVALID_IMAGE_URL
    expired = ark.decode_status({"id": "cgt-1", "status": "expired"})
    assert expired.state is UpstreamState.EXPIRED
    done = apixo.decode_status({"code": 200, "data": {
        "taskId": "t", "state": "success", "completeTime": 1704067212500,
        "resultJson": '{"resultUrls":["https://cdn.apixo.ai/o.mp4"]}'}})
    assert (done.video_url, done.completed_at) == ("https://cdn.apixo.ai/o.mp4",
                                                   1704067212500)


@pytest.mark.parametrize("body", [None, [], {"status": "weird"}, {"status": "succeeded"},
                                  {"status": "succeeded", "content": {"video_url": 3}}])
def test_malformed_answers_are_the_providers_fault(body: Any) -> None:
    with pytest.raises(UpstreamError) as raised:
        ark.decode_status(body)
    assert raised.value.fault is Fault.UNAVAILABLE and raised.value.fault.retryable


def test_the_poll_schedule_learns_the_generation_time() -> None:
    schedule = PollSchedule(expected_s=60, min_s=2, max_s=30)
    assert schedule.first("ark", "m") == pytest.approx(48)
    asyncio.run(schedule.observe("ark", "m", 20))
    asyncio.run(schedule.observe("ark", "m", 30))
    assert schedule.expected("ark", "m") == pytest.approx(23)
    assert schedule.expected("ark", "other") == 60
    assert [schedule.after(n) for n in (1, 2, 3, 4, 5, 6)] == [2, 4, 8, 16, 30, 30]
    # With callbacks, polls are the safety net: after the callback is overdue, then rarely.
    assert schedule.first("ark", "m", callbacks=True) == pytest.approx(1.5 * 23)
    assert schedule.after(1, callbacks=True) == 30


def test_the_circuit_breaker_opens_rests_and_lets_one_trial_through() -> None:
    asyncio.run(breaker_opens_rests_and_lets_one_trial_through())


async def breaker_opens_rests_and_lets_one_trial_through() -> None:
    now = [0.0]
    health = Health(failures=2, cooldown_s=10, clock=lambda: now[0])
    await health.failed("p")
    assert await health.admit("p") and not health.resting("p")
    await health.failed("p")
    assert health.resting("p") and not await health.admit("p")
    now[0] = 11
    assert await health.admit("p")  # the half-open trial
    assert not await health.admit("p")  # only one
    await health.succeeded("p", 0.2)
    assert await health.admit("p") and not health.resting("p")


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    assert backoff(1, 1, 60, None, jitter=lambda: 0.0) == 0.5
    assert backoff(3, 1, 60, None, jitter=lambda: 1.0) == 4
    assert backoff(10, 1, 60, None, jitter=lambda: 1.0) == 60
    assert backoff(1, 1, 60, 7, jitter=lambda: 1.0) == 7


# -- attempts on a real database ------------------------------------------------------


def test_an_attempt_left_submitting_is_never_reused(db: Database) -> None:
    """A worker that died during its upstream call left the attempt `submitting`: the next
    attempt gets a new number and the old one is marked `unknown`."""
    key, _ = Accounts(db).create_key("k", credits=1000)
    task = new_task(key.id, "task_" + "a" * 24)
    db.write_sync(partial(lifecycle.create, task=task, default_cap=0))
    db.write_sync(partial(lifecycle.start, task=task, provider="p", now=NOW))
    first = db.write_sync(partial(attempts.begin, task_id=task.id, provider="p", now=NOW))
    second = db.write_sync(partial(attempts.begin, task_id=task.id, provider="q", now=NOW))
    assert (first, second) == (1, 2)
    assert db.write_sync(partial(attempts.submitted, task_id=task.id, number=2, provider="q",
                                 upstream_id="job-2", now=NOW + 1))
    stored = db.read_sync(partial(task_store.get_task, task_id=task.id))
    assert stored is not None and (stored.provider, stored.upstream_id) == ("q", "job-2")
    found = db.read_sync(partial(attempts.of_task, task_id=task.id))
    assert [(a.number, a.state) for a in found] == [
        (1, AttemptState.UNKNOWN), (2, AttemptState.SUBMITTED)]
    db.write_sync(partial(attempts.finished, task_id=task.id, upstream_id="job-2", calls=3,
                          upstream_done_at=NOW + 5, now=NOW + 6))
    done = db.read_sync(partial(attempts.of_task, task_id=task.id))[1]
    assert (done.state, done.calls, done.upstream_done_at) == (
        AttemptState.FINISHED, 4, NOW + 5)


def test_a_submit_for_an_ended_task_is_not_recorded(db: Database) -> None:
    key, _ = Accounts(db).create_key("k", credits=1000)
    task = new_task(key.id, "task_" + "b" * 24)
    db.write_sync(partial(lifecycle.create, task=task, default_cap=0))
    db.write_sync(partial(lifecycle.cancel_queued, task=task, now=NOW))
    number = db.write_sync(partial(attempts.begin, task_id=task.id, provider="p", now=NOW))
    assert not db.write_sync(partial(attempts.submitted, task_id=task.id, number=number,
                                     provider="p", upstream_id="job", now=NOW))
