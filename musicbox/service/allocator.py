"""Which native allocator the bot runs on, and handing the memory it freed back to the system.

Each voice connection allocates and frees a few MB (TLS handshakes, the websocket's zlib state, its
buffers), and glibc's malloc kept part of what was freed: RSS climbed with every connection while
the live heap stayed flat (memray), a leak of nothing but fragmentation. Ending discord.py's socket
readers promptly (playback/voice_recovery.py, recovery 4) removed most of it; a `malloc_trim(0)` a
minute (it also merges the free lists' small chunks) holds the rest flat. docs/benchmarks.md,
"Memory", has the profiles and the bisection. Under jemalloc (an owner's LD_PRELOAD) there is
nothing to trim and this does nothing."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# A trim consolidates and walks the free lists of every arena, holding each arena's lock meanwhile:
# about 0.1 s in the bot after a minute of voice churn (measured through gdb), so it runs in a worker
# thread (ctypes lets go of the GIL) and not often. Python's small objects do not come from malloc, so
# the event loop rarely waits for it. A minute is short beside a voice session.
TRIM_EVERY_S = 60.0


@functools.cache
def allocator_in_use() -> str:
    """ "jemalloc" or "tcmalloc" when one is preloaded, "glibc" when glibc's malloc serves, else "other"."""
    return allocator_named_in(Path("/proc/self/maps").read_text(errors="replace"))


def allocator_named_in(maps: str) -> str:
    """The allocator that a process's memory map (/proc/PID/maps) shows loaded."""
    for name in ("jemalloc", "tcmalloc"):
        if f"lib{name}" in maps:
            return name
    return "glibc" if _glibc_malloc_trim() is not None else "other"


def _glibc_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        malloc_trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return None
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    return malloc_trim


async def trim_periodically(every_s: float = TRIM_EVERY_S) -> None:
    """Give freed heap back every `every_s` while glibc's malloc is the allocator; return otherwise."""
    allocator = allocator_in_use()
    malloc_trim = _glibc_malloc_trim()
    if allocator != "glibc" or malloc_trim is None:
        log.info("allocator: %s (no periodic trim)", allocator)
        return
    log.info("allocator: glibc, freed memory handed back every %.0f s", every_s)
    while True:
        await asyncio.sleep(every_s)
        await asyncio.to_thread(malloc_trim, 0)
