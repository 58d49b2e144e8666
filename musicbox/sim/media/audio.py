"""Tone files for the media world: one ffmpeg run per (index, format, seconds), kept for the world's life."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path

from musicbox.sim.media.catalog import entry
from musicbox.sim.signature import tone_hz
from musicbox.sim.sponsorblock import SimVideo


@dataclass(frozen=True, slots=True)
class AudioFormat:
    extension: str
    content_type: str
    encoder: tuple[str, ...]


FORMATS: dict[str, AudioFormat] = {
    "ogg": AudioFormat("ogg", "audio/ogg", ("-c:a", "libopus", "-b:a", "64k", "-f", "ogg")),
    "webm": AudioFormat("webm", "audio/webm", ("-c:a", "libopus", "-b:a", "64k", "-f", "webm")),
    # faststart: the index up front, so a player can start before the whole file has arrived.
    "m4a": AudioFormat(
        "m4a", "audio/mp4", ("-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "-f", "ipod")
    ),
    "mp3": AudioFormat("mp3", "audio/mpeg", ("-c:a", "libmp3lame", "-b:a", "96k", "-f", "mp3")),
    "flac": AudioFormat("flac", "audio/flac", ("-c:a", "flac", "-f", "flac")),
    "wav": AudioFormat("wav", "audio/wav", ("-c:a", "pcm_s16le", "-f", "wav")),
}


# A long Ogg file (the 3-hour song of a seek story) is one minute of tone repeated by stream copy:
# made in a second instead of the minute an Opus encoder takes for three hours.
LOOPED_ABOVE_S = 600.0
LOOP_PIECE_S = 60.0


class ToneFiles:
    """Generates each file once; concurrent requests for the same one wait for the first run."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._pending: dict[Path, asyncio.Task[Path]] = {}

    async def path(self, index: int, fmt: str, seconds: float, gain_db: float = 0.0) -> Path:
        loudness = f"{gain_db:+g}dB" if gain_db else ""
        target = self._directory / f"{index}-{seconds:g}{loudness}.{FORMATS[fmt].extension}"
        if target.exists():
            return target
        return await self._once(target, lambda: self._generate(index, fmt, seconds, gain_db, target))

    async def video_path(self, video: SimVideo) -> Path:
        """A "YouTube video": its music's tone, and each marked stretch in a rung of its own."""
        target = self._directory / f"video-{video.video_id}.ogg"
        if target.exists():
            return target
        return await self._once(target, lambda: self._encode_video(video, target))

    async def _once(self, target: Path, make: Callable[[], Coroutine[None, None, Path]]) -> Path:
        """`make()` run once for `target` however many requests wait for it."""
        task = self._pending.get(target)
        if task is None:
            making = make()
            task = asyncio.get_running_loop().create_task(making)
            self._pending[target] = task
            task.add_done_callback(lambda _: self._pending.pop(target, None))
        return await asyncio.shield(task)

    async def _generate(self, index: int, fmt: str, seconds: float, gain_db: float, target: Path) -> Path:
        if fmt != "ogg" or seconds <= LOOPED_ABOVE_S or gain_db:
            return await self._encode(index, fmt, seconds, gain_db, target)
        piece = await self.path(index, fmt, LOOP_PIECE_S)
        looped = ("-stream_loop", "-1", "-i", str(piece), "-t", f"{seconds:g}", "-c", "copy", "-f", "ogg")
        await _ffmpeg(target, *looped)
        return target

    async def _encode(self, index: int, fmt: str, seconds: float, gain_db: float, target: Path) -> Path:
        song = entry(index)
        await _ffmpeg(
            target,
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={tone_hz(index)}:duration={seconds}:sample_rate=48000",
            "-af",
            f"volume={gain_db:g}dB",
            "-ac",
            "2",
            "-metadata",
            f"title={song.title}",
            "-metadata",
            f"artist={song.artist}",
            "-metadata",
            f"album={song.album}",
            *FORMATS[fmt].encoder,
        )
        return target

    async def _encode_video(self, video: SimVideo, target: Path) -> Path:
        frequency = f"{tone_hz(video.music_rung)}"
        for start, end, _, rung in reversed(video.segments):
            frequency = f"if(between(t,{start},{end}),{tone_hz(rung)},{frequency})"
        # The amplitude of ffmpeg's `sine` source, which the catalog's songs are made with.
        tone = f"aevalsrc='0.125*sin(2*PI*({frequency})*t)':s=48000:d={video.duration_s}"
        await _ffmpeg(target, "-f", "lavfi", "-i", tone, "-ac", "2", *FORMATS["ogg"].encoder)
        return target


async def _ffmpeg(target: Path, *arguments: str) -> None:
    """Run ffmpeg to write `target` whole: into a `.part` first, renamed once complete."""
    partial = target.with_suffix(target.suffix + ".part")
    process = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        *arguments,
        str(partial),
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"ffmpeg could not make {target.name}: {errors.decode(errors='replace')}")
    partial.rename(target)
