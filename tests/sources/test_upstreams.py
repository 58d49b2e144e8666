"""The guard around upstream calls: what is tried again, when a circuit opens, how it probes and
closes, on a fake clock (no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from musicbox.bot.sources import QueryFailed, UpstreamFault
from musicbox.core.backoff import BackoffPolicy
from musicbox.core.circuit import CircuitPolicy, CircuitState
from musicbox.sources.failures import fault_of
from musicbox.sources.upstreams import Upstreams, upstream_of


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def guard(clock: Clock, *, threshold: int = 5, attempts: int = 3) -> Upstreams:
    return Upstreams(
        circuit=CircuitPolicy(failure_threshold=threshold, cool_down_s=30.0),
        backoff=BackoffPolicy(first_delay_s=0.5, max_delay_s=8.0, max_attempts=attempts),
        clock=clock,
        draw=lambda: 0.5,
        sleep=clock.sleep,
    )


def failing(times: int, fault: UpstreamFault, then: str = "ok") -> Callable[[], Awaitable[str]]:
    calls = {"n": 0}

    async def attempt() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise QueryFailed("the site is failing right now", fault)
        return then

    return attempt


async def test_a_failing_upstream_is_tried_again_after_growing_jittered_pauses() -> None:
    clock = Clock()
    upstreams = guard(clock)
    assert await upstreams.call("media.example", failing(2, UpstreamFault.FAILING)) == "ok"
    assert clock.slept == [0.25, 0.5]  # half of the 0.5 s and 1 s ceilings: the draw was 0.5
    assert upstreams.retries == 2
    assert upstreams.health() == []  # it answered in the end: nothing to show


async def test_a_bad_link_is_not_tried_again_and_a_slow_upstream_only_counts() -> None:
    clock = Clock()
    upstreams = guard(clock)
    with pytest.raises(QueryFailed):
        await upstreams.call("media.example", failing(1, UpstreamFault.NONE))
    assert clock.slept == [] and upstreams.health() == []
    with pytest.raises(QueryFailed):
        await upstreams.call("media.example", failing(1, UpstreamFault.SLOW))
    assert clock.slept == []  # a member already waited out one timeout
    [health] = upstreams.health()
    assert (health.name, health.state, health.consecutive_failures) == (
        "media.example",
        CircuitState.CLOSED,
        1,
    )


async def test_an_upstream_that_keeps_failing_is_refused_at_once_then_probed_and_closed() -> None:
    clock = Clock()
    upstreams = guard(clock)
    for _ in range(2):  # 3 attempts, then 2 more: the fifth failure opens the circuit
        with pytest.raises(QueryFailed):
            await upstreams.call("media.example", failing(9, UpstreamFault.FAILING))
    [health] = upstreams.health()
    assert health.state is CircuitState.OPEN and upstreams.failures == 5
    tried = failing(0, UpstreamFault.FAILING)
    with pytest.raises(QueryFailed) as refused:
        await upstreams.call("media.example", tried)
    assert "media.example has failed 5 times in a row" in refused.value.reason
    assert "try again in 30 s" in refused.value.reason
    assert await upstreams.call("other.example", tried) == "ok"  # one host's trouble is its own

    clock.now += 30
    probe_started, release = asyncio.Event(), asyncio.Event()

    async def slow_probe() -> str:
        probe_started.set()
        await release.wait()
        return "back"

    probe = asyncio.create_task(upstreams.call("media.example", slow_probe))
    await probe_started.wait()
    with pytest.raises(QueryFailed):  # one probe at a time while half-open
        await upstreams.call("media.example", tried)
    release.set()
    assert await probe == "back"
    assert upstreams.health() == []
    assert await upstreams.call("media.example", tried) == "ok"


async def test_a_failed_probe_opens_the_circuit_again_and_a_cancelled_one_leaves_room() -> None:
    clock = Clock()
    upstreams = guard(clock, threshold=1, attempts=1)
    with pytest.raises(QueryFailed):
        await upstreams.call("api.example", failing(1, UpstreamFault.FAILING))
    clock.now += 30
    with pytest.raises(QueryFailed):
        await upstreams.call("api.example", failing(1, UpstreamFault.FAILING))
    assert upstreams.health()[0].state is CircuitState.OPEN
    assert upstreams.health()[0].retry_in_s == 30.0

    clock.now += 30
    hanging = asyncio.create_task(upstreams.call("api.example", asyncio.Event().wait))
    await asyncio.sleep(0)
    hanging.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hanging
    assert await upstreams.call("api.example", failing(0, UpstreamFault.FAILING)) == "ok"


@pytest.mark.parametrize(
    ("url", "upstream"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "YouTube"),
        ("https://music.youtube.com/playlist?list=PL1", "YouTube"),
        ("https://youtu.be/dQw4w9WgXcQ", "YouTube"),
        ("ytsearch5:never gonna give you up", "YouTube"),
        ("https://cdn.Example.org/a/song.ogg", "cdn.example.org"),
        ("http://127.0.0.1:4010/media/1/8/x.ogg", "127.0.0.1:4010"),
    ],
)
def test_an_upstream_is_named_by_its_host(url: str, upstream: str) -> None:
    assert upstream_of(url) == upstream


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        ("ERROR: [generic] Unable to download webpage: HTTP Error 503: Service Unavailable", "failing"),
        ("ERROR: HTTP Error 429: Too Many Requests", "failing"),
        ("http://h/a.ogg: Server returned 5XX Server Error reply", "failing"),  # ffprobe's words
        ("[Errno 111] Connection refused", "failing"),
        ("Connection reset by peer", "failing"),
        ("ERROR: Unable to download webpage: The read operation timed out", "slow"),
        ("ERROR: HTTP Error 404: Not Found", "none"),
        ("ERROR: [youtube] abc: Private video", "none"),
        ("Invalid data found when processing input", "none"),
    ],
)
def test_whose_fault_a_failure_was(error: str, fault: str) -> None:
    assert fault_of(error).value == fault
