"""Edit, extend, remix, drafts and finals of Seedance 2.5, end to end: the openai SDK's
`videos.remix`, the Ark SDK's `omni_reference_task_type` and `draft_task`, the simulator's
renditions (decoded with PyAV) and the source video's trip to a remote provider."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from volcenginesdkarkruntime import Ark
from volcenginesdkarkruntime._exceptions import ArkBadRequestError

from seedgate.domain.catalog import CATALOG, TaskType
from seedgate.domain.errors import GatewayError, Rule
from seedgate.domain.pricing import tokens_of
from seedgate.domain.request import GenerationRequest, MediaInput, MediaKind, Role, normalize
from seedgate.domain.task import Outputs, Rendition, Task, TaskStatus
from seedgate.media.probe import MediaInfo, probe_video
from seedgate.media.render import RenderSpec, render_clip
from seedgate.service.drafts import final_of
from seedgate.store.tasks import get_task

from .conftest import KEY_ENV, DatabaseTarget, RunningGateway, free_port
from .helpers import MediaServer, png_bytes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Sora's sunset notice

V25, PREMIUM = "dreamina-seedance-2-5-260628", "dreamina-seedance-2-5-premium-260915"
TASKS = "/api/v3/contents/generations/tasks"
SLOW = "@sim:delay=60"


def clip(tmp_path: Path, width: int, height: int, seconds: int) -> bytes:
    """A source video, rendered like the simulator's own."""
    path = tmp_path / f"source-{width}x{height}-{seconds}.mp4"
    render_clip(RenderSpec("the source", width, height, seconds), path)
    return path.read_bytes()


def ark_sdk(gateway: RunningGateway, key: str) -> Any:
    return Ark(base_url=f"{gateway.url}/api/v3", api_key=key, max_retries=0).content_generation


def stored(gateway: RunningGateway, task_id: str) -> Task:
    return gateway.gateway.db.read_sync(  # type: ignore[no-any-return]
        lambda conn: get_task(conn, task_id))


def finished(client: Any, task_id: str) -> Any:
    """Poll an Ark task until it has ended (generous: the machine may be busy)."""
    deadline = time.monotonic() + 120
    while (task := client.tasks.get(task_id=task_id)).status in ("queued", "running"):
        assert time.monotonic() < deadline, f"{task_id} stuck in {task.status}"
        time.sleep(0.1)
    return task


def downloaded(url: str, target: Path) -> MediaInfo:
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200, response.text
    target.write_bytes(response.content)
    return probe_video(target)


def source_item(url: str) -> dict[str, Any]:
    return {"type": "video_url", "video_url": {"url": url}, "role": "reference_video"}


