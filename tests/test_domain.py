"""The pure domain: catalog, request validation, state machine, prices."""

from __future__ import annotations

import pytest

from seedgate.domain.catalog import CATALOG, RATIOS, Mode, closest_ratio
from seedgate.domain.errors import ErrorKind, GatewayError, Rule
from seedgate.domain.pricing import PriceTable
from seedgate.domain.request import GenerationRequest, MediaInput, MediaKind, Role, normalize
from seedgate.domain.task import IllegalTransition, TaskStatus, check_transition

# Nothing here depends on the store, Redis or S3: the SQLite pass alone runs it.
pytestmark = pytest.mark.store_agnostic

IMAGE = "https://example.com/a.png"


def image(role: Role = Role.FIRST_FRAME, kind: MediaKind = MediaKind.IMAGE) -> MediaInput:
    return MediaInput(kind, IMAGE, role)


class TestCatalog:
    def test_every_official_model_with_both_upstream_ids(self) -> None:
        ids = {m.id: (m.byteplus_id, m.volcengine_id) for m in CATALOG.models}
        assert ids == {
            "seedance-1-0-lite-t2v": ("seedance-1-0-lite-t2v-250428",
                                      "doubao-seedance-1-0-lite-t2v-250428"),
            "seedance-1-0-lite-i2v": ("seedance-1-0-lite-i2v-250428",
                                      "doubao-seedance-1-0-lite-i2v-250428"),
            "seedance-1-0-pro": ("seedance-1-0-pro-250528", "doubao-seedance-1-0-pro-250528"),
            "seedance-1-0-pro-fast": ("seedance-1-0-pro-fast-251015",
                                      "doubao-seedance-1-0-pro-fast-251015"),
            "seedance-1-5-pro": ("seedance-1-5-pro-251215", "doubao-seedance-1-5-pro-251215"),
            "seedance-2-0": ("dreamina-seedance-2-0-260128", "doubao-seedance-2-0-260128"),
            "seedance-2-0-fast": ("dreamina-seedance-2-0-fast-260128",
                                  "doubao-seedance-2-0-fast-260128"),
            "seedance-2-0-mini": ("dreamina-seedance-2-0-mini-260615",
                                  "doubao-seedance-2-0-mini-260615"),
            "seedance-2-5": ("dreamina-seedance-2-5-260628", "doubao-seedance-2-5-260628"),
            "seedance-2-5-premium": ("dreamina-seedance-2-5-premium-260915", None),
        }

    @pytest.mark.parametrize(
        ("name", "model_id"),
        [
            ("bytedance/seedance-1.5-pro", "seedance-1-5-pro"),
            ("doubao-seedance-1-5-pro-251215", "seedance-1-5-pro"),
            ("seedance-1-5-pro-251215", "seedance-1-5-pro"),
            ("bytedance/seedance-1-pro", "seedance-1-0-pro"),
            ("bytedance/seedance-1-lite", "seedance-1-0-lite-t2v"),
            ("bytedance/seedance-2", "seedance-2-0"),
            ("seedance-2.0", "seedance-2-0"),
            ("SEEDANCE-2-0-FAST", "seedance-2-0-fast"),
            ("doubao-seedance-2-5-260628", "seedance-2-5"),
            ("dreamina-seedance-2-5-premium-260915", "seedance-2-5-premium"),
            ("seedance-2.0-mini", "seedance-2-0-mini"),
        ],
    )
    def test_dialect_names_resolve(self, name: str, model_id: str) -> None:
        model = CATALOG.get(name)
        assert model is not None and model.id == model_id

    @pytest.mark.parametrize(
        ("model_id", "resolution", "ratio", "size"),
        [
            ("seedance-1-5-pro", "720p", "16:9", (1280, 720)),
            ("seedance-1-5-pro", "480p", "16:9", (864, 496)),
            ("seedance-1-5-pro", "1080p", "21:9", (2206, 946)),
            ("seedance-1-5-pro", "720p", "4:3", (1112, 834)),
            ("seedance-1-0-pro", "1080p", "16:9", (1920, 1088)),
            ("seedance-1-0-pro", "720p", "21:9", (1504, 640)),
            ("seedance-2-0", "480p", "9:16", (496, 864)),
            ("seedance-2-0", "4k", "16:9", (3840, 2160)),
            ("seedance-2-5-premium", "4k", "9:16", (2160, 3840)),
            ("seedance-2-5", "1080p", "1:1", (1440, 1440)),
        ],
    )
    def test_pixel_sizes_match_the_official_tables(
        self, model_id: str, resolution: str, ratio: str, size: tuple[int, int]
    ) -> None:
        assert CATALOG[model_id].pixel_size(resolution, ratio) == size

    def test_every_model_has_a_size_for_every_ratio_of_its_resolutions(self) -> None:
        for model in CATALOG.models:
            for resolution in model.resolutions:
                for ratio in RATIOS:
                    width, height = model.pixel_size(resolution, ratio)
                    assert width % 2 == 0 and height % 2 == 0

    def test_closest_ratio(self) -> None:
        assert closest_ratio(1920, 1080) == "16:9"
        assert closest_ratio(1000, 1000) == "1:1"
        assert closest_ratio(1080, 1920) == "9:16"
        assert closest_ratio(2560, 1080) == "21:9"


