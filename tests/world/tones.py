"""A track source over generated tone files, for stories that need the bot to play before (or
without) the media world: "tone:INDEX:SECONDS" is one track, "tones:FIRST:COUNT:SECONDS" a playlist
of COUNT consecutive tones, anything else is refused."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

from musicbox.bot.sources import Progress, QueryFailed
from musicbox.core.track import Track, TrackId
from musicbox.sim.signature import tone_hz


class ToneSources:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def resolve(self, query: str, *, progress: Progress | None = None) -> list[Track]:
        kind, _, rest = query.partition(":")
        if kind == "tones":
            first, count, seconds = rest.split(":")
            tracks = []
            for offset in range(int(count)):
                tracks += await self.resolve(f"tone:{int(first) + offset}:{seconds}")
                if progress is not None:
                    await progress(offset + 1, int(count))
            return tracks
        if kind != "tone":
            raise QueryFailed("it is not a tone")
        index, _, seconds = rest.partition(":")
        path = await asyncio.to_thread(self._generate, int(index), float(seconds or 2))
        return [Track(TrackId("tone", query), f"Tone {index}", str(path), duration_s=float(seconds or 2))]

    async def batches(self, query: str, *, progress: Progress | None = None) -> AsyncIterator[list[Track]]:
        yield await self.resolve(query, progress=progress)

    async def search(self, words: str, *, limit: int) -> list[Track]:
        return []

    async def media_url(self, track: Track) -> str:
        return track.page_url

    def _generate(self, index: int, seconds: float) -> Path:
        path = self.directory / f"tone{index}-{seconds:g}.ogg"
        if not path.exists():
            subprocess.run(
                [
                    "ffmpeg",
                    "-nostdin",
                    "-loglevel",
                    "error",
                    "-y",
                    "-f",
                    "lavfi",
                    "-i",
                    f"sine=frequency={tone_hz(index)}:duration={seconds}:sample_rate=48000",
                    "-ac",
                    "2",
                    "-c:a",
                    "libopus",
                    "-b:a",
                    "96k",
                    str(path),
                ],
                check=True,
            )
        return path
