"""Seedance as of December 2026: the new models through the official Ark SDKs, their rules
at submission in every dialect, retired models and aliases, and prices settled on the usage
a remote provider reports. Requests that must not render run on gateways without a worker."""

from __future__ import annotations

import math
import os
import tomllib
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import byteplussdkarkruntime
import pytest
import volcenginesdkarkruntime

from seedgate.config import Settings
from seedgate.domain.catalog import CATALOG
from seedgate.store import ledger
from seedgate.store.tasks import get_task

from .conftest import KEY_ENV
from .test_providers import TASKS, ark_body, create, front, provider, wait

README = (Path(__file__).parents[1] / "README.md").read_text()
PREMIUM = {"enabled": ["seedance-2-5-premium"]}
IMAGE = "https://cdn.example.com/a.png"
VIDEO = "https://cdn.example.com/v.mp4"
AUDIO = "https://cdn.example.com/a.mp3"


def usd_credits(tokens: int, usd_per_million: str) -> int:
    """The price list's exchange rate, re-derived: 1.5 Pro's 13 credits for a second of
    720p (21,600 tokens) at $1.2 per million tokens."""
    return math.ceil(tokens * Fraction(usd_per_million) * 13 / (Fraction("1.2") * 21_600))


def tokens(width: int, height: int, seconds: int) -> int:
    return seconds * width * height * 24 // 1024


def entries(gateway: Any, task_id: str) -> list[tuple[str, int]]:
    rows = gateway.gateway.db.read_sync(lambda conn: ledger.task_entries(conn, task_id))
    return [(row.kind, row.amount) for row in rows]


# -- the official SDKs: create, get and list the new models ---------------------------------

# (model as sent, extra create fields, resolution shown, seconds debited, size, USD/M tokens)
NEW_MODELS = [
    ("dreamina-seedance-2-5-260628", {}, "720p", 30, (1280, 720), "10.70"),
    ("dreamina-seedance-2-5-premium-260915", {"duration": 5}, "4k", 5, (3840, 2160), "6.08"),
    ("dreamina-seedance-2-0-mini-260615", {"duration": 4, "resolution": "480p"}, "480p", 4,
     (864, 496), "3.5"),
    ("dreamina-seedance-2-0-260128", {"duration": 4, "resolution": "4k"}, "4k", 4,
     (3840, 2160), "4.0"),
]


@pytest.mark.parametrize("module", [volcenginesdkarkruntime, byteplussdkarkruntime],
                         ids=["volcengine", "byteplus"])
def test_official_sdks_create_get_and_list_the_new_models(module: Any,
                                                         make_gateway: Any) -> None:
    gateway = make_gateway(worker=False, models=PREMIUM)
    key = gateway.new_key(credits=100_000)
    tasks = module.Ark(base_url=f"{gateway.url}/api/v3", api_key=key,
                       max_retries=0).content_generation.tasks
    volcengine = module is volcenginesdkarkruntime
    made = {}
    for model, fields, _, _, _, _ in NEW_MODELS:
        name = model.replace("dreamina-", "doubao-") if volcengine and "premium" not in model \
            else model
        made[name] = tasks.create(model=name, content=[{"type": "text", "text": "a heron"}],
                                  priority=7, safety_identifier="user-42", **fields).id
    spent = 0
    for (name, task_id), (_, fields, resolution, seconds, size, usd) in zip(
            made.items(), NEW_MODELS, strict=True):
        task = tasks.get(task_id=task_id)
        assert (task.model, task.status, task.resolution) == (name, "queued", resolution)
        assert task.duration == fields.get("duration", -1)  # 2.5: the model picks
        assert (task.priority, task.safety_identifier) == (7, "user-42")
        assert (task.generate_audio is None) == ("mini" in name)  # mini does not echo it
        spent += usd_credits(tokens(*size, seconds), usd)
    listed = tasks.list(page_size=10)
    assert listed.total == 4 and {item.id for item in listed.items} == set(made.values())
    [only] = tasks.list(model=next(iter(made))).items
    assert only.id == made[next(iter(made))]
    assert gateway.balance(key) == 100_000 - spent


