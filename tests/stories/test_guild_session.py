"""A guild session on its own, with a voice connection that plays in fast-forward: tracks play in
queue order, loop and skip behave, and leaving (asked or idle) leaves no task behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from musicbox.core.filters import AudioFilter, Effect
from musicbox.core.queue import LoopMode, QueuedTrack
from musicbox.core.sponsorblock import Cut, Cuts
from musicbox.core.track import LIVE, Track, TrackId
from musicbox.playback.session import (
    SKIPS_GRACE_S,
    CountedSource,
    GuildSession,
    OffAir,
    SessionCapReached,
    Sessions,
)
from musicbox.store.queues import SavedPlayback
from tests.stories.fast_voice import EchoLocator, FakeSource, FastAudio, FastVoice


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


class SlowToSeek(FastAudio):
    """Audio that takes its time to start anywhere but the beginning, like a seek far into a long
    song whose cache fill has not got there yet."""

    async def source(self, track_id: TrackId, media_url: str, **options: Any) -> FakeSource:
        if options.get("start_s"):
            await asyncio.sleep(1.0)
        return await super().source(track_id, media_url, **options)


async def test_a_seek_that_takes_longer_than_the_idle_timeout_is_not_idleness() -> None:
    voice, sessions = FastVoice(seconds=5), Sessions(max_guilds=2)
    voice.channel = SimpleNamespace(id=5, members=[SimpleNamespace(bot=False)])  # someone listens
    session = GuildSession(
        1,
        cast(discord.VoiceClient, voice),
        audio=SlowToSeek(),  # type: ignore[arg-type]
        locator=EchoLocator(),
        volume=100,
        idle_timeout_s=0.3,
        on_closed=sessions.forget,
    )
    sessions.add(session)
    session.queue.add(entry("a"))
    session.enqueued()
    await wait_until(lambda: voice.played == ["a"])
    session.seek(0.5)
    await wait_until(lambda: len(voice.sources) == 2)
    assert not session.closed and voice.sources[1].start_s == 0.5
    await session.aclose()


async def test_the_guild_cap_refuses_one_more() -> None:
    sessions = Sessions(max_guilds=1)
    first = make_session(FastVoice(), sessions)
    with pytest.raises(SessionCapReached):
        make_session(FastVoice(), sessions)
    await first.aclose()


class Shelf:
    """What the store would hold for guild 1, newest last."""

    def __init__(self) -> None:
        self.saved: list[tuple[list[QueuedTrack], SavedPlayback | None]] = []

    async def __call__(
        self, guild_id: int, entries: list[QueuedTrack], playback: SavedPlayback | None
    ) -> None:
        self.saved.append((entries, playback))


def saving_session(voice: FastVoice, sessions: Sessions, shelf: Shelf) -> GuildSession:
    voice.channel = cast(discord.VoiceChannel, discord.Object(id=55))  # type: ignore[assignment]
    session = GuildSession(
        1,
        cast(discord.VoiceClient, voice),
        audio=FastAudio(),  # type: ignore[arg-type]
        locator=EchoLocator(),
        volume=100,
        idle_timeout_s=30,
        on_closed=sessions.forget,
        saver=shelf,
        checkpoint_s=0.05,
    )
    sessions.add(session)
    return session


async def test_a_playing_session_checkpoints_its_queue_and_place_and_shutdown_keeps_them() -> None:
    sessions, shelf = Sessions(max_guilds=0), Shelf()
    session = saving_session(FastVoice(seconds=30), sessions, shelf)
    session.queue.add_many([entry("a"), entry("b")])
    session.enqueued()
    await wait_until(lambda: any(p is not None for _, p in shelf.saved))
    entries, playback = shelf.saved[-1]
    assert [e.track.id.key for e in entries] == ["a", "b"]
    assert playback is not None and playback.voice_channel_id == 55 and playback.loop is LoopMode.OFF
    await sessions.aclose()
    assert [e.track.id.key for e in shelf.saved[-1][0]] == ["a", "b"] and shelf.saved[-1][1] is not None


async def test_leaving_forgets_the_saved_queue() -> None:
    sessions, shelf = Sessions(max_guilds=0), Shelf()
    session = saving_session(FastVoice(seconds=30), sessions, shelf)
    session.queue.add(entry("a"))
    session.enqueued()
    await session.aclose()
    assert shelf.saved[-1] == ([], None)


class SlowShelf(Shelf):
    """A store written in a worker thread, as the bot's is: a write under way when its caller is
    cancelled still lands, later."""

    async def __call__(
        self, guild_id: int, entries: list[QueuedTrack], playback: SavedPlayback | None
    ) -> None:
        await asyncio.shield(self._write(entries, playback))

    async def _write(self, entries: list[QueuedTrack], playback: SavedPlayback | None) -> None:
        await asyncio.sleep(0.2 if entries else 0)
        self.saved.append((entries, playback))


async def test_a_checkpoint_under_way_at_leave_does_not_bring_the_queue_back() -> None:
    """/leave while a checkpoint is being written (under load, 1 in 100 of the churn's cycles): the
    emptied queue is the last word, or the next /play would bring the old song back ("Queued at
    position 1" instead of "Playing")."""
    sessions, shelf = Sessions(max_guilds=0), SlowShelf()
    session = saving_session(FastVoice(seconds=30), sessions, shelf)
    session.queue.add(entry("a"))
    session.enqueued()
    await wait_until(lambda: session.queue.current is not None)
    await asyncio.sleep(0.1)  # a checkpoint (every 0.05 s) is being written
    await session.aclose()
    await asyncio.sleep(0.3)  # any write still under way has landed
    assert shelf.saved[-1] == ([], None)


async def test_a_restored_session_resumes_the_track_where_it_stopped() -> None:
    sessions, shelf = Sessions(max_guilds=0), Shelf()
    voice = FastVoice(seconds=30)
    session = saving_session(voice, sessions, shelf)
    session.restore([entry("b"), entry("c")], SavedPlayback(55, 42.0, LoopMode.QUEUE))
    await wait_until(lambda: bool(voice.sources))
    assert (voice.sources[0].key, voice.sources[0].start_s) == ("b", 42.0)
    assert session.queue.loop is LoopMode.QUEUE and [e.track.id.key for e in session.queue.upcoming] == ["c"]
    assert session.position_s >= 42.0
    await sessions.aclose()


async def test_a_dead_station_is_tried_again_then_told_once_and_passed_over_even_on_loop_track() -> None:
    voice, sessions = FastVoice(), Sessions(max_guilds=2)
    told: list[tuple[str, Exception]] = []
    session = GuildSession(
        1,
        cast(discord.VoiceClient, voice),
        audio=FastAudio(),  # type: ignore[arg-type]
        locator=EchoLocator(),
        volume=100,
        idle_timeout_s=30,
        on_closed=sessions.forget,
        on_unplayable=lambda _, dead, error: told.append((dead.track.id.key, error)),
    )
    sessions.add(session)
    station = QueuedTrack(Track(TrackId(LIVE, "broken"), "Radio Gone", "http://media/broken"), requester_id=7)
    session.queue.loop = LoopMode.TRACK
    session.queue.add_many([station, entry("b")])
    session.enqueued()
    await wait_until(lambda: "b" in voice.played, within_s=10)
    assert [(key, type(error)) for key, error in told] == [("broken", OffAir)]
    await session.aclose()


async def test_a_server_whose_filter_finds_every_slot_taken_hears_its_songs_unfiltered_and_is_told_once() -> (
    None
):
    sessions = Sessions(max_guilds=0, max_filtered=1)
    told: list[int] = []
    nightcore = AudioFilter(Effect.NIGHTCORE)
    voices = {guild: FastVoice() for guild in (1, 2)}
    for guild, voice in voices.items():
        sessions.add(
            GuildSession(
                guild,
                cast(discord.VoiceClient, voice),
                audio=FastAudio(),  # type: ignore[arg-type]
                locator=EchoLocator(),
                volume=100,
                idle_timeout_s=30,
                on_closed=sessions.forget,
                audio_filter=lambda: nightcore,
                filter_slots=sessions.filter_slots,
                on_filter_refused=lambda refused: told.append(refused.guild_id),
            )
        )
    first, second = (sessions.get(guild) for guild in (1, 2))
    assert first is not None and second is not None
    for session, keys in ((first, ("a",)), (second, ("b", "c"))):
        for key in keys:
            session.queue.add(entry(key))
        session.enqueued()
        played, wanted = voices[session.guild_id].played, len(keys)
        await wait_until(lambda: len(played) == wanted)  # noqa: B023 (awaited before the loop goes on)
    await wait_until(lambda: second.queue.current is None)
    assert [source.audio_filter for source in voices[1].sources] == [nightcore]
    assert [source.audio_filter for source in voices[2].sources] == [None, None]
    assert told == [2]  # once, not at every song
    await first.aclose()  # its slot is free again: the next song of the other server is filtered
    second.queue.add(entry("d"))
    second.enqueued()
    await wait_until(lambda: len(voices[2].played) == 3)
    assert voices[2].sources[-1].audio_filter == nightcore
    await second.aclose()


class Packets(discord.AudioSource):
    def read(self) -> bytes:
        return b"\xf8\xff\xfe"

    def is_opus(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("audio_filter", "position_s"),
    [(None, 31.0), (AudioFilter(Effect.NIGHTCORE), 31.25), (AudioFilter(Effect.SPEED, 0.5), 30.5)],
)
def test_a_song_cut_off_by_lost_voice_resumes_at_the_songs_time_whatever_speed_it_was_heard_at(
    audio_filter: AudioFilter | None, position_s: float
) -> None:
    counted = CountedSource(Packets(), 30.0, audio_filter=audio_filter)
    for _ in range(50):  # one second heard
        counted.read()
    assert counted.position_s == pytest.approx(position_s)


async def test_cuts_are_asked_beside_the_url_and_a_lookup_that_hangs_holds_a_song_only_the_grace() -> None:
    voice, sessions = FastVoice(seconds=0.2), Sessions(max_guilds=2)
    audio = FastAudio()
    hanging = asyncio.Event()
    asked: list[str] = []

    async def skips(track: Track) -> Cuts | None:
        asked.append(track.id.key)
        if track.id.key == "hangs":
            await hanging.wait()  # never set: SponsorBlock down, holding the connection
        return (Cut(1.0, 2.0),)

    session = GuildSession(
        1,
        cast(discord.VoiceClient, voice),
        audio=audio,  # type: ignore[arg-type]
        locator=EchoLocator(),
        volume=100,
        idle_timeout_s=30,
        on_closed=sessions.forget,
        skips=skips,
    )
    sessions.add(session)
    session.queue.add_many([entry("known"), entry("hangs")])
    started = asyncio.get_running_loop().time()
    session.enqueued()
    await wait_until(lambda: voice.played == ["known", "hangs"])
    assert audio.cuts == {"known": (Cut(1.0, 2.0),), "hangs": None}  # played whole, not waited for
    assert asyncio.get_running_loop().time() - started < SKIPS_GRACE_S + 1.5
    assert asked.count("known") == 1  # prefetch and play share one lookup
    tasks = session.tasks
    await session.aclose()  # the hanging lookup is the session's: it ends with it
    assert all(task.done() for task in tasks)
