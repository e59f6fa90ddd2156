"""Synthetic MP4 (or QuickTime MOV) clips for the built-in simulator provider.

Frames are built directly in YUV 4:2:0 (BT.709, limited range), the encoder's own format:
static layers (gradient, cover-fitted images, text panel, sprites) are converted once, and
each frame costs only slicing, small fixed-point alpha blends and, for image clips, one
swscale resize. Encoding therefore dominates the render time.
"""

import colorsys
import hashlib
import math
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from PIL import Image, ImageDraw, ImageFont

from seedgate.media.images import load_image

AUDIO_RATE = 48_000
MIN_SIDE = 128
CONTAINERS = ("mp4", "mov")  # FFmpeg's muxer names: ISO MP4 and QuickTime

# ultrafast measured ~2x faster than veryfast; files are bigger, which a simulator can afford.
_X264_OPTIONS = {"preset": "ultrafast", "crf": "23"}
_ZOOM = 1.15  # image clips: the source canvas is this much larger than the frame
_BT709 = 1  # AVCOL_PRI_BT709 == AVCOL_TRC_BT709 == AVCOL_SPC_BT709
_TV_RANGE = 1  # AVCOL_RANGE_MPEG
_AUDIO_CHUNK = 1024  # one AAC frame
_CHORDS = ((0, 4, 7, 11), (0, 3, 7, 10), (0, 4, 7, 14), (0, 5, 7, 12), (0, 4, 9, 14))
_CLOCK_CHARS = "0123456789:./ "

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]
RGB = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class RenderSpec:
    """What to render; `images` are encoded first-frame and optional last-frame images;
    `container` is one of CONTAINERS."""

    prompt: str
    width: int
    height: int
    duration_s: int
    fps: int = 24
    audio: bool = False
    images: tuple[bytes, ...] = ()
    seed: int = 0
    container: str = "mp4"