def test_premium_needs_the_operator_to_enable_it(make_gateway: Any) -> None:
    gateway = make_gateway(worker=False)
    with gateway.client(gateway.new_key()) as client:
        body = client.post(TASKS, json=ark_body("seedance-2-5-premium", "x")).json()
    assert (body["error"]["code"], body["error"]["param"]) == ("ModelNotOpen", "model")


# -- the rules at submission, in every dialect ----------------------------------------------

def ark(model: str, *items: dict[str, Any], **fields: Any) -> tuple[str, dict[str, Any]]:
    return TASKS, {"model": model, "content": [{"type": "text", "text": "x"}, *items], **fields}


def ark_media(kind: str, url: str, role: str) -> dict[str, Any]:
    return {"type": f"{kind}_url", f"{kind}_url": {"url": url}, "role": role}


def native(model: str, *inputs: tuple[str, str, str], **fields: Any) -> tuple[str, dict[str, Any]]:
    return "/v1/videos", {"model": model, "prompt": "x", **fields, "inputs": [
        {"type": kind, "url": url, "role": role} for kind, url, role in inputs]}


def apixo(model: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return f"/api/v1/generateTask/{model}", {"input": {"prompt": "a heron", **fields}}


def runbase(model: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return "/api/v1/runs", {"model": model, "input": {"prompt": "x", **fields}}


FIRST = ("image", IMAGE, "first_frame")
LAST = ("image", IMAGE, "last_frame")
REF_VIDEO = ("video", VIDEO, "reference_video")
REF_AUDIO = ("audio", AUDIO, "reference_audio")
WEB = [{"type": "web_search"}]
CONSTRAINT = "InvalidParameter.TaskTypeConstraint"

# (request, the code the dialect answers, the parameter it names)
REFUSED = [
    # a concrete ratio with frames (2.5 family)
    (ark("seedance-2-5", ark_media("image", IMAGE, "first_frame"), ratio="16:9"),
     CONSTRAINT, "ratio"),
    (ark("seedance-2-5-premium", ark_media("image", IMAGE, "first_frame"),
         ark_media("image", IMAGE, "last_frame"), ratio="4:3"), CONSTRAINT, "ratio"),
    (native("seedance-2-5", FIRST, ratio="9:16"), "invalid_parameter", "ratio"),
    (native("seedance-2-5", FIRST, LAST, size="1280x720"), "invalid_parameter", "ratio"),
    (apixo("seedance-2-5", mode="first_and_last_frames", image_urls=[IMAGE, IMAGE],
           aspect_ratio="16:9"), 400, "input.aspect_ratio"),
    (runbase("seedance-2-5", image_urls=[IMAGE], aspect_ratio="1:1"), "invalid_input",
     "`aspect_ratio`"),
    # the 2.0 family's refused fields
    (ark("seedance-2-0", seed=7), "InvalidParameter", "seed"),
    (ark("doubao-seedance-2-0-mini-260615", camera_fixed=True), "InvalidParameter",
     "camera_fixed"),
    (ark("seedance-2-0-fast", draft=True), "InvalidParameter", "draft"),
    (ark("seedance-2-0", frames=121), "InvalidParameter", "frames"),
    (ark("seedance-2-0-mini", service_tier="flex"), "InvalidParameter", "service_tier"),
    (native("seedance-2-0-mini", seed=3), "invalid_parameter", "seed"),
    (native("seedance-2-0", camera_fixed=True), "invalid_parameter", "camera_fixed"),
    # reference limits
    (ark("seedance-2-0-mini", *[ark_media("video", VIDEO, "reference_video")] * 4),
     "InvalidParameter", "content"),
    (ark("seedance-2-0", ark_media("audio", AUDIO, "reference_audio")), "InvalidParameter",
     "content"),
    (native("seedance-2-5", *[REF_VIDEO] * 11), "invalid_parameter", "inputs"),
    (native("seedance-2-0-fast", *[REF_AUDIO] * 2), "invalid_parameter", "inputs"),
    (apixo("seedance-2-0-mini", mode="omni_reference", image_urls=[IMAGE],
           video_urls=[VIDEO] * 4), 400, "input.video_urls"),
    # priority, safety_identifier, output_format, tools
    (ark("seedance-2-5", priority=10), "InvalidParameter", "priority"),
    (ark("seedance-2-5", safety_identifier="u" * 65), "InvalidParameter",
     "safety_identifier"),
    (ark("seedance-2-0", output_format="mov"), "InvalidParameter", "output_format"),
    (ark("seedance-2-5", tools=WEB), "InvalidParameter", "tools"),
    (ark("seedance-2-0", ark_media("image", IMAGE, "first_frame"), tools=WEB),
     "InvalidParameter", "tools"),
    (native("seedance-2-0", priority=-1), "invalid_parameter", "priority"),
    (native("seedance-2-5", safety_identifier=""), "invalid_parameter", "safety_identifier"),
    (native("seedance-2-5", tools=[{"type": "code_interpreter"}]), "invalid_parameter",
     "tools"),
    (native("seedance-2-5", tools=WEB), "invalid_parameter", "tools"),
    (apixo("seedance-2-0", mode="first_and_last_frames", image_urls=[IMAGE],
           web_search=True), 400, "input.web_search"),
]


def code_and_param(path: str, answer: dict[str, Any]) -> tuple[Any, str]:
    """The code a dialect answers and the parameter its error names."""
    if path.startswith("/api/v1/generateTask"):  # apixo names it in the message only
        return answer["code"], answer["data"]["error"]
    error = answer["error"]
    return error["code"], error.get("param") or error["message"]


@pytest.mark.parametrize(("request_", "code", "param"), REFUSED,
                         ids=[f"{r[0][0].split('/')[2]}-{r[2]}-{i}"
                              for i, r in enumerate(REFUSED)])
def test_rules_at_submission(request_: tuple[str, dict[str, Any]], code: Any, param: str,
                             gateway_without_worker: Any) -> None:
    path, body = request_
    key = gateway_without_worker.new_key(credits=100_000)
    with gateway_without_worker.client(key) as client:
        response = client.post(path, json=body)
    assert response.status_code == 400, response.text
    got_code, named = code_and_param(path, response.json())
    assert got_code == code and param in named, response.text
    assert gateway_without_worker.balance(key) == 100_000


ACCEPTED = [
    ark("seedance-2-5", ark_media("image", IMAGE, "first_frame"), ratio="adaptive"),
    ark("seedance-2-5", ark_media("audio", AUDIO, "reference_audio")),  # audio-only
    ark("seedance-2-0", tools=WEB, priority=0, safety_identifier="u" * 64),
    ark("seedance-2-5", output_format="mov", priority=9),
    native("seedance-2-0-fast", tools=WEB),
    native("seedance-2-5", FIRST, LAST),
    apixo("seedance-2-0-mini", mode="text-to-video", web_search=True),
    apixo("seedance-2-5", mode="omni_reference", audio_urls=[AUDIO]),
    runbase("seedance-2-5", image_urls=[IMAGE]),
    ("/api/video/seedance/gen", {"model": "seedance-2.5", "content": [
        {"type": "text", "text": "@image1 dances"},
        {"type": "image_url", "image_url": {"url": IMAGE}}]}),
]


@pytest.fixture
def gateway_without_worker(make_gateway: Any) -> Any:
    return make_gateway(worker=False, models=PREMIUM)


@pytest.mark.parametrize("request_", ACCEPTED, ids=[r[0].split("/")[2] for r in ACCEPTED])
def test_what_the_rules_allow(request_: tuple[str, dict[str, Any]],
                              gateway_without_worker: Any) -> None:
    path, body = request_
    with gateway_without_worker.client(gateway_without_worker.new_key()) as client:
        response = client.post(path, json=body)
    assert response.status_code == 200, response.text


def test_ark_echoes_the_new_fields(gateway_without_worker: Any) -> None:
    with gateway_without_worker.client(gateway_without_worker.new_key()) as client:
        task_id = create(client, ark("seedance-2-0", tools=WEB, priority=3)[1])
        task = client.get(f"{TASKS}/{task_id}").json()
        plain = client.get(f"{TASKS}/{create(client, ark('seedance-2-5')[1])}").json()
    assert (task["tools"], task["priority"]) == (WEB, 3) and "seed" in task
    assert "safety_identifier" not in task and "priority" not in plain  # only when sent


# -- retired models: refused, routed around, or run as their alias --------------------------

OFFLINE_ARK = {"name": "ark", "kind": "ark-byteplus", "api_key_env": KEY_ENV,
               "base_url": "http://127.0.0.1:9/api/v3"}
RETIRED = [  # (path, body, (status, code))
    ("/v1/videos", {"model": "seedance-1-5-pro", "prompt": "x"}, (410, "model_retired")),
    (TASKS, ark_body("seedance-1-5-pro-251215", "x"), (400, "InvalidEndpoint.ClosedEndpoint")),
    ("/api/v1/runs", {"model": "bytedance/seedance-1.5-pro", "input": {"prompt": "x"}},
     (410, "model_retired")),
    ("/api/v1/generateTask/seedance-1-5-pro", {"input": {"prompt": "a heron", "sound": False}},
     (410, 410)),
    ("/api/generate", {"prompt": "x", "aspect_ratio": "16:9", "duration": "5"}, (410, 410)),
    ("/api/video/seedance/gen", {"model": "seedance-1.5-pro", "content": [
        {"type": "text", "text": "x"}]}, (410, 1)),
]


@pytest.mark.parametrize(("path", "body", "answer"), RETIRED,
                         ids=[r[0].split("/")[2] for r in RETIRED])
def test_a_model_every_provider_retired_is_refused_naming_its_replacement(
        path: str, body: dict[str, Any], answer: tuple[int, Any], make_gateway: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-offline")
    gateway = make_gateway(worker=False, providers=[OFFLINE_ARK])
    key = gateway.new_key(credits=1000)
    with gateway.client(key) as client:
        response = client.post(path, json=body)
    assert response.status_code == answer[0], response.text
    sent = response.json()
    error = sent.get("error") if isinstance(sent.get("error"), dict) else sent
    assert error["code"] == answer[1] and "seedance-2-0-mini" in str(sent)
    if path == "/v1/videos":
        assert error["replacement"] == "seedance-2-0-mini" and error["param"] == "model"
    assert gateway.balance(key) == 1000


def test_lite_is_retired_on_byteplus_and_can_be_kept_by_configuration(
        make_gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-offline")
    retired = make_gateway(worker=False, providers=[OFFLINE_ARK])
    kept = make_gateway(worker=False, providers=[
        {**OFFLINE_ARK, "serves_retired": ["seedance-1-0-lite-t2v"]}])
    body = {"model": "seedance-1-0-lite-t2v", "prompt": "x", "duration": 4}
    with retired.client(retired.new_key()) as client:
        error = client.post("/v1/videos", json=body).json()["error"]
    assert (error["code"], error["replacement"]) == ("model_retired", "seedance-1-0-pro-fast")
    assert "2026-05-13" in error["message"]
    with kept.client(kept.new_key()) as client:
        assert client.post("/v1/videos", json=body).status_code == 200


def test_the_router_never_sends_a_model_to_a_provider_that_retired_it(
        upstream: Any, make_gateway: Any) -> None:
    a = front(make_gateway, provider("b", "ark-byteplus", upstream.url + "/api/v3",
                                     priority=10, serves_retired=[]),
              {"name": "simulator", "kind": "simulator", "priority": -100,
               "retired": {"seedance-1-0-lite-t2v": "2026-01-01"}})
    with a.client(a.new_key()) as client:
        task_id = create(client, ark_body("seedance-1-5-pro", "a kite", resolution="480p",
                                          duration=4))
        assert wait(client, task_id)["status"] == "succeeded"
        lite = client.post(TASKS, json=ark_body("seedance-1-0-lite-t2v", "a kite"))
    stored = a.gateway.db.read_sync(lambda conn: get_task(conn, task_id))
    assert stored is not None and stored.provider == "simulator"  # not b: BytePlus retired it
    with upstream.client(os.environ[KEY_ENV]) as b:  # A's key at b
        assert b.get(TASKS).json()["total"] == 0
    # retired at b by the catalog, at the simulator by the configuration
    assert lite.json()["error"]["code"] == "InvalidEndpoint.ClosedEndpoint"


def test_an_alias_runs_the_replacement_at_its_price_and_remembers_the_name(
        upstream: Any, make_gateway: Any) -> None:
    a = front(make_gateway, provider("b", "ark-byteplus", upstream.url + "/api/v3"),
              settings={"models": {"aliases": {"seedance-1.5-pro": "seedance-2-0-mini"}}})
    key = a.new_key(credits=1000)
    with a.client(key) as client:
        task_id = create(client, ark_body("seedance-1-5-pro-251215", "a kite",
                                          resolution="480p", duration=4))
        task = wait(client, task_id)
        video = client.get(f"/v1/videos/{task_id}").json()
    assert task["status"] == "succeeded" and task["model"] == "dreamina-seedance-2-0-mini-260615"
    assert (video["model"], video["requested_model"]) == ("seedance-2-0-mini",
                                                          "seedance-1-5-pro")
    price = usd_credits(tokens(864, 496, 4), "3.5")  # 2.0 mini's, not 1.5 Pro's 25
    assert price == 71 and a.balance(key) == 1000 - price
    with upstream.client(os.environ[KEY_ENV]) as b:  # A's key at b
        [ran] = b.get(TASKS).json()["items"]
    assert ran["model"] == "dreamina-seedance-2-0-mini-260615"


# -- settlement on the usage a remote provider reports ---------------------------------------

def test_a_task_settles_on_the_providers_reported_tokens(upstream: Any,
                                                         make_gateway: Any) -> None:
    a = front(make_gateway, provider("b", "ark-byteplus", upstream.url + "/api/v3"))
    key = a.new_key(credits=1000)
    with a.client(key) as client:  # the model picks the duration: debited at 15 s
        task_id = create(client, ark_body("dreamina-seedance-2-0-mini-260615", "a kite",
                                          resolution="480p", duration=-1))
        debit = usd_credits(tokens(864, 496, 15), "3.5")
        assert a.balance(key) == 1000 - debit
        task = wait(client, task_id)
    assert task["status"] == "succeeded", task
    reported = task["usage"]["completion_tokens"]
    assert reported == 864 * 496 * (24 * task["duration"] + 1) // 1024  # b's own count
    cost = usd_credits(reported, "3.5")
    assert cost < debit
    assert entries(a, task_id) == [("debit", -debit), ("settle", debit - cost)]
    assert a.balance(key) == 1000 - cost
    stored = a.gateway.db.read_sync(lambda conn: get_task(conn, task_id))
    assert stored is not None and stored.outputs is not None
    assert (stored.outputs.tokens, stored.consumed_credits) == (reported, cost)


def test_the_readme_lifecycle_example_configures_aliases_and_retirements(
        tmp_path: Any) -> None:
    section = README.split("### Lifecycle", 1)[1]
    example = tomllib.loads(section.split("```toml\n", 1)[1].split("```", 1)[0])
    settings = Settings(home=tmp_path, **example)
    assert settings.models.aliases == {"seedance-1-5-pro": "seedance-2-0-mini"}
    assert settings.models.enabled == ["seedance-2-5-premium"]
    [ark_settings] = settings.providers
    today = date(2026, 12, 2)
    assert ark_settings.retirement(CATALOG["seedance-1-5-pro"], today) is None  # kept
    assert ark_settings.retirement(CATALOG["seedance-1-0-lite-t2v"], today) is not None
    fast = CATALOG["seedance-2-0-fast"]
    assert ark_settings.retirement(fast, today) is None
    assert ark_settings.retirement(fast, date(2027, 1, 31)) is not None
