"""The web console at `/console`, in a real headless Chromium (Debian's `chromium`, driven
by Playwright) and over plain HTTP for its session and CSRF rules.

The browser test saves a screenshot of every page under `SEEDGATE_SCREENSHOTS` (default
`var/screenshots`) and names the directory in the test summary.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from seedgate.domain.request import GenerationRequest
from seedgate.http.console.views import COOKIE

from .conftest import RunningGateway
from .helpers import png_bytes, wait_for_status

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(os.environ.get("SEEDGATE_SCREENSHOTS", "var/screenshots"))
VIDEO_READY = "() => { const v = document.querySelector('video'); return v && v.readyState >= 2 }"
# Every field labelled, every button named: what people, screen readers and tests rely on.
UNNAMED = """() => [
  ...[...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && !el.labels.length && !el.getAttribute('aria-label'))
    .map((el) => `field ${el.name}`),
  ...[...document.querySelectorAll('button, a.button')]
    .filter((el) => !(el.getAttribute('aria-label') || el.textContent).trim())
    .map((el) => `button ${el.outerHTML}`),
]"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


def shoot(page: Page, name: str) -> None:
    """Save the whole page, once it has checked that every control has a name."""
    assert page.evaluate(UNNAMED) == [], page.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def sign_in(page: Page, token: str) -> None:
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Console")).to_be_visible()


def some_traffic(gateway: RunningGateway) -> None:
    """Another tenant's tasks, one of them failed and refunded: pages with something on."""
    key = gateway.new_key(name="globex", credits=5_000)
    with gateway.client(key) as client:
        for prompt in ("Drone shot over a neon night market", "A red fox in deep snow",
                       "A fox in the snow @sim:content_violation"):
            created = client.post("/api/generate", json={
                "prompt": prompt, "aspect_ratio": "9:16", "duration": "5"})
            assert created.status_code == 200, created.text
        wait_for_status(client, created.json()["data"]["task_id"], {"FAILED"})


@pytest.mark.timeout(600)  # a browser and a render: minutes on a loaded machine
def test_an_operator_signs_in_makes_a_key_grants_credits_and_plays_a_generated_video(
    make_gateway: Callable[..., RunningGateway], page: Page,
    record_property: Callable[[str, Any], None], tmp_path: Path,
) -> None:
    record_property("screenshots", str(SCREENSHOTS.resolve()))
    gateway = make_gateway(simulator_latency=2.0)  # long enough to watch the progress
    some_traffic(gateway)
    token = gateway.gateway.admin.tokens.rotate()
    a_wrong_token_is_refused_then_the_right_one_signs_in(page, gateway.url, token)
    secret = a_key_is_created_and_its_secret_shown(page, gateway)
    credits_are_granted(page, gateway, secret)
    task_id, price = the_playground_generates_and_plays_a_video(page, gateway, tmp_path)
    assert gateway.balance(secret) == 2_000 - price
    the_task_is_found_and_shown(page, task_id, price)
    for name in ("Providers", "Overview"):
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        shoot(page, name.lower())
    expect(page.locator(".stat").nth(3)).to_contain_text("Queue depth")
    page.goto(f"{gateway.url}/console/credits/acme")
    expect(page.get_by_text("Welcome credits")).to_be_visible()
    shoot(page, "ledger")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin token")).to_be_visible()
    page.goto(f"{gateway.url}/console/keys")
    expect(page.get_by_label("Admin token")).to_be_visible()  # signed out for good


