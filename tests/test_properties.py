"""Property tests of the dialect codecs and of every dialect's endpoints.

Round trips: a valid canonical request, written in a dialect's wire format by a test-side
encoder, decodes back to itself (in every field the dialect can express), is accepted by
`normalize`, and the sanitized copy kept with the task decodes to the same request again.
Tasks in every state encode with the dialect's own status names, credits and URLs.

Robustness: arbitrary and malformed bodies and query values, over real HTTP to one gateway
for the whole module, never produce a 5xx, always answer errors in the dialect's envelope,
and never lose credits: the key's ledger holds exactly one debit per task the client was
told about, and its balance is the grant minus what those tasks consumed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from seedgate.dialects import apixo, defapi, native, runbase, seedance15pro
from seedgate.domain.catalog import CATALOG
from seedgate.domain.request import GenerationRequest, normalize
from seedgate.domain.task import Task, TaskStatus
from seedgate.http.app import dialect_routes
from seedgate.store import tasks as task_store
from seedgate.store.ledger import entries_of

from . import strategies as s
from .conftest import RunningGateway, ThreadedServer, fresh_database, gateway_settings

PURE = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])
WIRE = settings(PURE, max_examples=250)

Q, R, OK, F, C, E = (TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.SUCCEEDED,
                     TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.EXPIRED)
# Each dialect's documented status words, written out here rather than read from the codecs.
STATUS_WORDS = {
    "seedance15pro": {Q: "IN_PROGRESS", R: "IN_PROGRESS", OK: "SUCCESS", F: "FAILED",
                      C: "FAILED", E: "FAILED"},
    "runbase": {Q: "pending", R: "processing", OK: "succeeded", F: "failed", C: "failed",
                E: "failed"},
    "defapi": {Q: "pending", R: "processing", OK: "success", F: "failed", C: "failed",
               E: "failed"},
    "apixo": {Q: "pending", R: "processing", OK: "success", F: "failed", C: "failed",
              E: "failed"},
    "native": {Q: "queued", R: "in_progress", OK: "completed", F: "failed", C: "cancelled",
               E: "expired"},
}


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- round trips ----------------------------------------------------------------------------


def check_round_trip(decode: Callable[[Any], tuple[GenerationRequest, dict[str, Any]]],
                     request: GenerationRequest, body: Any) -> None:
    wire = json.loads(json.dumps(body))  # exactly what crosses the network
    decoded, kept = decode(wire)
    assert decoded == request
    normalize(decoded)  # what the codec accepts, the domain accepts
    again, kept_again = decode(json.loads(json.dumps(kept)))
    assert (again, kept_again) == (request, kept), "the kept copy must decode the same"


class TestRoundTrips:
    @PURE
    @given(s.seedance_cases())
    def test_seedance15pro(self, case: tuple[GenerationRequest, dict[str, Any]]) -> None:
        check_round_trip(seedance15pro.decode_create, *case)

    @PURE
    @given(s.runbase_cases())
    def test_runbase(self, case: tuple[GenerationRequest, dict[str, Any]]) -> None:
        check_round_trip(runbase.decode_create, *case)

    @PURE
    @given(s.defapi_cases())
    def test_defapi(self, case: tuple[GenerationRequest, dict[str, Any]]) -> None:
        check_round_trip(defapi.decode_create, *case)

    @PURE
    @given(s.apixo_cases())
    def test_apixo(self, case: tuple[str, GenerationRequest, dict[str, Any]]) -> None:
        model, request, body = case
        check_round_trip(lambda wire: apixo.decode_create(apixo.decode_model(model), wire),
                         request, body)

    @PURE
    @given(s.native_cases())
    def test_native_json(self, case: tuple[GenerationRequest, dict[str, Any]]) -> None:
        check_round_trip(native.decode_create, *case)

    @PURE
    @given(s.native_cases(form=True), st.booleans())
    def test_native_form(self, case: tuple[GenerationRequest, dict[str, Any]],
                         flatten: bool) -> None:
        request, body = case
        decoded, _ = native.decode_create(native.form_fields(s.as_form(body, flatten)))
        assert decoded == request
        normalize(decoded)

    @PURE
    @given(s.any_valid_requests())
    def test_runbase_shows_a_foreign_task_as_the_input_it_amounts_to(
        self, request: GenerationRequest
    ) -> None:
        """`input_of` is runbase's encoder for tasks of other dialects: whatever it shows
        for a model runbase documents no schema for decodes back to the same request in
        every field runbase can express."""
        stored = normalize(request)
        model = CATALOG[stored.model]
        if model.id in runbase.SCHEMAS or stored.inputs != s.frames(
                [i.url for i in stored.images]):
            return  # documented schemas restrict values; runbase has only frame inputs
        body = {"model": runbase.runbase_name(model.id), "input": runbase.input_of(stored)}
        decoded, _ = runbase.decode_create(json.loads(json.dumps(body)))
        assert normalize(decoded) == normalize(GenerationRequest(
            model=model.id, prompt=stored.prompt, inputs=stored.inputs,
            duration=stored.duration, ratio=stored.ratio, resolution=stored.resolution,
            generate_audio=stored.generate_audio))


# -- task encodings -------------------------------------------------------------------------


def stored_case(dialect: str, draw: Any) -> tuple[GenerationRequest, dict[str, Any]]:
    """A task's stored request and the client request its dialect kept."""
    if dialect == "seedance15pro":
        request, kept = seedance15pro.decode_create(draw(s.seedance_cases())[1])
    elif dialect == "runbase":
        request, kept = runbase.decode_create(draw(s.runbase_cases())[1])
    elif dialect == "defapi":
        request, kept = defapi.decode_create(draw(s.defapi_cases())[1])
    elif dialect == "apixo":
        model, _, body = draw(s.apixo_cases())
        request, kept = apixo.decode_create(model, body)
    else:
        request, kept = native.decode_create(draw(s.native_cases())[1])
    return normalize(request), kept


