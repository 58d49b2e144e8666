"""Calls to upstreams (a site yt-dlp reads, a media host, the Spotify API) through one guard: a
failing call is tried again after a jittered, growing pause, and an upstream that keeps failing gets
its circuit opened, so members are told at once instead of each waiting out the same failure.

The shell around `core.circuit` and `core.backoff`: it owns the circuits, the clock and the random
draws. What counts as the upstream's fault is the raised QueryFailed's `fault`."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from musicbox.bot.sources import QueryFailed, UpstreamFault
from musicbox.core.backoff import BackoffPolicy
from musicbox.core.circuit import Circuit, CircuitPolicy, CircuitState

log = logging.getLogger(__name__)

T = TypeVar("T")
HEALTHY = Circuit()


@dataclass(frozen=True, slots=True)
class UpstreamHealth:
    """One upstream as `musicbox status` and /metrics show it."""

    name: str
    state: CircuitState
    consecutive_failures: int
    retry_in_s: float


class Upstreams:
    def __init__(
        self,
        *,
        circuit: CircuitPolicy | None = None,
        backoff: BackoffPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        draw: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._circuit_policy = circuit or CircuitPolicy()
        self._backoff = backoff or BackoffPolicy()
        self._clock = clock
        self._draw = draw
        self._sleep = sleep
        # Only upstreams that failed lately: one that answers drops out, so hosts from a year of
        # members' links do not pile up here.
        self._circuits: dict[str, Circuit] = {}
        self.retries = 0
        self.failures = 0

    async def call(self, upstream: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()` until it succeeds, fails for a reason that is not the upstream's, or its
        attempts are spent; refused at once while `upstream`'s circuit is open."""
        failed_attempts = 0
        while True:
            self._admit(upstream)
            try:
                result = await attempt()
            except QueryFailed as failure:
                if failure.fault is UpstreamFault.NONE:
                    self._record_answer(upstream)  # the upstream answered; the link was bad
                    raise
                culprit = failure.upstream
                if culprit is not None and culprit != upstream:
                    # Another host made it fail (a playlist's entry elsewhere): that one is charged.
                    self._abandon(upstream)
                    self._record_failure(culprit)
                    raise
                self._record_failure(upstream)
                failed_attempts += 1
                delay = self._backoff.delay_s(failed_attempts, self._draw())
                if failure.fault is UpstreamFault.SLOW or delay is None or not self._admits(upstream):
                    raise
                self.retries += 1
                log.info("%s failed (%s); trying again in %.1f s", upstream, failure.reason, delay)
                await self._sleep(delay)
                continue
            except BaseException:
                self._abandon(upstream)  # cancelled: a half-open probe must not stay in flight for ever
                raise
            self._record_answer(upstream)
            return result

    def health(self) -> list[UpstreamHealth]:
        now = self._clock()
        policy = self._circuit_policy
        return [
            UpstreamHealth(
                name,
                circuit.state,
                circuit.consecutive_failures,
                round(circuit.retry_in_s(now, policy), 1),
            )
            for name, circuit in sorted(self._circuits.items())
        ]

    def _admits(self, upstream: str) -> bool:
        return self._circuit(upstream).admits(self._clock(), self._circuit_policy)

    def _admit(self, upstream: str) -> None:
        circuit, now = self._circuit(upstream), self._clock()
        if not circuit.admits(now, self._circuit_policy):
            wait_s = max(1, round(circuit.retry_in_s(now, self._circuit_policy)))
            raise QueryFailed(
                f"{upstream} has failed {circuit.consecutive_failures} times in a row, so musicbox is "
                f"giving it a rest; try again in {wait_s} s",
                UpstreamFault.FAILING,
            )
        self._store(upstream, circuit.before_call(now, self._circuit_policy))

    def _record_answer(self, upstream: str) -> None:
        if self._circuit(upstream).state is not CircuitState.CLOSED:
            log.info("%s answers again; its circuit is closed", upstream)
        self._store(upstream, self._circuit(upstream).after_success())

    def _record_failure(self, upstream: str) -> None:
        self.failures += 1
        before = self._circuit(upstream)
        after = before.after_failure(self._clock(), self._circuit_policy)
        if after.state is CircuitState.OPEN and before.state is not CircuitState.OPEN:
            log.warning(
                "%s failed %d times in a row; refusing it for %.0f s",
                upstream,
                after.consecutive_failures,
                self._circuit_policy.cool_down_s,
            )
        self._store(upstream, after)

    def _abandon(self, upstream: str) -> None:
        self._store(upstream, self._circuit(upstream).after_abandon())

    def _circuit(self, upstream: str) -> Circuit:
        return self._circuits.get(upstream, HEALTHY)

    def _store(self, upstream: str, circuit: Circuit) -> None:
        if circuit == HEALTHY:
            self._circuits.pop(upstream, None)
        else:
            self._circuits[upstream] = circuit


def upstream_of(url: str) -> str:
    """The upstream a URL belongs to, by name as a member would recognise it: its host."""
    if "://" not in url:  # a yt-dlp search prefix such as ytsearch5:words
        return "YouTube" if url.startswith("ytsearch") else url.partition(":")[0]
    parts = urlsplit(url)
    host = (parts.hostname or url).lower().removeprefix("www.").removeprefix("m.").removeprefix("music.")
    if host in ("youtube.com", "youtu.be"):
        return "YouTube"
    return f"{host}:{parts.port}" if parts.port else host  # two services on one host fail apart
