"""The owner stops the bot while members' replies are still on their way: every reply task is
finished or cancelled before the HTTP session closes, so the log holds no connector error and no
task whose exception nobody retrieved."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from musicbox.bot import text
from musicbox.core.gateway_budget import GatewayBudget
from tests.world.fixture import World
from tests.world.stage import reply_text, stage


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


async def test_a_play_under_way_when_the_bot_stops_says_so(world: World) -> None:
    """The owner restarts the bot while two /play are under way: one waits its turn to join voice
    (a gateway budget shrunk to 2 requests a minute), one reads a page that never ends. Neither
    member is left with "thinking…": each reply says the bot is stopping."""
    waiting, reading = stage(world.sim, "waiting"), stage(world.sim, "reading")
    async with world.bot() as bot:
        bot.gateway_budget = GatewayBudget(sends=2, window_s=60.0)
        await waiting.alice.join_voice(waiting.voice)
        await reading.alice.join_voice(reading.voice)
        said, _ = await reply_text(
            await waiting.alice.run_command("play", waiting.text, query=world.media.track_url(20, seconds=2))
        )
        assert said.startswith("Playing"), said
        await (await waiting.alice.run_command("leave", waiting.text)).reply()
        paced = await waiting.alice.run_command("play", waiting.text, query=world.media.track_url(21))
        await paced.reply(lambda m: "joining Lounge in" in m.text())
        dripping = await reading.alice.run_command("play", reading.text, query=world.media.drip_url("stop"))
        async with asyncio.timeout(10):
            while not world.media.requests("/drip"):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    stopping = text.PLAY_CUT_OFF["stopping"]
    for interaction in (paced, dripping):
        assert [(m.text(), m.loading) for m in interaction.messages] == [(stopping, False)]
