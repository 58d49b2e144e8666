"""The bot's batch programs (cache fills, probes) run behind its event loop.

A cache fill normalising its song costs about two and a half times the CPU of streaming it, and a
burst of new songs (100 members each asking for songs never played) gave the box's two cores to
ffmpeg while the event loop waited for one: acknowledgements p99 435 ms in `bench ack` on a quiet
box, 49 ms with the fills and probes ten steps nicer (docs/benchmarks.md, session 10). Discord fails
a command not acknowledged in 3 s; a fill only decides how soon a new song starts, and it competes
mostly with other fills, which share its priority."""

from __future__ import annotations

import contextlib
import os

BATCH_NICENESS = 10  # steps below the bot: the kernel clamps at 19


def run_behind_the_bot(pid: int) -> None:
    """Lower the priority of `pid`, a child the bot just started (no privilege needed to lower it).
    Threads the child starts afterwards inherit it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # it has ended already
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0) + BATCH_NICENESS)