def a_wrong_token_is_refused_then_the_right_one_signs_in(page: Page, url: str,
                                                         token: str) -> None:
    page.goto(f"{url}/console")  # signed out: the sign-in page
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    shoot(page, "sign-in")
    page.get_by_label("Admin token").fill(token[:-1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That is not the admin token.")
    assert not page.context.cookies()
    sign_in(page, token)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
        COOKIE, True, "Strict", "/console")


def a_key_is_created_and_its_secret_shown(page: Page, gateway: RunningGateway) -> str:
    page.get_by_role("link", name="Keys").click()
    page.get_by_label("Name").fill("acme")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("API key").input_value()
    assert secret.startswith("sg_")
    shoot(page, "key-created")
    with gateway.client(secret) as client:
        assert client.get("/v1/videos").status_code == 200
    page.get_by_role("link", name="Open acme").click()
    expect(page.get_by_role("heading", name="acme")).to_be_visible()
    shoot(page, "key")
    return secret


def credits_are_granted(page: Page, gateway: RunningGateway, secret: str) -> None:
    page.get_by_role("link", name="Credits", exact=True).click()
    page.get_by_label("Key").select_option("acme")
    page.get_by_label("Amount").fill("2000")
    page.get_by_label("Note").fill("Welcome credits")
    page.get_by_role("button", name="Grant").click()
    expect(page.get_by_role("status")).to_have_text(
        "Granted 2,000 credits to acme; the balance is now 2,000.")
    assert gateway.balance(secret) == 2_000
    shoot(page, "credits")


def the_playground_generates_and_plays_a_video(page: Page, gateway: RunningGateway,
                                               tmp_path: Path) -> tuple[str, int]:
    page.get_by_role("link", name="Playground").click()
    page.get_by_label("Generate as key").select_option("acme")
    page.get_by_label("Model").select_option("seedance-1-5-pro")
    page.get_by_label("Prompt").fill("A lighthouse on a cliff in a storm, waves crashing")
    page.get_by_label("Resolution").select_option("480p")
    page.get_by_label("Duration").select_option("4")
    frame = tmp_path / "first.png"
    frame.write_bytes(png_bytes(864, 496, (30, 90, 160)))
    page.get_by_label("First frame").set_input_files(frame)
    expect(page.get_by_label("Aspect ratio")).to_have_value("adaptive")
    _, price = gateway.gateway.tasks.quote(GenerationRequest(
        model="seedance-1-5-pro", prompt="x", duration=4, resolution="480p",
        generate_audio=False))
    expect(page.locator("#quote")).to_have_text(f"Costs {price} credits")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_label("Progress")).to_be_visible()  # live, until the page shows
    page.wait_for_function(VIDEO_READY, timeout=120_000)  # the outcome
    duration, width, height = page.evaluate(
        "() => { const v = document.querySelector('video'); "
        "return [v.duration, v.videoWidth, v.videoHeight] }")
    assert abs(duration - 4) < 0.1 and (width, height) == (864, 496)
    expect(page.locator(".cost")).to_contain_text(f"Cost: {price} credits")
    shoot(page, "playground")
    found = re.search(r"task=(task_[0-9a-f]+)", page.url)
    assert found is not None
    return found[1], price


