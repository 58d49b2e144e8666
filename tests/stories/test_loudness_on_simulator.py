"""Songs 20 dB apart reach the listener at one loudness: the transcode that caches each song brings it
to the target (EBU R128, -14 LUFS by default), and a replay from the cache is the same file sent as
it is. Measured at the listener, on the simulator's decoded PCM, with ffmpeg's ebur128 filter."""

from __future__ import annotations

import asyncio
import re

from musicbox.cache.audio import CachedAudio
from musicbox.sim.discord.world import MANAGE_GUILD
from musicbox.sim.voice.recording import Recording
from tests.world.fixture import World
from tests.world.stage import reply_text, stage

SONG_S = 4.0
_INTEGRATED = re.compile(r"I:\s+(-?[\d.]+) LUFS")


async def _heard_lufs(heard: Recording, rung: int, occurrence: int = 0) -> float:
    """The integrated loudness (BS.1770) of the `occurrence`-th stretch of `rung` the listener heard."""
    runs = [run for run in heard.segments() if run.rung == rung and run.duration_ms >= 1000]
    measuring = await asyncio.create_subprocess_exec(
        "ffmpeg", "-nostats", "-hide_banner", "-f", "s16le", "-ar", "48000", "-ac", "2", "-i", "-",
        "-af", "ebur128", "-f", "null", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, report = await measuring.communicate(heard.pcm_of(runs[occurrence]))
    return float(_INTEGRATED.findall(report.decode())[-1])


async def test_songs_20_db_apart_are_heard_within_1_lu_of_the_target_and_a_replay_stays_passthrough(
    world: World,
) -> None:
    home = stage(world.sim)
    loud, quiet = (
        world.media.track_url(26, seconds=SONG_S),
        world.media.track_url(27, seconds=SONG_S, gain_db=-20),
    )
    heard = home.voice.heard()
    heard.keep_pcm = True
    await home.alice.join_voice(home.voice)
    async with world.bot() as bot:
        audio = bot.audio
        assert isinstance(audio, CachedAudio)
        for url in (loud, quiet):
            await (await home.alice.run_command("play", home.text, query=url)).reply(timeout=20)
        await heard.wait_for_rungs([26, 27], timeout=30)
        session = bot.sessions.get(home.guild.id)
        assert session is not None
        # Both cached, and the second over (a replay of the song still playing would be a duplicate).
        while len(audio.store.all_keys()) < 2 or session.queue.current is not None:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        transcodes = audio.transcodes_started
        await (await home.alice.run_command("play", home.text, query=quiet)).reply(timeout=20)
        async with asyncio.timeout(30):  # the replay heard whole: twice the song in all
            while heard.heard_ms(27) < 2 * SONG_S * 1000 - 300 or session.queue.current is not None:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        assert audio.transcodes_started == transcodes  # the replay is the cached file, sent as it is
        measured = {key: audio.store.loudness(key) for key in audio.store.all_keys()}
        # A server that turns evening-out off hears the source as loud as it is.
        manager = home.guild.create_member(
            "carol", roles=[home.guild.create_role("Mods", permissions=MANAGE_GUILD)]
        )
        said, private = await reply_text(await manager.run_command("settings", home.text, loudness=False))
        assert private and said.endswith("loudness evened out: off"), said
        await (await home.alice.run_command("play", home.text, query=quiet)).reply(timeout=20)
        async with asyncio.timeout(30):
            while heard.heard_ms(27) < 3 * SONG_S * 1000 - 600 or session.queue.current is not None:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    first, second, replay = (
        await _heard_lufs(heard, 26),
        await _heard_lufs(heard, 27),
        await _heard_lufs(heard, 27, 1),
    )
    as_it_is = await _heard_lufs(heard, 27, 2)
    print(
        f"heard: {first:.1f}, {second:.1f}, replayed {replay:.1f}, off {as_it_is:.1f} LUFS; index: {measured}"
    )
    assert abs(as_it_is - -38) <= 1.5, as_it_is  # the quiet source: a -18 dBFS tone 20 dB down
    for lufs in (first, second, replay):
        assert abs(lufs - -14) <= 1.0, (first, second, replay)
    sources = sorted(loudness[0] for loudness in measured.values() if loudness and loudness[0] is not None)
    assert len(sources) == 2 and 19 <= sources[1] - sources[0] <= 21, measured  # what each source measured
    assert {loudness[1] for loudness in measured.values() if loudness} == {-14}