def render_clip(
    spec: RenderSpec,
    out_path: Path,
    *,
    last_frame_path: Path | None = None,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Render `spec` as an H.264 (+ AAC when `spec.audio`) MP4 or MOV at `out_path`.

    The file appears atomically; bad image bytes raise `UnsupportedImage` before anything
    is written. `progress` receives fractions in (0, 1] roughly every 10% of the frames.
    """
    _check_spec(spec)
    images = [load_image(data) for data in spec.images]
    width, height = spec.width, spec.height
    n_frames = spec.duration_s * spec.fps
    if images:
        background: _Background = _KenBurns(images, width, height, n_frames, spec.seed)
    else:
        background = _Gradient(spec.prompt, spec.seed, width, height, n_frames)
    decor = _Decor(spec, centred=not images)
    audio = _chord(spec.seed, spec.duration_s * AUDIO_RATE) if spec.audio else None

    with _replacing(out_path) as tmp_video:
        last = _encode(
            tmp_video, spec, background=background, decor=decor, audio=audio, progress=progress
        )
        if last_frame_path is not None:
            with _replacing(last_frame_path) as tmp_png:
                last.to_image().save(tmp_png, format="PNG")
    if progress is not None:
        progress(1.0)


def _check_spec(spec: RenderSpec) -> None:
    w, h = spec.width, spec.height
    if w % 2 or h % 2 or min(w, h) < MIN_SIDE:
        raise ValueError(f"frame size must be even and at least {MIN_SIDE} px, got {w}x{h}")
    if spec.duration_s <= 0 or spec.fps <= 0:
        raise ValueError(f"duration and fps must be positive, got {spec.duration_s}s@{spec.fps}")
    if len(spec.images) > 2:
        raise ValueError(f"at most 2 images (first and last frame), got {len(spec.images)}")
    if spec.container not in CONTAINERS:
        raise ValueError(f"container must be one of {CONTAINERS}, got {spec.container!r}")


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path` that replaces it only if the block succeeds."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _encode(
    path: Path,
    spec: RenderSpec,
    *,
    background: "_Background",
    decor: "_Decor",
    audio: np.ndarray | None,
    progress: Callable[[float], None] | None,
) -> av.VideoFrame:
    """Write the MP4 or MOV and return the last video frame."""
    n_frames = spec.duration_s * spec.fps
    report_every = max(1, n_frames // 10)
    with av.open(str(path), "w", format=spec.container,
                 options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=spec.fps, options=_X264_OPTIONS)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        frame_time = video.time_base = Fraction(1, spec.fps)  # the muxer changes video's later
        ctx = video.codec_context
        ctx.gop_size = 2 * spec.fps  # a keyframe every 2 s keeps seeking in players snappy
        ctx.color_primaries = ctx.color_trc = ctx.colorspace = _BT709
        ctx.color_range = _TV_RANGE
        track = _AudioTrack(out, audio) if audio is not None else None

        for i in range(n_frames):
            frame = background.frame(i)
            decor.draw(_planes(frame), i)
            frame.pts = i
            frame.time_base = frame_time
            frame.colorspace, frame.color_range = _BT709, _TV_RANGE
            out.mux(video.encode(frame))
            if track is not None:
                track.mux_until((i + 1) * AUDIO_RATE // spec.fps)
            done = i + 1
            if progress is not None and done % report_every == 0 and done < n_frames:
                progress(done / n_frames)
        out.mux(video.encode(None))
        if track is not None:
            track.finish()
    return frame


class _AudioTrack:
    """An AAC stream fed from pre-synthesised samples, interleaved with the video."""

    def __init__(self, out: av.container.OutputContainer, samples: np.ndarray) -> None:
        self.out, self.samples, self.pos = out, samples, 0
        self.stream = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        self.stream.codec_context.bit_rate = 128_000

    def mux_until(self, end: int) -> None:
        """Encode whole AAC frames up to sample `end`."""
        while self.pos + _AUDIO_CHUNK <= end:
            self._mux(self.pos + _AUDIO_CHUNK)

    def finish(self) -> None:
        """Encode what is left (the last AAC frame may be short) and flush the encoder."""
        total = self.samples.shape[1]
        self.mux_until(total)
        if self.pos < total:
            self._mux(total)
        self.out.mux(self.stream.encode(None))

    def _mux(self, end: int) -> None:
        chunk = np.ascontiguousarray(self.samples[:, self.pos : end])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self.pos
        frame.time_base = Fraction(1, AUDIO_RATE)
        self.out.mux(self.stream.encode(frame))
        self.pos = end


def _planes(frame: av.VideoFrame) -> Planes:
    """Writable views of a yuv420p frame's Y, U and V planes, without row padding."""
    y, u, v = (
        np.frombuffer(plane, np.uint8, count=plane.line_size * plane.height).reshape(
            plane.height, plane.line_size
        )[:, : plane.width]
        for plane in frame.planes
    )
    return y, u, v


def _even(x: float) -> int:
    return int(x) // 2 * 2


def _smooth(x: float) -> float:
    """Smoothstep easing on [0, 1]."""
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(_digest(*parts)[:8], "big"))


def _rgb_to_yuv(rgb: np.ndarray) -> Planes:
    """Full-resolution BT.709 limited-range Y, U, V (float32) of an RGB array."""
    f = np.asarray(rgb, np.float32)
    luma = f @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    y = 16 + luma * (219 / 255)
    u = 128 + (f[..., 2] - luma) * (224 / 255 / 1.8556)
    v = 128 + (f[..., 0] - luma) * (224 / 255 / 1.5748)
    return y, u, v


def _half(plane: np.ndarray) -> np.ndarray:
    """2x2 box average, i.e. 4:2:0 chroma siting for an even-sized plane."""
    h, w = plane.shape
    return plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def _to_u8(plane: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(plane), 0, 255).astype(np.uint8)


def _yuv420(rgb: np.ndarray) -> Planes:
    """uint8 Y, U, V planes of an even-sized RGB array."""
    y, u, v = _rgb_to_yuv(rgb)
    return _to_u8(y), _to_u8(_half(u)), _to_u8(_half(v))


