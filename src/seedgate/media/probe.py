"""Inspection of video files, also used to check that downloaded files really are videos."""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import av


class InvalidMedia(ValueError):
    """The file is not a decodable video."""


@dataclass(frozen=True, slots=True)
class MediaInfo:
    container: str
    """Short container name: "mp4", "mov", "matroska", ..."""
    duration_s: float
    width: int
    height: int
    fps: float
    frame_count: int
    """Frames actually decoded, not the container's claim."""
    video_codec: str
    pix_fmt: str
    audio_codec: str | None
    audio_duration_s: float | None


def probe_video(path: Path) -> MediaInfo:
    """Read the metadata of `path` and decode every video frame.

    Raises InvalidMedia when the file cannot be opened, is a still image, has no video
    stream, or its video does not decode completely. A missing file raises FileNotFoundError.
    """
    try:
        container = av.open(str(path))
    except FileNotFoundError:
        raise
    except (av.FFmpegError, OSError) as exc:
        raise InvalidMedia(f"{path.name} is not a readable media file ({exc})") from exc
    with container:
        demuxer = container.format.name
        if demuxer == "image2" or demuxer.endswith("_pipe"):
            raise InvalidMedia(f"{path.name} is a still image ({demuxer}), not a video")
        if not container.streams.video:
            raise InvalidMedia(f"{path.name} has no video stream")
        video = container.streams.video[0]
        video.codec_context.thread_type = "AUTO"
        audio = container.streams.audio[0] if container.streams.audio else None

        frame_count = 0
        first = None
        try:
            for frame in container.decode(video):
                if first is None:
                    first = frame
                frame_count += 1
        except av.FFmpegError as exc:
            raise InvalidMedia(
                f"{path.name}: video frame {frame_count + 1} does not decode ({exc})"
            ) from exc
        if first is None:
            raise InvalidMedia(f"{path.name} has a video stream without decodable frames")
        if frame_count < video.frames:  # the index promises more: a truncated download
            raise InvalidMedia(
                f"{path.name} is truncated: {frame_count} of {video.frames} frames decode"
            )

        rate = video.average_rate or video.guessed_rate
        fps = float(rate) if rate else 0.0
        if container.duration is not None:
            duration_s = container.duration / av.time_base
        elif fps:
            duration_s = frame_count / fps
        else:
            duration_s = 0.0
        audio_duration_s = None
        if audio is not None and audio.duration is not None and audio.time_base is not None:
            audio_duration_s = float(audio.duration * audio.time_base)
        return MediaInfo(
            container=_container_name(demuxer, container.metadata),
            duration_s=duration_s,
            width=first.width,
            height=first.height,
            fps=fps,
            frame_count=frame_count,
            video_codec=video.codec_context.name,
            pix_fmt=first.format.name,
            audio_codec=audio.codec_context.name if audio is not None else None,
            audio_duration_s=audio_duration_s,
        )


def probe_bytes(data: bytes) -> MediaInfo:
    """`probe_video` of a video held in memory."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "video"
        path.write_bytes(data)
        return probe_video(path)


def _container_name(demuxer: str, metadata: dict[str, str]) -> str:
    # FFmpeg reads MP4 and QuickTime with one demuxer; the major brand tells them apart.
    if demuxer.startswith("mov,mp4"):
        return "mov" if metadata.get("major_brand", "").strip() == "qt" else "mp4"
    return demuxer.split(",", maxsplit=1)[0]
