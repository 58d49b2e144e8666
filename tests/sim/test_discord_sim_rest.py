"""The simulator's REST side answers the real discord.py client as Discord does: typing, members'
messages, per-route and global rate limits, and what it keeps of the bot's messages."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import discord
import pytest

from musicbox.sim.discord import DiscordSim
from musicbox.sim.discord.world import MANAGE_MESSAGES, READ_MESSAGE_HISTORY, SEND_MESSAGES, Overwrite
from tests.sim.plain_client import connected


def text_channel(bot: discord.Client, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_typing_answers_204_and_403_without_send_messages(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    general, quiet = guild.create_text_channel("general"), guild.create_text_channel("quiet")
    guild.deny_bot(quiet, SEND_MESSAGES)
    async with connected(discord_sim, guild.id) as bot:
        await text_channel(bot, general.id).typing()
        with pytest.raises(discord.Forbidden) as refused:
            await text_channel(bot, quiet.id).typing()
        assert refused.value.code == 50013
    assert discord_sim.typing == [general.id]
    assert discord_sim.unexpected_violations() == []


async def test_a_members_message_is_read_but_not_edited_and_deleted_only_with_manage_messages(
    discord_sim: DiscordSim,
) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id) as bot:
        channel = text_channel(bot, text.id)
        said = await alice.say(text, "hello there")
        message = await channel.fetch_message(said)
        assert (message.content, message.author.id) == ("hello there", alice.id)
        with pytest.raises(discord.Forbidden) as edit:
            await message.edit(content="put words in her mouth")
        assert edit.value.code == 50005
        with pytest.raises(discord.Forbidden) as delete:
            await message.delete()
        assert delete.value.code == 50013
        text.channel.overwrites.append(Overwrite(discord_sim.bot_user_id, True, allow=MANAGE_MESSAGES))
        await message.delete()
        with pytest.raises(discord.NotFound) as gone:
            await channel.fetch_message(said)
        assert gone.value.code == 10008
    assert discord_sim.unexpected_violations() == []


async def test_a_members_message_is_not_read_without_read_message_history(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    guild.deny_bot(text, READ_MESSAGE_HISTORY)
    async with connected(discord_sim, guild.id) as bot:
        said = await alice.say(text, "hello there")
        with pytest.raises(discord.Forbidden) as refused:
            await text_channel(bot, text.id).fetch_message(said)
        assert refused.value.code == 50013


async def test_the_bots_message_keeps_its_embeds_and_attachments(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text = guild.create_text_channel("general")
    async with connected(discord_sim, guild.id) as bot:
        await text_channel(bot, text.id).send(
            "see attached",
            embed=discord.Embed(title="Queue", description="3 songs"),
            file=discord.File(io.BytesIO(b"one\ntwo\n"), filename="queue.txt"),
        )
    [sent] = text.messages
    assert [e["title"] for e in sent.embeds] == ["Queue"]
    assert [a["filename"] for a in sent.attachments] == ["queue.txt"]


async def test_discord_py_retries_global_429s_after_retry_after_because_they_carry_via(
    discord_sim: DiscordSim,
) -> None:
    guild = discord_sim.create_guild("home")
    text = guild.create_text_channel("general")
    async with connected(discord_sim, guild.id) as bot:
        await asyncio.sleep(0.5)  # the login's own requests out of this second's window
        discord_sim.rate_limits.global_limit_per_s = 3
        discord_sim.rate_limits.global_window = None
        channel = text_channel(bot, text.id)
        await asyncio.gather(*(channel.send(f"m{n}") for n in range(6)))
    assert sorted(m.content for m in text.messages) == [f"m{n}" for n in range(6)]
    assert discord_sim.rate_limits.limited >= 1  # some were refused, and retried
    assert discord_sim.unexpected_violations() == []  # none retried early


async def post(
    session: aiohttp.ClientSession, sim: DiscordSim, channel_id: int, content: str
) -> tuple[int, dict[str, str], Any]:
    async with session.post(
        f"{sim.api_base}/channels/{channel_id}/messages",
        json={"content": content},
        headers={"Authorization": f"Bot {sim.bot_token}"},
    ) as response:
        return response.status, dict(response.headers), await response.json()


async def test_buckets_are_per_route_and_a_retry_before_retry_after_is_a_violation() -> None:
    async with DiscordSim.start(voice=False) as sim:
        guild = sim.create_guild("home")
        general, other = guild.create_text_channel("general"), guild.create_text_channel("other")
        sim.set_rate_limit("channels/", limit=1, per_s=5)
        async with aiohttp.ClientSession(connector=sim.connector()) as session:
            first, first_headers, _ = await post(session, sim, general.id, "one")
            # channel_id is a major parameter: another channel's messages are another bucket
            elsewhere, elsewhere_headers, _ = await post(session, sim, other.id, "one")
            limited, headers, body = await post(session, sim, general.id, "two")
            assert (first, elsewhere, limited) == (200, 200, 429)
            assert first_headers["X-RateLimit-Remaining"] == "0" and first_headers["X-RateLimit-Limit"] == "1"
            assert first_headers["X-RateLimit-Bucket"] == elsewhere_headers["X-RateLimit-Bucket"]
            assert headers["Via"] == "1.1 google" and "X-RateLimit-Global" not in headers
            assert body["global"] is False and 4 < body["retry_after"] <= 5
            assert sim.violations == []
            again, _, _ = await post(session, sim, general.id, "two")  # at once, not after 5 s
            assert again == 429
        assert [v.code for v in sim.violations] == ["early_retry"]


async def test_the_global_limit_answers_a_global_429() -> None:
    async with DiscordSim.start(voice=False) as sim:
        guild = sim.create_guild("home")
        text = guild.create_text_channel("general")
        sim.rate_limits.global_limit_per_s = 2
        async with aiohttp.ClientSession(connector=sim.connector()) as session:
            answers = [await post(session, sim, text.id, f"m{n}") for n in range(3)]
        assert [status for status, _, _ in answers] == [200, 200, 429]
        _, headers, body = answers[2]
        assert headers["X-RateLimit-Global"] == "true" and headers["Via"] == "1.1 google"
        assert body["global"] is True and 0 < body["retry_after"] <= 1
        assert [m.content for m in text.messages] == ["m0", "m1"]