class TestValidation:
    def error(self, **fields: object) -> GatewayError:
        with pytest.raises(GatewayError) as caught:
            normalize(GenerationRequest(**fields))  # type: ignore[arg-type]
        return caught.value

    def test_defaults_are_filled_from_the_model(self) -> None:
        request = normalize(GenerationRequest(model="seedance-1-5-pro-251215", prompt="cat"))
        assert (request.model, request.duration, request.resolution, request.ratio) == (
            "seedance-1-5-pro", 5, "720p", "16:9")
        assert request.generate_audio is True
        pro = normalize(GenerationRequest(model="seedance-1-0-pro", prompt="cat"))
        assert pro.resolution == "1080p" and pro.generate_audio is False

    def test_image_modes(self) -> None:
        first = normalize(GenerationRequest(model="seedance-1-5-pro", inputs=(image(),)))
        assert first.ratio == "adaptive"
        both = GenerationRequest(model="seedance-1-5-pro", prompt="x",
                                 inputs=(image(), image(Role.LAST_FRAME)))
        assert normalize(both).ratio == "adaptive"

    @pytest.mark.parametrize(
        ("fields", "param", "kind"),
        [
            ({"model": "sora-2", "prompt": "x"}, "model", ErrorKind.MODEL_NOT_FOUND),
            ({"model": "", "prompt": "x"}, "model", ErrorKind.MISSING_PARAMETER),
            ({"model": "seedance-1-5-pro"}, "prompt", ErrorKind.MISSING_PARAMETER),
            ({"model": "seedance-1-5-pro", "prompt": "x" * 5001}, "prompt", None),
            ({"model": "seedance-1-5-pro", "prompt": "x", "duration": 3}, "duration", None),
            ({"model": "seedance-1-5-pro", "prompt": "x", "duration": 13}, "duration", None),
            ({"model": "seedance-1-0-pro", "prompt": "x", "duration": -1}, "duration", None),
            ({"model": "seedance-2-0-fast", "prompt": "x", "resolution": "1080p"},
             "resolution", None),
            ({"model": "seedance-1-5-pro", "prompt": "x", "ratio": "2:1"}, "ratio", None),
            ({"model": "seedance-1-0-pro", "prompt": "x", "ratio": "adaptive"}, "ratio", None),
            ({"model": "seedance-1-0-pro", "prompt": "x", "generate_audio": True},
             "generate_audio", None),
            ({"model": "seedance-1-5-pro", "prompt": "x", "seed": 2**32}, "seed", None),
            ({"model": "seedance-1-5-pro", "prompt": "x", "execution_expires_after": 60},
             "execution_expires_after", None),
            ({"model": "seedance-1-5-pro", "prompt": "x", "draft": True,
              "resolution": "720p"}, "resolution", None),
            ({"model": "seedance-1-0-pro", "prompt": "x", "draft": True}, "draft", None),
            ({"model": "seedance-1-0-lite-i2v", "prompt": "x"}, "inputs",
             ErrorKind.MISSING_PARAMETER),
            ({"model": "seedance-1-0-lite-t2v", "prompt": "x", "inputs": (image(),)},
             "inputs", None),
            ({"model": "seedance-1-5-pro", "prompt": "x",
              "inputs": (image(Role.REFERENCE_IMAGE),)}, "inputs", None),
            ({"model": "seedance-1-5-pro", "prompt": "x",
              "inputs": (image(), image(Role.FIRST_FRAME))}, "inputs", None),
            ({"model": "seedance-2-0", "prompt": "x",
              "inputs": (image(Role.REFERENCE_AUDIO, MediaKind.AUDIO),)}, "inputs", None),
            ({"model": "seedance-1-5-pro", "prompt": "x",
              "inputs": (MediaInput(MediaKind.IMAGE, "file:///etc/passwd", Role.FIRST_FRAME),)},
             "inputs[0].url", None),
        ],
    )
    def test_errors_name_the_parameter(self, fields: dict[str, object], param: str,
                                       kind: ErrorKind | None) -> None:
        error = self.error(**fields)
        assert error.param == param
        assert error.kind is (kind or ErrorKind.INVALID_PARAMETER)
        assert error.message

    def test_reference_modes(self) -> None:
        refs = tuple(image(Role.REFERENCE_IMAGE) for _ in range(4))
        lite = normalize(GenerationRequest(model="seedance-1-0-lite-i2v", prompt="x",
                                           inputs=refs))
        assert lite.resolution == "720p" and lite.ratio == "16:9"
        with pytest.raises(GatewayError):
            normalize(GenerationRequest(model="seedance-1-0-lite-i2v", prompt="x",
                                        inputs=(*refs, image(Role.REFERENCE_IMAGE))))
        multimodal = (image(Role.REFERENCE_IMAGE),
                      image(Role.REFERENCE_VIDEO, MediaKind.VIDEO),
                      image(Role.REFERENCE_AUDIO, MediaKind.AUDIO))
        assert normalize(GenerationRequest(model="seedance-2-0", prompt="x",
                                           inputs=multimodal)).model == "seedance-2-0"

    def test_modes_per_model(self) -> None:
        assert CATALOG["seedance-1-0-pro-fast"].modes == {Mode.TEXT, Mode.FIRST_FRAME}

    def test_round_trip_through_json(self) -> None:
        request = normalize(GenerationRequest(
            model="seedance-2-0", prompt="x", priority=3, safety_identifier="u1",
            inputs=(image(Role.REFERENCE_IMAGE), image(Role.REFERENCE_VIDEO, MediaKind.VIDEO)),
        ))
        assert GenerationRequest.from_json(request.to_json()) == request