def edit_content(prompt: str, url: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": prompt}, source_item(url)]


# -- remix: the openai SDK -----------------------------------------------------------------


def test_remix_with_the_openai_sdk_keeps_the_sources_length_and_shape(
        gateway: RunningGateway, tmp_path: Path) -> None:
    key = gateway.new_key()
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    source = client.videos.create_and_poll(
        prompt="A lighthouse at dusk", model="seedance-1-5-pro", seconds="4", size="864x496",
        extra_body={"generate_audio": False}, poll_interval_ms=100)
    assert source.status == "completed"

    remix = client.videos.remix(source.id, prompt="The same lighthouse in a snowstorm")
    assert remix.id != source.id and remix.remixed_from_video_id == source.id
    assert remix.model == "seedance-2-5" and remix.prompt.endswith("snowstorm")
    task = stored(gateway, remix.id)
    assert task.request.task_type == TaskType.EDIT
    (item,) = task.request.inputs
    assert item.kind is MediaKind.VIDEO
    assert item.url.startswith(f"{gateway.url}/media/videos/{source.id}.mp4?")  # its own copy

    done = client.videos.poll(remix.id, poll_interval_ms=100)
    assert done.status == "completed" and done.remixed_from_video_id == source.id
    target = tmp_path / "remix.mp4"
    client.videos.download_content(remix.id).write_to_file(target)
    original = tmp_path / "source.mp4"
    client.videos.download_content(source.id).write_to_file(original)
    got, had = probe_video(target), probe_video(original)
    assert (got.container, got.width, got.height) == ("mp4", had.width, had.height)
    assert got.frame_count == had.frame_count == 4 * 24
    assert (done.size, done.seconds) == ("864x496", "4")
    assert client.videos.retrieve(remix.id).remixed_from_video_id == source.id

    # Priced as a 2.5 edit: the input holds a video, whose 4 s count as tokens too.
    tokens = tokens_of(864, 496, 4 + 4)
    price = gateway.settings.price_table().credits(
        CATALOG["seedance-2-5"], "480p", tokens, video=True, audio=True, size=(864, 496))
    with httpx.Client(base_url=gateway.url, headers={"authorization": f"Bearer {key}"}) as raw:
        usage = raw.get(f"/v1/videos/{remix.id}").json()["usage"]
    assert usage == {"credits": price, "completion_tokens": tokens}
    assert stored(gateway, remix.id).price > price  # debited for the longest source first
    assert gateway.balance(key) == 10_000 - stored(gateway, source.id).price - price


def test_remix_refuses_unknown_unfinished_and_other_keys_videos(
        gateway: RunningGateway) -> None:
    key = gateway.new_key()
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.NotFoundError) as unknown:
        client.videos.remix("task_" + "0" * 24, prompt="x")
    assert unknown.value.body["param"] == "video_id"  # type: ignore[index]
    slow = client.videos.create(prompt=f"A slow one {SLOW}", model="seedance-1-5-pro",
                                seconds="4", size="864x496")
    with pytest.raises(openai.ConflictError) as unfinished:
        client.videos.remix(slow.id, prompt="x")
    assert "not ready" in unfinished.value.message
    stranger = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=gateway.new_key(),
                             max_retries=0)
    with pytest.raises(openai.NotFoundError):
        stranger.videos.remix(slow.id, prompt="x")
    with httpx.Client(base_url=gateway.url, headers={"authorization": f"Bearer {key}"}) as raw:
        refused = raw.post(f"/v1/videos/{slow.id}/remix", json={"prompt": "x", "size": "1"})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "size"
    short = client.videos.create_and_poll(  # 2 s: too short to be an edit's source
        prompt="A blink", model="seedance-1-0-pro", seconds="2", size="864x480",
        poll_interval_ms=100)
    with pytest.raises(openai.BadRequestError) as too_short:
        client.videos.remix(short.id, prompt="x")
    assert too_short.value.body["param"] == "video_id"  # type: ignore[index]
    spent = stored(gateway, slow.id).price + stored(gateway, short.id).price
    assert gateway.balance(key) == 10_000 - spent  # nothing else was debited


# -- Ark: edit, extend and MOV ------------------------------------------------------------------


def test_ark_edit_keeps_the_source_and_extend_renders_only_the_new_segment(
        gateway: RunningGateway, media_server: MediaServer, tmp_path: Path) -> None:
    wide = media_server.add("/wide.mp4", clip(tmp_path, 864, 496, 4), "video/mp4")
    square = media_server.add("/square.mp4", clip(tmp_path, 640, 640, 4), "video/mp4")
    client = ark_sdk(gateway, gateway.new_key())

    edit = client.tasks.create(model=V25, content=edit_content("Make it night", wide),
                               omni_reference_task_type="edit", ratio="adaptive",
                               duration=-1, resolution="480p", generate_audio=False)
    staged = stored(gateway, edit.id).request.inputs[0].url
    assert staged.startswith(f"{gateway.url}/media/inputs/") and ".mp4?" in staged
    done = finished(client, edit.id)
    assert done.status == "succeeded", done.error
    assert (done.duration, done.ratio, done.omni_reference_task_type) == (4, "16:9", "edit")
    info = downloaded(done.content.video_url, tmp_path / "edit.mp4")
    assert (info.width, info.height, info.frame_count) == (864, 496, 4 * 24)

    extend = client.tasks.create(model=V25, content=edit_content("Keep walking", square),
                                 omni_reference_task_type="extend", ratio="adaptive",
                                 duration=5, resolution="480p", generate_audio=True,
                                 output_format="mov")
    done = finished(client, extend.id)
    assert done.status == "succeeded", done.error
    assert (done.duration, done.ratio, done.output_format) == (5, "1:1", "mov")
    assert ".mov?" in done.content.video_url
    info = downloaded(done.content.video_url, tmp_path / "extend.mov")
    assert (info.container, info.width, info.height) == ("mov", 640, 640)
    assert info.frame_count == 5 * 24 and info.audio_codec == "aac"
    assert httpx.head(done.content.video_url).headers["content-type"] == "video/quicktime"


