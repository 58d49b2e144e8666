"""The world changing under the bot as it does on Discord and the web: its voice channel deleted, its
voice moved to another server mid-song, a media host redirecting to another host and port, and a
playlist whose entries have rotted. Each story says what a member read or heard."""

from __future__ import annotations

import asyncio

from musicbox.bot import text
from musicbox.sim.discord.actors import SimTextChannel
from musicbox.sim.voice import Recording
from tests.world.fixture import World
from tests.world.stage import Stage, reply_text, stage
from tests.world.waiting import heard_for, until

PUBLIC_SITE = "93.184.216.34"  # public addresses the simulated network routes to the media world
PUBLIC_CDN = "93.184.216.35"


async def test_deleting_the_bots_voice_channel_keeps_its_queue_for_a_new_channel(world: World) -> None:
    """A moderator deletes the voice channel the bot plays in: Discord disconnects everyone in it
    (voice state with no channel, the bot's voice socket closed 4014) and sends CHANNEL_DELETE. The
    bot lets go at once and says so in the channel of the last /play; nobody asked for the music to
    stop, so the queue is kept: the next /play in another channel goes on where it stopped."""
    home = stage(world.sim)
    async with world.bot() as bot:
        await home.alice.join_voice(home.voice)
        url = world.media.track_url(50, seconds=3)
        await (await home.alice.run_command("play", home.text, query=url)).reply()
        heard = home.voice.heard()
        await heard_for(heard, 50, 1000)

        replies = len(home.text.messages)
        await home.guild.delete_channel(home.voice)
        await until(lambda: bot.sessions.get(home.guild.id) is None, 5, "the session released")
        await until(lambda: not bot.voice_clients, 6, "the voice client gone")
        stopped_at = heard.heard_ms(50)
        await asyncio.sleep(1)
        assert heard.heard_ms(50) - stopped_at <= 200  # nothing goes on playing to nobody
        assert home.alice.voice_channel_id is None  # Discord disconnected her too
        await until(lambda: len(home.text.messages) > replies, 5, "a word in the text channel")
        told = [m.text() for m in home.text.messages[replies:]]
        assert told == [text.voice_channel_deleted("Lounge", 1)], told

        other = home.guild.create_voice_channel("Cellar")
        await home.alice.join_voice(other)
        said, _ = await reply_text(
            await home.alice.run_command("play", home.text, query=world.media.track_url(51, seconds=2))
        )
        print(f"\nafter its channel was deleted, /play answers: {said}")
        assert said.startswith("Queued") and "at position 1" in said, said  # 50 goes on first
        in_cellar = other.heard()
        await in_cellar.wait_for_rungs([50, 51], timeout=30)
        assert in_cellar.heard_ms(50) <= 3000 - stopped_at + 1000  # from where it stopped, not again
        assert world.sim.bot_user_id in other.member_ids


async def a_rotting_playlist_playing(world: World, home: Stage, first_index: int) -> Recording:
    """Alice plays a playlist of three songs whose second is dead (404); the first is under way."""
    playlist = world.media.mixed_playlist_url([None, "not_found", None], first_index=first_index, seconds=3)
    await home.alice.join_voice(home.voice)
    heard = home.voice.heard()
    said, _ = await reply_text(await home.alice.run_command("play", home.text, query=playlist))
    assert said.startswith("Queued 3 tracks"), said
    await heard_for(heard, first_index, 500)
    return heard


async def test_deleting_the_channel_of_the_last_play_leaves_the_music_playing(world: World) -> None:
    """The text channel the bot reports into is deleted mid-playlist: the songs go on, and a dead
    entry found afterwards is passed over with its log line (there is nowhere left to say it)."""
    home = stage(world.sim)
    async with world.bot():
        heard = await a_rotting_playlist_playing(world, home, 60)
        await home.guild.delete_channel(home.text)
        await heard.wait_for_rungs([60, 62], timeout=30)
    assert heard.heard_ms(60) >= 2500 and heard.heard_ms(61) == 0
    assert home.text.messages == []  # deleted with the channel; nothing was posted into it after