class TestStateMachine:
    @pytest.mark.parametrize(
        ("current", "target"),
        [
            (TaskStatus.QUEUED, TaskStatus.RUNNING),
            (TaskStatus.QUEUED, TaskStatus.CANCELLED),
            (TaskStatus.QUEUED, TaskStatus.EXPIRED),
            (TaskStatus.RUNNING, TaskStatus.SUCCEEDED),
            (TaskStatus.RUNNING, TaskStatus.FAILED),
        ],
    )
    def test_legal(self, current: TaskStatus, target: TaskStatus) -> None:
        check_transition(current, target)

    @pytest.mark.parametrize(
        ("current", "target"),
        [
            (TaskStatus.QUEUED, TaskStatus.SUCCEEDED),
            (TaskStatus.RUNNING, TaskStatus.QUEUED),
            (TaskStatus.SUCCEEDED, TaskStatus.FAILED),
            (TaskStatus.FAILED, TaskStatus.SUCCEEDED),
            (TaskStatus.CANCELLED, TaskStatus.RUNNING),
            (TaskStatus.EXPIRED, TaskStatus.QUEUED),
            (TaskStatus.FAILED, TaskStatus.FAILED),
        ],
    )
    def test_illegal(self, current: TaskStatus, target: TaskStatus) -> None:
        with pytest.raises(IllegalTransition):
            check_transition(current, target)

    def test_terminal_and_refundable(self) -> None:
        assert {s for s in TaskStatus if s.terminal} == {
            TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.EXPIRED}
        assert not TaskStatus.SUCCEEDED.refundable and TaskStatus.EXPIRED.refundable


