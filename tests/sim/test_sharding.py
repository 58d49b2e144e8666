"""The simulator shards as Discord does, held to discord.py's own AutoShardedClient, unmodified: each
shard sees and is sent its own guilds only, `/gateway/bot` recommends a count, a shard that does not
exist is closed with 4010, too many guilds on one connection with 4011, and IDENTIFY is limited to
max_concurrency per 5 s (refused with op 9, which discord.py waits out and retries)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord
import pytest
import yarl

from musicbox.sim.discord import DiscordSim, Shard, Sharding
from musicbox.sim.discord.sharding import IdentifyBuckets, event_guild, recommended_shards, shard_of_identify


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, Shard(0, 1)),
        ([0, 1], Shard(0, 1)),
        ([3, 4], Shard(3, 4)),
        ([4, 4], "shard 4 of 4 does not exist"),
        ([-1, 4], "shard -1 of 4 does not exist"),
        ([0, 0], "shard 0 of 0 does not exist"),
        ([1], "shard must be [shard_id, num_shards], got [1]"),
        (["0", "2"], "shard must be [shard_id, num_shards], got ['0', '2']"),
        ([True, 2], "shard must be [shard_id, num_shards], got [True, 2]"),
    ],
)
def test_identify_shard_field(raw: object, expected: Shard | str) -> None:
    assert shard_of_identify(raw) == expected


@pytest.mark.parametrize(
    ("guilds", "per_shard", "shards"),
    [(0, 1000, 1), (1, 1000, 1), (1000, 1000, 1), (1001, 1000, 2), (2500, 1000, 3), (9, 2, 5)],
)
def test_one_recommended_shard_per_thousand_guilds(guilds: int, per_shard: int, shards: int) -> None:
    assert recommended_shards(guilds, per_shard) == shards


def test_events_go_to_their_guilds_shard_and_guildless_ones_to_shard_0() -> None:
    guild_id = (7 << 22) | 5  # shard 7 % 4 = 3
    assert event_guild("GUILD_CREATE", {"id": str(guild_id)}) == guild_id
    assert event_guild("VOICE_STATE_UPDATE", {"guild_id": str(guild_id)}) == guild_id
    assert event_guild("INTERACTION_CREATE", {"channel_id": "1"}) is None
    assert [Shard(i, 4).receives("VOICE_SERVER_UPDATE", {"guild_id": str(guild_id)}) for i in range(4)] == [
        False,
        False,
        False,
        True,
    ]
    assert [Shard(i, 4).receives("USER_UPDATE", {"id": "9"}) for i in range(4)] == [True, False, False, False]


def test_identify_buckets_take_one_identify_per_key_per_5_s() -> None:
    buckets = IdentifyBuckets(max_concurrency=2, window_s=5.0)
    assert buckets.admit(Shard(0, 4), 100.0) and buckets.admit(Shard(1, 4), 100.0)
    assert not buckets.admit(Shard(2, 4), 101.0)  # key 0 again within 5 s
    assert not buckets.admit(Shard(3, 4), 104.9)
    assert buckets.admit(Shard(2, 4), 105.0) and buckets.admit(Shard(3, 4), 105.0)
    assert IdentifyBuckets(window_s=0.0).admit(Shard(0, 1), 0.0)  # the limit off


class Sharded(discord.AutoShardedClient):
    def __init__(self, sim: DiscordSim, **shards: object) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.voice_states = True
        super().__init__(intents=intents, connector=sim.connector(), **shards)  # type: ignore[arg-type]


class Prompt(Sharded):
    """Identifies each shard at once: the hook discord.py documents for bots that pace their
    identifies themselves (its default waits 5 s before each but the first), for tests where the
    simulator's identify limit is off."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


@asynccontextmanager
async def running(client: discord.Client, sim: DiscordSim) -> AsyncIterator[asyncio.Task[None]]:
    """The client connected (not necessarily ready); closed after."""
    discord.http.Route.BASE = sim.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sim.gateway_url)
    async with client:
        task = asyncio.get_running_loop().create_task(client.start(sim.bot_token))
        try:
            yield task
        finally:
            await client.close()
            await asyncio.gather(task, return_exceptions=True)


