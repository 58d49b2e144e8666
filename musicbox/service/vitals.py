"""The web page's graphs: once a minute the running totals are read from the bot, turned into a
sample (core/vitals.py) and kept, in memory for the page and in the database for the next start."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

import psutil
from prometheus_client import Histogram

from musicbox.cache.audio import CachedAudio
from musicbox.core.vitals import KEEP_S, SAMPLE_EVERY_S, Buckets, Sample, Totals, sample
from musicbox.playback.session import AudioProvider
from musicbox.service.metrics import Metrics
from musicbox.store.vitals import VitalsStore

log = logging.getLogger(__name__)

Clock = Callable[[], float]


def read_totals(metrics: Metrics, audio: AudioProvider, process: psutil.Process, at: float) -> Totals:
    errors = sum(
        point.value
        for family in metrics.errors.collect()
        for point in family.samples
        if point.name.endswith("_total")
    )
    hits = misses = 0
    if isinstance(audio, CachedAudio):
        figures = audio.store.stats()
        hits, misses = figures.hits, figures.misses
    cpu = process.cpu_times()
    return Totals(
        at=at,
        command_buckets=_buckets(metrics.command_seconds),
        cache_hits=hits,
        cache_misses=misses,
        cpu_s=cpu.user + cpu.system,
        errors=errors,
        first_audio_buckets=_buckets(metrics.first_audio_seconds),
    )


def _buckets(histogram: Histogram) -> Buckets:
    """A histogram's cumulative buckets, summed over its labels."""
    buckets: dict[float, float] = {}
    for family in histogram.collect():
        for point in family.samples:
            if point.name.endswith("_bucket"):
                bound = float(point.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + point.value
    return tuple(sorted(buckets.items(), key=lambda item: item[0]))


class Vitals:
    """The last day's samples; `run()` adds one every `every_s` while the bot runs."""

    def __init__(
        self,
        store: VitalsStore,
        read: Callable[[float], Totals],
        streams: Callable[[], int],
        *,
        every_s: float = SAMPLE_EVERY_S,
        clock: Clock = time.time,
    ) -> None:
        self.samples: deque[Sample] = deque()
        self._store = store
        self._read = read
        self._streams = streams
        self._every_s = every_s
        self._clock = clock

    async def run(self) -> None:
        kept = await asyncio.to_thread(self._store.since, self._clock() - KEEP_S)
        self.samples.extend(kept)
        process = psutil.Process()
        before = self._read(self._clock())
        while True:
            await asyncio.sleep(self._every_s)
            now = self._read(self._clock())
            taken = sample(before, now, streams=self._streams(), rss_mb=process.memory_info().rss / 2**20)
            before = now
            self.samples.append(taken)
            while self.samples and self.samples[0].at < taken.at - KEEP_S:
                self.samples.popleft()
            try:
                await asyncio.to_thread(self._store.record, taken)
            except Exception:  # a full disk costs the graphs' past, never the music
                log.warning("cannot keep the web page's figures", exc_info=True)
