"""A guild session on its own, with a voice connection that plays in fast-forward: tracks play in
queue order, loop and skip behave, and leaving (asked or idle) leaves no task behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import discord
import pytest

from musicbox.core.queue import LoopMode, QueuedTrack
from musicbox.core.track import Track, TrackId
from musicbox.playback.session import GuildSession, SessionCapReached, Sessions


class FakeSource(discord.AudioSource):
    def __init__(self, key: str, start_s: float) -> None:
        self.key = key
        self.start_s = start_s
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

    def play(self, source: FakeSource, *, after: Callable[[Exception | None], Any]) -> None:
        self.played.append(source.key)
        self.sources.append(source)

        async def run() -> None:
            try:
                await asyncio.sleep(self.seconds)
            finally:
                source.cleanup()
                after(None)

        self._playing = asyncio.get_running_loop().create_task(run())

    def stop(self) -> None:
        self._paused = False
        if self._playing is not None:
            self._playing.cancel()

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    async def disconnect(self, *, force: bool) -> None:
        self.stop()
        self.disconnected = True

    def cleanup(self) -> None:
        pass


class Audio:
    async def source(
        self, track_id: TrackId, media_url: str, *, start_s: float = 0.0, volume: int = 100
    ) -> FakeSource:
        if "broken" in media_url:
            raise RuntimeError("404")
        return FakeSource(track_id.key, start_s)


class Locator:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def media_url(self, track: Track) -> str:
        self.asked.append(track.id.key)
        return track.page_url


def entry(key: str) -> QueuedTrack:
    return QueuedTrack(Track(TrackId("http", key), key, f"http://media/{key}", duration_s=1), requester_id=7)


def make_session(voice: FastVoice, sessions: Sessions, idle_s: float = 30) -> GuildSession:
    session = GuildSession(
        1,
        cast(discord.VoiceClient, voice),
        audio=Audio(),  # type: ignore[arg-type]
        locator=Locator(),
        volume=100,
        idle_timeout_s=idle_s,
        on_closed=sessions.forget,
    )
    sessions.add(session)
    return session


async def wait_until(condition: Callable[[], bool], within_s: float = 5) -> None:
    for _ in range(int(within_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the session never got there")


async def test_tracks_play_in_queue_order_and_a_broken_one_is_passed_over() -> None:
    voice, sessions = FastVoice(), Sessions(max_guilds=2)
    session = make_session(voice, sessions)
    for key in ("a", "broken", "b", "c"):
        session.queue.add(entry(key))
    session.enqueued()
    await wait_until(lambda: voice.played == ["a", "b", "c"] and session.queue.current is None)
    assert all(source.cleaned for source in voice.sources)
    await session.aclose()


async def test_loop_track_repeats_until_skipped() -> None:
    voice, sessions = FastVoice(), Sessions(max_guilds=2)
    session = make_session(voice, sessions)
    session.queue.loop = LoopMode.TRACK
    session.queue.add_many([entry("a"), entry("b")])
    session.enqueued()
    await wait_until(lambda: voice.played.count("a") >= 3)
    session.skip()
    await wait_until(lambda: "b" in voice.played)
    await session.aclose()


async def test_seek_restarts_the_track_at_the_asked_time() -> None:
    voice, sessions = FastVoice(seconds=5), Sessions(max_guilds=2)
    session = make_session(voice, sessions)
    session.queue.add(entry("a"))
    session.enqueued()
    await wait_until(lambda: voice.played == ["a"])
    session.seek(0.5)
    await wait_until(lambda: len(voice.sources) == 2)
    assert voice.sources[1].start_s == 0.5
    await session.aclose()


async def test_leaving_cancels_every_task_and_disconnects() -> None:
    voice, sessions = FastVoice(seconds=5), Sessions(max_guilds=2)
    session = make_session(voice, sessions)
    session.queue.add_many([entry("a"), entry("b")])
    session.enqueued()
    await wait_until(lambda: voice.played == ["a"])
    tasks = session.tasks
    await session.aclose()
    assert tasks and all(task.done() for task in tasks)
    assert voice.disconnected
    assert sessions.get(1) is None


async def test_an_idle_session_leaves_by_itself() -> None:
    voice, sessions = FastVoice(), Sessions(max_guilds=2)
    session = make_session(voice, sessions, idle_s=0.2)
    await wait_until(lambda: session.closed and not session.tasks)
    assert voice.disconnected and len(sessions) == 0


async def test_the_guild_cap_refuses_one_more() -> None:
    sessions = Sessions(max_guilds=1)
    first = make_session(FastVoice(), sessions)
    with pytest.raises(SessionCapReached):
        make_session(FastVoice(), sessions)
    await first.aclose()