async def test_after_a_restart_a_dead_song_is_still_reported_where_the_play_was(world: World) -> None:
    """The owner restarts the bot mid-playlist; it resumes in the voice channel on its own, with no
    /play since. A dead entry further on is still reported in the channel of the last /play: the
    channel is kept with the saved queue (before, the restarted bot had nowhere to say it)."""
    home = stage(world.sim)
    async with world.bot():
        heard = await a_rotting_playlist_playing(world, home, 56)
    replies = len(home.text.messages)
    async with world.bot():  # restarted: resumes on READY, as Alice still listens
        await heard.wait_for_rungs([56, 58], timeout=30)
        await until(lambda: len(home.text.messages) > replies, 5, "a word in the text channel")
    told = [m.text() for m in home.text.messages[replies:]]
    assert len(told) == 1 and told[0].startswith("I couldn't play") and "On to the next song" in told[0], told
    assert heard.heard_ms(57) == 0


async def test_a_song_goes_on_when_discord_moves_the_bots_voice_to_another_server(world: World) -> None:
    """Discord fails the guild's voice over to another server mid-song: VOICE_SERVER_UPDATE with a
    new endpoint and token. discord.py closes its old socket (4014) and IDENTIFIES on the new server;
    the listener hears the song go on, with a short gap at most."""
    voice = world.sim.voice
    assert voice is not None
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        await (
            await home.alice.run_command("play", home.text, query=world.media.track_url(52, seconds=8))
        ).reply()
        heard = home.voice.heard()
        await heard_for(heard, 52, 1500)
        old = voice.session(home.guild.id)

        endpoint = await world.sim.move_voice_server(home.guild.id)
        assert endpoint != voice.endpoint
        await until(
            lambda: (s := voice.session(home.guild.id)) is not None and s is not old and s.mode is not None,
            10,
            "a voice session on the new server",
        )
        moved = voice.session(home.guild.id)
        assert moved is not None and moved.expected.endpoint == endpoint
        await heard_for(heard, 52, 7000)
    silence = heard.longest_silence_ms(52)
    print(f"\nvoice server move mid-song: {silence:.0f} ms of silence, {heard.heard_ms(52)} ms heard of 8 s")
    assert silence <= 3000, silence
    assert heard.heard_ms(52) >= 7000


async def test_a_link_redirecting_to_another_public_host_and_port_plays(world: World) -> None:
    """music.test:80 answers 302 to cdn.test:8080, both public and both this media world: an honest
    redirect (a CDN), which the egress gate lets through, checking the second hop too."""
    world.network.name("music.test", [PUBLIC_SITE])
    world.network.route(PUBLIC_SITE, 80, world.media.host)
    world.network.name("cdn.test", [PUBLIC_CDN])
    world.network.route(PUBLIC_CDN, 8080, world.media.host)
    on_cdn = world.media.track_url(53, seconds=2).replace(world.media.base_url, "http://cdn.test:8080")
    link = world.media.redirect_url(on_cdn).replace(world.media.base_url, "http://music.test")
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        said, _ = await reply_text(await home.alice.run_command("play", home.text, query=link))
        assert said.startswith("Playing"), said
        await home.voice.heard().wait_for_rungs([53], timeout=20)
    dialled = {(str(address), port) for address, port in world.network.dialled}
    assert {(PUBLIC_SITE, 80), (PUBLIC_CDN, 8080)} <= dialled, dialled


async def test_a_playlist_with_dead_and_non_audio_entries_plays_the_live_ones_and_says_why_not(
    world: World,
) -> None:
    """A playlist of five: two live songs, a 404, a text file, a live song. The live ones are heard in
    order; each dead entry is told in the channel with its reason, and the queue goes on."""
    home = stage(world.sim)
    playlist = world.media.mixed_playlist_url(
        [None, "not_found", None, "not_audio", None], first_index=54, seconds=1.5
    )
    async with world.bot():
        await home.alice.join_voice(home.voice)
        heard = home.voice.heard()
        said, _ = await reply_text(await home.alice.run_command("play", home.text, query=playlist))
        assert said.startswith("Queued 5 tracks"), said
        await heard.wait_for_rungs([54, 56, 58], timeout=30)
        await until(lambda: len(told_in(home.text)) >= 2, 10, "both dead entries told")
        await asyncio.sleep(0.5)  # nothing more is said about them
        told = told_in(home.text)
    assert len(told) == 2 and all("no audio came from its link. On to the next song" in t for t in told), told
    assert heard.heard_rungs() == [54, 56, 58]
    assert heard.heard_ms(55) == 0 and heard.heard_ms(57) == 0


def told_in(channel: SimTextChannel) -> list[str]:
    return [m.text() for m in channel.messages if m.text().startswith("I couldn't play")]
