"""Members hear a music video without the stretch SponsorBlock's viewers marked off-topic: cut by the
transcode that caches it (another server's replay is that clean file, sent with no ffmpeg), skipped
by seeking when played uncached, with a server's own categories from /settings, and never held up by
SponsorBlock being down. The media world's video plays one tone for its music and other rungs for
its marked stretches, so what the listener heard shows each cut."""

from __future__ import annotations

import time

import pytest

from musicbox.bot import text
from musicbox.cache.audio import CachedAudio
from musicbox.core.sponsorblock import CATEGORIES, Cut, hash_prefix
from musicbox.playback.session import SKIPS_GRACE_S
from musicbox.sim.discord.world import MANAGE_GUILD
from musicbox.sim.sponsorblock import video
from musicbox.sim.voice.recording import Recording
from musicbox.sources import sponsorblock
from tests.world.fixture import World
from tests.world.stage import Stage, reply_text, stage
from tests.world.waiting import heard_for, until

# 8 s: music (rung 40) 0-2 s, "music_offtopic" talk (41) 2-4 s, music 4-7 s, a "sponsor" read (42) 7-8 s.
CLIP = video("mbxOfftop01")
MUSIC, TALK, SPONSOR = 40, 41, 42
OTHER = video("mbxOfftop02")  # the same shape on rungs 43, 44, 45


def link(video_id: str) -> str:
    return f"https://youtu.be/{video_id}"


async def play(home: Stage, query: str) -> float:
    """When the member sent /play (monotonic), once its reply came."""
    asked = time.monotonic()
    said = await (await home.alice.run_command("play", home.text, query=query)).reply(timeout=20)
    assert "Playing" in said.text() or "Queued" in said.text(), said.text()
    return asked


def assert_heard_without(heard: Recording, *, cut: list[int], music_ms: int) -> None:
    # A stretch that is left out is never heard, not even for a packet's worth.
    assert all(heard.heard_ms(rung) == 0 for rung in cut), [(r, heard.heard_ms(r)) for r in cut]
    assert abs(heard.heard_ms(MUSIC) - music_ms) <= 600, heard.heard_ms(MUSIC)


async def test_a_music_videos_offtopic_talk_is_cut_as_it_is_cached_and_a_replay_is_that_clean_file(
    world: World,
) -> None:
    home, away = stage(world.sim), stage(world.sim, "away")
    heard, heard_away = home.voice.heard(), away.voice.heard()
    await home.alice.join_voice(home.voice)
    await away.alice.join_voice(away.voice)
    earlier = len(world.media.sponsorblock.requests)  # the media world serves every test of the session
    async with world.bot(youtube=True) as bot:
        audio = bot.audio
        assert isinstance(audio, CachedAudio)
        key = f"youtube:{CLIP.video_id}"
        await play(home, link(CLIP.video_id))
        await heard_for(heard, MUSIC, 300)
        now, _ = await reply_text(await home.alice.run_command("now", home.text))
        assert f"{CLIP.title}** (0:08) at 0:0" in now and "· 0:02 left out (SponsorBlock) ·" in now, now
        await until(lambda: audio.store.contains(key), 20, "the video cached")
        assert audio.store.cuts(key) == (Cut(2.0, 4.0),)  # by default, music_offtopic only
        transcodes = audio.transcodes_started
        await play(away, link(CLIP.video_id))  # another server, from the cached file
        await heard_for(heard, SPONSOR, 800)
        await heard_for(heard_away, SPONSOR, 800)
        assert audio.transcodes_started == transcodes  # passthrough: no transcode for the replay
    for recording in (heard, heard_away):
        assert_heard_without(recording, cut=[TALK], music_ms=5000)
        assert recording.heard_rungs() == [MUSIC, SPONSOR]  # the music joined where the talk was
    # Asked by the hash prefix alone: SponsorBlock never learns which video was played.
    asked = world.media.sponsorblock.requests[earlier:]
    assert asked and all(
        path.startswith(f"/api/skipSegments/{hash_prefix(CLIP.video_id)}?") for path in asked
    )
    assert not any(CLIP.video_id in path for path in asked), asked


