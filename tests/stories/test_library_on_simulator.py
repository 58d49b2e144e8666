"""Members keep playlists: their own and the server's. They save what plays, import links, export
files that import back, load a playlist after a restart, and every mistake gets one private sentence.
One bot (restarted once) serves the whole story, so the suite pays for it once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from musicbox.bot import text
from musicbox.sim.discord.world import MANAGE_GUILD
from musicbox.sim.signature import LADDER_SIZE
from musicbox.sim.spotify import SpotifyFake
from tests.fixtures.spotify import spotify_config
from tests.world.fixture import World
from tests.world.stage import reply_text, stage


async def said(member: Any, channel: Any, command: str, **options: object) -> tuple[str, bool]:
    """What the member finally read, past any "Resolving n/total…" progress."""
    interaction = await member.run_command(command, channel, **options)
    await interaction.reply(lambda m: not m.text().startswith("Resolving"), timeout=60)
    return await reply_text(interaction)


async def first_sound(voice: Any, index: int, after: float, within_s: float = 30) -> float:
    """When a listener first heard catalog song `index` after `after` (monotonic)."""
    deadline = time.monotonic() + within_s
    while (heard := voice.heard().first_heard_at(index % LADDER_SIZE, after=after)) is None:
        assert time.monotonic() < deadline, f"song {index} was not heard within {within_s} s"
        await asyncio.sleep(0.05)
    return float(heard)


def titles(shown: str) -> list[str]:
    """The song lines of a /playlist show, without its heading."""
    return shown.splitlines()[1:]


async def test_a_member_saves_imports_exports_and_loads_playlists_across_a_restart(world: World) -> None:
    home = stage(world.sim)
    carol = home.guild.create_member(
        "carol", roles=[home.guild.create_role("Mods", permissions=MANAGE_GUILD)]
    )
    async with world.bot(dj_role="DJ") as bot:
        await home.alice.join_voice(home.voice)
        playing = world.media.track_url(20, seconds=30)
        await (await home.alice.run_command("play", home.text, query=playing)).reply(timeout=20)

        reply, private = await said(home.alice, home.text, "playlist create", playlist="Road  trip")
        assert reply == text.playlist_created("Road trip", 0) and not private
        reply, private = await said(home.alice, home.text, "playlist create", playlist="road TRIP")
        assert private and reply == text.playlist_exists("road TRIP", server=False)
        reply, private = await said(home.alice, home.text, "playlist create", playlist="   ")
        assert private and reply == text.PLAYLIST_NAME_BAD

        reply, _ = await said(home.alice, home.text, "playlist add", playlist="road trip")  # the current song
        assert reply == text.playlist_added("road trip", 1, 0, 0)
        three = world.media.playlist_url(3, kind="xspf", first_index=21, seconds=3)
        reply, _ = await said(home.alice, home.text, "playlist add", playlist="Road trip", link=three)
        assert reply == text.playlist_added("Road trip", 3, 0, 0)
        reply, private = await said(
            home.alice, home.text, "playlist add", playlist="Road trip", whole_queue=True
        )
        assert reply == text.playlist_added("Road trip", 0, 1, 0) and not private

        shown, _ = await said(home.alice, home.text, "playlist show", playlist="Road trip")
        assert len(titles(shown)) == 4 and shown.startswith("“Road trip”, 4 songs")
        listed, _ = await said(home.alice, home.text, "playlist list")
        assert listed == text.playlists_listed([("Road trip", 4)], [])
        # A name is whatever a member typed: shown as typed, pinging nobody.
        hostile = "@everyone **loud** <@1>"
        created = await (await home.alice.run_command("playlist create", home.text, playlist=hostile)).reply()
        assert created.text() == text.playlist_created(hostile, 0) and created.pinged() == set()
        assert "\\*\\*loud\\*\\*" in created.text()
        reply, _ = await said(home.alice, home.text, "playlist delete", playlist=hostile)
        assert reply == text.playlist_deleted(hostile)
        # Bob's own playlists are his: he has none called that.
        reply, private = await said(home.bob, home.text, "playlist show", playlist="Road trip")
        assert private and reply == text.playlist_unknown("Road trip", server=False)

        # A server playlist follows the DJ role: Bob has none, Carol manages the server.
        reply, private = await said(home.bob, home.text, "playlist create", playlist="Party", scope="server")
        assert private and reply == text.PLAYLIST_NOT_ALLOWED.format(role="DJ")
        reply, private = await said(carol, home.text, "playlist create", playlist="Party", scope="server")
        assert not private and reply == text.playlist_created("Party", 0)

        # Limits from /settings, refused in one sentence.
        await said(carol, home.text, "settings", max_saved_songs=4, max_saved_playlists=2)
        reply, private = await said(home.alice, home.text, "playlist add", playlist="Road trip", link=three)
        assert not private and reply == text.playlist_added("Road trip", 0, 3, 0)
        more = world.media.track_url(30, seconds=3)
        reply, private = await said(home.alice, home.text, "playlist add", playlist="Road trip", link=more)
        assert private and reply == text.playlist_full("Road trip", 4)

        # Exported, put online, imported back: the same songs.
        exported = await (
            await home.alice.run_command("playlist export", home.text, playlist="Road trip")
        ).reply()
        xspf = exported.attached("Road-trip.xspf")
        as_text = await (
            await home.alice.run_command(
                "playlist export", home.text, playlist="Road trip", file_format="text"
            )
        ).reply()
        links = as_text.attached("Road-trip.txt").decode().splitlines()
        assert links[0] == playing and len(links) == 4
        online = world.media.share("Road-trip.xspf", xspf)
        reply, _ = await said(home.alice, home.text, "playlist import", link=online, playlist="Copy")
        assert reply == text.playlist_created("Copy", 4)
        copy, _ = await said(home.alice, home.text, "playlist show", playlist="Copy")
        assert titles(copy) == titles(shown)
        saved = bot.playlists.tracks(home.guild.id, home.alice.id, "Road trip")
        assert saved is not None and [t.id for t in saved] == [
            t.id for t in bot.playlists.tracks(home.guild.id, home.alice.id, "Copy") or []
        ]
        reply, private = await said(home.alice, home.text, "playlist create", playlist="Third")
        assert private and reply == text.too_many_playlists(2, server=False)
        await said(home.alice, home.text, "leave")

    async with world.bot(dj_role="DJ"):
        reply, private = await said(home.alice, home.text, "playlist load", playlist="Nope")
        assert private and reply == text.playlist_unknown("Nope", server=False)
        asked = time.monotonic()
        reply, private = await said(home.alice, home.text, "playlist load", playlist="road trip")
        assert not private and reply == text.queued_many(4, 0)
        await first_sound(home.voice, 20, after=asked)
        reply, _ = await said(home.alice, home.text, "playlist rename", playlist="Copy", new_name="Road trip")
        assert reply == text.playlist_exists("Road trip", server=False)
        reply, _ = await said(home.alice, home.text, "playlist rename", playlist="Copy", new_name="Backup")
        assert reply == text.playlist_renamed("Copy", "Backup")
        reply, _ = await said(home.alice, home.text, "playlist delete", playlist="Backup")
        assert reply == text.playlist_deleted("Backup")
        listed, _ = await said(home.bob, home.text, "playlist list")
        assert listed == text.playlists_listed([], [("Party", 0)])


async def test_a_thousand_song_playlist_starts_as_fast_as_one_song(world: World) -> None:
    """Saved songs were resolved when saved: loading looks up only what is about to play."""
    home = stage(world.sim)
    async with world.bot(max_queue=1000):
        await home.alice.join_voice(home.voice)
        thousand = world.media.playlist_url(1000, kind="xspf", first_index=100, seconds=3)
        reply, _ = await said(home.alice, home.text, "playlist import", link=thousand, playlist="Big")
        assert reply == text.playlist_created("Big", 1000)

        asked = time.monotonic()
        one = world.media.track_url(99, seconds=3)
        await (await home.alice.run_command("play", home.text, query=one)).reply(timeout=20)
        single_s = await first_sound(home.voice, 99, after=asked) - asked
        await said(home.alice, home.text, "leave")

        served_before = len(world.media.requests("/media/"))
        asked = time.monotonic()
        reply, _ = await said(home.alice, home.text, "playlist load", playlist="Big")
        assert reply == text.queued_many(1000, 0)
        loaded_s = await first_sound(home.voice, 100, after=asked) - asked
        fetched = {path.split("/")[2] for path in world.media.requests("/media/")[served_before:]}
        print(f"first sound: /play of one {single_s:.2f} s, /playlist load of 1000 {loaded_s:.2f} s")
        assert len(fetched) <= 5, fetched  # the first song and the prefetch window, not a thousand
        assert loaded_s < 2 * single_s + 2.0, (loaded_s, single_s)  # loose: the box is shared


async def test_an_imported_spotify_playlist_plays(world: World, spotify_fake: SpotifyFake) -> None:
    home = stage(world.sim)
    playlist = spotify_fake.add_playlist(list(range(140, 144)), name="Spotify mix")
    await home.alice.join_voice(home.voice)
    async with world.bot(spotify=spotify_config(spotify_fake)):
        link = f"https://open.spotify.com/playlist/{playlist}"
        reply, _ = await said(home.alice, home.text, "playlist import", link=link, playlist="Mix")
        assert reply == text.playlist_created("Mix", 4)
        asked = time.monotonic()
        reply, _ = await said(home.alice, home.text, "playlist load", playlist="Mix")
        assert reply == text.queued_many(4, 0)
        await first_sound(home.voice, 140, after=asked)
