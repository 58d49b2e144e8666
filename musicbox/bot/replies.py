"""How replies reach members: an error privately, whatever state the interaction is in, and every
reply still on its way finished or cancelled before the bot stops."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import discord

log = logging.getLogger(__name__)


class RepliesInFlight:
    """The tasks discord.py starts for each interaction (a command, a button press). It keeps no handle
    on them, so at stop one could still be editing its reply when the HTTP session closes ("Connector is
    closed", "Task exception was never retrieved"). Each registers itself here; `aclose` lets them
    finish for a moment, then cancels the rest and waits for them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, reply: Coroutine[Any, Any, None], name: str) -> None:
        """A message the bot sends of its own accord (no interaction runs it), owned here like one."""
        task = asyncio.get_running_loop().create_task(reply, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def add_current(self) -> None:
        task = asyncio.current_task()
        if task is not None and task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def aclose(self, grace_s: float) -> None:
        deadline = time.monotonic() + grace_s
        while (others := self._others()) and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(others, timeout=left)
        others = self._others()
        for task in others:
            task.cancel()
        for outcome in await asyncio.gather(*others, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.warning("a reply failed while the bot stopped", exc_info=outcome)
        if others:
            log.info("stopped %d replies still under way", len(others))

    def _others(self) -> set[asyncio.Task[Any]]:
        return self._tasks - {asyncio.current_task()}


async def send_error(interaction: discord.Interaction, message: str) -> None:
    """One ephemeral sentence. After a public defer the "thinking" placeholder is deleted, so only the
    member who asked sees the error."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True)
            return
        await interaction.followup.send(message, ephemeral=True)
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.warning("could not deliver an error to interaction %s", interaction.id, exc_info=True)
