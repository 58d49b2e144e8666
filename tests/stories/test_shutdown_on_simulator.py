"""The owner stops the bot while members' replies are still on their way: every reply task is
finished or cancelled before the HTTP session closes, so the log holds no connector error and no
task whose exception nobody retrieved."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from tests.world.fixture import World
from tests.world.stage import stage


def warnings_and_errors(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.levelno >= logging.WARNING
    )


async def test_stopping_while_replies_are_in_flight_logs_no_orphaned_failure(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    home = stage(world.sim)
    members = [home.guild.create_member(f"m{n}") for n in range(4)]
    with caplog.at_level(logging.INFO):
        async with world.bot() as bot:
            async with asyncio.timeout(10):  # discord.py says READY 2 s after the last guild
                while not bot.is_ready():  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            await home.alice.join_voice(home.voice)
            for member in members:
                await member.join_voice(home.voice)
            asked = []
            for n, member in enumerate(members):
                asked.append(await member.run_command("play", home.text, query=world.media.track_url(20 + n)))
            asked.append(await home.alice.run_command("play", home.text, query=world.media.playlist_url(30)))
            for interaction in asked:
                await interaction.wait_acknowledged()
        # The bot has stopped; anything of it still running would fail now, and say so.
        await asyncio.sleep(2)
        gc.collect()  # an orphaned task's exception is reported when it is collected
    said = warnings_and_errors(caplog)
    assert "Connector is closed" not in said and "Session is closed" not in said
    assert "never retrieved" not in said
    assert "Traceback" not in said, said


async def test_stopping_right_after_start_logs_no_orphaned_failure(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        async with world.bot() as bot:
            assert not bot.is_ready()  # discord.py is still waiting to announce READY
        gc.collect()
    said = warnings_and_errors(caplog)
    assert "never retrieved" not in said and "Traceback" not in said, said
