"""Waiting, in stories on the simulator, for what a member would notice: bounded, and saying what
never came."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from musicbox.sim.voice import Recording


async def until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    for _ in range(int(within_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within_s} s: {what}")


async def heard_for(recording: Recording, rung: int, ms: int, within_s: float = 20) -> None:
    await until(lambda: recording.heard_ms(rung) >= ms, within_s, f"rung {rung} heard for {ms} ms")
