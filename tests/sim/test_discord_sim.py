"""The simulator holds the real discord.py client to Discord's contract."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import discord
import pytest

from musicbox.sim.discord import DiscordSim, gateway
from tests.sim.plain_client import connected


def home(sim: DiscordSim) -> tuple[object, object, object]:
    guild = sim.create_guild("home")
    return guild, guild.create_text_channel("general"), guild.create_member("alice")


async def test_a_wrong_token_is_refused_like_discord_refuses_it(discord_sim: DiscordSim) -> None:
    discord.http.Route.BASE = discord_sim.api_base
    client = discord.Client(intents=discord.Intents.none(), connector=discord_sim.connector())
    async with client:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")


async def test_the_bot_identifies_receives_its_guild_and_syncs_commands(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    guild.create_text_channel("general")
    async with connected(discord_sim, guild.id) as bot:
        await asyncio.sleep(0.05)
        seen = bot.get_guild(guild.id)
        assert seen is not None and [c.name for c in seen.text_channels] == ["general"]
        names = {c["name"] for c in discord_sim.registered_commands(guild.id)}
        assert {"echo", "slow", "secret", "colour"} <= names


async def test_a_member_runs_a_command_and_reads_the_answer(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        interaction = await alice.run_command("echo", text, words="hi", times=2)
        reply = await interaction.reply()
        assert reply.content == "hi hi" and not reply.ephemeral
        assert interaction.ack_latency_s is not None and interaction.ack_latency_s < 3


async def test_options_the_command_does_not_declare_cannot_be_sent(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        with pytest.raises(ValueError, match="no option"):
            await alice.run_command("echo", text, words="hi", loud=True)
        with pytest.raises(ValueError, match="declared no /nope"):
            await alice.run_command("nope", text)


async def test_a_deferred_answer_is_read_once_edited(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        interaction = await alice.run_command("slow", text, seconds=0.2)
        reply = await interaction.reply()
        assert reply.content == "done after 0.2" and reply.edits == 1


async def test_ephemeral_answers_and_follow_ups_reach_only_the_member(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        interaction = await alice.run_command("secret", text)
        await interaction.reply(lambda m: m.content == "and a follow-up")
        assert [m.ephemeral for m in interaction.messages] == [True, True]
        assert text.messages == []


async def test_an_answer_after_the_deadline_is_what_members_see_as_no_response() -> None:
    async with DiscordSim.start(ack_deadline_s=0.2, voice=False) as sim:
        guild = sim.create_guild("home")
        text, alice = guild.create_text_channel("general"), guild.create_member("alice")
        async with connected(sim, guild.id):
            interaction = await alice.run_command("late", text)
            await asyncio.sleep(0.8)
            assert interaction.failed and interaction.messages == []
        assert [v.code for v in sim.violations] == ["ack_timeout"]


async def test_a_second_acknowledgement_is_rejected_with_40060(discord_sim: DiscordSim) -> None:
    discord_sim.expect_violation("40060")
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        interaction = await alice.run_command("twice", text)
        await interaction.reply()
        await asyncio.sleep(0.1)
    assert [v.code for v in discord_sim.violations] == ["40060"]


async def test_content_over_2000_characters_is_rejected_with_50035(discord_sim: DiscordSim) -> None:
    discord_sim.expect_violation("50035")
    discord_sim.expect_violation("ack_timeout")
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        interaction = await alice.run_command("flood", text)
        await asyncio.sleep(0.2)
        assert interaction.messages == []
    assert "50035" in [v.code for v in discord_sim.violations]


async def test_follow_ups_after_15_minutes_are_refused(discord_sim: DiscordSim) -> None:
    discord_sim.expect_violation("followup_expired")
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id) as bot:
        interaction = await alice.run_command("slow", text, seconds=0.0)
        await interaction.reply()
        discord_sim.advance_clock(15 * 60 + 1)
        webhook = discord.Webhook.partial(discord_sim.application_id, interaction.token, client=bot)
        with pytest.raises(discord.HTTPException) as refused:
            await webhook.send("too late")
        assert refused.value.code == 50027


async def test_a_button_press_updates_the_message_it_sits_on(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        message = await (await alice.run_command("echo", text, words="hi")).reply()
        assert [b.label for b in message.buttons] == ["Again"]
        press = await alice.press(message, "again")
        updated = await press.reply(lambda m: m.content == "pressed 1")
        assert updated.id == message.id
        with pytest.raises(ValueError, match="no clickable button"):
            await alice.press(message, "missing")


async def test_autocomplete_returns_the_choices_the_bot_offers(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        choices = await alice.autocomplete("colour", "name", "re", text)
        assert [c["name"] for c in choices] == ["red", "rebeccapurple"]


async def test_channel_messages_are_public_and_need_send_permission(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        await (await alice.run_command("announce", text, words="hello all")).reply()
        await asyncio.sleep(0.1)
        assert [m.content for m in text.messages] == ["hello all"]


async def test_rate_limits_answer_429_and_discord_py_waits_them_out(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text = guild.create_text_channel("general")
    discord_sim.set_rate_limit(f"channels/{text.id}/messages", limit=2, per_s=0.5)
    async with connected(discord_sim, guild.id) as bot:
        channel = bot.get_channel(text.id)
        assert isinstance(channel, discord.TextChannel)
        await asyncio.gather(*(channel.send(f"m{n}") for n in range(5)))
        assert sorted(m.content for m in text.messages) == [f"m{n}" for n in range(5)]


async def test_after_a_dropped_gateway_the_bot_resumes_and_misses_nothing(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    voice = guild.create_voice_channel("Lounge")
    async with connected(discord_sim, guild.id) as bot:
        await discord_sim.drop_gateway()
        await alice.join_voice(voice)  # dispatched while the bot is away: replayed on RESUME
        for _ in range(200):
            if bot.voice_updates:
                break
            await asyncio.sleep(0.05)
        assert bot.voice_updates == [(alice.id, voice.id)]
        assert discord_sim.gateway.resumes == 1 and discord_sim.gateway.identifies == 1
        reply = await (await alice.run_command("echo", text, words="still here")).reply()
        assert reply.content == "still here"


async def test_a_socket_that_stops_heartbeating_is_closed() -> None:
    async with DiscordSim.start(heartbeat_interval_s=0.2, voice=False) as sim:
        discord.http.Route.BASE = sim.api_base
        session = discord.http.HTTPClient(asyncio.get_running_loop(), connector=sim.connector())
        try:
            await session.static_login(sim.bot_token)
            ws = await session.ws_connect(sim.gateway_url + "?v=10&encoding=json")
            hello = await ws.receive_json()
            assert hello["op"] == 10
            await ws.send_json({"op": 2, "d": {"token": sim.bot_token, "intents": 1, "properties": {}}})
            closed = None
            for _ in range(20):
                message = await asyncio.wait_for(ws.receive(), timeout=2)
                if message.type.name in ("CLOSE", "CLOSED", "CLOSING"):
                    closed = ws.close_code
                    break
            assert closed == 4009
        finally:
            await session.close()


async def test_the_gateway_send_limit_is_a_window_of_120_renewed_not_a_sliding_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """110 payloads late in one window and 110 early in the next are what discord.py's own limiter
    sends; a 121st inside one window is closed with 4008 and logged as a violation."""
    monkeypatch.setattr(gateway, "SEND_WINDOW_S", 1.0)
    async with DiscordSim.start(voice=False) as sim:
        discord.http.Route.BASE = sim.api_base
        session = discord.http.HTTPClient(asyncio.get_running_loop(), connector=sim.connector())
        try:
            await session.static_login(sim.bot_token)
            ws = await session.ws_connect(sim.gateway_url + "?v=10&encoding=json")
            assert (await ws.receive_json())["op"] == 10
            identify = {"op": 2, "d": {"token": sim.bot_token, "intents": 1, "properties": {}}}
            await ws.send_json(identify)  # the window starts with the first payload
            await asyncio.sleep(0.8)
            heartbeat = {"op": 1, "d": None}
            for _ in range(109):
                await ws.send_json(heartbeat)
            await asyncio.sleep(0.3)  # a new window: 110 more are allowed
            for _ in range(110):
                await ws.send_json(heartbeat)
            await asyncio.sleep(0.2)
            assert sim.violations == []
            sim.expect_violation("4008")
            for _ in range(11):
                await ws.send_json(heartbeat)
            closed = None
            for _ in range(400):  # READY, GUILD_CREATEs and heartbeat ACKs come first
                message = await asyncio.wait_for(ws.receive(), timeout=2)
                if message.type.name in ("CLOSE", "CLOSED", "CLOSING"):
                    closed = ws.close_code
                    break
            assert closed == 4008
            assert [v.code for v in sim.violations] == ["4008"]
        finally:
            await session.close()


class GuildEvents:
    """What discord.py's own events said about the bot's guilds."""

    def __init__(self, bot: discord.Client) -> None:
        self.seen: list[tuple[str, int]] = []
        for event in ("guild_remove", "guild_join", "guild_available", "guild_unavailable"):
            setattr(bot, f"on_{event}", self._note(event))

    def _note(self, event: str) -> Callable[[discord.Guild], Awaitable[None]]:
        async def note(guild: discord.Guild) -> None:
            self.seen.append((event, guild.id))

        return note


async def test_removing_the_bot_is_a_guild_delete_and_inviting_it_back_a_guild_join(
    discord_sim: DiscordSim,
) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id) as bot:
        await bot.wait_until_ready()  # before that, discord.py holds every GUILD_CREATE for READY
        events = GuildEvents(bot)
        await discord_sim.remove_bot(guild.id)
        for _ in range(100):
            if bot.get_guild(guild.id) is None:
                break
            await asyncio.sleep(0.02)
        assert events.seen == [("guild_remove", guild.id)]  # a removal, not an outage
        with pytest.raises(ValueError, match="not in home"):
            await alice.run_command("echo", text, words="anyone?")
        await discord_sim.add_bot(guild.id)
        for _ in range(100):
            if bot.get_guild(guild.id) is not None:
                break
            await asyncio.sleep(0.02)
        assert events.seen == [("guild_remove", guild.id), ("guild_join", guild.id)]
        reply = await (await alice.run_command("echo", text, words="welcome back")).reply()
        assert reply.content == "welcome back"


async def test_a_gateway_outage_refuses_connections_until_it_ends(discord_sim: DiscordSim) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        await discord_sim.drop_gateway(down_for_s=1.5)
        await asyncio.sleep(0.5)
        assert not discord_sim.gateway.is_ready()  # still down: discord.py's retries were refused
        for _ in range(200):
            if discord_sim.gateway.resumes:
                break
            await asyncio.sleep(0.05)
        assert discord_sim.gateway.resumes == 1 and discord_sim.gateway.identifies == 1
        reply = await (await alice.run_command("echo", text, words="back")).reply()
        assert reply.content == "back"