async def ready(client: discord.Client, task: asyncio.Task[None], within_s: float = 15) -> None:
    waiting = asyncio.get_running_loop().create_task(client.wait_until_ready())
    await asyncio.wait({waiting, task}, timeout=within_s, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiting.cancel()
        task.result()
    assert waiting.done(), f"not ready within {within_s} s"


async def test_two_processes_of_shards_each_see_and_hear_their_own_guilds_only() -> None:
    async with DiscordSim.start(voice=False, sharding=Sharding(guilds_per_recommended_shard=3)) as sim:
        guilds = [sim.create_guild(f"g{n}") for n in range(10)]
        one, other = (
            Prompt(sim, shard_ids=[0, 1], shard_count=4),
            Prompt(sim, shard_ids=[2, 3], shard_count=4),
        )
        async with running(one, sim) as first, running(other, sim) as second:
            await ready(one, first)
            await ready(other, second)
            assert {g.id for g in one.guilds} == {g.id for g in guilds if (g.id >> 22) % 4 in (0, 1)}
            assert {g.id for g in other.guilds} == {g.id for g in guilds if (g.id >> 22) % 4 in (2, 3)}
            # Guild ids in turn: the ten guilds spread over the four shards, 2 or 3 each.
            assert sorted(len(s) for s in sim.gateway.guilds_sent_to.values()) == [2, 2, 3, 3]
            renamed = guilds[3]
            owner, stranger = (one, other) if (renamed.id >> 22) % 4 in (0, 1) else (other, one)
            sim.post("GUILD_UPDATE", renamed.record.create_payload() | {"name": "renamed"})
            await sim.settle()
            for _ in range(100):  # bounded: until the owning process has it
                if discord.utils.get(owner.guilds, name="renamed"):
                    break
                await asyncio.sleep(0.02)
            assert discord.utils.get(owner.guilds, name="renamed") is not None
            assert stranger.get_guild(renamed.id) is None
        for shard, sent in sim.gateway.guilds_sent_to.items():
            assert sent and all(shard.owns(guild_id) for guild_id in sent), shard
        assert set(sim.gateway.guilds_sent_to) == {Shard(i, 4) for i in range(4)}
        assert sim.gateway_bot()["shards"] == 4  # 10 guilds, 3 a shard here (Discord's rule: 1,000)


async def test_without_a_count_discord_py_asks_gateway_bot_and_runs_the_recommended_shards() -> None:
    async with DiscordSim.start(voice=False, sharding=Sharding(guilds_per_recommended_shard=2)) as sim:
        for n in range(3):
            sim.create_guild(f"g{n}")
        client = Prompt(sim)
        async with running(client, sim) as task:
            await ready(client, task)
            assert client.shard_count == 2 and sorted(client.shards) == [0, 1] and len(client.guilds) == 3
            limit = sim.gateway_bot()["session_start_limit"]
            assert limit["remaining"] == 1000 - 2 and limit["max_concurrency"] == 1


async def test_a_shard_that_does_not_exist_is_closed_with_4010() -> None:
    async with DiscordSim.start(voice=False) as sim:
        sim.create_guild("home")
        sim.expect_violation("4010")
        client = Sharded(sim, shard_ids=[2], shard_count=2)
        async with running(client, sim) as task:
            with pytest.raises(discord.ConnectionClosed) as closed:
                await asyncio.wait_for(task, timeout=10)
        assert closed.value.code == 4010


async def test_too_many_guilds_for_one_connection_is_closed_with_4011_and_sharding_fixes_it() -> None:
    async with DiscordSim.start(voice=False, sharding=Sharding(max_guilds_per_shard=2)) as sim:
        for n in range(3):
            sim.create_guild(f"g{n}")
        unsharded = Sharded(sim, shard_ids=[0], shard_count=1)
        async with running(unsharded, sim) as task:
            with pytest.raises(discord.ConnectionClosed) as closed:
                await asyncio.wait_for(task, timeout=10)
        assert closed.value.code == 4011
        halves = Sharded(sim, shard_ids=[0], shard_count=2)  # one of two shards: 1 or 2 guilds
        async with running(halves, sim) as task:
            await ready(halves, task)


async def test_identifies_over_max_concurrency_are_refused_with_op_9_and_retried() -> None:
    limit = Sharding(max_concurrency=1, identify_window_s=5.0)
    async with DiscordSim.start(voice=False, sharding=limit) as sim:
        sim.create_guild("home")
        one, other = Sharded(sim, shard_ids=[0], shard_count=2), Sharded(sim, shard_ids=[1], shard_count=2)
        started = time.monotonic()
        async with running(one, sim) as first, running(other, sim) as second:
            await ready(one, first)
            await ready(other, second)
            both_ready_s = time.monotonic() - started
        # Two processes identified at once with one bucket: the second was refused and came back
        # after discord.py's 5 s wait, past the bucket's 5 s window.
        assert sim.gateway.identifies_refused >= 1 and sim.gateway.identifies == 2
        assert both_ready_s >= 5.0
