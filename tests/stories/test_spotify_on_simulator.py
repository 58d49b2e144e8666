"""Members paste Spotify links: the real bot reads them from the Spotify fake with spotipy, matches
each track in the media world's search feed, and the channel hears the matched songs."""

from __future__ import annotations

import asyncio
import time

from musicbox.bot import text
from musicbox.sim.media import entry
from musicbox.sim.signature import LADDER_SIZE
from musicbox.sim.spotify import SpotifyFake, album_id, track_id
from musicbox.sources.spotify import CREDENTIALS_REFUSED, FAILING, SpotifySource
from musicbox.sources.ytdlp import SPOTIFY_NEEDS_SETUP
from tests.fixtures.spotify import spotify_config
from tests.world.fixture import World
from tests.world.stage import reply_text, stage


def _spotify(bot_sources: object) -> SpotifySource:
    assert isinstance(bot_sources, SpotifySource)
    return bot_sources


async def test_a_spotify_track_plays_and_another_guild_playing_it_reuses_the_match(
    world: World, spotify_fake: SpotifyFake
) -> None:
    home, away = stage(world.sim, "home"), stage(world.sim, "away")
    link = f"https://open.spotify.com/track/{track_id(21)}?si=a1b2c3"
    await home.alice.join_voice(home.voice)
    await away.bob.join_voice(away.voice)
    async with world.bot(spotify=spotify_config(spotify_fake)) as bot:
        played = await home.alice.run_command("play", home.text, query=link)
        reply = await played.reply(lambda m: "Playing" in m.text())
        assert entry(21).title in reply.text() and not reply.ephemeral
        await home.voice.heard().wait_for_rungs([21], timeout=20)
        source = _spotify(bot.sources)
        assert source.searches == 1
        hits_before = source.mapping_hits
        again = await away.bob.run_command("play", away.text, query=link)
        await again.reply(lambda m: "Playing" in m.text())
        await away.voice.heard().wait_for_rungs([21], timeout=20)
        assert source.searches == 1 and source.mapping_hits > hits_before


async def test_a_spotify_album_is_queued_whole_and_its_first_song_plays(
    world: World, spotify_fake: SpotifyFake
) -> None:
    home = stage(world.sim)
    await home.alice.join_voice(home.voice)
    async with world.bot(spotify=spotify_config(spotify_fake)):
        played = await home.alice.run_command("play", home.text, query=f"spotify:album:{album_id(30)}")
        reply = await played.reply(lambda m: "Queued" in m.text())
        assert reply.text() == text.queued_many(4, 0)
        await home.voice.heard().wait_for_rungs([120 % LADDER_SIZE], timeout=20)


async def test_a_300_track_playlist_plays_before_it_is_all_read_and_a_429_is_waited_out(
    world: World, spotify_fake: SpotifyFake
) -> None:
    home = stage(world.sim)
    playlist = spotify_fake.add_playlist(list(range(300, 600)), name="Three hundred")
    # Long enough that a busy box's first song (its search, a cold extraction worker) is heard first.
    spotify_fake.throttle_playlist_page(200, retry_after_s=4)
    await home.alice.join_voice(home.voice)
    async with world.bot(spotify=spotify_config(spotify_fake)) as bot:
        asked = time.monotonic()
        played = await home.alice.run_command(
            "play", home.text, query=f"https://open.spotify.com/playlist/{playlist}"
        )
        reply = await played.reply(lambda m: "Queued" in m.text())
        read_s = time.monotonic() - asked
        assert reply.text() == text.queued_many(300, 0)
        heard = home.voice.heard()
        await heard.wait_for_rungs([300 % LADDER_SIZE], timeout=20)
        first_audio_at = heard.first_heard_at(300 % LADDER_SIZE)
        assert first_audio_at is not None
        source = _spotify(bot.sources)
        assert source.searches <= 4  # the first song and the prefetch's few, not 300 searches first
        assert (spotify_fake.throttled, source.rate_limit_waits) == (1, 1)
        assert read_s >= 4.0  # the 429's Retry-After was waited out, not ignored
        # The first page was queued and playing while the rest (and the 429) were still being read.
        assert first_audio_at - asked < read_s
        print(f"300-track playlist: read {read_s:.2f} s, first audio {first_audio_at - asked:.2f} s")


async def test_bad_or_missing_spotify_credentials_tell_the_member_what_the_owner_must_do(
    world: World, spotify_fake: SpotifyFake
) -> None:
    home = stage(world.sim)
    link = f"spotify:track:{track_id(5)}"
    await home.alice.join_voice(home.voice)
    async with world.bot(spotify=spotify_config(spotify_fake, secret="not-the-secret")):
        refused, private = await reply_text(await home.alice.run_command("play", home.text, query=link))
        assert private and CREDENTIALS_REFUSED in refused
    async with world.bot():
        missing, private = await reply_text(await home.alice.run_command("play", home.text, query=link))
        assert private and SPOTIFY_NEEDS_SETUP in missing
    assert not any(path.startswith("/v1/") for path in spotify_fake.requests())


async def test_spotify_failing_is_told_as_spotify_failing_not_as_the_owner_s_credentials(
    world: World, spotify_fake: SpotifyFake
) -> None:
    home = stage(world.sim)
    link = f"spotify:track:{track_id(6)}"
    await home.alice.join_voice(home.voice)
    async with world.bot(spotify=spotify_config(spotify_fake)):
        spotify_fake.fail_everything(500)  # the token request first, then every Web API call
        failing, private = await reply_text(await home.alice.run_command("play", home.text, query=link))
        assert private and failing == f"I couldn't play “{link}”: {FAILING}."
        assert spotify_fake.requests("/api/token")  # it was asked, and it failed
        spotify_fake.fail_everything(None)
        async with asyncio.timeout(30):  # Spotify's circuit opened: it is tried again once it admits
            while True:
                said, private = await reply_text(await home.alice.run_command("play", home.text, query=link))
                if not private:
                    break
                assert FAILING in said or "try again" in said, said
                await asyncio.sleep(1)
        assert said.startswith("Playing") and entry(6).title in said


async def test_a_spotify_playlist_over_the_limit_is_refused_before_anything_is_queued(
    world: World, spotify_fake: SpotifyFake
) -> None:
    home = stage(world.sim)
    playlist = spotify_fake.add_playlist(list(range(600, 606)), name="Six")
    await home.alice.join_voice(home.voice)
    async with world.bot(spotify=spotify_config(spotify_fake), max_playlist=5) as bot:
        link = f"https://open.spotify.com/playlist/{playlist}"
        said, private = await reply_text(await home.alice.run_command("play", home.text, query=link))
        assert private and said == text.PLAYLIST_TOO_LONG.format(count=6, limit=5)
        assert bot.sessions.get(home.guild.id) is None
