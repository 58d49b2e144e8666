"""`bench web`'s browser, in short: it logs in with a one-time link, holds the live stream open, and
times the dashboard's JSON and first page loads until told to stop (the full scenario, under the
ack load, runs in `musicbox bench web`)."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

from musicbox.bench.page_poller import poll
from musicbox.core.config import WebConfig
from musicbox.web.server import WebState, page_url, serving


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_the_poller_logs_in_times_the_page_and_stops_when_told(tmp_path: Path) -> None:
    config = WebConfig(enabled=True, port=free_port())
    uptime = [0.0]

    def status() -> dict[str, object]:
        uptime[0] += 1  # changes at each look: the live stream has something to send
        return {"state": "online", "uptime_s": uptime[0], "voice_sessions": [], "upstreams": {}}

    state = WebState(config, status)
    stop = tmp_path / "stop"
    threading.Timer(2.5, stop.touch).start()
    async with serving(state):
        link = f"{page_url(config, '127.0.0.1')}login/link/{state.links.issue()}"
        timings = await asyncio.to_thread(poll, link, str(stop), 20.0)
    assert len(timings.json_ms) >= 3 and all(ms > 0 for ms in timings.json_ms)
    assert len(timings.page_ms) >= 1 and timings.live_updates >= 1
