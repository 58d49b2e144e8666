"""Stories with the real bot over the simulator's gateway and REST: what members read."""

from __future__ import annotations

from pathlib import Path

from musicbox.bot import text
from musicbox.sim.discord import DiscordSim
from tests.stories.recording_discord import ScriptedSources
from tests.world.stage import running_bot, sim_config, stage
from tests.world.tones import ToneSources


async def test_the_bot_syncs_every_command_globally_and_discord_accepts_them(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    stage(discord_sim)
    async with running_bot(discord_sim, sim_config(discord_sim, tmp_path), ScriptedSources()):
        names = {c["name"] for c in discord_sim.registered_commands()}
        assert {"play", "queue", "skip", "pause", "now", "loop", "shuffle", "settings"} <= names


async def test_play_outside_voice_is_an_immediate_private_hint(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    home = stage(discord_sim)
    async with running_bot(discord_sim, sim_config(discord_sim, tmp_path), ScriptedSources()):
        interaction = await home.bob.run_command("play", home.text, query="anything")
        reply = await interaction.reply()
        assert reply.ephemeral and reply.content == text.NOT_IN_VOICE
        assert interaction.ack_latency_s is not None and interaction.ack_latency_s < 0.5


async def test_queue_and_now_with_nothing_playing_say_how_to_start(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    home = stage(discord_sim)
    async with running_bot(discord_sim, sim_config(discord_sim, tmp_path), ScriptedSources()):
        queue = await (await home.alice.run_command("queue", home.text)).reply()
        now = await (await home.alice.run_command("now", home.text)).reply()
        assert (queue.content, queue.ephemeral) == (text.QUEUE_EMPTY, True)
        assert (now.content, now.ephemeral) == (text.NOTHING_PLAYING, True)


async def test_a_member_plays_two_songs_and_the_channel_hears_both_in_order(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    home = stage(discord_sim)
    sources = ToneSources(tmp_path)
    async with running_bot(discord_sim, sim_config(discord_sim, tmp_path), sources):
        await home.alice.join_voice(home.voice)
        first = await home.alice.run_command("play", home.text, query="tone:5:1.5")
        reply = await first.reply()
        assert not reply.ephemeral and "Tone 5" in reply.text()
        second = await home.alice.run_command("play", home.text, query="tone:9:1.5")
        await second.reply()
        heard = home.voice.heard()
        await heard.wait_for_rungs([5, 9], timeout=20)
        assert heard.decryption_failures == 0
        assert discord_sim.bot_user_id in home.voice.member_ids
