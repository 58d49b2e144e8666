"""The playback scenarios, measured at the simulator's listener (decoded audio, not log lines):

- ttfa: /play to the first decoded frame, of songs never played before (cold) and of the same songs
  again, now in the Opus cache (warm);
- gap: silence between consecutive queued songs;
- playlist: /play of a long playlist to its first decoded frame.
"""

from __future__ import annotations

from musicbox.bench.figures import Figure, at_most, percentile
from musicbox.bench.rig import first_audio_s, rig, room, wait_heard_ms
from musicbox.bench.runner import BenchOptions
from musicbox.sim.signature import LADDER_SIZE

SONG_S = 2.0


def latency_figures(scenario: str, samples_s: list[float], p95_target_ms: float) -> list[Figure]:
    ms = [sample * 1000 for sample in samples_s]
    note = f"{len(ms)} plays"
    return [
        Figure(scenario, f"{scenario} p50", percentile(ms, 0.5), "ms", note=note),
        Figure(scenario, f"{scenario} p95", percentile(ms, 0.95), "ms", at_most(p95_target_ms), note=note),
    ]


async def ttfa_rounds(options: BenchOptions) -> tuple[list[float], list[float]]:
    plays = 5 if options.quick else 20
    cold: list[float] = []
    warm: list[float] = []
    async with rig() as world:
        here = await room(world.sim, "ttfa")
        for played_before, samples in ((0, cold), (1, warm)):
            for index in range(plays):
                sent = await here.play(world.media.track_url(index, seconds=SONG_S))
                samples.append(await first_audio_s(here.heard, index, sent))
                await wait_heard_ms(here.heard, index, (played_before + 1) * SONG_S * 1000 - 200)
                await world.until_idle(here.guild_id)
    return cold, warm


async def ttfa_scenario(options: BenchOptions) -> list[Figure]:
    cold, warm = await ttfa_rounds(options)
    return latency_figures("ttfa-cold", cold, 800) + latency_figures("ttfa-warm", warm, 150)


async def gap_scenario(options: BenchOptions) -> list[Figure]:
    songs = 6 if options.quick else 20
    async with rig() as world:
        here = await room(world.sim, "gap")
        for index in range(songs):
            await here.play(world.media.track_url(100 + index, seconds=SONG_S))
        last = (100 + songs - 1) % LADDER_SIZE
        await wait_heard_ms(here.heard, last, SONG_S * 1000 - 200, timeout_s=songs * SONG_S + 30)
        silences = here.heard.silences_between_tracks_ms()
    if not silences:
        raise RuntimeError("no song followed another: nothing to measure")
    note = f"{len(silences)} song changes"
    return [
        Figure("gap", "p50", percentile(silences, 0.5), "ms", note=note),
        Figure("gap", "p95", percentile(silences, 0.95), "ms", at_most(60), note=note),
    ]


async def playlist_scenario(options: BenchOptions) -> list[Figure]:
    length = 100 if options.quick else 500
    async with rig(max_playlist=1000) as world:
        here = await room(world.sim, "playlist")
        url = world.media.playlist_url(length, kind="xspf", first_index=200, seconds=SONG_S)
        interaction = await here.member.run_command("play", here.text, query=url)
        first = await first_audio_s(here.heard, 200 % LADDER_SIZE, interaction.sent_at)
        await interaction.reply(lambda m: "Queued" in m.text() or "Playing" in m.text(), timeout=120)
    name = f"{length}-entry playlist to first audio"
    return [Figure("playlist", name, first * 1000, "ms", at_most(1500), "xspf")]
