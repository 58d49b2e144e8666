"""Log lines carry the guild and the command they are about, and under journald their priority."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import pytest

from musicbox import log_context
from musicbox.service.logbook import LINE_FORMAT


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logging.Formatter(log_context.JOURNAL_FORMAT))
    handler.addFilter(log_context.Fields())
    logger = logging.getLogger("musicbox.test.log_context")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, written
    logger.removeHandler(handler)


async def test_a_command_s_lines_and_its_guild_s_tasks_name_the_guild(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, written = lines

    async def player() -> None:
        logger.info("track ended")

    async def slash_command() -> None:
        log_context.about(8123, "play")
        logger.warning("resolving failed")
        await asyncio.get_running_loop().create_task(player(), context=log_context.for_guild(8123))

    await asyncio.get_running_loop().create_task(slash_command())
    logger.error("outside any guild")
    assert written.getvalue().splitlines() == [
        "<4>WARNING musicbox.test.log_context guild=8123 command=play: resolving failed",
        "<6>INFO musicbox.test.log_context guild=8123 command=-: track ended",
        "<3>ERROR musicbox.test.log_context guild=- command=-: outside any guild",
    ]


def test_the_file_log_keeps_the_stamp_musicbox_logs_reads() -> None:
    record = logging.LogRecord("musicbox.x", logging.WARNING, __file__, 1, "hello", None, None)
    log_context.Fields().filter(record)
    line = logging.Formatter(LINE_FORMAT).format(record)
    assert line.endswith(" WARNING musicbox.x guild=- command=-: hello")
