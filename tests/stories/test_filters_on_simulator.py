"""A member puts a filter on the song playing and takes it off again, and the listener hears it change
where the song was: the tone rises by nightcore's quarter (800 Hz to 1 kHz, rung 5 to rung 7 of the
simulator's ladder), the song neither restarts nor jumps, and once the filter is off the cached song
is sent as it is again, with no ffmpeg. The filter is the server's: kept in its settings."""

from __future__ import annotations

import asyncio
import contextlib

import psutil

from musicbox.bot import text
from musicbox.cache.audio import CachedAudio
from musicbox.core.filters import NIGHTCORE_RATE, FilterMistake
from musicbox.sim.voice.recording import Recording
from tests.world.fixture import World
from tests.world.stage import reply_text, stage

SONG_S = 10.0
PLAIN, NIGHTCORE = 5, 7  # 800 Hz, and 800 Hz played a quarter faster: 1 kHz
# Each change of filter starts ffmpeg on the cached file: a few frames of the new source's start and
# the codec's warm-up at each of the two changes, on a busy box (measured: 5 ms). A clock that
# forgot nightcore's speed would be 1 s off here.
SLACK_MS = 500


def ffmpeg_reading(path: str) -> list[psutil.Process]:
    """The ffmpeg children alive and reading `path` (one just stopped may be a zombie until reaped)."""
    reading = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a zombie too: it has ended
            if child.name() == "ffmpeg" and path in child.cmdline():
                reading.append(child)
    return reading


def runs_ms(heard: Recording) -> list[tuple[int, int]]:
    """(rung, ms) of each run of one rung heard for 200 ms or more, in order."""
    return [
        (run.rung, run.duration_ms)
        for run in heard.segments()
        if run.rung is not None and run.duration_ms >= 200
    ]


async def wait_heard(heard: Recording, rung: int, ms: int) -> None:
    async with asyncio.timeout(20):
        while heard.heard_ms(rung) < ms:  # noqa: ASYNC110 (the listener decodes on its own task)
            await asyncio.sleep(0.05)


async def test_nightcore_mid_song_raises_the_tone_where_the_song_was_and_off_sends_the_cached_song_again(
    world: World,
) -> None:
    home = stage(world.sim)
    url = world.media.track_url(PLAIN, seconds=SONG_S)
    heard = home.voice.heard()
    await home.alice.join_voice(home.voice)
    async with world.bot() as bot:
        audio = bot.audio
        assert isinstance(audio, CachedAudio)
        await (await home.alice.run_command("play", home.text, query=url)).reply(timeout=20)
        await wait_heard(heard, PLAIN, 2000)
        async with asyncio.timeout(
            20
        ):  # the fill ran ahead of the listener; its index row, on a busy box, may lag
            while not audio.store.all_keys():  # noqa: ASYNC110 (committed on a worker thread)
                await asyncio.sleep(0.05)
        (key,) = audio.store.all_keys()
        cached_file = str(audio.store.file_for(key))
        assert ffmpeg_reading(cached_file) == []  # sent from the cache as it is

        said, private = await reply_text(
            await home.alice.run_command("filter", home.text, effect="nightcore")
        )
        assert said == text.FILTER_SET.format(label="nightcore") and not private
        await wait_heard(heard, NIGHTCORE, 500)
        # The cached file through the filter, not the link (asked early: ffmpeg ends once the rest of
        # the song fits in its pipe).
        assert len(ffmpeg_reading(cached_file)) == 1
        await wait_heard(heard, NIGHTCORE, 4000)
        session = bot.sessions.get(home.guild.id)
        assert session is not None
        at, so_far = session.position_s, runs_ms(heard)
        now, _ = await reply_text(await home.alice.run_command("now", home.text))
        assert " · filter nightcore" in now, now
        # /now's position is the song's: the plain part heard, and a quarter more than the filtered part.
        (_, plain_ms), (_, filtered_ms) = so_far
        assert abs(at - (plain_ms + filtered_ms * NIGHTCORE_RATE) / 1000) <= SLACK_MS / 1000, (at, so_far)
        assert (await asyncio.to_thread(bot.settings.get, home.guild.id)).audio_filter == "nightcore"

        said, private = await reply_text(await home.alice.run_command("filter", home.text, effect="off"))
        assert said == text.FILTER_OFF and not private
        await wait_heard(heard, PLAIN, 3000)
        assert ffmpeg_reading(cached_file) == []  # passthrough again
        async with asyncio.timeout(20):
            while session.queue.current is not None:  # noqa: ASYNC110
                await asyncio.sleep(0.1)

        # What a member gets wrong is one private sentence, and so is a box with no room for a filter.
        refusals = [
            ({"effect": "speed"}, text.FILTER_MISTAKES[FilterMistake.SPEED_MISSING]),
            ({"effect": "bassboost", "speed": 1.5}, text.FILTER_MISTAKES[FilterMistake.SPEED_UNWANTED]),
            ({"effect": "speed", "speed": 5.0}, text.out_of_range("speed", 0.5, 2.0)),
            ({"effect": "reverse"}, None),
        ]
        for options, sentence in refusals:
            # Crafted: Discord's client would refuse the last two itself.
            said, private = await reply_text(
                await home.alice.run_crafted_command("filter", home.text, **options)
            )
            assert private and "\n" not in said, (options, said)
            assert sentence is None or said == sentence, (options, said)
        # The box's one filtered stream plays in another server; then the owner allows none.
        slots = bot.sessions.filter_slots
        slots.most = 1
        assert slots.take(home.guild.id + 1)
        for most, refusal in ((1, text.FILTERS_BUSY.format(most=1)), (0, text.FILTERS_NONE)):
            slots.most = most
            said, private = await reply_text(await home.alice.run_command("filter", home.text, effect="8d"))
            assert private and said == refusal, said
        assert (await asyncio.to_thread(bot.settings.get, home.guild.id)).audio_filter == ""

    runs = runs_ms(heard)
    assert [rung for rung, _ in runs] == [PLAIN, NIGHTCORE, PLAIN], runs
    (_, before), (_, filtered), (_, after) = runs
    # The song's seconds, whatever speed each was heard at, add up to the song once: no restart, no jump.
    played_ms = before + filtered * NIGHTCORE_RATE + after
    print(f"heard {runs}: {played_ms:.0f} ms of a {SONG_S:g} s song")
    assert abs(played_ms - SONG_S * 1000) <= SLACK_MS, runs
