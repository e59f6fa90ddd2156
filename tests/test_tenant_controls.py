"""Tenant controls per API key, in every dialect: the concurrency cap, the daily and monthly
spend limits, the IP allow-list (through trusted proxies) and the model allow-list. Each
refusal comes in the dialect's own envelope and status, and debits nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from seedgate.domain.limits import InvalidLimit, KeyLimits

PROMPT = "A paper boat on a rain-soaked street"


@dataclass(frozen=True)
class Dialect:
    name: str
    path: str
    body: dict[str, Any]
    error: Callable[[httpx.Response], tuple[str, str]]  # (code in the dialect's terms, message)


def seed_error(response: httpx.Response) -> tuple[str, str]:
    body = response.json()
    assert body["code"] == response.status_code and body["data"] is None
    return str(body["code"]), body["message"]


def openai_error(response: httpx.Response) -> tuple[str, str]:
    error = response.json()["error"]
    return f"{error['type']}/{error['code']}", error["message"]


def code_error(response: httpx.Response) -> tuple[str, str]:
    error = response.json()["error"]
    return error["code"], error["message"]


def defapi_error(response: httpx.Response) -> tuple[str, str]:
    body = response.json()
    assert body["code"] == 1 and body["data"] is None
    return "1", body["message"]


def apixo_error(response: httpx.Response) -> tuple[str, str]:
    body = response.json()
    assert body["code"] == response.status_code
    return body["message"], body["data"]["error"]


DIALECTS = [
    Dialect("seedance15pro", "/api/generate",
            {"prompt": PROMPT, "aspect_ratio": "16:9", "duration": "5", "sound": False},
            seed_error),
    Dialect("native", "/v1/videos",
            {"prompt": PROMPT, "model": "seedance-1-5-pro", "seconds": "5", "size": "1280x720",
             "generate_audio": False}, openai_error),
    Dialect("ark", "/api/v3/contents/generations/tasks",
            {"model": "seedance-1-5-pro-251215", "content": [{"type": "text", "text": PROMPT}],
             "resolution": "720p", "ratio": "16:9", "duration": 5, "generate_audio": False},
            code_error),
    Dialect("runbase", "/api/v1/runs",
            {"model": "bytedance/seedance-1.5-pro",
             "input": {"prompt": PROMPT, "resolution": "720p", "duration": "4",
                       "generate_audio": False}}, code_error),
    Dialect("defapi", "/api/video/seedance/gen",
            {"model": "seedance-2.0", "content": [{"type": "text", "text": PROMPT}],
             "duration": 5}, defapi_error),
    Dialect("apixo", "/api/v1/generateTask/seedance-1-5-pro",
            {"input": {"mode": "text-to-video", "prompt": PROMPT, "resolution": "720p",
                       "duration": 5, "sound": False}}, apixo_error),
]
BY_NAME = {dialect.name: dialect for dialect in DIALECTS}
dialects = pytest.mark.parametrize("dialect", DIALECTS, ids=[d.name for d in DIALECTS])

# What each refusal looks like in each dialect: (HTTP status, code in its terms).
CONCURRENCY = {"seedance15pro": (429, "429"), "native": (429, "rate_limit_error/"
               "concurrency_limit_exceeded"), "ark": (429, "InflightBatchsizeExceeded"),
               "runbase": (429, "USAGE_EXCEEDED"), "defapi": (429, "1"),
               "apixo": (429, "Too many requests")}
SPEND = {"seedance15pro": (403, "403"), "native": (403, "insufficient_quota/"
         "spend_limit_exceeded"), "ark": (429, "SetLimitExceeded"),
         "runbase": (403, "api_key_spend_limit_exceeded"), "defapi": (403, "1"),
         "apixo": (403, "Forbidden")}
IP = {"seedance15pro": (403, "403"), "native": (403, "permission_error/ip_not_allowed"),
      "ark": (403, "AccessDenied"), "runbase": (403, "ip_not_allowed"), "defapi": (403, "1"),
      "apixo": (403, "Forbidden")}
MODEL = {"seedance15pro": (403, "403"), "native": (403, "permission_error/model_not_allowed"),
         "ark": (404, "ModelNotOpen"), "runbase": (403, "model_not_allowed"),
         "defapi": (403, "1"), "apixo": (403, "Forbidden")}


def refused(response: httpx.Response, dialect: Dialect, expected: tuple[int, str]) -> str:
    """The refusal's message, once its status and code are the dialect's."""
    status, code = expected
    assert response.status_code == status, response.text
    found, message = dialect.error(response)
    assert found == code, response.text
    return message


def ledger_of(gateway: Any, secret: str) -> list[tuple[str, int, str | None]]:
    from seedgate.store import ledger

    key = gateway.gateway.accounts.find(secret)
    return gateway.gateway.db.read_sync(lambda conn: ledger.entries_of(conn, key.id))


@pytest.fixture
def queued_only(make_gateway: Any) -> Any:
    """A gateway without a worker: tasks stay queued, so they count against caps."""
    return make_gateway(worker=False)


# -- concurrency cap ------------------------------------------------------------------


@dialects
def test_the_concurrency_cap_refuses_the_next_task_and_debits_nothing(
        queued_only: Any, dialect: Dialect) -> None:
    secret = queued_only.new_key(credits=100_000, max_concurrency=2)
    with queued_only.client(secret) as client:
        for _ in range(2):
            assert client.post(dialect.path, json=dialect.body).status_code == 200
        balance = queued_only.balance(secret)
        response = client.post(dialect.path, json=dialect.body)
    message = refused(response, dialect, CONCURRENCY[dialect.name])
    assert "2 unfinished tasks" in message and "concurrency cap" in message
    assert int(response.headers["retry-after"]) >= 1
    assert queued_only.balance(secret) == balance
    assert [kind for kind, _, _ in ledger_of(queued_only, secret)].count("debit") == 2


def test_a_finished_task_frees_its_place_under_the_cap(queued_only: Any) -> None:
    native = BY_NAME["native"]
    secret = queued_only.new_key(credits=100_000, max_concurrency=1)
    with queued_only.client(secret) as client:
        first = client.post(native.path, json=native.body).json()["id"]
        refused(client.post(native.path, json=native.body), native, CONCURRENCY["native"])
        assert client.post(f"/v1/videos/{first}/cancel").json()["status"] == "cancelled"
        assert client.post(native.path, json=native.body).status_code == 200


def test_200_parallel_creates_against_a_cap_of_50_admit_exactly_50(queued_only: Any) -> None:
    seed = BY_NAME["seedance15pro"]
    secret = queued_only.new_key(credits=1_000_000, max_concurrency=50)

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=queued_only.url, limits=limits, timeout=120,
                                     headers={"authorization": f"Bearer {secret}"}) as client:
            answers = await asyncio.gather(*(client.post(seed.path, json=seed.body)
                                             for _ in range(200)))
        return [answer.status_code for answer in answers]

    statuses = asyncio.run(burst())
    assert statuses.count(200) == 50 and statuses.count(429) == 150
    debits = [amount for kind, amount, _ in ledger_of(queued_only, secret) if kind == "debit"]
    assert len(debits) == 50
    assert queued_only.balance(secret) == 1_000_000 + sum(debits)
    totals = queued_only.gateway.accounts.totals(secret)
    assert totals.active_tasks == 50


def test_the_servers_default_cap_applies_to_keys_without_their_own(make_gateway: Any) -> None:
    gateway = make_gateway(worker=False, max_concurrency=1)
    seed = BY_NAME["seedance15pro"]
    capped, own = gateway.new_key(), gateway.new_key(max_concurrency=0)  # 0: no cap
    with gateway.client(capped) as client:
        assert client.post(seed.path, json=seed.body).status_code == 200
        refused(client.post(seed.path, json=seed.body), seed, CONCURRENCY["seedance15pro"])
    with gateway.client(own) as client:
        assert all(client.post(seed.path, json=seed.body).status_code == 200
                   for _ in range(3))


# -- spend limits ---------------------------------------------------------------------


@dialects
def test_the_daily_spend_limit_refuses_what_would_pass_it(
        queued_only: Any, dialect: Dialect) -> None:
    probe = queued_only.new_key(credits=100_000)
    with queued_only.client(probe) as client:
        assert client.post(dialect.path, json=dialect.body).status_code == 200
    price = 100_000 - queued_only.balance(probe)
    secret = queued_only.new_key(credits=100_000, daily_spend=price + price // 2)
    with queued_only.client(secret) as client:
        assert client.post(dialect.path, json=dialect.body).status_code == 200
        response = client.post(dialect.path, json=dialect.body)
    message = refused(response, dialect, SPEND[dialect.name])
    assert f"spend limit of {price + price // 2} credits per day" in message
    assert f"{price // 2} left" in message
    assert queued_only.balance(secret) == 100_000 - price


def test_a_refund_gives_the_spend_limit_its_room_back(queued_only: Any) -> None:
    native = BY_NAME["native"]
    secret = queued_only.new_key(credits=100_000, monthly_spend=65)
    with queued_only.client(secret) as client:
        first = client.post(native.path, json=native.body).json()["id"]
        message = refused(client.post(native.path, json=native.body), native, SPEND["native"])
        assert "spend limit of 65 credits per month (0 left" in message
        client.post(f"/v1/videos/{first}/cancel")
        assert client.post(native.path, json=native.body).status_code == 200
    totals = queued_only.gateway.accounts.totals(secret)
    assert (totals.day_spent, totals.month_spent, totals.balance) == (65, 65, 100_000 - 65)


def test_limits_changed_on_a_running_gateway_apply_at_once(queued_only: Any) -> None:
    seed = BY_NAME["seedance15pro"]
    secret = queued_only.new_key(credits=100_000)
    accounts = queued_only.gateway.accounts
    with queued_only.client(secret) as client:
        assert client.post(seed.path, json=seed.body).status_code == 200
        accounts.update_limits(secret, daily_spend=100)
        refused(client.post(seed.path, json=seed.body), seed, SPEND["seedance15pro"])
        accounts.update_limits(secret, daily_spend=None, max_concurrency=1)
        refused(client.post(seed.path, json=seed.body), seed, CONCURRENCY["seedance15pro"])
        accounts.update_limits(secret, max_concurrency=None)
        assert client.post(seed.path, json=seed.body).status_code == 200


# -- IP allow-list --------------------------------------------------------------------


@dialects
def test_a_request_from_outside_the_ip_allow_list_is_refused_before_anything_else(
        make_gateway: Any, dialect: Dialect) -> None:
    gateway = make_gateway(worker=False)
    secret = gateway.new_key(allowed_ips=("10.20.0.0/16",))
    with gateway.client(secret) as client:
        # Even a malformed body: the address is checked first.
        message = refused(client.post(dialect.path, content=b"{not json"), dialect,
                          IP[dialect.name])
        assert "127.0.0.1" in message and "allow-list" in message
        refused(client.post(dialect.path, json=dialect.body), dialect, IP[dialect.name])
    assert gateway.balance(secret) == 10_000


def test_x_forwarded_for_counts_only_from_trusted_proxies(make_gateway: Any) -> None:
    seed = BY_NAME["seedance15pro"]
    untrusting = make_gateway(worker=False)
    behind_proxy = make_gateway(worker=False, trusted_proxies="127.0.0.1/32")
    for gateway, allowed in ((untrusting, False), (behind_proxy, True)):
        secret = gateway.new_key(allowed_ips=("10.20.0.0/16", "2001:db8::/32"))
        with gateway.client(secret) as client:
            # The proxy appended the client's address; what the client itself claimed
            # further left does not count.
            response = client.post(seed.path, json=seed.body, headers={
                "x-forwarded-for": "192.0.2.7, 10.20.3.4"})
            assert (response.status_code == 200) is allowed, response.text
            spoofed = client.post(seed.path, json=seed.body, headers={
                "x-forwarded-for": "10.20.3.4, 192.0.2.7"})
            refused(spoofed, seed, IP["seedance15pro"])


def test_the_events_stream_checks_the_ip_allow_list_too(make_gateway: Any) -> None:
    gateway = make_gateway(worker=False)
    open_key, closed_key = gateway.new_key(), gateway.new_key(allowed_ips=("10.0.0.0/8",))
    native = BY_NAME["native"]
    with gateway.client(open_key) as client:
        video = client.post(native.path, json=native.body).json()["id"]
    with gateway.client(closed_key) as client:
        response = client.get(f"/v1/videos/{video}/events")
    refused(response, native, IP["native"])


# -- model allow-list -----------------------------------------------------------------


@dialects
def test_a_model_outside_the_allow_list_is_refused(make_gateway: Any, dialect: Dialect) -> None:
    gateway = make_gateway(worker=False)
    other = "seedance-1-0-pro" if dialect.name == "defapi" else "seedance-2-0"
    secret = gateway.new_key(allowed_models=(other,))
    with gateway.client(secret) as client:
        response = client.post(dialect.path, json=dialect.body)
    message = refused(response, dialect, MODEL[dialect.name])
    assert f"may use {other}" in message
    assert gateway.balance(secret) == 10_000


def test_an_allowed_model_may_be_named_any_way_the_catalog_knows() -> None:
    limits = KeyLimits().changed(allowed_models=("bytedance/seedance-1.5-pro",
                                                 "dreamina-seedance-2-0-260128"),
                                 allowed_ips=("10.1.2.3", "10.0.0.0/8", "10.1.2.3/32"))
    assert limits.allowed_models == ("seedance-1-5-pro", "seedance-2-0")
    assert limits.allowed_ips == ("10.1.2.3/32", "10.0.0.0/8")
    assert limits.allows_model("seedance-2-0") and not limits.allows_model("seedance-1-0-pro")
    assert limits.allows_address("10.9.9.9") and not limits.allows_address("11.0.0.1")
    assert not limits.allows_address(None) and not limits.allows_address("nonsense")


@pytest.mark.parametrize("changes", [
    {"allowed_models": ("sora-2",)}, {"allowed_ips": ("10.0.0.0/33",)},
    {"max_concurrency": -1}, {"daily_spend": 1.5}, {"rate_limit": True},
])
def test_malformed_limits_are_refused_with_the_reason(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidLimit) as raised:
        KeyLimits().changed(**changes)
    assert next(iter(changes)) in str(raised.value)


# -- upgrading a database that already has tasks -----------------------------------------


def test_the_upgrade_counts_what_existing_tasks_already_hold(database: Any) -> None:
    """Migration 0005 starts the running totals from the tasks already there: unfinished
    ones against the cap, today's and this month's net spend against the spend limits."""
    import sqlalchemy as sa

    from seedgate.clock import now_ms
    from seedgate.domain.limits import DAY_MS
    from seedgate.store import ledger
    from seedgate.store.database import Database

    store = Database(database.url, schema=database.schema)
    store.migrate("0004")
    now = now_ms()
    rows = [  # status, price, refunded, created
        ("queued", 65, 0, now), ("running", 130, 0, now), ("succeeded", 130, 26, now),
        ("failed", 65, 65, now), ("succeeded", 65, 0, now - 40 * DAY_MS),
    ]
    with store.writer.begin() as conn:
        conn.execute(sa.text("INSERT INTO api_keys (id, name, key_hash, prefix, created_at) "
                             "VALUES (1, 'old', 'h', 'sg_', 0)"))
        conn.execute(sa.text("INSERT INTO balances (key_id, balance) VALUES (1, 1000)"))
        for number, (status, price, refunded, created) in enumerate(rows):
            conn.execute(sa.text(
                "INSERT INTO tasks (id, key_id, dialect, model, status, progress, price, "
                "refunded, request, client_request, attempts, created_at, updated_at, "
                "deadline_at) VALUES (:id, 1, 'native', 'seedance-1-5-pro', :status, 0, "
                ":price, :refunded, '{}', '{}', 0, :created, :created, :created)"),
                {"id": f"task_{number}", "status": status, "price": price,
                 "refunded": refunded, "created": created})
    store.migrate()
    totals = store.read_sync(lambda conn: ledger.totals_of(conn, 1, now))
    assert (totals.balance, totals.active_tasks, totals.day_spent) == (1000, 2, 65 + 130 + 104)
    assert totals.month_spent == 65 + 130 + 104  # the 40-day-old task is last month's
    store.reader.dispose()
    store.writer.dispose()
