"""A voice connection that plays in fast-forward, and audio that needs no media: enough for a guild
session to run its real player, prefetch and idle tasks without a voice server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import discord

from musicbox.core.filters import AudioFilter
from musicbox.core.sponsorblock import Cuts
from musicbox.core.track import Track, TrackId
from musicbox.playback.session import CountedSource


class FakeSource(discord.AudioSource):
    def __init__(self, key: str, start_s: float, audio_filter: AudioFilter | None = None) -> None:
        self.key = key
        self.start_s = start_s
        self.audio_filter = audio_filter
        self.cleaned = False

    def read(self) -> bytes:
        return b""

    def cleanup(self) -> None:
        self.cleaned = True


class FastVoice:
    """Plays each source for `seconds` of wall time, then calls `after` like discord.py's player."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.played: list[str] = []
        self.sources: list[FakeSource] = []
        self.channel = None
        self.disconnected = False
        self._playing: asyncio.Task[None] | None = None
        self._paused = False

    def is_connected(self) -> bool:
        return not self.disconnected

    def is_playing(self) -> bool:
        return self._playing is not None and not self._playing.done() and not self._paused

    def is_paused(self) -> bool:
        return self._paused

    def play(self, counted: CountedSource, *, after: Callable[[Exception | None], Any]) -> None:
        source = counted.source
        assert isinstance(source, FakeSource)
        self.played.append(source.key)
        self.sources.append(source)

        async def run() -> None:
            try:
                await asyncio.sleep(self.seconds)
            finally:
                source.cleanup()
                after(None)
                # Like discord.py's player, forget the finished playback (and its `after` callback).
                if self._playing is asyncio.current_task():
                    self._playing = None

        self._playing = asyncio.get_running_loop().create_task(run())

    def stop(self) -> None:
        self._paused = False
        if self._playing is not None:
            self._playing.cancel()
            self._playing = None

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    async def disconnect(self, *, force: bool) -> None:
        self.stop()
        self.disconnected = True

    def cleanup(self) -> None:
        pass


class FastAudio:
    def __init__(self) -> None:
        self.cuts: dict[str, Cuts | None] = {}  # what each song was played with left out

    async def source(
        self,
        track_id: TrackId,
        media_url: str,
        *,
        start_s: float = 0.0,
        volume: int = 100,
        duration_s: float | None = None,
        normalised: bool = True,
        audio_filter: AudioFilter | None = None,
        cuts: Cuts | None = (),
    ) -> FakeSource:
        if "broken" in media_url:
            raise RuntimeError("404")
        self.cuts[track_id.key] = cuts
        return FakeSource(track_id.key, start_s, audio_filter)

    async def prefetch(
        self, track_id: TrackId, media_url: str, duration_s: float | None = None, cuts: Cuts | None = ()
    ) -> None:
        """Nothing to fetch: sources are made on the spot."""

    async def aclose(self) -> None:
        """Nothing held."""


class EchoLocator:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def media_url(self, track: Track) -> str:
        self.asked.append(track.id.key)
        return track.page_url