def _yuv_colour(rgb: RGB) -> tuple[int, int, int]:
    y, u, v = _rgb_to_yuv(np.array(rgb))
    return round(float(y)), round(float(u)), round(float(v))


def _palette(digest: bytes) -> tuple[RGB, RGB, RGB, RGB]:
    """Three gradient stops and an accent colour, chosen by `digest`."""

    def hsv(hue: float, sat: float, val: float) -> RGB:
        r, g, b = colorsys.hsv_to_rgb(hue % 1.0, sat, val)
        return 255 * r, 255 * g, 255 * b

    hue = digest[0] / 256
    return (
        hsv(hue, 0.7, 0.5),
        hsv(hue + 0.08 + digest[1] / 256 * 0.12, 0.55, 0.8),
        hsv(hue + 0.25 + digest[2] / 256 * 0.15, 0.65, 0.45),
        hsv(hue + 0.5, 0.6, 1.0),
    )


class _Sprite:
    """A premultiplied YUV 4:2:0 overlay, blended with 8-bit fixed-point maths."""

    def __init__(self, rgba: np.ndarray) -> None:
        alpha = rgba[..., 3].astype(np.float32) / 255
        y, u, v = _rgb_to_yuv(rgba[..., :3])
        half_alpha = _half(alpha)
        # (dst * inv + pre) >> 8 == dst * (1 - a) + colour * a, rounded.
        self.layers = tuple(
            (np.rint(pre * 256 + 128).astype(np.uint16), np.rint((1 - a) * 256).astype(np.uint16))
            for pre, a in (
                (y * alpha, alpha),
                (_half(u * alpha), half_alpha),
                (_half(v * alpha), half_alpha),
            )
        )

    def draw(self, planes: Planes, x: int, y: int) -> None:
        """Blend onto the frame with the top-left corner at even luma position (x, y)."""
        for shift, dst, (pre, inv) in zip((0, 1, 1), planes, self.layers, strict=True):
            h, w = pre.shape
            region = dst[y >> shift : (y >> shift) + h, x >> shift : (x >> shift) + w]
            region[...] = (region * inv + pre) >> 8


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=32)
def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: Font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap; over-long words are split and overflow ends in an ellipsis."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if len(lines) > max_lines:
            break
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= max_width:
            line = candidate
            continue
        if line:
            lines.append(line)
        rest = word
        while len(lines) <= max_lines and font.getlength(rest) > max_width:
            cut = _fitting_prefix(rest, font, max_width)
            lines.append(rest[:cut])
            rest = rest[cut:]
        line = rest
    if line:
        lines.append(line)
    if len(lines) <= max_lines:
        return lines
    lines = lines[:max_lines]
    if lines:
        last = lines[-1]
        while last and font.getlength(last + "...") > max_width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "..."
    return lines


def _fitting_prefix(word: str, font: Font, max_width: float) -> int:
    """Length of the longest prefix of `word` that fits, but at least 1."""
    n = 1
    while n < len(word) and font.getlength(word[: n + 1]) <= max_width:
        n += 1
    return n


def _timecode(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:05.2f}"


