"""The bot hands memory its threads freed back to the system (the voice churn's growth, issue 18), and
says which allocator it runs on."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import threading

import psutil
import pytest

from musicbox.service.allocator import allocator_in_use, allocator_named_in, trim_periodically

BLOCKS = 20_000
BLOCK_BYTES = 4096  # under glibc's mmap threshold: served from an arena, as discord.py's buffers are


@pytest.mark.parametrize(
    ("maps", "allocator"),
    [
        ("7f00-7f10 r-xp 0 08:01 12 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n", "jemalloc"),
        ("7f00-7f10 r-xp 0 08:01 12 /usr/lib/libtcmalloc_minimal.so.4\n", "tcmalloc"),
        ("7f00-7f10 r-xp 0 08:01 12 /usr/lib/x86_64-linux-gnu/libc.so.6\n", "glibc"),
    ],
)
def test_the_allocator_is_read_from_the_memory_map(maps: str, allocator: str) -> None:
    assert allocator_named_in(maps) == allocator


def _fragment_in_a_thread() -> None:
    """Malloc 80 MB in a worker thread and free all of it but the last block, which pins the arena's
    top: what is freed below it stays in the process until someone trims."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = []
    for _ in range(BLOCKS):
        block = libc.malloc(BLOCK_BYTES)
        ctypes.memset(block, 1, BLOCK_BYTES)  # touched, so resident
        blocks.append(block)
    for block in blocks[:-1]:
        libc.free(block)


@pytest.mark.skipif(allocator_in_use() != "glibc", reason="a glibc malloc matter")
async def test_memory_freed_by_threads_goes_back_to_the_system_within_a_trim() -> None:
    process = psutil.Process()
    worker = threading.Thread(target=_fragment_in_a_thread)
    worker.start()
    worker.join()
    held_mb = process.memory_info().rss / 2**20
    trimming = asyncio.create_task(trim_periodically(every_s=0.1))
    try:
        await asyncio.sleep(0.5)
        after_mb = process.memory_info().rss / 2**20
    finally:
        trimming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trimming
    assert held_mb - after_mb > 0.8 * BLOCKS * BLOCK_BYTES / 2**20, (held_mb, after_mb)
