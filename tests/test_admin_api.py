"""The admin API (`/admin/v1`) against a live gateway: only the admin token opens it, every
endpoint does its job (replies checked against the OpenAPI document), bad input gets a
clear 400 naming the parameter, and the token is kept as a digest and never logged."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from seedgate.domain.catalog import CATALOG
from seedgate.domain.pricing import default_prices
from seedgate.http.admin.api import PREFIX, ROUTES
from seedgate.store.schema import admin_token

from .conftest import RunningGateway
from .operators import Admin
from .receiver import Receiver

VIOLATION = "a fox in the snow @sim:content_violation"
KEY_PATH = "/keys/{name}"
TASK_PATH = "/tasks/{task_id}"


@pytest.fixture
def admin(gateway: RunningGateway) -> Iterator[Admin]:
    with Admin(gateway) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def create(client: httpx.Client, prompt: str = "a lighthouse", **fields: Any) -> str:
    body = {"prompt": prompt, "seconds": "4", "resolution": "480p", "generate_audio": False,
            **fields}
    created = client.post("/v1/videos", json=body)
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


# -- who may call -------------------------------------------------------------------------

ENDPOINTS = [(method, path) for path, handlers in ROUTES.items() for method in handlers]


def test_only_the_admin_token_opens_any_endpoint(gateway: RunningGateway,
                                                 admin: Admin) -> None:
    client_key = gateway.new_key(name="victim", credits=100)
    refusals = {
        None: 401, "Bearer": 401, "Bearer wrong-token": 401, f"Basic {admin.token}": 401,
        f"Bearer {admin.token}x": 401, f"Bearer {client_key}": 403,
    }
    for method, path in ENDPOINTS:
        concrete = PREFIX + path.format(name="victim", task_id="task_" + "0" * 24,
                                        delivery_id="msg_x")
        body = {"amount": 5} if path.endswith("/credits") else {"daily_spend": 1}
        for authorization, status in refusals.items():
            headers = {"authorization": authorization} if authorization else {}
            answer = httpx.request(method, gateway.url + concrete, headers=headers,
                                   json=body if method in ("POST", "PATCH") else None)
            assert answer.status_code == status, (method, path, authorization, answer.text)
            error = answer.json()["error"]
            assert error["type"] == "authentication_error" and error["message"]
            assert admin.token not in answer.text and client_key not in answer.text
    victim = admin.ok("GET", "/keys/victim", KEY_PATH)  # nothing changed
    assert victim["active"] and victim["balance"] == 100
    assert victim["limits"]["daily_spend"] is None


def test_the_token_is_kept_as_a_digest_never_logged_and_rotation_ends_the_old_one(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with Admin(gateway) as old:
        assert old.ok("GET", "/keys")["object"] == "list"
        stored = gateway.gateway.db.read_sync(
            lambda conn: conn.execute(sa.select(admin_token.c.digest)).scalars().all())
        assert stored == [hashlib.sha256(old.token.encode()).hexdigest()]
        httpx.get(f"{gateway.url}{PREFIX}/keys",
                  headers={"authorization": f"Bearer {old.token[:-1]}"})
        with Admin(gateway) as new:  # rotates
            assert new.ok("GET", "/keys")["object"] == "list"
            refused = old.call("GET", "/keys")
            assert refused.status_code == 401
            assert refused.json()["error"]["message"] == "Invalid admin token."
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert old.token not in logged and old.token[:-1] not in logged
    assert new.token not in logged


# -- keys and credits ---------------------------------------------------------------------


def test_a_key_is_created_with_limits_its_secret_shown_once(
    gateway: RunningGateway, admin: Admin,
) -> None:
    created = admin.ok("POST", "/keys", json={
        "name": "acme", "credits": 500, "rate_limit": 120, "max_concurrency": 3,
        "daily_spend": 400, "monthly_spend": 9000, "allowed_ips": ["127.0.0.0/8"],
        "allowed_models": ["bytedance/seedance-1.5-pro"], "strategy": "value"})
    secret = created.pop("key")
    assert secret.startswith("sg_") and created["prefix"] == secret[:10]
    assert created["balance"] == 500 and created["strategy"] == "value"
    assert created["limits"] == {
        "rate_limit": 120, "max_concurrency": 3, "daily_spend": 400, "monthly_spend": 9000,
        "allowed_ips": ["127.0.0.0/8"], "allowed_models": ["seedance-1-5-pro"]}
    assert admin.ok("GET", "/keys/acme", KEY_PATH) == created
    listed = admin.ok("GET", "/keys")["data"]
    assert [k["name"] for k in listed] == ["acme"] and "key" not in listed[0]
    with gateway.client(secret) as client:
        task_id = create(client)  # the secret works, within its limits
        refused = client.post("/v1/videos", json={"prompt": "x", "model": "seedance-2-0"})
        assert refused.status_code == 403, refused.text
    price = admin.ok("GET", f"/tasks/{task_id}", TASK_PATH)["price"]
    view = admin.ok("GET", "/keys/acme", KEY_PATH)
    assert view["balance"] == 500 - price and view["spent_today"] == price
    taken = admin.call("POST", "/keys", json={"name": "acme"})
    assert taken.status_code == 409 and taken.json()["error"]["param"] == "name"


def test_limits_and_strategy_change_and_the_rest_stays(
    gateway: RunningGateway, admin: Admin,
) -> None:
    secret = admin.ok("POST", "/keys", json={"name": "tenant", "credits": 1000,
                                             "max_concurrency": 7})["key"]
    changed = admin.ok("PATCH", "/keys/tenant", KEY_PATH,
                       json={"daily_spend": 30, "allowed_ips": ["10.0.0.0/8"]})
    assert changed["limits"]["max_concurrency"] == 7  # not given: unchanged
    assert changed["limits"]["daily_spend"] == 30
    with gateway.client(secret) as client:  # the change holds at once
        refused = client.get("/v1/videos")
        assert refused.status_code == 403, refused.text
    changed = admin.ok("PATCH", "/keys/tenant", KEY_PATH,
                       json={"allowed_ips": [], "strategy": "official"})
    assert changed["limits"]["allowed_ips"] == [] and changed["strategy"] == "official"
    with gateway.client(secret) as client:  # 5 s at 720p: 65 credits
        refused = client.post("/v1/videos", json={"prompt": "x", "seconds": "5"})
        assert refused.status_code == 403 and "spend limit of 30" in refused.text
    assert admin.ok("PATCH", "/keys/tenant", KEY_PATH,
                    json={"daily_spend": None, "strategy": None})["strategy"] is None


def test_delete_revokes_and_the_key_stops_working(gateway: RunningGateway,
                                                  admin: Admin) -> None:
    secret = admin.ok("POST", "/keys", json={"name": "leaving", "credits": 10})["key"]
    revoked = admin.ok("DELETE", "/keys/leaving", KEY_PATH)
    assert revoked["active"] is False and revoked["revoked_at"] is not None
    with gateway.client(secret) as client:
        assert client.get("/v1/videos").status_code == 401
    assert admin.ok("GET", "/keys/leaving", KEY_PATH)["balance"] == 10  # the account stays


def test_webhook_secret_is_shown_and_rotated(gateway: RunningGateway, admin: Admin) -> None:
    admin.ok("POST", "/keys", json={"name": "hooks"})
    path = "/keys/hooks/webhook-secret"
    first = admin.ok("GET", path, KEY_PATH + "/webhook-secret")
    assert first["secret"].startswith("whsec_") and first["key"] == "hooks"
    assert admin.ok("GET", path, KEY_PATH + "/webhook-secret") == first
    rotated = admin.ok("POST", path + "/rotate", KEY_PATH + "/webhook-secret/rotate")
    assert rotated["secret"] != first["secret"]
    key = gateway.gateway.accounts.find("hooks")
    signing = gateway.gateway.keyring
    assert signing.reveal(key.id) == rotated["secret"]


def test_credits_are_granted_withdrawn_never_below_zero_and_paged_in_the_ledger(
    gateway: RunningGateway, admin: Admin,
) -> None:
    admin.ok("POST", "/keys", json={"name": "payer", "credits": 100})
    credits = "/keys/payer/credits"
    template = KEY_PATH + "/credits"
    assert admin.ok("POST", credits, template, json={"amount": 250, "note": "INV-7"})[
        "balance"] == 350
    assert admin.ok("POST", credits, template, json={"amount": -300})["balance"] == 50
    too_much = admin.call("POST", credits, template, json={"amount": -51})
    assert too_much.status_code == 400 and too_much.json()["error"]["param"] == "amount"
    assert "below zero" in too_much.json()["error"]["message"]
    assert admin.ok("GET", "/keys/payer", KEY_PATH)["balance"] == 50
    ledger = "/keys/payer/ledger"
    first = admin.ok("GET", ledger, KEY_PATH + "/ledger", params={"limit": 2})
    assert [(e["kind"], e["amount"], e["note"]) for e in first["data"]] == [
        ("grant", -300, None), ("grant", 250, "INV-7")]
    assert first["has_more"] is True
    rest = admin.ok("GET", ledger, KEY_PATH + "/ledger",
                    params={"limit": 2, "after": first["last_id"]})
    assert [(e["amount"], e["note"]) for e in rest["data"]] == [(100, "initial credits")]
    assert rest["has_more"] is False


# -- tasks --------------------------------------------------------------------------------


def test_tasks_of_every_key_are_searched_by_key_status_model_provider_and_time(
    gateway: RunningGateway, admin: Admin,
) -> None:
    first, second = gateway.new_key(name="first"), gateway.new_key(name="second")
    with gateway.client(first) as a, gateway.client(second) as b:
        done = create(a)
        failed = create(a, VIOLATION)
        other = create(b, model="seedance-1-0-pro-fast", seconds="3")
    for task_id in (done, failed, other):
        admin.wait_for(task_id, {"succeeded", "failed"})

    def ids(**params: str) -> list[str]:
        return [t["id"] for t in admin.ok("GET", "/tasks", params=params)["data"]]

    assert ids() == [other, failed, done]  # newest first, every key
    assert ids(key="first") == [failed, done]
    assert ids(status="failed") == [failed]
    assert ids(status="succeeded,failed", key="second") == [other]
    assert ids(model="bytedance/seedance-1.5-pro") == [failed, done]  # any name of it
    assert ids(model="seedance-1-0-pro-fast") == [other] and ids(model="seedance-2-0") == []
    assert ids(provider="simulator") == [other, failed, done]
    assert ids(provider="elsewhere") == []
    started = admin.ok("GET", f"/tasks/{done}", TASK_PATH)["created_at"]  # Unix seconds
    assert ids(since=str(started)) == [other, failed, done]
    assert ids(until=str(started)) == []  # `until` is excluded
    later = datetime.fromtimestamp(started + 3600, UTC).isoformat()
    assert ids(since=later) == [] and ids(until=later, key="second") == [other]
    page = admin.ok("GET", "/tasks", params={"limit": "2"})
    assert [t["id"] for t in page["data"]] == [other, failed] and page["has_more"]
    rest = admin.ok("GET", "/tasks", params={"limit": "2", "after": page["last_id"]})
    assert [t["id"] for t in rest["data"]] == [done] and not rest["has_more"]
    listed = admin.ok("GET", "/tasks", params={"key": "second"})["data"][0]
    assert listed["key"] == "second" and listed["video_url"].startswith(gateway.url)
    assert httpx.get(listed["video_url"]).content[4:8] == b"ftyp"  # a playable MP4


def test_a_tasks_record_has_its_attempts_ledger_and_deliveries_and_a_replay_sends_again(
    gateway: RunningGateway, admin: Admin, receiver: Receiver,
) -> None:
    key = gateway.new_key(name="hooked")
    with gateway.client(key) as client:
        task_id = create(client, webhook={"url": receiver.url("/hook")})
        failed = create(client, VIOLATION)
    [first] = receiver.wait_for("/hook", 1, timeout=90)
    record = admin.wait_for(task_id, {"succeeded"})
    assert record["key"] == "hooked" and record["request"]["prompt"] == "a lighthouse"
    assert record["client_request"]["webhook"]["url"] == receiver.url("/hook")
    [attempt] = record["attempts"]
    assert attempt["provider"] == "simulator" and attempt["state"] == "finished"
    assert attempt["upstream_id"] == record["upstream_id"] and attempt["error"] is None
    assert [(e["kind"], e["amount"]) for e in record["ledger"]] == [("debit", -record["price"])]
    deadline = time.monotonic() + 60
    while (deliveries := admin.ok("GET", f"/tasks/{task_id}", TASK_PATH)["deliveries"])[0][
            "status"] != "delivered":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    [delivery] = deliveries
    assert delivery["type"] == "video.completed" and delivery["attempt_log"][0][
        "status_code"] == 200
    replayed = admin.ok("POST", f"/tasks/{task_id}/webhooks/{delivery['id']}/replay",
                        TASK_PATH + "/webhooks/{delivery_id}/replay")
    assert replayed["id"] == delivery["id"]
    second = receiver.wait_for("/hook", 2, timeout=60)[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    missing = admin.call("POST", f"/tasks/{task_id}/webhooks/msg_nothing/replay",
                         TASK_PATH + "/webhooks/{delivery_id}/replay")
    assert missing.status_code == 404
    refunded = admin.wait_for(failed, {"failed"})
    assert refunded["error"]["code"] == "CONTENT_VIOLATION" and refunded["credits"] == 0
    price = refunded["price"]
    assert [(e["kind"], e["amount"]) for e in refunded["ledger"]] == [
        ("debit", -price), ("refund", price)]


def test_a_queued_task_is_cancelled_and_refunded(
    make_gateway: Callable[..., RunningGateway],
) -> None:
    gateway = make_gateway(worker=False)  # nothing runs: tasks stay queued
    key = gateway.new_key(name="waiting", credits=100)
    with gateway.client(key) as client, Admin(gateway) as admin:
        task_id = create(client)
        queued = admin.ok("GET", f"/tasks/{task_id}", TASK_PATH)
        assert queued["status"] == "queued" and queued["queue_position"] == 0
        cancelled = admin.ok("POST", f"/tasks/{task_id}/cancel", TASK_PATH + "/cancel")
        assert cancelled["status"] == "cancelled" and cancelled["credits"] == 0
        assert [e["kind"] for e in cancelled["ledger"]] == ["debit", "refund"]
        again = admin.call("POST", f"/tasks/{task_id}/cancel", TASK_PATH + "/cancel")
        assert again.status_code == 409
        assert admin.ok("GET", "/keys/waiting", KEY_PATH)["balance"] == 100
        missing = admin.call("GET", "/tasks/task_" + "f" * 24, TASK_PATH)
        assert missing.status_code == 404 and missing.json()["error"]["param"] == "task_id"


# -- providers, usage, prices -------------------------------------------------------------


def test_providers_show_models_health_and_recent_outcomes(gateway: RunningGateway,
                                                         admin: Admin) -> None:
    key = gateway.new_key()
    with gateway.client(key) as client:
        admin.wait_for(create(client), {"succeeded"})
    [provider] = admin.ok("GET", "/providers")["data"]
    assert provider["name"] == "simulator" and provider["breaker"] == "closed"
    assert "seedance-1-5-pro" in provider["models"] and provider["in_flight"] == 0
    assert provider["success_rate"] == 1.0 and provider["latency_s"] >= 0
    assert provider["last_24h"]["succeeded"] == 1 and provider["last_24h"]["seconds"] == 4


def test_usage_is_grouped_by_key_model_provider_and_day_as_json_or_csv(
    gateway: RunningGateway, admin: Admin,
) -> None:
    first, second = gateway.new_key(name="alpha"), gateway.new_key(name="beta")
    with gateway.client(first) as a, gateway.client(second) as b:
        tasks = [create(a), create(a, generate_audio=True, model="seedance-1-5-pro"),
                 create(b, VIOLATION, model="seedance-2-0-fast")]
    prices = [admin.wait_for(task_id, {"succeeded", "failed"})["price"] for task_id in tasks]

    def usage(group: str, **params: str) -> dict[str, Any]:
        return admin.ok("GET", "/usage", params={"group_by": group, **params})

    by_key = {row["group"]: row for row in usage("key")["data"]}
    spent = prices[0] + prices[1]
    assert prices[1] == 2 * prices[0]  # audio doubles 1.5 Pro's price
    assert by_key["alpha"] == {"group": "alpha", "tasks": 2, "succeeded": 2, "failed": 0,
                               "seconds": 8, "credits_debited": spent,
                               "credits_refunded": 0, "credits_net": spent}
    beta = by_key["beta"]
    assert (beta["failed"], beta["seconds"], beta["credits_net"]) == (1, 0, 0)
    assert beta["credits_debited"] == beta["credits_refunded"] > 0
    assert [row["group"] for row in usage("model")["data"]] == [
        "seedance-1-5-pro", "seedance-2-0-fast"]
    [provider] = usage("provider")["data"]
    assert provider["group"] == "simulator" and provider["tasks"] == 3
    day = usage("day")
    assert [row["tasks"] for row in day["data"]] == [3] and day["total"]["credits_net"] == spent
    assert usage("day", until="2000-01-01", since="1999-12-01")["data"] == []
    answer = admin.call("GET", "/usage", params={"group_by": "key"},
                        headers={"accept": "text/csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["key"], r["credits_net"]) for r in rows] == [("alpha", str(spent)), ("beta", "0")]


def test_prices_are_the_effective_table(make_gateway: Callable[..., RunningGateway]) -> None:
    gateway = make_gateway(prices={"seedance-1-5-pro": {"720p": 20}})
    with Admin(gateway) as admin:
        prices = {row["model"]: row for row in admin.ok("GET", "/prices")["data"]}
    assert prices["seedance-1-5-pro"]["per_second"]["720p"] == 20  # the override
    default = default_prices()["seedance-1-5-pro"].per_second(CATALOG["seedance-1-5-pro"])
    assert prices["seedance-1-5-pro"]["per_second"]["1080p"] == round(float(default["1080p"]),
                                                                      4)
    assert prices["seedance-2-0"]["per_second_with_video"]["720p"] < prices["seedance-2-0"][
        "per_second"]["720p"]  # an input video lowers the rate (and adds its seconds)
    assert prices["seedance-1-5-pro"]["display_name"] == "Seedance 1.5 Pro"


# -- bad input ----------------------------------------------------------------------------

BAD = [
    ("POST", "/keys", {"content": b"{"}, "invalid_json", None),
    ("POST", "/keys", {"json": ["acme"]}, "invalid_json", None),
    ("POST", "/keys", {"json": {"credits": 5}}, "missing_parameter", "name"),
    ("POST", "/keys", {"json": {"name": "a/b"}}, "invalid_parameter", "name"),
    ("POST", "/keys", {"json": {"name": "x" * 101}}, "invalid_parameter", "name"),
    ("POST", "/keys", {"json": {"name": "sg_lookalike"}}, "invalid_parameter", "name"),
    ("POST", "/keys", {"json": {"name": "ok", "colour": "red"}}, "invalid_parameter",
     "colour"),
    ("POST", "/keys", {"json": {"name": "ok", "credits": -1}}, "invalid_parameter", "credits"),
    ("POST", "/keys", {"json": {"name": "ok", "credits": 1.5}}, "invalid_parameter",
     "credits"),
    ("POST", "/keys", {"json": {"name": "ok", "credits": 10**30}}, "invalid_parameter",
     "credits"),
    ("POST", "/keys", {"json": {"name": "ok", "rate_limit": -5}}, "invalid_parameter",
     "rate_limit"),
    ("POST", "/keys", {"json": {"name": "ok", "max_concurrency": 2**40}},
     "invalid_parameter", "max_concurrency"),
    ("POST", "/keys", {"json": {"name": "ok", "daily_spend": "lots"}}, "invalid_parameter",
     "daily_spend"),
    ("POST", "/keys", {"json": {"name": "ok", "allowed_ips": ["10.0.0.0/99"]}},
     "invalid_parameter", "allowed_ips"),
    ("POST", "/keys", {"json": {"name": "ok", "allowed_ips": "10.0.0.0/8"}},
     "invalid_parameter", "allowed_ips"),
    ("POST", "/keys", {"json": {"name": "ok", "allowed_models": ["sora-2"]}},
     "invalid_parameter", "allowed_models"),
    ("POST", "/keys", {"json": {"name": "ok", "strategy": "cheapest"}}, "invalid_parameter",
     "strategy"),
    ("PATCH", "/keys/known", {"json": {}}, "invalid_parameter", "body"),
    ("PATCH", "/keys/known", {"json": {"monthly_spend": True}}, "invalid_parameter",
     "monthly_spend"),
    ("PATCH", "/keys/known", {"json": {"name": "renamed"}}, "invalid_parameter", "name"),
    ("POST", "/keys/known/credits", {"json": {}}, "missing_parameter", "amount"),
    ("POST", "/keys/known/credits", {"json": {"amount": 0}}, "invalid_parameter", "amount"),
    ("POST", "/keys/known/credits", {"json": {"amount": "5"}}, "invalid_parameter",
     "amount"),
    ("POST", "/keys/known/credits", {"json": {"amount": 5, "note": ["x"]}},
     "invalid_parameter", "note"),
    ("GET", "/keys/known/ledger", {"params": {"limit": "0"}}, "invalid_parameter", "limit"),
    ("GET", "/keys/known/ledger", {"params": {"after": "last"}}, "invalid_parameter",
     "after"),
    ("GET", "/tasks", {"params": {"status": "done"}}, "invalid_parameter", "status"),
    ("GET", "/tasks", {"params": {"model": "sora-2"}}, "model_not_found", "model"),
    ("GET", "/tasks", {"params": {"key": "nobody"}}, "invalid_parameter", "key"),
    ("GET", "/tasks", {"params": {"since": "yesterday"}}, "invalid_parameter", "since"),
    ("GET", "/tasks", {"params": {"since": "2026-02-01", "until": "2026-01-01"}},
     "invalid_parameter", "since"),
    ("GET", "/tasks", {"params": {"limit": "1000"}}, "invalid_parameter", "limit"),
    ("GET", "/tasks", {"params": {"limit": "\N{SUPERSCRIPT TWO}"}}, "invalid_parameter",
     "limit"),
    ("GET", "/keys/known/ledger", {"params": {"after": "\N{SUPERSCRIPT TWO}"}},
     "invalid_parameter", "after"),
    ("GET", "/tasks", {"params": {"after": "task_" + "0" * 24}}, "invalid_parameter",
     "after"),
    ("GET", "/usage", {"params": {"group_by": "colour"}}, "invalid_parameter", "group_by"),
    ("GET", "/usage", {"params": {"until": "99999999999999999999"}}, "invalid_parameter",
     "until"),
]


def test_bad_input_gets_a_clear_400_naming_the_parameter(
    gateway: RunningGateway, admin: Admin,
) -> None:
    admin.ok("POST", "/keys", json={"name": "known", "credits": 5})
    for method, path, request, code, param in BAD:
        template = path.replace("/known", "/{name}")
        answer = admin.call(method, path, template, **request)
        assert answer.status_code == 400, (path, request, answer.text)
        error = answer.json()["error"]
        assert (error["code"], error["param"]) == (code, param), (path, request, error)
        assert error["message"] and error["type"] == "invalid_request_error"
    assert [k["name"] for k in admin.ok("GET", "/keys")["data"]] == ["known"]
    assert admin.ok("GET", "/keys/known", KEY_PATH)["balance"] == 5
    missing = admin.call("GET", "/keys/nobody", KEY_PATH)
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "name"
