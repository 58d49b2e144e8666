"""Hostile links against the egress gate: a member tries to make musicbox fetch from the owner's
network. Each story checks what the member read and that the internal host's request log stayed
empty (not merely that a refusal was sent), and that nothing of the internal host was heard."""

from __future__ import annotations

import asyncio

from musicbox.sim.discord.actors import SimTextChannel
from musicbox.sim.media import MediaWorld
from musicbox.sources.egress import REFUSED
from tests.world.fixture import World
from tests.world.stage import reply_text, stage

PUBLIC = "93.184.216.34"  # a public address; the simulated network routes it to a local server
INTERNAL_RUNG = 30  # the song the internal host serves in these stories


async def said_in_channel(channel: SimTextChannel, words: str) -> str:
    for _ in range(50):  # bounded: 5 s for the bot's own message to arrive
        for message in channel.messages:
            if words in message.text():
                return message.text()
        await asyncio.sleep(0.1)
    raise AssertionError(f"nothing with {words!r} in the channel: {[m.text() for m in channel.messages]}")


def port_of(world: MediaWorld) -> int:
    return int(world.host.rpartition(":")[2])


async def test_a_playlist_entry_redirecting_to_an_internal_host_is_never_fetched(
    world: World, internal_host: MediaWorld
) -> None:
    home = stage(world.sim)
    secret = internal_host.track_url(INTERNAL_RUNG, seconds=4)
    playlist = world.media.list_url(world.media.redirect_url(secret), world.media.track_url(31, seconds=2))
    async with world.bot():
        await home.alice.join_voice(home.voice)
        heard = home.voice.heard()
        said, _ = await reply_text(await home.alice.run_command("play", home.text, query=playlist))
        assert said == "Queued 2 tracks.", said
        await heard.wait_for_rungs([31], timeout=20)  # the playlist's honest entry plays
        told = await said_in_channel(home.text, "On to the next song")
    # The channel hears why the first entry never played, in the gate's one sentence.
    assert told.startswith("I couldn't play") and REFUSED in told, told
    assert heard.heard_ms(INTERNAL_RUNG) == 0
    assert internal_host.requests() == []
    assert world.media.requests("/redirect")  # the hop was asked for; its target was refused


async def test_an_hls_playlist_whose_segment_is_on_an_internal_host_is_refused(
    world: World, internal_host: MediaWorld
) -> None:
    home = stage(world.sim)
    stream = world.media.hls_url(internal_host.track_url(INTERNAL_RUNG, fmt="mp3", seconds=4))
    async with world.bot():
        await home.alice.join_voice(home.voice)
        said, private = await reply_text(await home.alice.run_command("play", home.text, query=stream))
    assert private and REFUSED in said, said
    assert world.media.requests("/stream.m3u8")  # the playlist was read; its segment was not
    assert internal_host.requests() == []


async def test_a_name_that_answers_public_then_loopback_is_never_fetched_internally(
    world: World, internal_host: MediaWorld
) -> None:
    home = stage(world.sim)
    port = port_of(internal_host)
    # Rebinding: the first lookup (musicbox's early check) is public, every later one loopback.
    world.network.name("rebind.test", [PUBLIC], ["127.0.0.1"])
    # Both at once, public first: a client trying them in order would reach loopback second.
    world.network.name("both.test", [PUBLIC, "127.0.0.1"])
    world.network.route(PUBLIC, port, world.media.host)  # had it been connected to: an honest song
    async with world.bot():
        await home.alice.join_voice(home.voice)
        replies = [
            (await reply_text(await home.alice.run_command("play", home.text, query=query)))[0]
            for query in (
                f"http://rebind.test:{port}/media/{INTERNAL_RUNG}/4/song.ogg",
                f"http://both.test:{port}/media/{INTERNAL_RUNG}/4/song.ogg",
            )
        ]
    assert all(REFUSED in said for said in replies), replies
    assert internal_host.requests() == []
    assert world.network.lookups["rebind.test"] >= 2  # looked up again by the gate, and refused there


async def test_a_public_name_plays_through_the_gate_at_the_address_it_checked(world: World) -> None:
    home = stage(world.sim)
    world.network.name("music.test", [PUBLIC])
    world.network.route(PUBLIC, 80, world.media.host)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        heard = home.voice.heard()
        said, _ = await reply_text(
            await home.alice.run_command("play", home.text, query="http://music.test/media/32/2/song.ogg")
        )
        assert said.startswith("Playing"), said
        await heard.wait_for_rungs([32], timeout=20)
    assert world.network.dialled and all(str(address) == PUBLIC for address, _ in world.network.dialled)


async def test_every_forbidden_destination_gets_the_same_sentence_whatever_is_behind_it(
    world: World, internal_host: MediaWorld
) -> None:
    home = stage(world.sim)
    port = port_of(internal_host)
    world.network.name("nas.test", ["192.168.1.20"])
    world.network.name("tailnet.test", ["100.100.100.100"])
    queries = [
        internal_host.track_url(INTERNAL_RUNG),  # an open port serving a song
        f"{internal_host.base_url}/nothing-here",  # an open port answering 404
        "http://127.0.0.1:1/admin",  # a closed port
        f"http://localhost:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped
        f"http://[64:ff9b::7f00:1]:{port}/",  # NAT64 of 127.0.0.1
        f"http://[2002:7f00:1::1]:{port}/",  # 6to4 of 127.0.0.1
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.100/",  # Tailscale's resolver (CGNAT space)
        "http://tailnet.test/",
        "http://nas.test/",
        "http://no-such-name.test/",
    ]
    async with world.bot():
        await home.alice.join_voice(home.voice)
        replies = {
            query: (await reply_text(await home.alice.run_command("play", home.text, query=query)))[0]
            for query in queries
        }
    reasons = {
        said.split(": ", 1)[1].removesuffix(". Check the link, or try search words instead.")
        for said in replies.values()
    }
    assert reasons == {REFUSED}, replies
    assert internal_host.requests() == []


async def test_links_that_are_not_web_links_are_refused_as_links_not_searched(world: World) -> None:
    home = stage(world.sim)
    searches = len(world.media.requests("/search.xspf"))
    async with world.bot():
        await home.alice.join_voice(home.voice)
        for query, scheme in (
            ("data:audio/ogg;base64,T2dnUwACAAAAAAAAAAA", "data"),
            ("javascript:alert(document.cookie)", "javascript"),
            ("ftp://192.168.1.1/music.mp3", "ftp"),
            ("file:///etc/passwd", "file"),
        ):
            said, private = await reply_text(await home.alice.run_command("play", home.text, query=query))
            assert private and f"{scheme}:" in said and "links are not played" in said, said
    assert len(world.media.requests("/search.xspf")) == searches
