"""Two boxes keep their things in one PostgreSQL server: a member's favourite and playlist saved
through the first are there through the second, which has never seen this member and has a state
directory of its own; so are the server's settings. (The boxes take turns on the one simulated
application: running both at once is sharding's story.)"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from musicbox.bot import text
from musicbox.core.config import StoreConfig
from musicbox.sim.discord import DiscordSim
from musicbox.sim.discord.world import MANAGE_GUILD
from tests.fixtures.postgres import Cluster
from tests.world.stage import reply_text, running_bot, sim_config, stage
from tests.world.tones import ToneSources


async def said(member: Any, channel: Any, command: str, **options: object) -> tuple[str, bool]:
    return await reply_text(await member.run_command(command, channel, **options))


async def test_a_favourite_saved_on_one_box_is_there_on_another(
    discord_sim: DiscordSim, postgres: Cluster, tmp_path: Path
) -> None:
    home = stage(discord_sim)
    mods = home.guild.create_role("Mods", permissions=MANAGE_GUILD)
    carol = home.guild.create_member("carol", roles=[mods])
    shared = StoreConfig(url=postgres.new_database())

    def box(name: str) -> Any:
        (tmp_path / name).mkdir()
        config = dataclasses.replace(sim_config(discord_sim, tmp_path / name, cache_mb=0), store=shared)
        return running_bot(discord_sim, config, ToneSources(tmp_path / name))

    async with box("first"):
        await home.alice.join_voice(home.voice)
        await (await home.alice.run_command("play", home.text, query="tone:3:30")).reply(timeout=20)
        reply, private = await said(home.alice, home.text, "like")
        assert private and reply.startswith("Added **") and "favourites" in reply
        liked = reply.split("**")[1]
        reply, _ = await said(home.alice, home.text, "playlist create", playlist="Evening")
        assert reply == text.playlist_created("Evening", 0)
        reply, _ = await said(carol, home.text, "settings", default_volume=35)
        assert "35" in reply
        await home.alice.leave_voice()

    assert not (tmp_path / "second" / "musicbox.sqlite3").exists()
    async with box("second"):
        reply, private = await said(home.alice, home.text, "favorites")
        assert private and liked in reply
        reply, _ = await said(home.alice, home.text, "playlist list")
        assert "Evening" in reply
        reply, _ = await said(carol, home.text, "settings")
        assert "35" in reply