def test_ark_edit_refuses_unusable_sources(
        gateway: RunningGateway, media_server: MediaServer, tmp_path: Path) -> None:
    short = media_server.add("/short.mp4", clip(tmp_path, 864, 496, 2), "video/mp4")
    image = media_server.add("/image.mp4", png_bytes(), "video/mp4")
    key = gateway.new_key()
    client = ark_sdk(gateway, key)
    for url, message in ((short, "at least 4 s"), (image, "not a playable video"),
                         (f"{media_server.url}/missing.mp4", "HTTP 404")):
        with pytest.raises(ArkBadRequestError) as refused:
            client.tasks.create(model=V25, content=edit_content("x", url),
                                omni_reference_task_type="edit", ratio="adaptive",
                                duration=-1)
        error = refused.value.body
        assert (error["code"], error["param"]) == ("InvalidParameter",
                                                  "content[1].video_url.url"), error
        assert message in error["message"]
    with pytest.raises(ArkBadRequestError) as refused:
        client.tasks.create(model=V25, content=edit_content("x", short),
                            omni_reference_task_type="remake")
    assert refused.value.body["param"] == "omni_reference_task_type"
    assert gateway.balance(key) == 10_000


# -- Ark: drafts and their finals ---------------------------------------------------------------


def test_drafts_render_at_480p_and_their_finals_at_the_models_final_resolution(
        gateway: RunningGateway, tmp_path: Path) -> None:
    key = gateway.new_key(credits=1_000_000)
    client = ark_sdk(gateway, key)
    content = [{"type": "text", "text": "A kite over dunes"}]
    draft = finished(client, client.tasks.create(
        model=V25, content=content, draft=True, duration=4, ratio="16:9",
        generate_audio=False).id)
    assert (draft.status, draft.resolution, draft.draft) == ("succeeded", "480p", True)
    info = downloaded(draft.content.video_url, tmp_path / "draft.mp4")
    assert (info.width, info.height, info.frame_count) == (864, 496, 4 * 24)

    final_item = [{"type": "draft_task", "draft_task": {"id": draft.id}}]
    final = finished(client, client.tasks.create(model=V25, content=final_item).id)
    assert (final.status, final.resolution, final.draft) == ("succeeded", "1080p", False)
    assert (final.draft_task_id, final.seed, final.duration) == (draft.id, draft.seed, 4)
    info = downloaded(final.content.video_url, tmp_path / "final.mp4")
    assert (info.width, info.height, info.frame_count) == (1920, 1080, 4 * 24)

    with pytest.raises(ArkBadRequestError) as refused:  # not the model's final resolution
        client.tasks.create(model=V25, content=final_item, resolution="720p")
    assert refused.value.body["code"] == "InvalidResolutionParameter"
    assert refused.value.body["param"] == "resolution"
    stranger = ark_sdk(gateway, gateway.new_key())
    with pytest.raises(ArkBadRequestError) as refused:  # another key's draft
        stranger.tasks.create(model=V25, content=final_item)
    assert refused.value.body["param"] == "content[0].draft_task.id"
    slow = client.tasks.create(model=V25, content=[{"type": "text", "text": SLOW}],
                               draft=True, duration=4)
    for not_a_done_draft in (slow.id, final.id):
        with pytest.raises(ArkBadRequestError) as refused:
            client.tasks.create(model=V25, content=[
                {"type": "draft_task", "draft_task": {"id": not_a_done_draft}}])
        assert refused.value.body["param"] == "content[0].draft_task.id"
        assert "not a succeeded draft" in refused.value.body["message"]


