"""A bot grown past one process: `musicbox run --shards N --shard-count 2` twice on one box (one
state directory, one runtime directory), against a simulator with 200 servers. Members on both
shards play and are heard; each process is sent its own servers' events only (the simulator's
record says so); `musicbox status` lists both; killing one leaves the other playing without a gap,
and the killed one, restarted, resumes its servers' songs from the stored queue."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from musicbox.sim.discord import DiscordSim, Shard
from musicbox.sim.media import MediaWorld
from musicbox.store.config_file import write_config
from tests.world.stage import Stage, stage

SERVERS = 200
COUNT = 2
SONG_S = 20.0
LONG_SONG_S = 90.0
NO_GAP_MS = 1000  # a killed process's servers are silent for seconds; a busy box's hiccup is not that


def shard(scene: Stage) -> int:
    return (scene.guild.id >> 22) % COUNT


class Box:
    """One machine's directories and environment, as the unit would set them, for every process."""

    def __init__(self, sim: DiscordSim, media: MediaWorld, root: Path) -> None:
        self.root = root
        config = root / "etc" / "musicbox.toml"
        write_config(
            config,
            {
                "discord": {"token": sim.bot_token, "api_base": sim.api_base, "gateway_url": sim.gateway_url},
                "resolver": {
                    "search_template": media.search_template,
                    "allowed_private_hosts": (media.host,),
                },
            },
        )
        self.environment = {
            **os.environ,
            "MUSICBOX_CONFIG": str(config),
            "STATE_DIRECTORY": str(root / "lib"),
            "CACHE_DIRECTORY": str(root / "cache"),
            "RUNTIME_DIRECTORY": str(root / "run"),
            "SSL_CERT_FILE": str(sim.write_ca(root / "sim-ca.pem")),
        }

    @contextlib.asynccontextmanager
    async def shard_process(self, shards: str) -> AsyncIterator[asyncio.subprocess.Process]:
        """`musicbox run --shards <shards> --shard-count 2`, until READY (its own notify socket)."""
        path = self.root / f"notify-{shards}.sock"
        path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notifications:
            notifications.bind(str(path))
            notifications.setblocking(False)
            with (self.root / f"shards-{shards}.log").open("ab") as log:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "musicbox", "run", "--shards", shards, "--shard-count", str(COUNT),
                    env=self.environment | {"NOTIFY_SOCKET": str(path)}, stdout=log, stderr=log,
                )  # fmt: skip
            try:
                loop = asyncio.get_running_loop()
                async with asyncio.timeout(40):
                    while b"READY=1" not in await loop.sock_recv(notifications, 4096):
                        pass
                yield process
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()

    async def run_refused(self, *arguments: str) -> tuple[int, str]:
        """`musicbox run` that stops before READY: its exit code and what it printed."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "musicbox", "run", *arguments,
            env=self.environment | {"COLUMNS": "300"}, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode is not None
        return process.returncode, output.decode().strip()

    async def status(self) -> tuple[int, dict[str, Any]]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "musicbox", "status", "--json",
            env=self.environment, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode is not None
        return process.returncode, json.loads(stdout)


async def play(scene: Stage, url: str) -> None:
    interaction = await scene.alice.run_command("play", scene.text, query=url)
    await interaction.reply(timeout=20)


async def heard_more(scene: Stage, rung: int, than_ms: int, within_s: float) -> None:
    for _ in range(int(within_s * 10)):  # bounded
        if scene.voice.heard().heard_ms(rung) > than_ms:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{scene.guild.record.name} was not heard past {than_ms} ms within {within_s} s")


def logged(root: Path) -> str:
    return "".join(path.read_text() for path in root.glob("shards-*.log"))


def assert_apart(sim: DiscordSim) -> None:
    """Each process was sent its own shard's servers' events only, and every server went to one."""
    sent = sim.gateway.guilds_sent_to
    assert set(sent) == {Shard(0, COUNT), Shard(1, COUNT)}
    for each, guilds in sent.items():
        assert all(each.owns(guild_id) for guild_id in guilds), f"shard {each.id} was sent another's"
    assert len(sent[Shard(0, COUNT)]) + len(sent[Shard(1, COUNT)]) == SERVERS


async def assert_status_lists_both(box: Box) -> None:
    code, report = await box.status()
    assert code == 0 and report["state"] == "online"
    shown = {p["shards"]["ids"]: p for p in report["processes"]}
    assert sorted(shown) == ["0", "1"] and all(p["shards"]["count"] == COUNT for p in shown.values())
    assert shown["0"]["guilds"] + shown["1"]["guilds"] == SERVERS
    assert sorted(p["socket"] for p in shown.values()) == ["control-shards-0.sock", "control-shards-1.sock"]


async def test_two_shard_processes_split_the_servers_and_status_lists_both(
    discord_sim: DiscordSim, media_world: MediaWorld, tmp_path: Path
) -> None:
    """The short form of the story below, for every run."""
    for n in range(SERVERS):
        discord_sim.create_guild(f"quiet{n}")
    box = Box(discord_sim, media_world, tmp_path)
    async with contextlib.AsyncExitStack() as processes:
        await asyncio.gather(*(processes.enter_async_context(box.shard_process(ids)) for ids in "01"))
        await assert_status_lists_both(box)
        assert_apart(discord_sim)
        # Without --shard-count the count is Discord's: one shard for 200 servers, so no shard 1.
        code, told = await box.run_refused("--shards", "1")
        assert code == 2
        assert told == (
            "error: Discord recommends 1 shard, and shard 1 does not exist with 1 shard (ids run from 0"
            " to 0): pick ids below the count, or give --shard-count"
        )
    assert "Traceback" not in logged(tmp_path)


@pytest.mark.slow
async def test_two_shard_processes_play_apart_and_one_killed_resumes_while_the_other_plays(
    discord_sim: DiscordSim, media_world: MediaWorld, tmp_path: Path
) -> None:
    scenes = [stage(discord_sim, f"home{n}") for n in range(2)]  # consecutive guilds: one on each shard
    for n in range(SERVERS - len(scenes)):
        discord_sim.create_guild(f"quiet{n}")
    first, second = sorted(scenes, key=shard)
    assert (shard(first), shard(second)) == (0, 1)
    songs = {0: 31, 1: 33}  # a tone a shard, so a listener knows whose song it hears
    for scene in scenes:
        await scene.alice.join_voice(scene.voice)
    box = Box(discord_sim, media_world, tmp_path)
    async with box.shard_process("0"), box.shard_process("1") as other:
        began = time.monotonic()
        await assert_status_lists_both(box)
        # Shard 0's song outlasts the story; shard 1's is heard to its end across the kill.
        await play(first, media_world.track_url(songs[0], seconds=LONG_SONG_S))
        await play(second, media_world.track_url(songs[1], seconds=SONG_S))
        for scene in scenes:
            await scene.voice.heard().wait_for_rungs([songs[shard(scene)]], timeout=20)
        print(f"\nboth heard {time.monotonic() - began:.1f} s after the processes were READY")

        assert_apart(discord_sim)  # voice states and interactions too, now

        await heard_more(second, songs[1], 4000, within_s=15)  # a few seconds in, stored on the way
        print(f"killing shard 1 {time.monotonic() - began:.1f} s after READY")
        other.send_signal(signal.SIGKILL)
        await other.wait()
        cut_ms = second.voice.heard().heard_ms(songs[1])
        playing_ms = first.voice.heard().heard_ms(songs[0])
        await asyncio.sleep(3)
        assert first.voice.heard().heard_ms(songs[0]) >= playing_ms + 2000  # shard 0 plays on
        code, report = await box.status()
        assert code == 1 and report["state"] == "degraded"
        assert sorted(p["state"] for p in report["processes"]) == ["online", "stopped"]

        async with box.shard_process("1"):
            await heard_more(second, songs[1], cut_ms + 1000, within_s=20)
            for _ in range(300):  # bounded: until the rest of the song has played
                if second.voice.heard().heard_ms(songs[1]) >= SONG_S * 1000 - 500:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            heard_s = second.voice.heard().heard_ms(songs[1]) / 1000
        silence = first.voice.heard().longest_silence_ms(songs[0])
    print(
        f"\nshard 1 killed after {cut_ms / 1000:.1f} s of its song and resumed; shard 0's longest"
        f" silence meanwhile {silence:.0f} ms; {heard_s:.1f} s of its {SONG_S:.0f} s song heard in all"
        f" ({os.getloadavg()[0]:.1f} load)"
    )
    assert "Traceback" not in logged(tmp_path)
    assert silence <= NO_GAP_MS
    # Resumed at the stored position (checkpoints every 2 s): the song is heard once, not restarted.
    assert SONG_S - 1.0 <= heard_s <= SONG_S + 2.5, heard_s
