"""The simulator's MP4 renderer, reference-image validation and video probing."""

import io
import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from seedgate.media.images import MAX_IMAGE_BYTES, UnsupportedImage, load_image
from seedgate.media.probe import InvalidMedia, MediaInfo, probe_bytes, probe_video
from seedgate.media.render import RenderSpec, render_clip

# Nothing here depends on the store, Redis or S3: the SQLite pass alone runs it.
pytestmark = pytest.mark.store_agnostic

PROMPT = "A red fox trots across fresh snow at dawn, low tracking shot"
ORANGE = (225, 95, 30)
BLUE = (30, 80, 210)
GREEN = (40, 170, 70)


def encoded(img: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims width x height (a decompression bomb's shape)."""
    data = bytearray(encoded(Image.new("RGB", (8, 8), BLUE), "PNG"))
    data[16:24] = struct.pack(">II", width, height)  # IHDR width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def two_tone(left: tuple[int, int, int], right: tuple[int, int, int]) -> Image.Image:
    """A 1200x800 image, left half one colour and right half the other."""
    img = Image.new("RGB", (1200, 800), left)
    img.paste(right, (600, 0, 1200, 800))
    return img


def decoded_frames(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """First and last decoded frames as RGB arrays."""
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return frames[0], frames[-1]


def patch_median(rgb: np.ndarray, x0: float, x1: float) -> np.ndarray:
    """Median colour of a horizontal band clear of the clock, caption panel and bar.

    The median ignores the small moving dot should it pass through.
    """
    h, w = rgb.shape[:2]
    band = rgb[int(h * 0.25) : int(h * 0.5), int(w * x0) : int(w * x1)]
    return np.median(band.reshape(-1, 3), axis=0)


def assert_video(info: MediaInfo, *, size: tuple[int, int], seconds: int, audio: bool) -> None:
    assert info.container == "mp4"
    assert info.video_codec == "h264"
    assert info.pix_fmt == "yuv420p"
    assert (info.width, info.height) == size
    assert info.fps == 24
    assert info.frame_count == seconds * 24
    assert info.duration_s == pytest.approx(seconds, abs=1e-3)
    if audio:
        assert info.audio_codec == "aac"
        assert info.audio_duration_s == pytest.approx(seconds, abs=0.1)
    else:
        assert info.audio_codec is None
        assert info.audio_duration_s is None


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three clips rendered once: text-only, one PNG image, JPEG + WebP images."""
    out = tmp_path_factory.mktemp("clips")
    progress: list[float] = []
    render_clip(
        RenderSpec(PROMPT, 864, 496, 4, audio=True, seed=7),
        out / "text.mp4",
        last_frame_path=out / "text-last.png",
        progress=progress.append,
    )
    (out / "progress.txt").write_text(" ".join(map(str, progress)))
    render_clip(
        RenderSpec(PROMPT, 640, 640, 4, images=(encoded(two_tone(ORANGE, BLUE), "PNG"),)),
        out / "image.mp4",
    )
    first = encoded(two_tone(ORANGE, BLUE), "JPEG")
    last = encoded(Image.new("RGB", (900, 900), GREEN), "WEBP")
    render_clip(
        RenderSpec(PROMPT, 864, 496, 5, audio=True, images=(first, last), seed=3),
        out / "two.mp4",
        last_frame_path=out / "two-last.png",
    )
    return {path.stem: path for path in out.iterdir()}


def test_text_clip_is_exact_h264_with_aac(clips: dict[str, Path]) -> None:
    assert_video(probe_video(clips["text"]), size=(864, 496), seconds=4, audio=True)


def test_image_clip_has_no_audio_stream(clips: dict[str, Path]) -> None:
    assert_video(probe_video(clips["image"]), size=(640, 640), seconds=4, audio=False)
    with av.open(str(clips["image"])) as container:
        assert not container.streams.audio


def test_two_image_clip(clips: dict[str, Path]) -> None:
    assert_video(probe_video(clips["two"]), size=(864, 496), seconds=5, audio=True)


def test_first_frame_of_image_clip_shows_the_image(clips: dict[str, Path]) -> None:
    for name in ("image", "two"):
        first, _ = decoded_frames(clips[name])
        assert patch_median(first, 0.1, 0.35) == pytest.approx(ORANGE, abs=14), name
        assert patch_median(first, 0.65, 0.9) == pytest.approx(BLUE, abs=14), name


def test_two_image_clip_ends_on_the_second_image(clips: dict[str, Path]) -> None:
    _, last = decoded_frames(clips["two"])
    assert patch_median(last, 0.1, 0.9) == pytest.approx(GREEN, abs=14)


def test_text_and_image_clips_differ(clips: dict[str, Path]) -> None:
    text, _ = decoded_frames(clips["text"])
    image, _ = decoded_frames(clips["two"])
    assert np.abs(text.astype(int) - image.astype(int)).mean() > 30


def test_frames_move(clips: dict[str, Path]) -> None:
    first, last = decoded_frames(clips["text"])
    assert np.abs(first.astype(int) - last.astype(int)).mean() > 2


def test_last_frame_png_matches_the_video(clips: dict[str, Path]) -> None:
    for name in ("text", "two"):
        png = Image.open(clips[f"{name}-last"])
        assert png.format == "PNG"
        assert png.size == (864, 496)
        _, last = decoded_frames(clips[name])
        assert np.abs(np.asarray(png.convert("RGB"), int) - last).mean() < 4


def test_progress_is_reported_in_steps_up_to_one(clips: dict[str, Path]) -> None:
    steps = [float(x) for x in clips["progress"].read_text().split()]
    assert 8 <= len(steps) <= 12
    assert steps == sorted(set(steps))
    assert 0 < steps[0] <= 0.15
    assert steps[-1] == 1.0


def test_only_finished_files_are_left(clips: dict[str, Path]) -> None:
    assert sorted(clips) == ["image", "progress", "text", "text-last", "two", "two-last"]


def test_crash_leaves_no_file(tmp_path: Path) -> None:
    def crash(fraction: float) -> None:
        raise RuntimeError("worker stopped")

    with pytest.raises(RuntimeError):
        render_clip(RenderSpec(PROMPT, 640, 640, 4), tmp_path / "out.mp4", progress=crash)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (encoded(Image.new("RGB", (64, 64), BLUE), "GIF"), "image is GIF; only JPEG, PNG and WebP"),
        (b"definitely not an image" * 20, "not a recognised image"),
        (encoded(Image.new("RGB", (64, 64), BLUE), "PNG")[:60], "not a decodable PNG"),
        (b"\0" * (MAX_IMAGE_BYTES + 1), "image is 10.0 MB; the limit is 10 MB"),
        (png_claiming(7000, 7000), "image is 7000x7000 px; the limit is 36 megapixels"),
        (png_claiming(20000, 20000), "dimensions are too large"),
    ],
    ids=["gif", "garbage", "truncated-png", "too-big", "too-many-pixels", "bomb"],
)
def test_bad_images_are_refused_before_writing(tmp_path: Path, data: bytes, message: str) -> None:
    good = encoded(Image.new("RGB", (64, 64), BLUE), "PNG")
    with pytest.raises(UnsupportedImage, match=message):
        render_clip(
            RenderSpec(PROMPT, 640, 640, 4, images=(good, data)),
            tmp_path / "out.mp4",
            last_frame_path=tmp_path / "last.png",
        )
    assert list(tmp_path.iterdir()) == []


def test_load_image_detects_format_from_content() -> None:
    rgba = Image.new("RGBA", (40, 30), (255, 0, 0, 0))
    for fmt in ("PNG", "JPEG", "WEBP"):
        img = load_image(encoded(rgba if fmt != "JPEG" else rgba.convert("RGB"), fmt))
        assert (img.mode, img.size) == ("RGB", (40, 30))
    # Fully transparent pixels are composited onto black, not left as hidden colour.
    assert load_image(encoded(rgba, "PNG")).getpixel((0, 0)) == (0, 0, 0)


def test_invalid_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        render_clip(RenderSpec(PROMPT, 641, 640, 4), tmp_path / "out.mp4")
    with pytest.raises(ValueError, match="container"):
        render_clip(RenderSpec(PROMPT, 640, 640, 4, container="avi"), tmp_path / "out.avi")


def test_mov_clip_is_a_quicktime_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.mov"
    render_clip(RenderSpec(PROMPT, 480, 864, 2, audio=True, container="mov"), path)
    info = probe_video(path)
    assert (info.container, info.width, info.height, info.frame_count) == ("mov", 480, 864, 48)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    with av.open(str(path)) as container:  # QuickTime's brand, not an ISO MP4's
        assert container.metadata["major_brand"].strip() == "qt"
    assert probe_bytes(path.read_bytes()) == info


def test_probe_refuses_non_video_files(tmp_path: Path, clips: dict[str, Path]) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    still = tmp_path / "still.png"
    still.write_bytes(encoded(Image.new("RGB", (64, 64), BLUE), "PNG"))
    truncated = tmp_path / "truncated.mp4"
    data = clips["text"].read_bytes()
    truncated.write_bytes(data[: len(data) * 3 // 4])
    for path, message in (
        (text, "not a readable"),
        (still, "still image"),
        (truncated, "truncated"),
    ):
        with pytest.raises(InvalidMedia, match=message):
            probe_video(path)
