"""The owner's web page as a browser meets it, over real HTTP on 127.0.0.1: nothing but the login
page without a session, a password or a one-time link to get one, the status `musicbox status`
shows, live, and no change without the page's own CSRF token."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from musicbox.core.config import WebConfig
from musicbox.core.passwords import hash_password
from musicbox.core.vitals import Sample
from musicbox.web.auth import FAILURES_PER_ADDRESS
from musicbox.web.server import LIVE_EVERY_S, WebState, page_url, serving

PASSWORD = "correct horse battery"
HOSTILE = '<script>alert("owned")</script><img src=x onerror=alert(1)>'
STORED = hash_password(PASSWORD)  # once: scrypt is slow on purpose


def report(song: str) -> dict[str, Any]:
    """What `musicbox status --json` holds, with `song` and other names someone else chose."""
    return {
        "state": "online",
        "version": "1.0",
        "pid": 1,
        "config": "/etc/musicbox/config.toml",
        "uptime_s": 3725.0,
        "user": "musicbox#0001",
        "gateway_latency_ms": 41.0,
        "guilds": 2,
        "voice_sessions": [
            {
                "guild_id": 7,
                "guild": f"server {HOSTILE}",
                "channel": "Lounge",
                "now_playing": song,
                "position_s": 12.0,
                "filter": "nightcore",
                "paused": False,
                "queue_length": 3,
                "loop": "off",
            }
        ],
        "max_voice_sessions": 4,
        "rss_mb": 80.5,
        "children": 1,
        "tasks": 10,
        "last_errors": [{"at": 0.0, "level": "WARNING", "guild": 7, "message": f"cannot play {HOSTILE}"}],
        "cache": None,
        "upstreams": {"retries": 1, "failures": 2, "troubled": []},
        "web": {"url": "http://127.0.0.1/", "problem": None},
        "update": {
            "at": 1_000_000.0,
            "outcome": "rolled back",
            "installed": {"yt-dlp": "2025.1.1", "deno": "2.1.0"},
            "problem": f"the smoke test failed: {HOSTILE}",
        },
    }


@dataclass
class Page:
    url: str
    state: WebState
    now_playing: list[str]
    samples: list[Sample]
    log: list[dict[str, Any]]
    purges: list[str]

    def browser(self) -> aiohttp.ClientSession:
        # A browser keeps cookies for an address like 127.0.0.1; aiohttp's default jar does not.
        return aiohttp.ClientSession(
            self.url, cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=20)
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    now_playing = ["First Song"]
    samples: list[Sample] = []
    log: list[dict[str, Any]] = []
    purges: list[str] = []

    async def purge_cache() -> tuple[int, int]:
        purges.append("purged")
        return 3, 12 * 2**20

    config = WebConfig(enabled=True, port=free_port(), password_hash=STORED)
    state = WebState(
        config,
        lambda: report(now_playing[-1]),
        vitals=lambda: samples,
        log=lambda: log,
        purge_cache=purge_cache,
    )
    async with serving(state):
        yield Page(page_url(config, "box"), state, now_playing, samples, log, purges)


async def login_form(browser: aiohttp.ClientSession) -> str:
    async with browser.get("/login") as response:
        assert response.status == 200
        found = re.search(r'name=csrf value="([^"]+)"', await response.text())
    assert found is not None
    return found.group(1)


async def log_in(browser: aiohttp.ClientSession, password: str = PASSWORD) -> aiohttp.ClientResponse:
    csrf = await login_form(browser)
    async with browser.post("/login", data={"csrf": csrf, "password": password}) as response:
        await response.read()
        return response


async def test_without_a_session_every_page_leads_to_the_login_page(page: Page) -> None:
    async with page.browser() as browser:
        for path in ("/", "/nowhere"):
            async with browser.get(path) as response:
                assert response.url.path == "/login"
                assert "Password" in await response.text()
        for path in ("/status.json", "/events"):
            async with browser.get(path, allow_redirects=False) as response:
                assert response.status in (303, 401)
                assert "online" not in await response.text()
        async with browser.post("/logout", allow_redirects=False) as response:
            assert response.status == 401


async def test_the_owner_logs_in_and_sees_the_status_with_every_name_shown_as_text(page: Page) -> None:
    async with page.browser() as browser:
        response = await log_in(browser)
        assert response.url.path == "/"
        cookie = response.history[0].headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        async with browser.get("/") as dashboard:
            html = await dashboard.text()
            assert dashboard.headers["Content-Security-Policy"].startswith("default-src 'self'")
            assert dashboard.headers["X-Frame-Options"] == "DENY"
        assert "online as <b>musicbox#0001</b>" in html
        assert "1:02:05" in html and "First Song" in html and "Lounge" in html
        assert "First Song · filter nightcore" in html  # /filter, as /now names it
        assert HOSTILE not in html and "&lt;script&gt;alert(&quot;owned&quot;)" in html
        # The last `musicbox update`, as status --json reports it (it ran long ago here).
        assert "<dt>yt-dlp update</dt><dd>rolled back " in html and "yt-dlp 2025.1.1, deno 2.1.0" in html
        async with browser.get("/status.json") as as_json:
            assert await as_json.json() == report("First Song")
        async with browser.get("/static/dashboard.js") as script:
            assert "EventSource" in await script.text()


async def test_a_wrong_password_is_told_and_a_guesser_is_throttled(page: Page) -> None:
    async with page.browser() as browser:
        for _ in range(FAILURES_PER_ADDRESS):
            response = await log_in(browser, "wrong password")
            assert response.status == 401
        throttled = await log_in(browser, PASSWORD)  # even the right one, until the window moves
        assert throttled.status == 429
        async with browser.get("/", allow_redirects=False) as dashboard:
            assert dashboard.status == 303


async def test_a_login_posted_from_another_site_is_refused(page: Page) -> None:
    async with page.browser() as browser:
        async with browser.post("/login", data={"csrf": "x", "password": PASSWORD}) as response:
            assert response.status == 403
        async with browser.get("/", allow_redirects=False) as dashboard:
            assert dashboard.status == 303


async def test_logging_out_needs_the_pages_csrf_token(page: Page) -> None:
    async with page.browser() as browser:
        await log_in(browser)
        async with browser.post("/logout", data={"csrf": "forged"}) as forged:
            assert forged.status == 403
            assert (await forged.json())["error"].endswith("reload it and try again.")
        async with browser.get("/") as dashboard:
            html = await dashboard.text()
            found = re.search(r'name=csrf value="([^"]+)"', html)
        assert found is not None
        async with browser.post("/logout", data={"csrf": found.group(1)}) as response:
            assert response.url.path == "/login"
        async with browser.get("/", allow_redirects=False) as after:
            assert after.status == 303


async def test_a_one_time_link_logs_in_once(page: Page) -> None:
    token = page.state.links.issue()
    async with page.browser() as browser, browser.get(f"/login/link/{token}") as response:
        assert response.url.path == "/"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    async with page.browser() as someone_else, someone_else.get(f"/login/link/{token}") as again:
        assert again.status == 403
        assert "used already or has expired" in await again.text()


async def test_an_open_page_hears_the_new_song_without_reloading(page: Page) -> None:
    async with page.browser() as browser:
        await log_in(browser)
        async with browser.get("/events") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            first = await _next_event(stream)
            assert "First Song" in first
            page.now_playing.append(f"Second {HOSTILE}")
            second = await asyncio.wait_for(_next_event(stream), timeout=LIVE_EVERY_S * 5)
            assert "Second &lt;script&gt;" in second and HOSTILE not in second


async def _next_event(stream: aiohttp.ClientResponse) -> str:
    lines: list[str] = []
    while (line := (await stream.content.readline()).decode()) != "\n":
        lines.append(line)
    assert lines[0] == "event: status\n"
    return "\n".join(line.removeprefix("data: ").rstrip("\n") for line in lines[1:])


async def test_the_graphs_show_the_last_day_with_the_stopped_hours_left_out(page: Page) -> None:
    now = time.time()
    running = [*range(20 * 60, int(19.5 * 60), -1), *range(2 * 60, 0, -1)]  # stopped from 19.5 h to 2 h ago
    for minutes_ago in running:
        page.samples.append(
            Sample(
                now - minutes_ago * 60, 8.0, 0.5, 1, 90.0 + minutes_ago / 60, 4.0, 0, first_audio_p95_ms=350.0
            )
        )
    async with page.browser() as browser:
        await log_in(browser)
        async with browser.get("/") as dashboard:
            html = await dashboard.text()
    memory = re.search(r'<figure data-series="rss_mb">(.*?)</figure>', html)
    assert memory is not None
    assert "memory: <b>90.0167 MiB</b>" in memory.group(1)
    assert memory.group(1).count("<polyline") == 2  # before the stop, and since
    assert "cache hit ratio: <b>50 %</b>" in html and "errors a minute: <b>0</b>" in html
    assert "time to first audio p95: <b>350 ms</b>" in html
    assert len(html) < 30_000  # light enough for a phone and a Pi Zero


async def test_the_log_tail_is_filtered_by_level_newest_first_and_shown_as_text(page: Page) -> None:
    page.log.extend(
        [
            {"at": 1.0, "level": "INFO", "guild": None, "message": "online as musicbox#0001"},
            {"at": 2.0, "level": "WARNING", "guild": 7, "message": f"cannot play {HOSTILE}"},
            {"at": 3.0, "level": "ERROR", "guild": 7, "message": "ffmpeg ended with 1"},
            {"at": 4.0, "level": "INFO", "guild": 7, "message": "joined Lounge"},
        ]
    )
    async with page.browser() as browser:
        await log_in(browser)
        async with browser.get("/") as everything:
            lines = re.findall(r"<li class=\"(\w+)\">.*?</li>", await everything.text())
        async with browser.get("/?level=warning") as warnings:
            html = await warnings.text()
        async with browser.get("/?level=<nonsense>") as nonsense:
            assert "joined Lounge" in await nonsense.text()  # an unknown level shows everything
    assert lines[-4:] == ["info", "error", "warning", "info"]  # newest first
    assert "joined Lounge" not in html and "online as musicbox#0001</li>" not in html
    assert "ffmpeg ended with 1" in html and "<option selected>warning</option>" in html
    assert HOSTILE not in html and "cannot play &lt;script&gt;" in html


async def test_the_cache_is_purged_from_the_page_and_never_by_another_sites_form(page: Page) -> None:
    async with page.browser() as browser:
        await log_in(browser)
        async with browser.post("/cache/purge", data={"csrf": "from another site"}) as forged:
            assert forged.status == 403
        assert page.purges == []
        async with browser.get("/") as dashboard:
            found = re.search(
                r'action="/cache/purge"><input type=hidden name=csrf value="([^"]+)"', await dashboard.text()
            )
        assert found is not None
        async with browser.post("/cache/purge", data={"csrf": found.group(1)}) as purged:
            assert purged.url.path == "/"
            assert "Removed 3 songs from the cache (12.0 MB freed)." in await purged.text()
        assert page.purges == ["purged"]
