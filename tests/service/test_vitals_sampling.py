"""The web page's graphs are fed from the bot's own running totals (the same Prometheus counters
`/metrics` serves), sampled on a clock, and a restarted bot starts with the day it had."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import psutil

from musicbox.playback.direct import DirectAudio
from musicbox.service.metrics import Metrics
from musicbox.service.vitals import Vitals, read_totals
from musicbox.store.database import open_state
from musicbox.store.vitals import VitalsStore


async def until(condition: Callable[[], bool], within_s: float = 10.0) -> None:
    for _ in range(int(within_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("never happened")


async def test_commands_and_errors_show_in_the_next_sample_and_survive_a_restart(tmp_path: Path) -> None:
    metrics = Metrics()
    audio = DirectAudio("http://127.0.0.1:9")  # the cache off: no hit ratio to graph
    process = psutil.Process()
    database = open_state(tmp_path / "musicbox.sqlite3")
    store = VitalsStore(database)
    vitals = Vitals(store, lambda at: read_totals(metrics, audio, process, at), lambda: 2, every_s=0.05)
    sampling = asyncio.create_task(vitals.run())
    try:
        await until(lambda: bool(vitals.samples))  # one quiet sample first: the baseline is behind us
        for _ in range(19):  # no await among these: they all fall in one sample's minute
            metrics.command_seconds.labels(command="skip").observe(0.004)
        metrics.command_seconds.labels(command="play").observe(2.0)
        metrics.errors.labels(kind="command").inc(3)
        await until(lambda: any(sample.errors for sample in vitals.samples))
        # Written by a worker thread, later on a busy box; a write not started when the sampler
        # is cancelled (at shutdown) is dropped, so wait for it before stopping the sampler.
        await until(lambda: any(sample.errors for sample in store.since(0)))
    finally:
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
    busy = next(sample for sample in vitals.samples if sample.errors)
    assert busy.errors == 3 and busy.streams == 2 and busy.rss_mb > 10
    assert busy.command_p95_ms is not None and 5 <= busy.command_p95_ms <= 2500
    assert busy.cache_hit_ratio is None
    restarted = Vitals(VitalsStore(database), lambda at: read_totals(metrics, audio, process, at), lambda: 0)
    loading = asyncio.create_task(restarted.run())
    try:
        await until(lambda: busy in restarted.samples)
    finally:
        loading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loading
    database.close()
