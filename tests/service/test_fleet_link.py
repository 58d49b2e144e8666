"""Two processes' links to a fleet on the throwaway PostgreSQL, in one event loop with no Discord: an
action forwarded to the shard's owner comes back with its answer (and how long that takes); a
NOTIFY that is not a request is dropped without stopping the owner; an owner that hangs, or has
stopped, gives the asker one sentence within a bounded wait; and `musicbox status` shows every
process of the fleet, a killed one down (exit 1), a host name holding markup as typed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
import typer

from musicbox.cli import status
from musicbox.cli.console import out
from musicbox.core.fleet import (
    DOWN_SENTENCE,
    NO_ANSWER_SENTENCE,
    UNREACHABLE_SENTENCE,
    Answer,
    Forwarded,
    shard_channel,
)
from musicbox.core.shards import ShardPlan
from musicbox.service import fleet
from musicbox.service.control import serving
from musicbox.store.config_file import write_config
from musicbox.store.postgres import PostgresConnection
from musicbox.store.schema import upgrade
from tests.cli.test_status_text import report_naming
from tests.fixtures.postgres import Cluster

GUILD_OF_SHARD_1 = (1_000_001 << 22) + 5  # (id >> 22) % 2 == 1
MARKUP = "[bold]box[/] [link=http://x]"
ROUND_TRIPS = 100


class Owner:
    """What the process running shard 1 answers: what it was asked, unless told to hang."""

    def __init__(self) -> None:
        self.asked: list[Forwarded] = []
        self.hang = asyncio.Event()

    async def answer(self, request: Forwarded) -> Answer:
        self.asked.append(request)
        if request.action == "pause":
            await self.hang.wait()  # stuck, as a process whose event loop is blocked
        return Answer(200, f"did {request.action} for {request.user_id}")


@contextlib.asynccontextmanager
async def link(
    url: str, ids: tuple[int, ...], owner: Owner, host: str = "box"
) -> AsyncIterator[fleet.FleetLink]:
    joined = fleet.FleetLink(url, ShardPlan(ids, 2), owner.answer, lambda: (len(ids) * 10, 1), host)
    await joined._start()
    try:
        yield joined
    finally:
        await joined._aclose()


@pytest.fixture
def fleet_url(postgres: Cluster) -> str:
    url = postgres.new_database()
    connection = PostgresConnection(url)
    upgrade(connection)  # as the processes' stores do at start
    connection.close()
    return url


async def test_an_action_reaches_the_owner_and_its_answer_comes_back_whatever_else_is_sent(
    fleet_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    owner = Owner()
    async with link(fleet_url, (0,), Owner()) as here, link(fleet_url, (1,), owner, "other"):
        answer = await here.ask(1, here.request("move", 7, GUILD_OF_SHARD_1, (3, 1)))
        assert answer == Answer(200, "did move for 7")
        assert owner.asked[0].numbers == (3, 1) and owner.asked[0].guild_id == GUILD_OF_SHARD_1

        # Anyone who can reach the database can NOTIFY the owner's channel.
        channel = shard_channel(here._space, 1, 2)
        async with await psycopg.AsyncConnection.connect(fleet_url, autocommit=True) as stranger:
            for payload in ("not json", '{"v": 1, "action": "skip"}', '{"v": 1, "id": "' + "a" * 32 + '"}'):
                await stranger.execute("SELECT pg_notify(%s, %s)", (channel, payload))
        with caplog.at_level(logging.WARNING):
            answer = await here.ask(1, here.request("play", 8, GUILD_OF_SHARD_1, query="tone 🎵"))
        assert answer == Answer(200, "did play for 8")  # the owner heard on after them
        assert [r.action for r in owner.asked] == ["move", "play"]
        assert sum("refused a message" in r.getMessage() for r in caplog.records) == 3

        taken = []
        cpu_began = time.process_time()
        for _ in range(ROUND_TRIPS):  # bounded
            began = time.perf_counter()
            await here.ask(1, here.request("skip", 9, GUILD_OF_SHARD_1))
            taken.append((time.perf_counter() - began) * 1000)
        taken.sort()
        print(
            f"\none forwarded action's round trip: median {statistics.median(taken):.2f} ms,"
            f" p95 {taken[int(ROUND_TRIPS * 0.95)]:.2f} ms over {ROUND_TRIPS}; CPU of both processes'"
            f" sides {(time.process_time() - cpu_began) * 1000 / ROUND_TRIPS:.2f} ms each"
            f" ({os.getloadavg()[0]:.1f} load)"
        )


async def test_an_owner_that_hangs_or_has_stopped_gives_one_sentence_within_a_bounded_wait(
    fleet_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(fleet, "answer_wait_s", lambda _: 0.5)
    owner = Owner()
    async with link(fleet_url, (0,), Owner()) as here:
        async with link(fleet_url, (1,), owner):
            began = time.monotonic()
            assert await here.ask(1, here.request("pause", 7, GUILD_OF_SHARD_1)) == Answer(
                503, NO_ANSWER_SENTENCE
            )
            assert 0.5 <= time.monotonic() - began < 3.0
            owner.hang.set()
            # Its late answer is a row nobody fetches (forgotten after a minute); the next is its own.
            assert await here.ask(1, here.request("skip", 7, GUILD_OF_SHARD_1)) == Answer(
                200, "did skip for 7"
            )
        began = time.monotonic()
        assert await here.ask(1, here.request("skip", 7, GUILD_OF_SHARD_1)) == Answer(503, DOWN_SENTENCE)
        assert time.monotonic() - began < 0.5  # told at once: no wait for a process known stopped
        # The database out of reach (its server moved, say): one sentence too, and no traceback.
        assert here._talker is not None
        await here._talker.close()
        here._url = f"postgresql://nobody@/gone?host={tmp_path}&connect_timeout=2"
        assert await here.ask(1, here.request("skip", 7, GUILD_OF_SHARD_1)) == Answer(
            503, UNREACHABLE_SENTENCE
        )
        assert await here.ask_others(7) == []


def killed(url: str, host: str, label: str, ids: list[int]) -> None:
    """The row a process killed outright leaves: its last beat, its connection gone with it."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO fleet_processes (host, label, shard_ids, shard_count, pid, started_at, seen_at,"
            " guilds, voice_sessions, backend_pid) VALUES (%s, %s, %s, 2, 4242, 0,"
            " extract(epoch FROM clock_timestamp()), 7, 2, 0)",
            (host, label, ids),
        )


