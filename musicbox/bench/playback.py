"""The playback scenarios, measured at the simulator's listener (decoded audio, not log lines):

- ttfa: /play to the first decoded frame, of songs never played before (cold) and of the same songs
  again, now in the Opus cache (warm); the cold figure broken into the stages the bot marked
  (`musicbox.start_times`, on the monotonic clock both processes share) and the listener's own;
- gap: silence between consecutive queued songs;
- playlist: /play of a long playlist to its first decoded frame.
"""

from __future__ import annotations

from collections.abc import Sequence

from musicbox.bench.figures import Figure, at_most, percentile
from musicbox.bench.rig import Rig, Room, first_audio_s, rig, room, wait_heard_ms
from musicbox.bench.runner import BenchOptions
from musicbox.sim.signature import LADDER_SIZE
from musicbox.start_times import STAGES

SONG_S = 2.0
# What the listener adds after the bot's stages: the first packet's arrival, and the first decoded
# frame in which the song's tone is recognisable (the figure itself).
HEARD = "first packet heard"
RECOGNISED = "first frame recognised"
TIMELINE = (*STAGES, HEARD, RECOGNISED)

Stages = dict[str, float]  # stage -> seconds after the member's /play left the client


def latency_figures(scenario: str, samples_s: list[float], p95_target_ms: float) -> list[Figure]:
    ms = [sample * 1000 for sample in samples_s]
    note = f"{len(ms)} plays"
    return [
        Figure(scenario, f"{scenario} p50", percentile(ms, 0.5), "ms", note=note),
        Figure(scenario, f"{scenario} p95", percentile(ms, 0.95), "ms", at_most(p95_target_ms), note=note),
    ]


def stage_figures(scenario: str, plays: Sequence[Stages]) -> list[Figure]:
    """For each stage in the order a start passes them, when it was reached (p50, p95) counted from
    the member's /play; a stage some plays skipped (no transcode for a cached song) is taken over
    the plays that reached it. Stages can overlap (the transcode starts while the probe runs), so
    they are times since /play, not durations."""
    figures = []
    for stage in TIMELINE:
        ms = [play[stage] * 1000 for play in plays if stage in play]
        if ms:
            note = f"{len(ms)} of {len(plays)} plays"
            figures.append(Figure(scenario, f"at {stage} p50", percentile(ms, 0.5), "ms", note=note))
            figures.append(Figure(scenario, f"at {stage} p95", percentile(ms, 0.95), "ms", note=note))
    return figures


async def ttfa_rounds(options: BenchOptions) -> tuple[list[Stages], list[float]]:
    async with rig() as world:
        return await cold_then_warm(world, await room(world.sim, "ttfa"), 5 if options.quick else 20)


async def cold_then_warm(world: Rig, here: Room, plays: int) -> tuple[list[Stages], list[float]]:
    """`plays` songs never heard, each played to its end (its cold start's stages), then each again
    from the cache (its warm start's time to first audio, in seconds)."""
    cold: list[Stages] = []
    warm: list[float] = []
    await world.media.prepare(range(plays), seconds=SONG_S)
    for index in range(plays):
        cold.append(await timed_play(world, here, world.media.track_url(index, seconds=SONG_S), index))
        await wait_heard_ms(here.heard, index, SONG_S * 1000 - 200)
        await world.until_idle(here.guild_id)
    for index in range(plays):
        sent = await here.play(world.media.track_url(index, seconds=SONG_S))
        warm.append(await first_audio_s(here.heard, index, sent))
        await wait_heard_ms(here.heard, index, 2 * SONG_S * 1000 - 200)
        await world.until_idle(here.guild_id)
    return cold, warm


async def timed_play(world: Rig, here: Room, url: str, rung: int) -> Stages:
    """/play of `url`, whose tone is `rung`; when each stage of its start was reached."""
    sent = await here.play(url)
    recognised = await first_audio_s(here.heard, rung, sent)
    stages = {stage: at - sent for stage, at in (await world.start_marks(here.guild_id, sent)).items()}
    heard = here.heard.first_packet_after(sent)
    if heard is not None:
        stages[HEARD] = heard - sent
    return stages | {RECOGNISED: recognised}


async def ttfa_scenario(options: BenchOptions) -> list[Figure]:
    cold, warm = await ttfa_rounds(options)
    return (
        latency_figures("ttfa-cold", [play[RECOGNISED] for play in cold], 800)
        + latency_figures("ttfa-warm", warm, 150)
        + stage_figures("ttfa-cold", cold)
    )


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
