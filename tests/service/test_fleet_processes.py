"""A fleet: two shard processes sharing one PostgreSQL server (as two machines would), against the
simulator. A member's phone app talks to the REST API of the process holding shard 0, about a
server whose shard the other process runs: the action is forwarded over LISTEN/NOTIFY, the owner
plays and skips, and the listener in that server hears it; a refusal comes back as the owner said
it; `musicbox status` shows both processes from the heartbeat table. With the owner killed, the
app is told in one sentence at once that its process is down, and status marks it down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp

from musicbox.bot import text
from musicbox.core.fleet import DOWN_SENTENCE
from musicbox.sim.discord import DiscordSim
from musicbox.sim.media import MediaWorld
from musicbox.store.api_tokens import ApiTokenStore
from musicbox.store.config_file import write_config
from musicbox.store.postgres import PostgresConnection
from tests.fixtures.postgres import Cluster
from tests.service.test_shard_processes import Box, logged, shard
from tests.world.stage import stage

SONG_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class FleetBox(Box):
    """A box whose processes keep their stores in PostgreSQL and whose shard-0 process serves the API."""

    def __init__(self, sim: DiscordSim, media: MediaWorld, root: Path, store_url: str) -> None:
        super().__init__(sim, media, root)
        self.port = free_port()
        write_config(
            Path(self.environment["MUSICBOX_CONFIG"]),
            {"store": {"url": store_url}, "web": {"enabled": True, "port": self.port}},
        )

    async def fleet(self) -> tuple[int, dict[str, dict[str, Any]]]:
        """`musicbox status --json`'s exit code and the fleet's processes by label (the text form
        is tests/cli/test_status_fleet.py's)."""
        code, report = await self.status()
        return code, {p["label"]: p for p in report["fleet"]["processes"]}


class App:
    """A phone app holding a member's token, talking to the API of the process holding shard 0."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=40)) as http,
            http.request(method, f"{self.base}{path}", json=body, headers=self.headers) as response,
        ):
            return response.status, await response.json()


async def test_the_api_of_shard_0_plays_and_skips_in_a_server_another_process_runs(
    discord_sim: DiscordSim, media_world: MediaWorld, postgres: Cluster, tmp_path: Path
) -> None:
    scenes = [stage(discord_sim, f"home{n}") for n in range(2)]  # consecutive guilds: one on each shard
    away = next(scene for scene in scenes if shard(scene) == 1)
    url = postgres.new_database()
    box = FleetBox(discord_sim, media_world, tmp_path, url)
    tokens = ApiTokenStore(PostgresConnection(url))  # as `musicbox api token create` makes them
    alice = App(box.port, tokens.create(away.alice.id, "alice's phone")[1])
    bob = App(box.port, tokens.create(away.bob.id, "bob's phone")[1])
    guild = f"/guilds/{away.guild.id}"
    await away.alice.join_voice(away.voice)

    async with contextlib.AsyncExitStack() as processes:
        _, owner = await asyncio.gather(
            *(processes.enter_async_context(box.shard_process(ids)) for ids in "01")
        )
        began = time.monotonic()
        status, said = await alice.call(
            "POST", f"{guild}/queue", {"query": media_world.track_url(31, seconds=SONG_S)}
        )
        assert status == 200 and said["message"].startswith("Playing"), said
        status, said = await alice.call(
            "POST", f"{guild}/queue", {"query": media_world.track_url(32, seconds=SONG_S)}
        )
        assert status == 200 and "position 1" in said["message"], said
        await away.voice.heard().wait_for_rungs([31], timeout=20)
        status, queue = await alice.call("GET", f"{guild}/queue")  # a read, forwarded too
        assert status == 200 and queue["playing"]["requester_id"] == str(away.alice.id)
        assert [entry["position"] for entry in queue["upcoming"]] == [1]
        # The owner's refusal, in its words: bob is not in the voice channel.
        assert await bob.call("POST", f"{guild}/skip") == (403, {"error": text.NOT_WITH_BOT})

        before = time.monotonic()
        status, said = await alice.call("POST", f"{guild}/skip")
        round_trip_ms = (time.monotonic() - before) * 1000
        assert status == 200 and said["message"].startswith("Skipped"), said
        await away.voice.heard().wait_for_rungs([31, 32], timeout=20)
        print(f"\nplayed, read, refused and skipped through shard 0 in {time.monotonic() - began:.1f} s;"
              f" the skip's round trip {round_trip_ms:.0f} ms ({os.getloadavg()[0]:.1f} load)")  # fmt: skip

        code, fleet = await box.fleet()
        assert code == 0 and sorted(fleet) == ["0", "1"]
        assert [fleet[label]["state"] for label in "01"] == ["online", "online"]
        assert fleet["1"]["voice_sessions"] == 1 and fleet["0"]["guilds"] + fleet["1"]["guilds"] == 2

        owner.send_signal(signal.SIGKILL)
        await owner.wait()
        before = time.monotonic()
        assert await alice.call("POST", f"{guild}/skip") == (503, {"error": DOWN_SENTENCE})
        assert time.monotonic() - before < 3.0  # told at once, not after the wait for an answer
        code, fleet = await box.fleet()
        assert code == 1 and [fleet[label]["state"] for label in "01"] == ["online", "down"]
    assert "Traceback" not in logged(tmp_path)
