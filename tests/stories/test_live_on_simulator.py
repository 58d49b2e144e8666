"""Members play live streams: an internet radio whose title changes and whose connection drops, a
station that goes dark for good, and an HLS live playlist. None of it ever reaches the cache."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import pytest

from musicbox.bot import text
from musicbox.cache.audio import CachedAudio
from musicbox.playback.session import OffAir
from musicbox.sim.discord import SimTextChannel
from musicbox.sim.media import entry
from musicbox.sim.voice.recording import Recording
from musicbox.sources import radio
from tests.world.fixture import World
from tests.world.stage import Stage, reply_text, stage

HOSTILE = "@everyone **Hot Hits**"


async def _now(home: Stage) -> str:
    said, _ = await reply_text(await home.alice.run_command("now", home.text))
    return said


async def _until_now_says(home: Stage, words: str, *, within_s: float = 10) -> str:
    """/now, asked every half second until it says `words`; what it said last."""
    said = ""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within_s):
            while True:
                said = await _now(home)
                if words in said:
                    break
                await asyncio.sleep(0.5)
    return said


async def _until_told(channel: SimTextChannel, words: str) -> str:
    """The first message in the channel with `words` in it, waited for up to 20 s."""
    async with asyncio.timeout(20):
        while True:
            told = [m.text() for m in channel.messages if words in m.text()]
            if told:
                return told[0]
            await asyncio.sleep(0.2)


async def _until_heard_ms(heard: Recording, rung: int, ms: int) -> int:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(20):
            while True:
                if heard.heard_ms(rung) >= ms:
                    break
                await asyncio.sleep(0.5)
    return heard.heard_ms(rung)


def _longest_silence_ms(heard: Recording) -> float:
    """The longest wall-clock gap between two runs of tone the listener heard (a run is at least
    100 ms: a single frame misread on a loaded box is not a song)."""
    runs = [run for run in heard.segments() if run.rung is not None and run.duration_ms >= 100]
    arrivals = heard.frame_arrivals
    return max(
        (
            (arrivals[after.first_frame] - arrivals[before.first_frame + before.frame_count - 1]) * 1000
            for before, after in itertools.pairwise(runs)
        ),
        default=0.0,
    )


def _cache_files(world: World) -> list[str]:
    return sorted(p.name for p in (world.state_dir / "cache").rglob("*") if p.is_file())


async def test_a_station_plays_across_a_drop_a_dead_one_is_told_and_an_hls_live_stream_plays(
    world: World,
) -> None:
    home = stage(world.sim)
    station = world.media.station_url("lounge", first=40, every_s=6, fault="drop", at_s=4, title=HOSTILE)
    dark = world.media.station_url("dark", first=45, fault="die", at_s=2)
    hls = world.media.hls_live_url(50)
    at_mp3 = world.media.station_url("night.mp3", first=47)  # a station whose address looks like a song
    await home.alice.join_voice(home.voice)
    async with world.bot() as bot:
        played = await home.alice.run_command("play", home.text, query=station)
        reply = await played.reply(lambda m: "Playing" in m.text(), timeout=30)
        assert reply.text() == "Playing **Radio lounge** (LIVE)."
        heard = home.voice.heard()
        await heard.wait_for_rungs([40], timeout=20)
        now = await _until_now_says(home, entry(40).full_title)
        # The station's title is its own text: shown as typed, pinging nobody.
        assert "on air: @\u200beveryone \\*\\*Hot Hits\\*\\*" in now, now
        assert now.startswith("Playing **Radio lounge** (LIVE) · on air:") and " at " not in now
        # Past the drop (4 s) and into the next song on air (6 s): the station reconnected.
        await heard.wait_for_rungs([40, 41], timeout=20)
        assert entry(41).full_title in await _until_now_says(home, entry(41).full_title)
        assert world.media.live.players["lounge"] >= 2
        gap_ms = _longest_silence_ms(heard)
        assert gap_ms < 5000, f"the drop cost {gap_ms:.0f} ms of silence"
        print(f"silence across the station's drop: {gap_ms:.0f} ms")

        for query in (dark, hls):
            queued = await home.alice.run_command("play", home.text, query=query)
            await queued.reply(lambda m: "Queued" in m.text(), timeout=30)
        listed, _ = await reply_text(await home.alice.run_command("queue", home.text))
        assert "Now: **Radio lounge** (LIVE)" in listed and "1. **Radio dark** (LIVE)" in listed, listed
        assert "2. **index** (LIVE)" in listed, listed

        await home.alice.run_command("skip", home.text)
        await heard.wait_for_rungs([40, 41, 45], timeout=20)
        told = await _until_told(home.text, OffAir.reason)
        assert told == f"I couldn't play **Radio dark** (LIVE): {OffAir.reason}. On to the next song."
        # The HLS live playlist grows: more is heard than it listed at first (three 2 s segments).
        await heard.wait_for_rungs([45, 50], timeout=20)
        assert await _until_heard_ms(heard, 50, 7500) >= 7500
        assert "(LIVE)" in await _now(home)
        # A filter waits for the next song that is not live: a station cannot be played faster than it sends.
        said, _ = await reply_text(await home.alice.run_command("filter", home.text, effect="nightcore"))
        assert said == text.FILTER_SET_LIVE.format(label="nightcore")
        assert " · filter" not in await _now(home)
        await home.alice.run_command("filter", home.text, effect="off")

        # /radio finds stations in the directory, most listened to first, broken ones left out.
        offered = await (await home.alice.run_command("radio", home.text, words="jazz")).reply(timeout=20)
        assert offered.text() == (
            "Stations for “jazz”, pick one:\n1. **Night Jazz Radio** (LIVE)\n"
            "2. **Jazz Cafe** (LIVE)\n3. **Off Air Jazz** (LIVE)"
        )
        picked = await (await home.alice.press(offered, "search:2")).reply(timeout=20)
        assert picked.text() == "Queued **Jazz Cafe** (LIVE) at position 1."
        await home.alice.run_command("skip", home.text)
        await heard.wait_for_rungs([50, 30], timeout=20)
        nothing, private = await reply_text(await home.alice.run_command("radio", home.text, words="polka"))
        assert private and nothing == text.no_stations("polka")
        world.media.radio.fail_with(503)
        try:
            down, private = await reply_text(await home.alice.run_command("radio", home.text, words="jazz"))
        finally:
            world.media.radio.fail_with(None)
        assert private and down == f"I couldn't play “jazz”: {radio.DIRECTORY.failing}.", down
        assert heard.heard_rungs()[-1] == 30  # the station played on meanwhile

        # A station at an address that looks like a song's is told live too, and never cached.
        queued = await (await home.alice.run_command("play", home.text, query=at_mp3)).reply(timeout=30)
        assert queued.text() == "Queued **Radio night.mp3** (LIVE) at position 1."

        audio = bot.audio
        assert isinstance(audio, CachedAudio)
        # Only the .mp3 station's transcode began (before its link was known to be a station), and
        # it was stopped as soon as its ffmpeg described an endless stream.
        assert audio.transcodes_started == 1 and audio.store.stats().entries == 0
    assert _cache_files(world) == [], "a live stream was written to the cache"


@pytest.mark.slow
async def test_a_station_plays_for_a_minute_across_a_drop_and_each_title_change_reaches_now(
    world: World,
) -> None:
    """The long form of the first story: songs change on air every 20 s and the connection drops at 30 s."""
    home = stage(world.sim)
    station = world.media.station_url("minute", first=60, every_s=20, fault="drop", at_s=30)
    await home.alice.join_voice(home.voice)
    async with world.bot():
        played = await home.alice.run_command("play", home.text, query=station)
        await played.reply(lambda m: "Playing" in m.text(), timeout=30)
        heard = home.voice.heard()
        await heard.wait_for_rungs([60], timeout=20)
        started = asyncio.get_running_loop().time()
        for song in (60, 61, 62):
            now = await _until_now_says(home, entry(song).full_title, within_s=25)
            assert entry(song).full_title in now, now
        await asyncio.sleep(max(0.0, 60 - (asyncio.get_running_loop().time() - started)))
        assert world.media.live.players["minute"] >= 2  # it dropped, and came back
        on_air_ms = sum(heard.heard_ms(song) for song in (60, 61, 62, 63))
        assert on_air_ms >= 55_000, heard.heard_rungs()
        gap_ms = _longest_silence_ms(heard)
        assert gap_ms < 5000, f"the drop cost {gap_ms:.0f} ms of silence"
        print(f"a minute of radio across a drop: {on_air_ms} ms heard, longest silence {gap_ms:.0f} ms")
    assert _cache_files(world) == []
