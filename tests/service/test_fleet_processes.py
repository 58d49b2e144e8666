"""A fleet: two shard processes sharing one PostgreSQL server (as two machines would), against the
simulator. A member's phone app talks to the REST API of the process holding shard 0, about a
server whose shard the other process runs: the action is forwarded over LISTEN/NOTIFY, the owner
plays and skips, and the listener in that server hears it; a refusal comes back as the owner said
it. With the owner killed, the
app is told in one sentence at once that its process is down, and `musicbox status` (which
reads every process's heartbeat row) marks it down, the other online."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from musicbox.bot import text
from musicbox.cli import status as status_command
from musicbox.core.fleet import DOWN_SENTENCE, Heartbeat
from musicbox.sim.discord import DiscordSim
from musicbox.sim.media import MediaWorld
from musicbox.store.api_tokens import ApiTokenStore
from musicbox.store.config_file import write_config
from musicbox.store.fleet import read_heartbeats
from musicbox.store.postgres import PostgresConnection
from tests.fixtures.postgres import Cluster
from tests.service.test_shard_processes import COUNT, Box, shard
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
        super().__init__(sim, media, root, store_url, COUNT)
        self.port = free_port()
        write_config(Path(self.environment["MUSICBOX_CONFIG"]), {"web": {"enabled": True, "port": self.port}})


async def beaten(url: str, seen: Callable[[list[Heartbeat]], bool]) -> None:
    """Until the heartbeat rows show what `seen` wants (bounded: two beats and then some)."""
    connection = PostgresConnection(url)
    try:
        for _ in range(120):
            if seen((await asyncio.to_thread(read_heartbeats, connection))[0]):
                return
            await asyncio.sleep(0.1)
    finally:
        connection.close()
    raise AssertionError("the heartbeat rows never showed it")


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
    discord_sim: DiscordSim,
    media_world: MediaWorld,
    postgres: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
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
        # A heartbeat every 5 s: the owner's voice session is in its row by its next beat, and shard
        # 0's guild in its own (its first beat may predate its guild's arrival).
        voice_session_beaten = asyncio.ensure_future(
            beaten(
                url,
                lambda beats: (
                    any(b.label == "1" and b.voice_sessions == 1 for b in beats)
                    and any(b.label == "0" and b.guilds == 1 for b in beats)
                ),
            )
        )
        status, said = await alice.call(
            "POST", f"{guild}/queue", {"query": media_world.track_url(32, seconds=SONG_S)}
        )
        assert status == 200 and "position 1" in said["message"], said
        await away.voice.heard().wait_for_rungs([31], timeout=20)
        status, queue = await alice.call("GET", f"{guild}/queue")  # a read, forwarded too
        assert status == 200 and queue["playing"]["requester_id"] == str(away.alice.id)
        assert [entry["position"] for entry in queue["upcoming"]] == [1]
        # The servers alice shares with the bot, fleet-wide: hers is the other process's.
        assert await alice.call("GET", "/guilds") == (
            200,
            {"guilds": [{"id": str(away.guild.id), "name": away.guild.record.name, "playing": True}]},
        )
        # The owner's refusal, in its words: bob is not in the voice channel.
        assert await bob.call("POST", f"{guild}/skip") == (403, {"error": text.NOT_WITH_BOT})

        before = time.monotonic()
        status, said = await alice.call("POST", f"{guild}/skip")
        round_trip_ms = (time.monotonic() - before) * 1000
        assert status == 200 and said["message"].startswith("Skipped"), said
        await away.voice.heard().wait_for_rungs([31, 32], timeout=20)
        print(f"\nplayed, read, refused and skipped through shard 0 in {time.monotonic() - began:.1f} s;"
              f" the skip's round trip {round_trip_ms:.0f} ms ({os.getloadavg()[0]:.1f} load)")  # fmt: skip

        await voice_session_beaten
        owner.send_signal(signal.SIGKILL)
        await owner.wait()
        # PostgreSQL's backend for the killed process's connection exits once it is scheduled to read
        # the end of its socket: a moment, longer on a busy box. From then on the fleet knows.
        await beaten(url, lambda beats: any(b.label == "1" and not b.connected for b in beats))
        # What `musicbox status` shows of the fleet, read in this process (its command, exit code
        # and text are tests/service/test_fleet_link.py's): from the rows, a box or many.
        monkeypatch.setenv("MUSICBOX_CONFIG", box.environment["MUSICBOX_CONFIG"])
        status_meanwhile = asyncio.ensure_future(asyncio.to_thread(status_command._fleet))
        before = time.monotonic()
        assert await alice.call("POST", f"{guild}/skip") == (503, {"error": DOWN_SENTENCE})
        assert time.monotonic() - before < 3.0  # told at once, not after the wait for an answer
        assert await alice.call("GET", "/guilds") == (200, {"guilds": []})  # until it is back
        report = await status_meanwhile
        assert report is not None and report["down"] == 1
        fleet = {p["label"]: p for p in report["processes"]}
        assert sorted(fleet) == ["0", "1"]
        assert [fleet[label]["state"] for label in "01"] == ["online", "down"]
        assert [(fleet[label]["guilds"], fleet[label]["voice_sessions"]) for label in "01"] == [
            (1, 0),
            (1, 1),
        ]
        assert fleet["1"]["host"] == socket.gethostname() and fleet["1"]["pid"] == owner.pid
    assert "Traceback" not in box.logged()
