"""The box's state was damaged while the bot was away: its database overwritten by something that
is not SQLite. The bot starts anyway, says once what it lost, and members' music plays."""

from __future__ import annotations

import logging

import pytest

from tests.world.fixture import World
from tests.world.stage import reply_text, stage


async def test_a_garbage_database_is_moved_aside_and_the_bot_plays_on(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    state = world.state_dir / "musicbox.sqlite3"
    state.write_bytes(b"PK\x03\x04 a zip file someone restored over it\n" * 200)
    home = stage(world.sim)
    with caplog.at_level(logging.WARNING):
        async with world.bot():
            await home.alice.join_voice(home.voice)
            said, private = await reply_text(
                await home.alice.run_command("play", home.text, query=world.media.track_url(12, seconds=20))
            )
            assert not private and said.startswith("Playing")
            shown, _ = await reply_text(await home.alice.run_command("settings", home.text))
            assert shown.startswith("DJ role: none")  # read from the fresh database
    [aside] = world.state_dir.glob("musicbox.sqlite3.damaged-*")
    [told] = [r.getMessage() for r in caplog.records if r.name == "musicbox.store.database"]
    assert "is not a SQLite database" in told and str(aside) in told and "saved queues" in told
