"""The simulator as strict as Discord for any discord.py bot: member lists and chunk requests, voice
joins a member's client would refuse, options it would not send, and opcodes or routes Discord would
not answer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import discord
import pytest

from musicbox.sim.discord import DiscordSim
from musicbox.sim.discord.gateway import GUILD_MEMBERS
from musicbox.sim.discord.world import CONNECT
from tests.sim.plain_client import connected


def members_intents() -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.voice_states = True
    intents.members = True
    return intents


async def test_with_the_members_intent_every_member_is_cached_once_the_bot_is_ready() -> None:
    """discord.py asks for the members GUILD_CREATE left out (op 8) and waits for the chunks before
    `on_ready`; unanswered, it would wait out its 5 s chunk timeout with only itself and alice."""
    async with DiscordSim.start(allowed_privileged=GUILD_MEMBERS, voice=False) as sim:
        guild = sim.create_guild("home")
        lounge = guild.create_voice_channel("Lounge")
        people = [guild.create_member(name) for name in ("alice", "bob", "carol")]
        await people[0].join_voice(lounge)
        started = time.monotonic()
        async with connected(sim, guild.id, intents=members_intents()) as bot:
            await asyncio.wait_for(bot.wait_until_ready(), timeout=10)
            # discord.py waits 2 s after the last GUILD_CREATE whatever happens; 5 s more would be
            # its chunk timeout expiring.
            assert time.monotonic() - started < 6
            seen = bot.get_guild(guild.id)
            assert seen is not None and seen.chunked
            assert {m.name for m in seen.members} == {"musicbox", "alice", "bob", "carol"}
        assert sim.violations == []


async def test_a_name_query_and_an_id_lookup_are_answered_in_chunks() -> None:
    async with DiscordSim.start(allowed_privileged=GUILD_MEMBERS, voice=False) as sim:
        guild = sim.create_guild("home")
        alice, _, _ = (guild.create_member(name) for name in ("alice", "Alicia", "bob"))
        async with connected(sim, guild.id, intents=members_intents()) as bot:
            await bot.wait_until_ready()
            seen = bot.get_guild(guild.id)
            assert seen is not None
            found = await seen.query_members("ali", limit=5)
            assert sorted(m.name for m in found) == ["Alicia", "alice"]
            by_id = await seen.query_members(user_ids=[alice.id, 12345])
            assert [m.id for m in by_id] == [alice.id]
        assert sim.violations == []


async def test_a_member_cannot_join_voice_they_lack_connect_for_or_that_is_full(
    discord_sim: DiscordSim,
) -> None:
    guild = discord_sim.create_guild("home")
    staff, small = guild.create_voice_channel("Staff"), guild.create_voice_channel("Duo", user_limit=2)
    alice, bob, carol = (guild.create_member(name) for name in ("alice", "bob", "carol"))
    guild.overwrite(staff, guild.record.everyone, deny=CONNECT)
    moderators = guild.create_role("mods", permissions=CONNECT)
    guild.overwrite(staff, moderators, allow=CONNECT)
    with pytest.raises(ValueError, match="no Connect permission"):
        await alice.join_voice(staff)
    assert staff.member_ids == []
    await guild.create_member("dana", roles=[moderators]).join_voice(staff)
    assert len(staff.member_ids) == 1
    await alice.join_voice(small)
    await bob.join_voice(small)
    await bob.join_voice(small)  # already inside: not counted twice
    with pytest.raises(ValueError, match="full"):
        await carol.join_voice(small)
    assert sorted(small.member_ids) == sorted([alice.id, bob.id])


async def test_options_outside_the_declaration_are_refused_as_discord_s_client_refuses_them(
    discord_sim: DiscordSim,
) -> None:
    guild = discord_sim.create_guild("home")
    text, alice = guild.create_text_channel("general"), guild.create_member("alice")
    async with connected(discord_sim, guild.id):
        refused: list[tuple[dict[str, Any], str]] = [
            ({"words": "hi", "times": 9}, "times must be from 1 to 5"),
            ({"words": "hi", "times": 0}, "times must be from 1 to 5"),
            ({"words": "", "times": 1}, "words must be from 1 to 10 characters"),
            ({"words": "x" * 11, "times": 1}, "words must be from 1 to 10 characters"),
            ({"words": "hi", "times": 1, "mood": "angry"}, "mood must be one of"),
            ({"times": 1}, "words is required"),
        ]
        for options, why in refused:
            with pytest.raises(ValueError, match=why):
                await alice.run_command("repeat", text, **options)
        assert discord_sim.interactions == {}  # nothing reached the bot
        reply = await (await alice.run_command("repeat", text, words="hi", times=2, mood="loud")).reply()
        assert reply.content == "loud: hi hi"
        # The escape hatch, for a story about a bot's own checks: what a modified client can send.
        crafted = await (await alice.run_crafted_command("repeat", text, words="hi", times=9)).reply()
        assert crafted.content == "calm: " + " ".join(["hi"] * 9)
        with pytest.raises(ValueError, match="takes a whole number"):
            await alice.run_crafted_command("repeat", text, words="hi", times="nine")


async def raw_session(sim: DiscordSim, intents: int) -> tuple[discord.http.HTTPClient, Any]:
    discord.http.Route.BASE = sim.api_base
    http = discord.http.HTTPClient(asyncio.get_running_loop(), connector=sim.connector())
    await http.static_login(sim.bot_token)
    ws = await http.ws_connect(sim.gateway_url + "?v=10&encoding=json")
    assert (await ws.receive_json())["op"] == 10
    await ws.send_json({"op": 2, "d": {"token": sim.bot_token, "intents": intents, "properties": {}}})
    return http, ws


async def next_dispatch(ws: Any, event: str) -> dict[str, Any]:
    for _ in range(50):
        message = await asyncio.wait_for(ws.receive_json(), timeout=2)
        if message.get("t") == event:
            payload: dict[str, Any] = message["d"]
            return payload
    raise AssertionError(f"no {event}")


async def test_a_second_request_for_every_member_within_30_s_is_rate_limited() -> None:
    async with DiscordSim.start(allowed_privileged=GUILD_MEMBERS, voice=False) as sim:
        guild = sim.create_guild("home")
        guild.create_member("alice")
        http, ws = await raw_session(sim, 1 | GUILD_MEMBERS)
        try:
            everyone = {"guild_id": str(guild.id), "query": "", "limit": 0, "nonce": "first"}
            await ws.send_json({"op": 8, "d": everyone})
            chunk = await next_dispatch(ws, "GUILD_MEMBERS_CHUNK")
            assert (chunk["chunk_index"], chunk["chunk_count"], chunk["nonce"]) == (0, 1, "first")
            assert len(chunk["members"]) == 2
            await ws.send_json({"op": 8, "d": everyone | {"nonce": "again"}})
            limited = await next_dispatch(ws, "RATE_LIMITED")
            assert limited["opcode"] == 8 and limited["meta"]["nonce"] == "again"
            assert 0 < limited["retry_after"] <= 30
        finally:
            await http.close()
        assert sim.violations == []


async def test_an_opcode_discord_does_not_know_closes_the_socket_and_is_a_violation() -> None:
    async with DiscordSim.start(voice=False) as sim:
        http, ws = await raw_session(sim, 1)
        try:
            await ws.send_json({"op": 99, "d": {}})
            for _ in range(50):
                message = await asyncio.wait_for(ws.receive(), timeout=2)
                if message.type.name in ("CLOSE", "CLOSED", "CLOSING"):
                    break
            assert ws.close_code == 4001
        finally:
            await http.close()
        assert [(v.code, v.detail) for v in sim.violations] == [("4001", "gateway opcode 99")]


async def test_asking_for_every_member_without_the_members_intent_is_refused() -> None:
    async with DiscordSim.start(voice=False) as sim:
        guild = sim.create_guild("home")
        http, ws = await raw_session(sim, 1)
        try:
            await ws.send_json({"op": 8, "d": {"guild_id": str(guild.id), "query": "", "limit": 0}})
            for _ in range(50):
                message = await asyncio.wait_for(ws.receive(), timeout=2)
                if message.type.name in ("CLOSE", "CLOSED", "CLOSING"):
                    break
            assert ws.close_code == 4001
        finally:
            await http.close()
        assert [v.code for v in sim.violations] == ["4001"]
        assert "GUILD_MEMBERS intent" in sim.violations[0].detail


async def test_a_route_the_simulator_lacks_is_a_violation_even_on_a_known_path(
    discord_sim: DiscordSim,
) -> None:
    """Discord has POST .../commands (one command at a time); the simulator only the bulk PUT. The
    bot sees Discord's 404 and the test fails unless it says it expects the gap."""
    discord_sim.expect_violation("unknown_route")
    guild = discord_sim.create_guild("home")
    async with connected(discord_sim, guild.id) as bot:
        command = {"name": "extra", "description": "one more", "type": 1}
        with pytest.raises(discord.NotFound):
            await bot.http.upsert_guild_command(discord_sim.application_id, guild.id, command)
    assert [v.code for v in discord_sim.violations] == ["unknown_route"]
    assert discord_sim.violations[0].detail.startswith("POST /applications/")
