"""A guild session on its own, with a voice connection that plays in fast-forward: tracks play in
queue order, loop and skip behave, and leaving (asked or idle) leaves no task behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import discord
import pytest

from musicbox.core.queue import LoopMode, QueuedTrack
from musicbox.core.track import Track, TrackId
from musicbox.playback.session import GuildSession, SessionCapReached, Sessions
from tests.stories.fast_voice import EchoLocator, FastAudio, FastVoice


def entry(key: str) -> QueuedTrack:
    return QueuedTrack(Track(TrackId("http", key), key, f"http://media/{key}", duration_s=1), requester_id=7)


def make_session(voice: FastVoice, sessions: Sessions, idle_s: float = 30) -> GuildSession:
    session = GuildSession(
        1,
        cast(discord.VoiceClient, voice),
        audio=FastAudio(),  # type: ignore[arg-type]
        locator=EchoLocator(),
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