def test_a_premium_draft_is_finalised_in_4k(make_gateway: Any, tmp_path: Path) -> None:
    gateway = make_gateway(models={"enabled": ["seedance-2-5-premium"]})  # allow-listed
    client = ark_sdk(gateway, gateway.new_key(credits=1_000_000))
    draft = finished(client, client.tasks.create(
        model=PREMIUM, content=[{"type": "text", "text": "Glaciers"}], draft=True,
        duration=4, ratio="16:9", generate_audio=False).id)
    assert (draft.status, draft.resolution) == ("succeeded", "480p")
    final = finished(client, client.tasks.create(
        model=PREMIUM, content=[{"type": "draft_task", "draft_task": {"id": draft.id}}]).id)
    assert (final.status, final.resolution) == ("succeeded", "4k")
    info = downloaded(final.content.video_url, tmp_path / "final4k.mp4")
    assert (info.width, info.height, info.frame_count) == (3840, 2160, 4 * 24)


# -- a remote provider gets the gateway's own copy ----------------------------------------------


@pytest.fixture
def emulator(upstream_database: DatabaseTarget, make_gateway: Any, namespace: str,
             monkeypatch: pytest.MonkeyPatch) -> RunningGateway:
    """B, the Ark emulator (as conftest's `upstream`), signing with a secret of its own:
    A's links are not B's media, as with a real provider."""
    b = make_gateway(database_url=upstream_database.url,
                     database_schema=upstream_database.schema,
                     redis_prefix=f"{namespace}-upstream", secret="b" * 32)
    monkeypatch.setenv(KEY_ENV, b.new_key(credits=1_000_000))
    return b  # type: ignore[no-any-return]


def test_a_remote_provider_gets_the_source_as_the_gateways_own_signed_copy(
        make_gateway: Any, emulator: RunningGateway, media_server: MediaServer,
        tmp_path: Path) -> None:
    b = emulator
    port = free_port()
    a = make_gateway(port=port, providers=[{
        "name": "b", "kind": "ark-byteplus", "base_url": f"{b.url}/api/v3",
        "api_key_env": KEY_ENV}],
        routing={"expected_generation": 0.3, "poll_min": 0.05, "poll_max": 0.3})
    wide = media_server.add("/wide.mp4", clip(tmp_path, 864, 496, 4), "video/mp4")
    key = a.new_key(credits=1_000_000)
    client = ark_sdk(a, key)
    edit = finished(client, client.tasks.create(
        model=V25, content=edit_content("Make it night", wide),
        omni_reference_task_type="edit", ratio="adaptive", duration=-1,
        resolution="480p", generate_audio=False, output_format="mov").id)
    assert edit.status == "succeeded", edit.error
    assert edit.content.video_url.startswith(f"{a.url}/media/videos/{edit.id}.mov?")
    info = downloaded(edit.content.video_url, tmp_path / "edit.mov")  # mirrored from B
    assert (info.container, info.width, info.height) == ("mov", 864, 496)
    assert info.frame_count == 4 * 24
    staged = stored(a, edit.id)
    assert staged.request.inputs[0].url.startswith(f"{a.url}/media/inputs/")
    upstream = stored(b, str(staged.upstream_id))
    assert upstream.client_request["omni_reference_task_type"] == "edit"
    assert upstream.client_request["content"][1]["video_url"]["url"] == (
        staged.request.inputs[0].url)  # A's signed copy, not the client's URL

    videos = openai.OpenAI(base_url=f"{a.url}/v1", api_key=key, max_retries=0).videos
    remix = videos.poll(videos.remix(edit.id, prompt="Now at dawn").id,
                        poll_interval_ms=100)
    assert remix.status == "completed" and remix.remixed_from_video_id == edit.id
    upstream = stored(b, str(stored(a, remix.id).upstream_id))
    sent = upstream.client_request["content"][1]["video_url"]["url"]
    assert sent.startswith(f"{a.url}/media/videos/{edit.id}.mov?") and "sig=" in sent
    assert (remix.size, remix.seconds) == ("864x496", "4")