def the_task_is_found_and_shown(page: Page, task_id: str, price: int) -> None:
    page.get_by_role("link", name="Tasks", exact=True).click()
    page.get_by_label("Key").select_option("acme")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.tasks tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(task_id)
    page.get_by_label("Key").select_option("")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(4)  # every key's tasks
    shoot(page, "tasks")
    page.get_by_role("link", name=task_id).click()
    page.wait_for_function(VIDEO_READY, timeout=60_000)
    expect(page.get_by_role("heading", name="Upstream attempts")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("simulator")
    expect(page.get_by_text(f"-{price}", exact=True)).to_be_visible()  # the debit
    shoot(page, "task")


def test_the_playground_offers_only_what_a_model_can_do(
    gateway: RunningGateway, page: Page,
) -> None:
    gateway.new_key(name="tester", credits=100)
    page.goto(f"{gateway.url}/console/playground")
    sign_in(page, gateway.gateway.admin.tokens.rotate())  # and back to the playground
    model, resolution = page.get_by_label("Model"), page.get_by_label("Resolution")
    audio, last = page.get_by_label("Generate audio"), page.get_by_label("Last frame")
    model.select_option("seedance-2-0-fast")
    assert resolution.locator("option").all_inner_texts() == ["480p", "720p"]
    expect(audio).to_be_enabled()
    seconds = page.get_by_label("Duration").locator("option").all_inner_texts()
    assert seconds[0] == "4 s" and seconds[-1] == "15 s"
    model.select_option("seedance-1-0-pro-fast")  # no audio, no last frame
    expect(audio).to_be_disabled()
    expect(last).to_be_disabled()
    model.select_option("seedance-1-0-lite-i2v")  # images only: a first frame is required
    assert page.get_by_label("First frame").evaluate("(el) => el.required")
    page.get_by_label("Prompt").fill("A sailing boat")
    page.get_by_role("button", name="Generate").click()  # the browser refuses: no frame
    assert "/playground" in page.url and not page.locator(".result video").count()


# -- sessions and forms, over plain HTTP --------------------------------------------------


def signed_in(gateway: RunningGateway) -> tuple[httpx.Client, str]:
    """A client holding a console session, and the CSRF token of its forms."""
    client = httpx.Client(base_url=gateway.url, timeout=30)
    answer = client.post("/console/sign-in", data={
        "token": gateway.gateway.admin.tokens.rotate(), "next": "/console/keys"})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/keys"
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/console/keys").text)
    assert csrf is not None
    return client, csrf[1]


def test_sign_in_sets_a_strict_http_only_cookie_and_a_wrong_token_is_refused(
    gateway: RunningGateway,
) -> None:
    token = gateway.gateway.admin.tokens.rotate()
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        assert client.get("/console/keys").headers["location"] == \
            "/console/sign-in?next=/console/keys"
        refused = client.post("/console/sign-in", data={"token": "sga_wrong"})
        assert refused.status_code == 401 and "That is not the admin token" in refused.text
        key = gateway.new_key()
        assert client.post("/console/sign-in", data={"token": key}).status_code == 401
        elsewhere = client.post("/console/sign-in", data={
            "token": token, "next": "https://evil.example/"})
        assert elsewhere.headers["location"] == "/console"  # never another site
        cookie = elsewhere.headers["set-cookie"]
        assert all(part in cookie for part in ("HttpOnly", "SameSite=strict", "Path=/console"))
        page = client.get("/console/keys")
        assert page.status_code == 200 and token not in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_forms_without_the_csrf_token_or_from_another_site_change_nothing(
    gateway: RunningGateway,
) -> None:
    client, csrf = signed_in(gateway)
    form = {"name": "sneaky", "credits": "5"}
    for data, headers in (
        (form, {}),
        ({**form, "csrf": "0" * 64}, {}),
        ({**form, "csrf": csrf}, {"origin": "https://evil.example"}),
    ):
        refused = client.post("/console/keys", data=data, headers=headers)
        assert refused.status_code == 403 and "Nothing was changed" in refused.text
    made = client.post("/console/keys", data={**form, "csrf": csrf},
                       headers={"origin": gateway.url})
    assert made.status_code == 200 and "sneaky is ready" in made.text
    assert [key.name for key, _ in gateway.gateway.accounts.balances()] == ["sneaky"]


def test_behind_a_proxy_forms_from_the_public_url_are_accepted(
    make_gateway: Callable[..., RunningGateway],
) -> None:
    gateway = make_gateway(public_url="https://console.example.com")
    client, csrf = signed_in(gateway)
    form = {"csrf": csrf, "name": "proxied"}
    elsewhere = client.post("/console/keys", data=form,
                            headers={"origin": "https://console.example.org"})
    assert elsewhere.status_code == 403
    made = client.post("/console/keys", data=form,
                       headers={"origin": "https://console.example.com"})
    assert made.status_code == 200 and "proxied is ready" in made.text


def test_signing_out_or_rotating_the_token_ends_a_session(gateway: RunningGateway) -> None:
    client, csrf = signed_in(gateway)
    cookie = client.cookies[COOKIE]
    assert client.post("/console/sign-out", data={"csrf": csrf}).status_code == 303
    with httpx.Client(base_url=gateway.url, cookies={COOKIE: cookie}) as stolen:
        assert stolen.get("/console/keys").status_code == 303  # the old cookie is dead
    client, _ = signed_in(gateway)
    assert client.get("/console/keys").status_code == 200
    gateway.gateway.admin.tokens.rotate()
    assert client.get("/console/keys").status_code == 303


def test_console_forms_answer_mistakes_with_their_message(gateway: RunningGateway) -> None:
    client, csrf = signed_in(gateway)
    gateway.new_key(name="tenant", credits=10)
    bad_limit = client.post("/console/keys", data={
        "csrf": csrf, "name": "limited", "rate_limit": "fast"})
    assert bad_limit.status_code == 400 and "`rate_limit` must be a whole number" in \
        bad_limit.text and 'value="limited"' in bad_limit.text  # the form is kept
    withdrawn = client.post("/console/credits", data={
        "csrf": csrf, "key": "tenant", "amount": "50", "direction": "withdraw"},
        follow_redirects=True)
    assert "would leave the balance of 10 below zero" in withdrawn.text
    missing_frame = client.post("/console/playground", data={
        "csrf": csrf, "key": "tenant", "model": "seedance-1-0-lite-i2v",
        "prompt": "A boat", "resolution": "480p", "ratio": "16:9", "seconds": "5"})
    assert missing_frame.status_code == 400 and "give at least one image" in \
        missing_frame.text
    broken = client.post("/console/playground", data={
        "csrf": csrf, "key": "tenant", "model": "seedance-1-5-pro", "prompt": "A boat"},
        files={"first_frame": ("frame.png", b"not an image", "image/png")})
    assert broken.status_code == 400 and "first frame is not a usable image" in broken.text
    assert gateway.balance("tenant") == 10
    quote = client.get("/console/playground/quote", params={
        "model": "seedance-2-0-fast", "resolution": "1080p", "ratio": "16:9", "seconds": "5"})
    assert quote.status_code == 400 and "resolution" in quote.json()["error"]
    assert client.get("/console/tasks/task_" + "0" * 24).status_code == 404
    assert client.get("/console/keys/nobody").status_code == 404
