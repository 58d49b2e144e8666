"""The `web` scenario: the owner's dashboard under the `ack` load, and the acknowledgements with and
without it. The bot serves the page (`[web]` on) while 100 members in 50 guilds (quick: 20 in 10)
run the `ack` command mix twice: once with no page open, then with one dashboard open and polled
by a browser in a process of its own (bench/page_poller.py). Figures: how fast the dashboard's JSON
and a first page load come back under that load, and whether the page moved the acknowledgements
(their p99, and the bot's CPU time per command, page closed and open)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import tempfile
from collections.abc import Awaitable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil

from musicbox.bench import page_poller
from musicbox.bench.figures import Figure, at_most, percentile
from musicbox.bench.load import SONGS, AckRun, ack_load, ack_size, two_members_each
from musicbox.bench.rig import Rig, rig
from musicbox.bench.runner import BenchOptions
from musicbox.service.control import ask

POLL_MOST_S = 1800.0  # the poller's own bound, should the scenario die without telling it to stop


async def web_scenario(options: BenchOptions) -> list[Figure]:
    guilds, rounds = ack_size(options)
    async with rig(web_port=_free_port()) as world:
        speakers = await two_members_each(world.sim, guilds)
        closed, closed_cpu_s = await _measured(world, ack_load(world.media, speakers, rounds))
        link = await ask(world.runtime_dir, "web-link")
        with tempfile.TemporaryDirectory(prefix="musicbox-bench-web-") as directory:
            stop = Path(directory) / "stop"
            spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no simulator in it
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as browser:
                polling = asyncio.get_running_loop().run_in_executor(
                    browser, page_poller.poll, link["url"], str(stop), POLL_MOST_S
                )
                opened, opened_cpu_s = await _measured(
                    world, ack_load(world.media, speakers, rounds, first_song=SONGS)
                )
                stop.touch()
                polled = await polling
    json_ms, page_ms = polled.json_ms, polled.page_ms
    load = os.getloadavg()[0]
    under = f"under the ack load of {2 * guilds} members in {guilds} guilds; box load {load:.1f}"
    each = f"{len(opened.latencies)} commands; box load {load:.1f}"
    return [
        Figure("web", "dashboard JSON p50", percentile(json_ms, 0.5), "ms", note=f"{len(json_ms)} {under}"),
        Figure("web", "dashboard JSON p95", percentile(json_ms, 0.95), "ms", note=f"{len(json_ms)} {under}"),
        Figure("web", "first page load p50", percentile(page_ms, 0.5), "ms", note=f"{len(page_ms)} {under}"),
        Figure("web", "first page load p95", percentile(page_ms, 0.95), "ms", note=f"{len(page_ms)} {under}"),
        Figure("web", "live updates received", polled.live_updates, "events"),
        Figure("web", "ack p99, page closed", percentile(closed.latencies, 0.99), "ms", note=each),
        Figure("web", "ack p99, page open", percentile(opened.latencies, 0.99), "ms", note=each),
        Figure("web", "ack past 3 s, page open", opened.failed, "commands", at_most(0), note=each),
        Figure("web", "bot CPU per command, page closed", _per_command(closed, closed_cpu_s), "ms"),
        Figure("web", "bot CPU per command, page open", _per_command(opened, opened_cpu_s), "ms"),
    ]


async def _measured(world: Rig, load: Awaitable[AckRun]) -> tuple[AckRun, float]:
    """The run, and the bot's own CPU seconds over it (its children, ffmpeg, are not the page's)."""
    before = _cpu_s(world.bot)
    run = await load
    return run, _cpu_s(world.bot) - before


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _per_command(run: AckRun, cpu_s: float) -> float:
    return 1000 * cpu_s / max(1, len(run.replied))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