async def test_status_shows_every_process_of_the_fleet_a_killed_one_down_and_names_as_typed(
    fleet_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "musicbox.toml"
    write_config(config, {"store": {"url": fleet_url}})
    monkeypatch.setenv("MUSICBOX_CONFIG", str(config))
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path))
    killed(fleet_url, "elsewhere", "1", [1])
    monkeypatch.setattr(out, "width", 300)  # the owner's wide terminal: no cell wraps
    async with (
        link(fleet_url, (0,), Owner(), MARKUP),
        serving(tmp_path, lambda: report_naming("")),  # this box's own process answers its socket
    ):
        with pytest.raises(typer.Exit) as exit_json:
            await asyncio.to_thread(status.status, json_output=True)
        report = json.loads(capsys.readouterr().out)["fleet"]
        with pytest.raises(typer.Exit) as exit_text:
            await asyncio.to_thread(status.status, json_output=False)
        screen = capsys.readouterr().out
    assert exit_json.value.exit_code == exit_text.value.exit_code == 1  # one of the fleet is down
    assert report["down"] == 1
    assert [
        (p["label"], p["host"], p["state"], p["guilds"], p["voice_sessions"]) for p in report["processes"]
    ] == [
        ("0", MARKUP, "online", 10, 1),
        ("1", "elsewhere", "down", 7, 2),  # its last beat's figures
    ]
    assert "2 processes in the fleet (1 down)" in screen and MARKUP in screen
    assert "a process down stops only its own servers' music" in screen
    stopped = await asyncio.to_thread(status._fleet)  # closed since: said so as it stopped
    assert stopped is not None and [p["state"] for p in stopped["processes"]] == ["stopped", "down"]