def test_native_drafts_finals_and_edits(gateway: RunningGateway, media_server: MediaServer,
                                        tmp_path: Path) -> None:
    tall = media_server.add("/tall.mp4", clip(tmp_path, 496, 864, 4), "video/mp4")
    key = gateway.new_key(credits=1_000_000)
    videos = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0).videos
    with httpx.Client(base_url=gateway.url, headers={"authorization": f"Bearer {key}"},
                      timeout=30) as client:
        def created(body: dict[str, Any]) -> Any:
            response = client.post("/v1/videos", json=body)
            assert response.status_code == 200, response.text
            return videos.poll(response.json()["id"], poll_interval_ms=100)

        draft = created({"model": "seedance-2-5", "prompt": "Paper boats", "draft": True,
                         "seconds": 4, "ratio": "16:9", "generate_audio": False})
        assert (draft.status, draft.size, draft.seconds) == ("completed", "864x496", "4")
        final = created({"model": "seedance-2-5", "draft_task_id": draft.id})
        assert (final.status, final.size, final.seconds) == ("completed", "1920x1080", "4")
        assert final.prompt == "Paper boats"
        edit = created({"model": "seedance-2-5", "prompt": "Rain", "task_type": "edit",
                        "resolution": "480p", "generate_audio": False,
                        "inputs": [{"type": "video", "url": tall}]})
        assert (edit.status, edit.size, edit.seconds) == ("completed", "496x864", "4")
        refused = client.post("/v1/videos", json={"draft_task_id": "task_" + "1" * 24})
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "draft_task_id"


def test_final_of_a_draft_window_edit_and_resolution() -> None:
    edit = normalize(GenerationRequest(
        model="seedance-2-5", prompt="p", task_type="edit", draft=True,
        inputs=(MediaInput(MediaKind.VIDEO, "https://gw/x.mp4", Role.REFERENCE_VIDEO),)))
    day = 86_400_000
    draft = Task(id="task_" + "2" * 24, key_id=1, dialect="ark", request=edit,
                 client_request={}, status=TaskStatus.SUCCEEDED, price=1, refunded=0,
                 created_at=0, updated_at=day, deadline_at=2 * day, completed_at=day,
                 outputs=Outputs("videos/x.mp4", Rendition(864, 496, 6, "16:9", 42, True)))
    final = final_of(GenerationRequest(model="ignored"), draft, "id", now=8 * day)
    assert (final.model, final.resolution, final.draft, final.seed) == (
        "seedance-2-5", "1080p", False, 42)
    # An edit's final keeps its source's length and shape: -1 and adaptive, as the draft.
    assert (final.task_type, final.duration, final.ratio) == ("edit", -1, "adaptive")
    assert final.inputs == edit.inputs
    normalize(final)  # a valid 2.5 edit
    with pytest.raises(GatewayError, match="7 days") as late:
        final_of(GenerationRequest(model="x"), draft, "id", now=8 * day + 1)
    assert late.value.param == "id"
    with pytest.raises(GatewayError) as wrong:
        final_of(GenerationRequest(model="x", resolution="720p"), draft, "id", now=day)
    assert (wrong.value.param, wrong.value.rule) == ("resolution", Rule.DRAFT_RESOLUTION)