def _panel(
    prompt: str, caption: str, *, text_size: int, caption_size: int, max_w: int, max_h: int
) -> np.ndarray:
    """The wrapped prompt and a caption on a translucent rounded box, as even-sized RGBA."""
    font, small = _font(text_size), _font(caption_size)
    pad = _even(text_size * 0.6)
    line_h = round(text_size * 1.3)
    caption_h = round(caption_size * 1.4)
    lines = _wrap(prompt, font, max_w - 2 * pad, max(0, (max_h - 2 * pad - caption_h) // line_h))
    content_w = max([font.getlength(line) for line in lines] + [small.getlength(caption)])
    width = min(max_w, _even(content_w + 2 * pad + 1))
    height = _even(2 * pad + len(lines) * line_h + caption_h + 1)
    img = Image.new("RGBA", (width, height))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=pad, fill=(10, 10, 14, 170))
    for k, line in enumerate(lines):
        draw.text((pad, pad + k * line_h), line, font=font, fill=(255, 255, 255, 255))
    draw.text((pad, pad + len(lines) * line_h), caption, font=small, fill=(205, 205, 215, 255))
    return np.asarray(img)[:max_h]


def _dot(diameter: int, colour: RGB) -> np.ndarray:
    """An anti-aliased disc with a white rim, as RGBA."""
    big = 4 * diameter
    img = Image.new("RGBA", (big, big))
    fill = (*(round(c) for c in colour), 255)
    ImageDraw.Draw(img).ellipse(
        (1, 1, big - 2, big - 2), fill=fill, outline=(255, 255, 255, 255), width=diameter // 2
    )
    return np.asarray(img.resize((diameter, diameter), Image.Resampling.LANCZOS))


class _Clock:
    """An "elapsed / total" timecode drawn from pre-rendered glyph cells on an opaque box."""

    def __init__(self, duration_s: int, fps: int, max_width: int, size: int) -> None:
        self.fps = fps
        self.total = _timecode(duration_s)
        n_chars = 2 * len(self.total) + 3
        for size_ in range(size, 5, -1):  # shrink until it fits narrow frames
            font = _font(size_)
            advance = math.ceil(max(font.getlength(c) for c in _CLOCK_CHARS))
            pad = max(2, _even(size_ * 0.4))
            if n_chars * advance + 2 * pad <= max_width:
                break
        cell_h = round(size_ * 1.3)
        box_y, ink_y = _yuv_colour((24, 24, 24))[0], _yuv_colour((255, 255, 255))[0]
        self.cells = {}
        for char in _CLOCK_CHARS:
            mask = Image.new("L", (advance, cell_h))
            x = (advance - font.getlength(char)) / 2
            ImageDraw.Draw(mask).text((x, 0), char, font=font, fill=255)
            self.cells[char] = _to_u8(box_y + (ink_y - box_y) / 255 * np.asarray(mask))
        self.box = np.full(
            (_even(cell_h + 2 * pad + 1), _even(n_chars * advance + 2 * pad + 1)), box_y, np.uint8
        )
        self.advance, self.pad = advance, pad

    @property
    def height(self) -> int:
        return self.box.shape[0]

    def draw(self, planes: Planes, x: int, y: int, frame_index: int) -> None:
        """Draw at even luma position (x, y)."""
        luma, u, v = planes
        h, w = self.box.shape
        luma[y : y + h, x : x + w] = self.box
        u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = 128
        v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = 128
        text = f"{_timecode(frame_index / self.fps)} / {self.total}"
        top = y + self.pad
        for k, char in enumerate(text):
            cell = self.cells[char]
            left = x + self.pad + k * self.advance
            luma[top : top + cell.shape[0], left : left + cell.shape[1]] = cell


class _Decor:
    """Overlays on every clip: prompt panel, moving dot, clock and progress bar."""

    def __init__(self, spec: RenderSpec, *, centred: bool) -> None:
        w, h = spec.width, spec.height
        self.width, self.fps, self.n_frames = w, spec.fps, spec.duration_s * spec.fps
        digest = _digest(spec.prompt, spec.seed)
        accent = _palette(digest)[3]
        short = min(w, h)
        margin = _even(short * 0.04)
        text_size = max(12, round(short * 0.05))
        caption_size = max(10, round(text_size * 0.6))

        self.bar_h = max(4, _even(h / 90))
        self.bar_colours = _yuv_colour(accent), _yuv_colour((40, 40, 40))
        self.clock = _Clock(spec.duration_s, spec.fps, w - 2 * margin, caption_size)
        self.clock_pos = margin, margin

        top = margin + self.clock.height + margin
        bottom = h - self.bar_h - margin
        caption = f"simulated by seedgate · seed {spec.seed} · #{digest.hex()[:6]}"
        panel = _panel(
            spec.prompt,
            caption,
            text_size=text_size,
            caption_size=caption_size,
            max_w=_even(w - 2 * margin),
            # Leave most of an image visible; text-only clips can spend more room on text.
            max_h=max(0, _even(min(bottom - top, h * (0.6 if centred else 0.4)))),
        )
        self.panel = _Sprite(panel)
        panel_y = (top + bottom - panel.shape[0]) / 2 if centred else bottom - panel.shape[0]
        self.panel_pos = _even((w - panel.shape[1]) / 2), _even(panel_y)

        diameter = max(8, _even(short * 0.06))
        self.dot = _Sprite(_dot(diameter, accent))
        self.dot_box = margin, margin, w - margin - diameter, bottom - diameter
        self.dot_phase = _rng("dot", spec.prompt, spec.seed).uniform(0, 2 * math.pi, 2)

    def draw(self, planes: Planes, i: int) -> None:
        self.panel.draw(planes, *self.panel_pos)
        t = i / self.fps
        x0, y0, x1, y1 = self.dot_box
        fx = 0.5 + 0.5 * math.sin(2 * math.pi * t / 6.1 + self.dot_phase[0])
        fy = 0.5 + 0.5 * math.sin(2 * math.pi * t / 4.3 + self.dot_phase[1])
        self.dot.draw(planes, _even(x0 + (x1 - x0) * fx), _even(y0 + (y1 - y0) * fy))
        self.clock.draw(planes, *self.clock_pos, i)

        filled = _even(self.width * (i + 1) / self.n_frames)
        bar_h = self.bar_h
        for k, plane in enumerate(planes):
            rows, split = (bar_h, filled) if k == 0 else (bar_h // 2, filled // 2)
            plane[-rows:, :split] = self.bar_colours[0][k]
            plane[-rows:, split:] = self.bar_colours[1][k]


class _Background(Protocol):
    def frame(self, i: int) -> av.VideoFrame:
        """A new, writable yuv420p frame of the clip size showing the background at frame i."""
        ...


class _Gradient:
    """Text-only background: a wide gradient coloured by the prompt hash, panned slowly."""

    def __init__(self, prompt: str, seed: int, width: int, height: int, n_frames: int) -> None:
        digest = _digest(prompt, seed)
        stops = [_yuv_colour(rgb) for rgb in _palette(digest)[:3]]
        phase = digest[3] / 256 * 2 * math.pi
        self.width, self.height, self.n_frames = width, height, n_frames
        self.pan = _even(width / 4)
        # YUV is linear in RGB, so each plane can be interpolated on its own.
        self.planes = tuple(
            _gradient_plane(
                [stop[k] for stop in stops],
                (width + self.pan) >> shift,
                height >> shift,
                neutral=16 if k == 0 else 128,
                phase=phase,
            )
            for k, shift in enumerate((0, 1, 1))
        )

    def frame(self, i: int) -> av.VideoFrame:
        offset = _even(self.pan * i / max(1, self.n_frames - 1))
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for shift, dst, src in zip((0, 1, 1), _planes(frame), self.planes, strict=True):
            start = offset >> shift
            dst[...] = src[:, start : start + dst.shape[1]]
        return frame


def _gradient_plane(
    stops: list[int], width: int, height: int, *, neutral: int, phase: float
) -> np.ndarray:
    """One plane of a three-stop diagonal gradient with soft brightness bands."""
    u = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    v = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    pos = 0.7 * u + 0.3 * v
    value = (
        stops[0]
        + (stops[1] - stops[0]) * np.clip(2 * pos, 0, 1)
        + (stops[2] - stops[1]) * np.clip(2 * pos - 1, 0, 1)
    )
    bands = 1 + 0.08 * np.sin(2 * np.pi * (2.5 * u - 1.5 * v) + phase)
    return _to_u8(neutral + (value - neutral) * bands)


class _KenBurns:
    """Image background: slow zoom and drift over the first image, cross-fading to the second."""

    def __init__(
        self, images: list[Image.Image], width: int, height: int, n_frames: int, seed: int
    ) -> None:
        self.width, self.height, self.n_frames = width, height, n_frames
        self.src_w, self.src_h = _even(width * _ZOOM), _even(height * _ZOOM)
        self.sources = [_yuv420(np.asarray(_cover(img, self.src_w, self.src_h))) for img in images]
        rng = _rng("ken-burns", seed)
        self.zoom_in = bool(rng.integers(2))
        self.drift = rng.uniform(0.2, 0.8, 2)
        self.scaler = VideoReformatter()

    def frame(self, i: int) -> av.VideoFrame:
        progress = i / max(1, self.n_frames - 1)
        t = _smooth(progress)
        zoom = t if self.zoom_in else 1 - t  # 0: whole source canvas, 1: 1:1 crop
        crop_w = _even(self.src_w + (self.width - self.src_w) * zoom)
        crop_h = min(self.src_h, _even(crop_w * self.height / self.width))
        x = _even((self.src_w - crop_w) * (0.5 + (self.drift[0] - 0.5) * t))
        y = _even((self.src_h - crop_h) * (0.5 + (self.drift[1] - 0.5) * t))
        crop = av.VideoFrame(crop_w, crop_h, "yuv420p")
        # Hold each image briefly at the ends; cross-fade in between (256 == fully second).
        fade = round(256 * _smooth((progress - 0.1) / 0.8)) if len(self.sources) > 1 else 0
        for k, dst in enumerate(_planes(crop)):
            shift = 0 if k == 0 else 1
            window = (
                slice(y >> shift, (y >> shift) + dst.shape[0]),
                slice(x >> shift, (x >> shift) + dst.shape[1]),
            )
            first = self.sources[0][k][window]
            if fade == 0:
                dst[...] = first
            elif fade == 256:
                dst[...] = self.sources[1][k][window]
            else:
                last = self.sources[1][k][window]
                dst[...] = (first * np.uint16(256 - fade) + last * np.uint16(fade) + 128) >> 8
        return self.scaler.reformat(crop, self.width, self.height, interpolation="BILINEAR")


def _cover(img: Image.Image, width: int, height: int) -> Image.Image:
    """Scale and centre-crop `img` to exactly width x height."""
    iw, ih = img.size
    if iw * height > ih * width:  # wider than the target: crop the sides
        cw, ch = ih * width / height, ih
    else:
        cw, ch = iw, iw * height / width
    box = ((iw - cw) / 2, (ih - ch) / 2, (iw + cw) / 2, (ih + ch) / 2)
    return img.resize((width, height), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)


def _chord(seed: int, n_samples: int) -> np.ndarray:
    """A soft strummed chord chosen by `seed`, fading in and out; float32, shape (2, n)."""
    rng = _rng("audio", seed)
    root = 57 + int(rng.integers(12))  # MIDI A3..G#4
    intervals = _CHORDS[int(rng.integers(len(_CHORDS)))]
    t = np.arange(n_samples) / AUDIO_RATE
    duration = n_samples / AUDIO_RATE
    out = np.zeros((2, n_samples))
    for k, interval in enumerate(intervals):
        freq = 440 * 2 ** ((root + interval - 69) / 12)
        # Wrap in float64, then let the sines run in (faster) float32.
        phase = (2 * np.pi * ((freq * t + rng.random()) % 1.0)).astype(np.float32)
        tone = np.sin(phase) + 0.3 * np.sin(2 * phase) + 0.1 * np.sin(3 * phase)
        tone *= np.clip((t - 0.15 * k) / 0.4, 0, 1)  # strum: voices enter one after another
        pan = (k + 0.5) / len(intervals) * np.pi / 2
        out[0] += math.cos(pan) * tone
        out[1] += math.sin(pan) * tone
    out *= 1 + 0.1 * np.sin(2 * np.pi * 0.35 * t)  # slow shimmer
    ramp = np.minimum(t / min(0.5, duration / 4), (duration - t) / min(1.5, duration / 3))
    out *= np.sin(np.clip(ramp, 0, 1) * np.pi / 2) ** 2
    out *= 0.3 / max(float(np.abs(out).max()), 1e-9)  # peak at about -10 dBFS
    return out.astype(np.float32)