@st.composite
def task_cases(draw: Any, dialect: str) -> tuple[Task, list[str]]:
    origin = draw(st.sampled_from([dialect, *STATUS_WORDS]))  # tasks are read across dialects
    request, kept = stored_case(origin, draw)
    return draw(s.tasks(request, kept, origin))


class TestTaskEncodings:
    @PURE
    @given(task_cases("seedance15pro"))
    def test_seedance15pro(self, case: tuple[Task, list[str]]) -> None:
        task, urls = case
        body = seedance15pro.encode_task(task, urls)
        assert (body["code"], body["message"]) == (200, "success")
        data = body["data"]
        assert data["task_id"] == task.id
        assert data["status"] == STATUS_WORDS["seedance15pro"][task.status]
        assert data["consumed_credits"] == task.price - task.refunded
        assert data["response"] == (urls if task.status is OK else [])
        assert data["error_message"] == task.error_message
        assert data["request"] == task.client_request
        assert data["created_at"] == iso(task.created_at)

    @PURE
    @given(task_cases("runbase"))
    def test_runbase(self, case: tuple[Task, list[str]]) -> None:
        task, urls = case
        body = runbase.encode_task(task, urls)
        assert body["id"] == task.id
        assert body["status"] == STATUS_WORDS["runbase"][task.status]
        assert body["cost"] == task.price - task.refunded
        assert body["output"] == ({"urls": urls} if task.status is OK else None)
        assert body["error"] == task.error_message
        assert body["completed_at"] == (iso(task.completed_at) if task.completed_at else None)
        if task.dialect == "runbase":
            assert (body["model"], body["input"]) == (task.client_request["model"],
                                                      task.client_request["input"])
        else:
            assert CATALOG[body["model"]].id in (task.model, *runbase.IMAGE_VARIANTS)
            assert body["input"]["prompt"] == task.request.prompt

    @PURE
    @given(task_cases("defapi"))
    def test_defapi(self, case: tuple[Task, list[str]]) -> None:
        task, urls = case
        body = defapi.encode_task(task, urls)
        assert (body["code"], body["message"]) == (0, "ok")
        data = body["data"]
        assert data["task_id"] == task.id
        assert data["status"] == STATUS_WORDS["defapi"][task.status]
        assert Decimal(data["consumed"]) == task.price - task.refunded
        assert data["result"] == ({"video": urls[0]} if task.status is OK else None)
        assert data["status_reason"] == {"message": task.error_message}
        shown = datetime.strptime(data["created_at"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert int(shown.timestamp() * 1000 + 0.5) == task.created_at

    @PURE
    @given(task_cases("apixo"))
    def test_apixo(self, case: tuple[Task, list[str]]) -> None:
        task, urls = case
        body = apixo.encode_task(task, urls)
        assert (body["code"], body["message"]) == (200, "success")
        data = body["data"]
        assert data["taskId"] == task.id
        assert data["state"] == STATUS_WORDS["apixo"][task.status]
        assert data["createTime"] == task.created_at
        if task.status is OK:
            assert json.loads(data["resultJson"]) == {"resultUrls": urls}
        else:
            assert "resultJson" not in data
        failed = task.status.terminal and task.status is not OK
        assert ("failCode" in data, "failMsg" in data) == (failed, failed)
        if failed:
            assert data["failCode"] == task.error_code
            assert data["failMsg"] == task.error_message
        if task.status.terminal:
            assert data["completeTime"] == task.completed_at
            assert data["costTime"] == data["completeTime"] - task.created_at
        else:
            assert "completeTime" not in data and "costTime" not in data

    @PURE
    @given(task_cases("native"), st.none() | st.integers(0, 1000))
    def test_native(self, case: tuple[Task, list[str]], position: int | None) -> None:
        task, urls = case
        body = native.encode_video(task, queue_position=position, urls=urls, media_ttl=3600)
        done = task.status is OK
        assert (body["id"], body["object"]) == (task.id, "video")
        assert body["status"] == STATUS_WORDS["native"][task.status]
        assert body["usage"]["credits"] == task.price - task.refunded
        assert body["progress"] == (100 if done else task.progress)
        assert body["outputs"]["video_url"] == (urls[0] if done else None)
        assert body["outputs"]["last_frame_url"] == (urls[1] if done and len(urls) > 1
                                                     else None)
        assert (body["expires_at"] is not None) == done
        assert (body["error"] is not None) == (task.error_code is not None)
        if done:
            assert task.outputs is not None
            rendition = task.outputs.rendition
            assert body["size"] == f"{rendition.width}x{rendition.height}"
            assert body["seconds"] == str(rendition.duration)


# -- the gateway under garbage --------------------------------------------------------------

INITIAL_CREDITS = 10**12


def seedance_envelope(status: int, body: Any) -> None:
    assert body.keys() == {"code", "message", "data"}
    assert body["code"] == status and body["data"] is None
    assert isinstance(body["message"], str) and body["message"]


def runbase_envelope(status: int, body: Any) -> None:
    assert body.keys() == {"error"} and body["error"].keys() == {"message", "code"}
    assert all(isinstance(v, str) and v for v in body["error"].values())


def defapi_envelope(status: int, body: Any) -> None:
    assert body.keys() == {"code", "message", "data"}
    assert body["code"] == 1 and body["data"] is None
    assert isinstance(body["message"], str) and body["message"]


def apixo_envelope(status: int, body: Any) -> None:
    assert body.keys() == {"code", "message", "data"} and body["code"] == status
    assert isinstance(body["message"], str) and body["data"].keys() == {"error"}
    assert isinstance(body["data"]["error"], str) and body["data"]["error"]


def openai_envelope(status: int, body: Any) -> None:
    error = body["error"]
    assert body.keys() == {"error"} and error.keys() == {"message", "type", "code", "param"}
    assert all(isinstance(error[k], str) and error[k] for k in ("message", "type", "code"))
    assert error["param"] is None or isinstance(error["param"], str)


def ark_envelope(status: int, body: Any) -> None:
    error = body["error"]
    assert body.keys() == {"error"} and error.keys() == {"code", "message", "param", "type"}
    assert all(isinstance(error[k], str) and error[k] for k in ("code", "message", "type"))
    assert error["param"] is None or isinstance(error["param"], str)


ARK_TASKS = "/api/v3/contents/generations/tasks"


@dataclass(frozen=True)
class Surface:
    """A dialect's create endpoint, where its reply puts the task id, and its envelope."""

    name: str
    path: str
    task_id: Callable[[Any], str]
    envelope: Callable[[int, Any], None]
    valid: st.SearchStrategy[Any]


SURFACES = [
    Surface("seedance15pro", "/api/generate", lambda b: b["data"]["task_id"],
            seedance_envelope, s.seedance_cases().map(lambda c: c[1])),
    Surface("runbase", "/api/v1/runs", lambda b: b["id"], runbase_envelope,
            s.runbase_cases().map(lambda c: c[1])),
    Surface("defapi", "/api/video/seedance/gen", lambda b: b["data"]["task_id"],
            defapi_envelope, s.defapi_cases().map(lambda c: c[1])),
    Surface("apixo", "/api/v1/generateTask/{model}", lambda b: b["data"]["taskId"],
            apixo_envelope, s.apixo_cases().map(lambda c: c[2])),
    Surface("native", "/v1/videos", lambda b: b["id"], openai_envelope,
            s.native_cases().map(lambda c: c[1])),
    Surface("ark", ARK_TASKS, lambda b: b["id"], ark_envelope,
            st.builds(lambda model, prompt: {"model": model, "content": [
                {"type": "text", "text": prompt}]}, s.wire_model_names(), s.prompts(100))),
]
ENVELOPES = {surface.name: surface.envelope for surface in SURFACES}


@dataclass
class Harness:
    gateway: RunningGateway
    secret: str
    key_id: int
    http: httpx.Client
    created: dict[str, str] = field(default_factory=dict)  # task id -> dialect
    surfaces: list[Surface] = field(default_factory=list)
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)  # (dialect, status)

    def send(self, dialect: str, method: str, url: str, *, body: bytes | None = None,
             headers: dict[str, str] | None = None, auth: str | None = "valid") -> Any:
        """One request; asserts what every answer must be and returns the parsed body."""
        sent = {"authorization": f"Bearer {self.secret}"} if auth == "valid" else (
            {} if auth is None else {"authorization": auth.encode("latin-1")})
        reply = self.http.request(method, url, content=body, headers={**sent, **(headers or {})})
        self.answers[dialect, reply.status_code] += 1
        assert reply.status_code < 500, (url, reply.status_code, reply.text[:500])
        parsed = reply.json()
        if reply.status_code >= 400:
            try:
                ENVELOPES[dialect](reply.status_code, parsed)
            except (AssertionError, AttributeError, KeyError, TypeError) as exc:
                raise AssertionError(f"{dialect} {method} {url} answered {reply.status_code} "
                                     f"outside its envelope: {parsed}") from exc
        return reply.status_code, parsed

    def create(self, surface: Surface, body: bytes, *, model: str = "seedance-2-0",
               headers: dict[str, str] | None = None, auth: str | None = "valid") -> None:
        url = surface.path.replace("{model}", quote(model, safe=""))
        status, parsed = self.send(surface.name, "POST", url, body=body, headers=headers,
                                   auth=auth)
        if status < 300:
            task_id = surface.task_id(parsed)
            assert task_id not in self.created
            self.created[task_id] = surface.name

    def check_credits(self) -> None:
        """No credit is lost or made: one debit per task the client was told about, of
        exactly what that task consumed, and nothing else but the initial grant."""
        db = self.gateway.gateway.db
        entries = db.read_sync(lambda conn: entries_of(conn, self.key_id))
        stored = db.read_sync(lambda conn: task_store.list_tasks(
            conn, self.key_id, limit=1_000_000, ascending=True))
        assert entries[0] == ("grant", INITIAL_CREDITS, None)
        debits = {task_id: -amount for kind, amount, task_id in entries[1:]
                  if kind == "debit"}
        assert len(debits) == len(entries) - 1, entries  # no refunds: the worker is off
        assert set(debits) == set(self.created) == {task.id for task in stored}
        consumed = {task.id: task.consumed_credits for task in stored}
        assert debits == consumed
        assert self.gateway.balance(self.secret) == INITIAL_CREDITS - sum(consumed.values())


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One gateway for the module, its worker off so that tasks stay as created."""
    root = tmp_path_factory.mktemp("properties")
    with fresh_database(root) as target:
        settings_ = gateway_settings(root / "home", target)
        with ThreadedServer(settings_, worker=False) as server, httpx.Client(
                base_url=f"http://127.0.0.1:{settings_.port}", timeout=30) as http:
            running = RunningGateway(f"http://127.0.0.1:{settings_.port}", server.gateway,
                                     settings_)
            secret = running.new_key(credits=INITIAL_CREDITS, rate_limit=0)
            key_id = running.gateway.accounts.find(secret).id
            paths = set(dialect_routes(running.gateway))
            surfaces = [x for x in SURFACES if x.path in paths]
            yield Harness(running, secret, key_id, http, surfaces=surfaces)


def surface(harness: Harness, name: str) -> Surface:
    found = [x for x in harness.surfaces if x.name == name]
    if not found:
        pytest.skip(f"the {name} dialect is not mounted")
    return found[0]


AUTH = st.sampled_from(["valid"] * 20 + [None, "Bearer", "Bearer sk-wrong", "Basic Zm9v",
                                        "Bearer " + "x" * 300, "bearer\tsk-\u00e9"])
APIXO_MODELS = st.sampled_from(list(apixo.MODES)) | st.text(min_size=1, max_size=30).filter(
    lambda t: "/" not in t and t not in (".", ".."))
CONTENT_TYPES = st.sampled_from([None, "application/json", "text/plain",
                                 "application/json; charset=latin-1"])


def bodies(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        valid.map(s.encoded),                        # accepted: tasks get created
        s.mutations(valid).map(s.encoded),           # one field wrong, missing or huge
        s.JSON_VALUES.map(s.encoded),                # any JSON at all
        st.from_type(dict).map(lambda v: s.encoded(v) if _jsonable(v) else b"{}"),
        s.BYTES,                                     # not JSON, or not UTF-8
    )


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


DIALECTS = [x.name for x in SURFACES]


@pytest.mark.parametrize("name", DIALECTS)
def test_create_never_fails_and_answers_in_the_dialect(harness: Harness, name: str) -> None:
    target = surface(harness, name)

    @WIRE
    @given(bodies(target.valid), AUTH, CONTENT_TYPES, APIXO_MODELS)
    def run(body: bytes, auth: str | None, content_type: str | None, model: str) -> None:
        headers = {"content-type": content_type} if content_type else {}
        harness.create(target, body, model=model, headers=headers, auth=auth)

    before = len(harness.created)
    run()
    harness.check_credits()
    assert len(harness.created) > before, "some bodies must be accepted"
    assert harness.answers[name, 400] > 0 and harness.answers[name, 401] > 0


WRONG_VALUES = [None, True, 0, -1, 1.5, 2**64, "", "x", " ", [], {}, ["x"], {"x": 1},
                "\u0000", "9" * 5000, "@image" + "9" * 5000, "\U0001f600" * 3000]


@pytest.mark.parametrize("name", DIALECTS)
def test_every_field_with_every_wrong_type(harness: Harness, name: str) -> None:
    """Each field of a valid body, in turn removed or given each wrong value."""
    target = surface(harness, name)

    @settings(WIRE, max_examples=2, phases=[Phase.explicit, Phase.generate])  # no shrinking
    @given(target.valid)
    def run(valid: Any) -> None:
        for path in s.paths_of(valid):
            harness.create(target, s.encoded(s.mutated(valid, path, None, delete=True)))
            for value in WRONG_VALUES:
                harness.create(target, s.encoded(s.mutated(valid, path, value, delete=False)))

    run()
    harness.check_credits()


def test_native_forms_never_fail(harness: Harness) -> None:
    target = surface(harness, "native")
    boundary = "b0undary"

    def multipart(fields: list[tuple[str, bytes]]) -> bytes:
        parts = [b"--" + boundary.encode() + b'\r\ncontent-disposition: form-data; name="'
                 + name.encode("utf-8", "surrogatepass") + b'"\r\n\r\n' + value + b"\r\n"
                 for name, value in fields]
        return b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"

    form_fields = st.lists(st.tuples(
        st.sampled_from(sorted(native.FIELDS)) | st.text(max_size=12)
        | st.sampled_from(["inputs[][url]", "inputs[][type]", "inputs[][role]"]),
        st.binary(max_size=40) | st.text(max_size=40).map(str.encode)), max_size=8)

    @WIRE
    @given(st.one_of(
        form_fields.map(lambda f: ("multipart/form-data; boundary=" + boundary, multipart(f))),
        st.tuples(st.sampled_from(["multipart/form-data", "multipart/form-data; boundary=",
                                   "application/x-www-form-urlencoded"]), s.BYTES),
        s.native_cases(form=True).map(lambda c: (
            "application/x-www-form-urlencoded",
            "&".join(f"{quote(k)}={quote(str(v))}" for k, v in c[1].items()).encode())),
    ))
    def run(case: tuple[str, bytes]) -> None:
        content_type, body = case
        harness.create(target, body, headers={"content-type": content_type})

    run()
    harness.check_credits()


@pytest.mark.parametrize("name", DIALECTS)
def test_huge_bodies_are_refused_in_the_dialect(harness: Harness, name: str) -> None:
    target = surface(harness, name)
    for body in (b'{"prompt": "' + b"a" * (1 << 20) + b'"}', b" " * ((1 << 20) + 10)):
        status, _ = harness.send(name, "POST", target.path.replace("{model}", "seedance-2-0"),
                                 body=body)
        assert status == 400
    harness.check_credits()


QUERY_VALUES = (st.text(max_size=40) | st.sampled_from(["", "%ff", "0", "-1", "9" * 30, "null",
                                                        "asc", "desc", "queued,completed"]))
QUERY_KEYS = st.sampled_from(["task_id", "taskId", "limit", "order", "after", "status", "model",
                              "variant", "page_num", "page_size", "filter.status",
                              "filter.task_ids", "filter.model"]) | st.text(max_size=10)


@st.composite
def status_calls(draw: Any, harness: Harness) -> tuple[str, str, str, bytes | None]:
    """(dialect, method, url, body) of a status read with random ids and query values."""
    known = sorted(harness.created)
    task_id = draw(st.sampled_from(known) | st.text(max_size=40) if known
                   else st.text(max_size=40))
    quoted = quote(task_id, safe="") or "x"
    if quoted in (".", ".."):
        quoted = "x"
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}"
                     for k, v in draw(st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=4)))
    query = query.replace("%25ff", "%ff")  # also bytes that are not UTF-8
    model = quote(draw(APIXO_MODELS), safe="")
    names = [x.name for x in harness.surfaces]
    calls = {
        "seedance15pro": [("GET", f"/api/status?task_id={quote(task_id)}&{query}", None),
                          ("POST", "/api/status", draw(bodies(st.builds(
                              lambda t: {"task_id": t}, st.just(task_id)))))],
        "runbase": [("GET", f"/api/v1/runs/{quoted}?{query}", None)],
        "defapi": [("GET", f"/api/task/query?task_id={quote(task_id)}&{query}", None)],
        "apixo": [("GET", f"/api/v1/statusTask/{model}?taskId={quote(task_id)}&{query}",
                   None)],
        "native": [("GET", f"/v1/videos/{quoted}?{query}", None),
                   ("GET", f"/v1/videos?{query}", None),
                   ("GET", f"/v1/videos/{quoted}/content?{query}", None)],
        "ark": [("GET", f"{ARK_TASKS}/{quoted}?{query}", None),
                ("GET", f"{ARK_TASKS}?{query}", None)],
    }
    name = draw(st.sampled_from(names))
    method, url, body = draw(st.sampled_from(calls[name]))
    return name, method, url, body


def test_status_reads_never_fail_and_answer_in_the_dialect(harness: Harness) -> None:
    for target in harness.surfaces:  # a task of every dialect, read in every dialect
        body = {"seedance15pro": {"prompt": "a lamp", "aspect_ratio": "16:9", "duration": "5"},
                "apixo": {"input": {"prompt": "a lamp", "sound": False}}}.get(
            target.name, {"model": "seedance-1-5-pro", "prompt": "a lamp",
                          "input": {"prompt": "a lamp"},
                          "content": [{"type": "text", "text": "a lamp"}]})
        if target.name in ("runbase", "ark", "defapi"):
            body = {k: v for k, v in body.items()
                    if k in {"runbase": ("model", "input"), "ark": ("model", "content"),
                             "defapi": ("model", "content")}[target.name]}
        elif target.name == "native":
            body = {"model": "seedance-1-5-pro", "prompt": "a lamp"}
        harness.create(target, s.encoded(body), model="seedance-1-5-pro")
    assert len(harness.created) >= len(harness.surfaces)

    @WIRE
    @given(status_calls(harness), AUTH)
    def run(call: tuple[str, str, str, bytes | None], auth: str | None) -> None:
        name, method, url, body = call
        harness.send(name, method, url, body=body, auth=auth)

    run()
    harness.check_credits()


def test_credits_check_can_fail(harness: Harness) -> None:
    """The ledger check notices a task the client was not told about."""
    created = dict(harness.created)
    harness.created["task_imaginary"] = "native"
    try:
        with pytest.raises(AssertionError):
            harness.check_credits()
    finally:
        harness.created.clear()
        harness.created.update(created)