async def test_uncached_a_servers_categories_are_skipped_by_seeking_and_sponsorblock_down_delays_nothing(
    world: World,
) -> None:
    home = stage(world.sim)
    heard = home.voice.heard()
    manager = home.guild.create_member(
        "carol", roles=[home.guild.create_role("Mods", permissions=MANAGE_GUILD)]
    )
    await home.alice.join_voice(home.voice)
    async with world.bot(youtube=True, cache_mb=0) as bot:
        refused, private = await reply_text(
            await manager.run_command("settings", home.text, skip_segments="sponsr, @everyone")
        )
        assert private and refused == text.SKIP_CATEGORIES_UNKNOWN.format(categories=", ".join(CATEGORIES))
        said, private = await reply_text(
            await manager.run_command("settings", home.text, skip_segments="Sponsor music_offtopic")
        )
        assert private and "left out of YouTube videos: sponsor, music_offtopic ·" in said, said

        asked = await play(home, link(CLIP.video_id))
        await heard_for(heard, MUSIC, 4400)
        first = heard.first_heard_at(MUSIC)
        assert first is not None
        healthy_s = first - asked
        session = bot.sessions.get(home.guild.id)
        assert session is not None
        await until(lambda: session.queue.current is None, 10, "the video over")

        # SponsorBlock hangs: the next video starts within the grace, and plays whole.
        world.media.sponsorblock.hang(True)
        try:
            asked = await play(home, link(OTHER.video_id))
            await heard_for(heard, 44, 800)  # its off-topic talk: played uncut
            first = heard.first_heard_at(43)
            assert first is not None
            outage_s = first - asked
            # Heard before the bot's lookup could even reach its own deadline: the song did not wait for it.
            lookup_began = world.media.sponsorblock.arrivals[-1]
            assert first - lookup_began < sponsorblock.LOOKUP_S, (first - lookup_began, outage_s)
            await (await home.alice.run_command("stop", home.text)).reply(timeout=10)
        finally:
            world.media.sponsorblock.hang(False)
        said, private = await reply_text(
            await manager.run_command("settings", home.text, skip_segments="none")
        )
        assert private and "left out of YouTube videos: nothing ·" in said, said
        assert bot.settings.get(home.guild.id).skip_categories == ()
    print(f"first audio: {healthy_s:.2f} s with SponsorBlock up, {outage_s:.2f} s with it hanging")
    assert_heard_without(heard, cut=[TALK, SPONSOR], music_ms=5000)  # both categories, by seeking
    # The normal bound: the first audio of the same kind of song with SponsorBlock up, plus the grace
    # (and room for a busy box); waiting out the lookup's own 2 s deadline would not fit.
    assert outage_s < max(healthy_s, 1.0) + SKIPS_GRACE_S + 1.5, (healthy_s, outage_s)
    assert any(hash_prefix(OTHER.video_id) in path for path in world.media.sponsorblock.requests)


@pytest.mark.slow  # its short form: tests/cache/test_sponsorblock_cuts.py (the same, on CachedAudio alone)
async def test_a_video_cached_whole_while_sponsorblock_was_down_is_heard_cut_once_it_answers_again(
    world: World,
) -> None:
    home = stage(world.sim)
    heard = home.voice.heard()
    await home.alice.join_voice(home.voice)
    clip = video("mbxOfftop03")  # rungs 46 (music), 47 (off-topic talk), 48 (sponsor)
    key = f"youtube:{clip.video_id}"
    async with world.bot(youtube=True) as bot:
        audio = bot.audio
        assert isinstance(audio, CachedAudio)
        world.media.sponsorblock.fail_with(503)
        try:
            await play(home, link(clip.video_id))
            await heard_for(heard, 47, 1500)  # played whole
            await until(lambda: audio.store.contains(key), 20, "the video cached")
            assert audio.store.cuts(key) is None  # cached whole, its cuts not known
        finally:
            world.media.sponsorblock.fail_with(None)
        session = bot.sessions.get(home.guild.id)
        assert session is not None
        await until(lambda: session.queue.current is None, 15, "the video over")
        talk_ms, fetched = heard.heard_ms(47), len(world.media.requests(f"/video/{clip.video_id}"))
        await play(home, link(clip.video_id))
        await heard_for(heard, 48, 800)
        await until(lambda: audio.store.cuts(key) == (Cut(2.0, 4.0),), 20, "the cached copy cut")
        assert heard.heard_ms(47) == talk_ms  # the replay left the talk out
        assert len(world.media.requests(f"/video/{clip.video_id}")) == fetched  # cut from its own file
        await until(lambda: session.queue.current is None, 15, "the replay over")
        transcodes = audio.transcodes_started
        await play(home, link(clip.video_id))
        await until(lambda: heard.heard_ms(48) >= 2600, 20, "the third play's sponsor read")
        assert audio.transcodes_started == transcodes and heard.heard_ms(47) == talk_ms  # clean, passthrough
