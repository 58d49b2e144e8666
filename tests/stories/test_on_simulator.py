"""Stories with the real bot over the simulator's gateway and REST: what members read."""

from __future__ import annotations

from pathlib import Path

from musicbox.bot import text
from musicbox.sim.discord import DiscordSim
from tests.stories.recording_discord import ScriptedSources
from tests.world.stage import running_bot, sim_config, stage


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
