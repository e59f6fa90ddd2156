"""The outbound URL guard (SSRF). Traffic goes to 127.0.0.1 only: refusals use loopback
addresses left out of the tests' allow-list (127.0.0.2, ::1), literal addresses refused
before any packet, and a stubbed resolver for names that resolve to private ranges."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest

from seedgate.config import Settings
from seedgate.domain.networks import parse_networks
from seedgate.media.inputs import InputError, InputFetcher
from seedgate.media.local import LocalStorage
from seedgate.media.signing import UrlSigner
from seedgate.net.fetch import GuardedHttp, Limits
from seedgate.net.guard import OutboundGuard, Refused, is_public

from .conftest import RunningGateway
from .helpers import wait_for_status
from .receiver import Answer, Receiver

PRIVATE_NAMES = {"cdn.internal.test": ["10.1.2.3"], "metadata.test": ["169.254.169.254"],
                 "rebind.test": ["127.0.0.1", "192.168.0.7"], "hooks.test": ["127.0.0.1"]}


async def stub_resolver(host: str, port: int) -> list[str]:
    """Names of the tests; nothing reaches a real DNS server."""
    if host not in PRIVATE_NAMES:
        raise OSError(f"{host} does not resolve")
    return PRIVATE_NAMES[host]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("2606:4700:4700::1111", True),
    ("127.0.0.1", False), ("127.0.0.2", False), ("::1", False), ("0.0.0.0", False),
    ("10.0.0.1", False), ("172.16.5.4", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("100.100.100.200", False),
    ("fd00::1", False), ("fd00:ec2::254", False), ("fe80::1", False), ("224.0.0.1", False),
    ("::ffff:10.0.0.1", False), ("::ffff:127.0.0.1", False), ("2002:a00:1::", False),
    ("64:ff9b::a9fe:a9fe", False), ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False),
])
def test_public_addresses_only(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_the_allow_list_lifts_the_refusal_for_its_networks_only() -> None:
    guard = OutboundGuard(parse_networks("127.0.0.1/32, 10.8.0.0/16"))
    assert guard.permits(ipaddress.ip_address("127.0.0.1"))
    assert guard.permits(ipaddress.ip_address("10.8.3.4"))
    assert not guard.permits(ipaddress.ip_address("10.9.0.1"))
    assert not guard.permits(ipaddress.ip_address("127.0.0.2"))
    assert not guard.permits(ipaddress.ip_address("::1"))
    for url in ("http://127.0.0.2/x", "http://[::1]:8080/x", "https://169.254.169.254/",
                "http://[::ffff:a00:1]/", "ftp://example.com/x", "http://user:pw@example.com/",
                "http:///nohost", "http://example.com:99999/"):
        with pytest.raises(Refused):
            guard.screen(url)
    guard.screen("https://example.com/a.png")  # names are checked when called
    guard.screen("http://127.0.0.1:9000/a.png")


def test_settings_read_the_allow_list_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SEEDGATE_OUTBOUND_ALLOW", "10.0.0.0/8, fd00::/8")
    settings = Settings(home=tmp_path)
    assert [str(n) for n in settings.outbound_networks()] == ["10.0.0.0/8", "fd00::/8"]
    monkeypatch.setenv("SEEDGATE_OUTBOUND_ALLOW", "10.0.0.0/8,not-a-network")
    with pytest.raises(pydantic.ValidationError, match="not-a-network"):
        Settings(home=tmp_path)


def run_fetch(guard: OutboundGuard, url: str, **limits: Any) -> Any:
    async def fetch() -> Any:
        http = GuardedHttp(guard)
        try:
            return await http.request("GET", url, Limits(**{
                "timeout_s": 5, "max_bytes": 1 << 20, "max_redirects": 3, **limits}))
        finally:
            await http.close()

    return asyncio.run(fetch())


def test_names_are_resolved_checked_and_pinned(receiver: Receiver) -> None:
    guard = OutboundGuard(parse_networks("127.0.0.1/32"), stub_resolver)
    port = receiver.httpd.server_port
    fetched = run_fetch(guard, f"http://hooks.test:{port}/pinned")
    assert fetched.status == 200
    [call] = receiver.at("/pinned")
    assert call.headers["host"] == f"hooks.test:{port}"  # sent to the checked address
    for name in ("cdn.internal.test", "metadata.test", "rebind.test"):
        with pytest.raises(Refused, match="private or reserved"):
            run_fetch(guard, f"http://{name}:{port}/never")
    assert receiver.at("/never") == []


def test_redirects_are_rechecked_bounded_and_sizes_limited(receiver: Receiver) -> None:
    guard = OutboundGuard(parse_networks("127.0.0.1/32"))
    port = receiver.httpd.server_port
    receiver.answer("/hop", Answer(302, {"location": "/landing"}))
    receiver.answer("/landing", Answer(200, body=b"landed"))
    assert run_fetch(guard, receiver.url("/hop")).body == b"landed"
    receiver.answer("/sneaky", Answer(302, {"location": f"http://127.0.0.2:{port}/x"}))
    with pytest.raises(Refused, match=r"127\.0\.0\.2"):
        run_fetch(guard, receiver.url("/sneaky"))
    receiver.answer("/loop", *[Answer(302, {"location": "/loop"})] * 5)
    with pytest.raises(Refused, match="redirects"):
        run_fetch(guard, receiver.url("/loop"))
    receiver.answer("/big", Answer(200, body=b"x" * 5000))
    fetched = run_fetch(guard, receiver.url("/big"), max_bytes=1000, truncate=True)
    assert fetched.truncated and len(fetched.body) == 1000


def test_input_fetcher_refuses_and_reads_its_own_uploads(
    receiver: Receiver, tmp_path: Path
) -> None:
    guard = OutboundGuard(parse_networks("127.0.0.1/32"))
    storage = LocalStorage(tmp_path)
    asyncio.run(storage.put_bytes("inputs/own.png", b"uploaded"))
    signer = UrlSigner(b"s")
    port = receiver.httpd.server_port
    receiver.answer("/img", Answer(302, {"location": f"http://[::1]:{port}/img"}))
    receiver.answer("/huge", Answer(200, body=b"x" * 3000))

    async def scenario() -> list[Any]:
        http = GuardedHttp(guard)
        fetcher = InputFetcher(http, signer, storage, max_bytes=2000)
        outcomes: list[Any] = []
        try:
            # The gateway's own signed link is read from storage, whatever its host.
            outcomes.append(await fetcher.fetch(
                signer.url("http://10.0.0.1", "inputs/own.png", 2**40)))
            for url in (receiver.url("/img"), receiver.url("/huge")):
                try:
                    await fetcher.fetch(url)
                except InputError as exc:
                    outcomes.append(str(exc))
        finally:
            await http.close()
        return outcomes

    own, redirected, huge = asyncio.run(scenario())
    assert own == b"uploaded"
    assert "refused" in redirected and "::1" in redirected
    assert "larger than" in huge


def test_literal_private_urls_are_refused_at_create_in_each_dialect(
    gateway: RunningGateway,
) -> None:
    key = gateway.new_key()
    with gateway.client(key) as client:
        native = client.post("/v1/videos", json={
            "prompt": "x", "input_reference": {"image_url": "http://127.0.0.2:8080/a.png"}})
        assert native.status_code == 400
        assert native.json()["error"]["param"] == "inputs[0].url"
        hook = client.post("/v1/videos", json={"prompt": "x",
                                               "webhook": {"url": "http://[::1]:9/h"}})
        assert hook.status_code == 400 and hook.json()["error"]["param"] == "webhook.url"
        ark = client.post("/api/v3/contents/generations/tasks", json={
            "model": "seedance-1-5-pro-251215", "content": [
                {"type": "text", "text": "x"},
                {"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest"}}]})
        assert ark.status_code == 400
        assert ark.json()["error"]["param"] == "content[1].image_url.url"
        callback = client.post("/api/video/seedance/gen", json={
            "content": [{"type": "text", "text": "x"}], "callback_url": "http://10.0.0.1/cb"})
        assert callback.status_code == 400 and callback.json()["code"] == 1
        assert "private or reserved" in callback.json()["message"]
        seed = client.post("/api/generate", json={
            "prompt": "x", "duration": "5", "image_urls": ["http://192.168.1.1/a.png"]})
        assert seed.status_code == 400 and "192.168.1.1" in seed.json()["message"]
    assert gateway.balance(key) == 10_000


def test_a_name_resolving_to_a_private_address_fails_the_task_with_a_refund(
    gateway: RunningGateway, receiver: Receiver,
) -> None:
    gateway.gateway.guard.resolver = stub_resolver
    key = gateway.new_key()
    port = receiver.httpd.server_port
    receiver.answer("/redirect.png", Answer(302, {"location": f"http://127.0.0.2:{port}/a"}))
    with gateway.client(key) as client:
        for url, reason in (("http://cdn.internal.test/a.png", "10.1.2.3"),
                            (receiver.url("/redirect.png"), "127.0.0.2")):
            created = client.post("/api/generate", json={"prompt": "x", "duration": "5",
                                                          "image_urls": [url]})
            assert created.status_code == 200, created.text
            failed = wait_for_status(client, created.json()["data"]["task_id"],
                                     {"FAILED", "SUCCESS"})
            assert failed["status"] == "FAILED" and reason in failed["error_message"]
            assert failed["consumed_credits"] == 0
        video_id = client.post("/v1/videos", json={
            "prompt": "a fox @sim:content_violation", "webhook": {"url": "http://metadata.test/hook"}}).json()["id"]
        log = wait_for_log(client, video_id)
    assert log["status"] == "failed" and log["attempts"] == 1  # given up at once
    assert "169.254.169.254" in log["last_error"]
    assert gateway.balance(key) == 10_000


def wait_for_log(client: httpx.Client, video_id: str) -> Any:
    deadline = time.monotonic() + 60
    while True:
        log = client.get(f"/v1/videos/{video_id}/webhooks").json()["data"]
        if log and log[0]["status"] != "pending":
            return log[0]
        assert time.monotonic() < deadline, log
        time.sleep(0.05)


def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A certificate for `name` and its key, as PEM files."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_https_goes_to_the_checked_address_and_verifies_the_name(tmp_path: Path) -> None:
    """The connection is pinned to the address the guard checked (127.0.0.1) while TLS
    sends the name as SNI and verifies the certificate against it, not against the IP."""
    cert_file, key_file = self_signed(tmp_path, "hooks.test")
    with Receiver() as receiver:
        server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_side.load_cert_chain(cert_file, key_file)
        receiver.httpd.socket = server_side.wrap_socket(receiver.httpd.socket, server_side=True)
        trusting = ssl.create_default_context(cafile=str(cert_file))
        port = receiver.httpd.server_port
        guard = OutboundGuard(parse_networks("127.0.0.1/32"), stub_resolver)

        async def fetch(url: str) -> Any:
            http = GuardedHttp(guard, verify=trusting)
            try:
                return await http.request("GET", url, Limits(timeout_s=5, max_bytes=1000))
            finally:
                await http.close()

        assert asyncio.run(fetch(f"https://hooks.test:{port}/tls")).status == 200
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED"):
            asyncio.run(fetch(f"https://127.0.0.1:{port}/tls"))  # the IP is not the name
    assert [call.headers["host"] for call in receiver.at("/tls")] == [f"hooks.test:{port}"]
