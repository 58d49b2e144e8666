"""The second client: a prefix-command bot on discord.ext.commands against the simulator, with the
message content intent granted as a bot owner grants it in the developer portal."""

from __future__ import annotations

from musicbox.sim.discord import DiscordSim
from musicbox.sim.discord.gateway import MESSAGE_CONTENT
from musicbox.sim.media import MediaWorld
from tests.sim.prefix_client import connected
from tests.world.waiting import until


async def test_a_prefix_command_bot_plays_a_members_link_and_manages_its_messages(
    media_world: MediaWorld,
) -> None:
    async with DiscordSim.start(allowed_privileged=MESSAGE_CONTENT) as sim:
        guild = sim.create_guild("home")
        text = guild.create_text_channel("music")
        lounge = guild.create_voice_channel("Lounge")
        alice = guild.create_member("alice")
        async with connected(sim) as bot:
            await alice.join_voice(lounge)
            await alice.say(text, f"!play {media_world.track_url(12, seconds=2)}")
            heard = lounge.heard()
            await until(lambda: heard.heard_ms(12) >= 1500, 20, "most of the 2 s file heard")
            await until(lambda: any(m.edits for m in text.messages), 5, "the reply edited")
            shown = [m.text() for m in text.messages]
            assert shown == ["now playing in Lounge"], shown  # "joining…" deleted, the reply edited
            assert text.messages[0].edits  # it read "queued <…>" before
            assert sim.bot_user_id in lounge.member_ids

            await alice.say(text, "!stop")
            await until(lambda: sim.bot_user_id not in lounge.member_ids, 5, "the bot left voice")
            await until(lambda: any(m.text() == "stopped" for m in text.messages), 5, "stopped said")
            assert bot.errors == []
        assert sim.violations == []
