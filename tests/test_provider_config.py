"""Provider configuration: the README's complete example, the zero-file Ark mode, keys
only by environment variable (never logged, stored or shown), and per-key strategies."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from seedgate import cli
from seedgate.config import Settings
from seedgate.media.inputs import InputFetcher
from seedgate.media.local import LocalStorage
from seedgate.media.signing import UrlSigner
from seedgate.net.fetch import GuardedHttp
from seedgate.net.guard import OutboundGuard
from seedgate.providers.client import UpstreamClient
from seedgate.providers.config import Kind, Strategy
from seedgate.providers.http import HttpProvider
from seedgate.providers.registry import build_routes
from seedgate.providers.simulator import SimulatorProvider
from seedgate.service.accounts import Accounts
from seedgate.store import keys as key_store
from seedgate.store.database import Database

from .conftest import DatabaseTarget

README = Path(__file__).parents[1] / "README.md"
SECRET = "sk-very-secret-upstream-key"


def readme_toml() -> str:
    section = README.read_text().split("## Upstream providers", 1)[1]
    found = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def settings_from(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    config = tmp_path / "seedgate.toml"
    config.write_text(text)
    monkeypatch.setenv("SEEDGATE_CONFIG", str(config))
    return Settings(home=tmp_path)


@pytest.fixture
def simulator(tmp_path: Path) -> SimulatorProvider:
    inputs = InputFetcher(GuardedHttp(OutboundGuard()), UrlSigner(b"secret"),
                          LocalStorage(tmp_path / "media"))
    return SimulatorProvider(tmp_path / "sim", latency_s=0, render_processes=1, inputs=inputs)


def test_the_readme_example_configures_every_kind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, simulator: SimulatorProvider,
        caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_from(tmp_path, readme_toml(), monkeypatch)
    assert {p.kind for p in settings.providers} == set(Kind)
    assert settings.routing.strategy is Strategy.AUTO
    for variable in ("ARK_API_KEY", "VOLC_ARK_API_KEY", "APIXO_API_KEY", "RUNBASE_API_KEY",
                     "DEFAPI_API_KEY"):
        monkeypatch.setenv(variable, SECRET)
    monkeypatch.delenv("SD15P_API_KEY", raising=False)
    with caplog.at_level(logging.WARNING):
        routes = build_routes(settings.providers, simulator, UpstreamClient())
    assert [r.name for r in routes] == ["ark", "volc", "apixo", "runbase", "defapi",
                                        "simulator"]
    assert "SD15P_API_KEY" in caplog.text and SECRET not in caplog.text
    runbase = next(r.provider for r in routes if r.name == "runbase")
    assert isinstance(runbase, HttpProvider)
    assert runbase.upstream_model("seedance-1-5-pro") == "bytedance/seedance-1.5-pro"
    assert runbase.upstream_model("seedance-2-0") is None  # not in its `models`
    volc = next(r.provider for r in routes if r.name == "volc")
    assert isinstance(volc, HttpProvider)
    assert volc.upstream_model("seedance-1-5-pro") == "doubao-seedance-1-5-pro-251215"


def test_without_providers_the_simulator_serves_everything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, simulator: SimulatorProvider) -> None:
    monkeypatch.delenv("ARK_API_KEY", raising=False)
    routes = build_routes(settings_from(tmp_path, "", monkeypatch).providers, simulator,
                          UpstreamClient())
    assert [(r.name, r.settings.kind) for r in routes] == [("simulator", Kind.SIMULATOR)]


def test_ark_api_key_alone_enables_the_official_provider(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, simulator: SimulatorProvider) -> None:
    monkeypatch.setenv("ARK_API_KEY", SECRET)
    monkeypatch.setenv("ARK_BASE_URL", "http://127.0.0.1:9/api/v3")
    routes = build_routes(settings_from(tmp_path, "", monkeypatch).providers, simulator,
                          UpstreamClient())
    [route] = routes
    assert (route.name, route.settings.kind) == ("ark", Kind.ARK_BYTEPLUS)
    assert route.settings.base_url == "http://127.0.0.1:9/api/v3"
    assert SECRET not in repr(route.settings)  # only the variable's name is kept


def test_the_upstream_key_reaches_the_provider_and_nothing_else(
        make_gateway: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The key is sent as a bearer token to the provider only; a refused key fails the
    task over to refund, without the key in the task, its error or the logs."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        return httpx.Response(401, json={"error": {"code": "AuthenticationError",
                                                   "message": "bad key"}})

    monkeypatch.setenv("TEST_PROVIDER_KEY", SECRET)
    a = make_gateway(providers=[{"name": "ark", "kind": "ark-byteplus",
                                 "api_key_env": "TEST_PROVIDER_KEY",
                                 "base_url": "http://127.0.0.1:9/api/v3"}],
                     routing={"submit_rounds": 1})
    route = a.gateway.router.routes["ark"]
    assert isinstance(route.provider, HttpProvider)
    route.provider._http = UpstreamClient(transport=httpx.MockTransport(handler))
    key = a.new_key(credits=1000)
    with caplog.at_level(logging.DEBUG), a.client(key) as client:
        task_id = client.post("/api/v3/contents/generations/tasks", json={
            "model": "seedance-1-0-pro", "resolution": "480p", "duration": 4,
            "content": [{"type": "text", "text": "a kite"}]}).json()["id"]
        while (task := client.get(f"/api/v3/contents/generations/tasks/{task_id}").json())[
                "status"] in ("queued", "running"):
            time.sleep(0.05)
    assert seen == [f"Bearer {SECRET}"]
    assert task["status"] == "failed" and SECRET not in str(task)
    assert SECRET not in caplog.text
    assert a.balance(key) == 1000
    dump = a.gateway.db.read_sync(lambda conn: str([
        list(conn.exec_driver_sql(f"SELECT * FROM {table}"))
        for table in ("tasks", "upstream_attempts", "ledger", "api_keys")]))
    assert SECRET not in dump


def test_key_strategies_from_the_command_line(
        database: DatabaseTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SEEDGATE_HOME", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database.url)
    if database.schema:
        monkeypatch.setenv("SEEDGATE_DATABASE_SCHEMA", database.schema)
    assert cli.main(["keys", "create", "--name", "cheap", "--strategy", "value",
                     "--quiet"]) == 0
    assert cli.main(["keys", "create", "--name", "plain", "--quiet"]) == 0
    assert cli.main(["keys", "strategy", "plain", "official"]) == 0
    assert cli.main(["keys", "strategy", "cheap", "default"]) == 0
    assert "routes by official" in capsys.readouterr().out
    settings = Settings()
    db = Database(settings.resolved_database_url, schema=settings.database_schema)
    accounts = Accounts(db)
    strategies = {name: db.read_sync(lambda conn, n=name: key_store.strategy_of(
        conn, accounts.find(n).id)) for name in ("cheap", "plain")}
    assert strategies == {"cheap": None, "plain": "official"}
    db.reader.dispose()
    db.writer.dispose()
