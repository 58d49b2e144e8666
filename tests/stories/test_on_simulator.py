"""Stories with the real bot over the simulator's gateway and REST: what members read."""

from __future__ import annotations

from musicbox.bot import text
from musicbox.sim.media import entry
from tests.world.fixture import World
from tests.world.stage import stage


async def test_the_bot_syncs_every_command_globally_and_discord_accepts_them(world: World) -> None:
    stage(world.sim)
    async with world.bot():
        names = {c["name"] for c in world.sim.registered_commands()}
        assert {"play", "queue", "skip", "pause", "now", "loop", "shuffle", "settings"} <= names


async def test_play_outside_voice_is_an_immediate_private_hint(world: World) -> None:
    home = stage(world.sim)
    async with world.bot():
        interaction = await home.bob.run_command("play", home.text, query="anything")
        reply = await interaction.reply()
        assert reply.ephemeral and reply.content == text.NOT_IN_VOICE
        assert interaction.ack_latency_s is not None and interaction.ack_latency_s < 0.5


async def test_queue_and_now_with_nothing_playing_say_how_to_start(world: World) -> None:
    home = stage(world.sim)
    async with world.bot():
        queue = await (await home.alice.run_command("queue", home.text)).reply()
        now = await (await home.alice.run_command("now", home.text)).reply()
        assert (queue.content, queue.ephemeral) == (text.QUEUE_EMPTY, True)
        assert (now.content, now.ephemeral) == (text.NOTHING_PLAYING, True)


async def test_a_member_plays_two_songs_and_the_channel_hears_both_in_order(world: World) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        first = await home.alice.run_command("play", home.text, query=world.media.track_url(5, seconds=1.5))
        reply = await first.reply(lambda m: "Playing" in m.text() or "Queued" in m.text())
        assert not reply.ephemeral and entry(5).title in reply.text()
        second = await home.alice.run_command("play", home.text, query=world.media.track_url(9, seconds=1.5))
        await second.reply()
        heard = home.voice.heard()
        await heard.wait_for_rungs([5, 9], timeout=20)
        assert heard.decryption_failures == 0
        assert world.sim.bot_user_id in home.voice.member_ids