class TestPrices:
    def quote(self, table: PriceTable, **fields: object) -> int:
        return table.quote(normalize(GenerationRequest(prompt="x", **fields)))  # type: ignore[arg-type]

    def test_seed_table(self) -> None:
        table = PriceTable.with_overrides({})
        seed = {"model": "seedance-1-5-pro", "resolution": "720p"}
        assert self.quote(table, duration=5, generate_audio=False, **seed) == 65
        assert self.quote(table, duration=10, generate_audio=False, **seed) == 130
        assert self.quote(table, duration=5, generate_audio=True, **seed) == 130
        assert self.quote(table, duration=10, generate_audio=True, **seed) == 260

    def test_scales_with_resolution_seconds_and_model(self) -> None:
        table = PriceTable.with_overrides({})
        low = self.quote(table, model="seedance-1-5-pro", resolution="480p", duration=5,
                         generate_audio=False)
        high = self.quote(table, model="seedance-1-5-pro", resolution="1080p", duration=5,
                          generate_audio=False)
        assert low < 65 < high
        auto = self.quote(table, model="seedance-1-5-pro", duration=-1, generate_audio=False)
        assert auto == 13 * 12  # charged at the longest, settled on completion
        assert self.quote(table, model="seedance-2-0", duration=5) > 65

    def test_operator_overrides(self) -> None:
        table = PriceTable.with_overrides(
            {"seedance-1-5-pro": {"720p": 20, "audio_multiplier": 3}})
        assert self.quote(table, model="seedance-1-5-pro", duration=5,
                          generate_audio=True) == 300
        with pytest.raises(ValueError, match="unknown price keys"):
            PriceTable.with_overrides({"seedance-2-0-fast": {"1080p": 5}})
        with pytest.raises(KeyError):
            PriceTable.with_overrides({"sora-2": {"720p": 5}})


class TestTaskTypes:
    """`omni_reference_task_type` (2.5 family): the rules normalize applies once a dialect
    has decoded it."""

    SOURCE = MediaInput(MediaKind.VIDEO, "https://example.com/v.mp4", Role.REFERENCE_VIDEO)

    def refused(self, **fields: object) -> GatewayError:
        with pytest.raises(GatewayError) as caught:
            normalize(GenerationRequest(prompt="x", **fields))  # type: ignore[arg-type]
        return caught.value

    def test_edit_keeps_the_sources_length_and_shape(self) -> None:
        edit = normalize(GenerationRequest(model="seedance-2-5", prompt="x", task_type="edit",
                                           inputs=(self.SOURCE,)))
        assert (edit.duration, edit.ratio, edit.task_type) == (-1, "adaptive", "edit")
        extend = normalize(GenerationRequest(model="seedance-2-5", prompt="x", duration=6,
                                             task_type="extend", inputs=(self.SOURCE,)))
        assert (extend.duration, extend.ratio) == (6, "adaptive")

    @pytest.mark.parametrize(("fields", "param", "rule"), [
        ({"task_type": "edit", "ratio": "16:9"}, "ratio", Rule.TASK_TYPE_CONSTRAINT),
        ({"task_type": "extend", "ratio": "1:1"}, "ratio", Rule.TASK_TYPE_CONSTRAINT),
        ({"task_type": "edit", "duration": 5}, "duration", Rule.TASK_TYPE_CONSTRAINT),
    ])
    def test_edit_and_extend_constraints(self, fields: dict[str, object], param: str,
                                         rule: Rule) -> None:
        error = self.refused(model="seedance-2-5", inputs=(self.SOURCE,), **fields)
        assert (error.param, error.rule) == (param, rule)

    def test_the_source_video_and_the_model_must_fit(self) -> None:
        error = self.refused(model="seedance-2-5-premium", task_type="extend")
        assert (error.param, error.rule) == ("task_type", Rule.TASK_TYPE_MISMATCH)
        error = self.refused(model="seedance-2-0", task_type="edit", inputs=(self.SOURCE,))
        assert error.param == "task_type" and error.rule is None
        assert self.refused(model="seedance-2-5", task_type="remix").param == "task_type"
