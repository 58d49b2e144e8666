"""`musicbox run` as systemd runs it: a separate process, configured by its file and environment,
against the simulator. It tells systemd when it is ready, feeds the watchdog, answers `musicbox
status`, stops cleanly on SIGTERM, and after a SIGKILL mid-song the restarted bot resumes the same
track where it was."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from musicbox.core.track import Track, TrackId
from musicbox.sim.discord import DiscordSim
from musicbox.sim.discord.world import MANAGE_GUILD
from musicbox.sim.media import MediaWorld
from musicbox.store.config_file import write_config
from musicbox.store.database import connect
from musicbox.store.history import HistoryStore, Played
from tests.world.stage import Stage, stage

SONG = 31
SONG_S = 14.0


@dataclass
class Box:
    """The service's directories and environment, as the unit would set them."""

    environment: dict[str, str]
    notifications: socket.socket
    log: Path
    metrics_url: str
    web_url: str

    async def notified(self, word: str, within_s: float) -> list[str]:
        loop = asyncio.get_running_loop()
        seen: list[str] = []
        async with asyncio.timeout(within_s):
            while True:
                message = (await loop.sock_recv(self.notifications, 4096)).decode()
                seen.append(message)
                if word in message:
                    return seen


@pytest.fixture
def box(discord_sim: DiscordSim, media_world: MediaWorld, tmp_path: Path) -> Box:
    config = tmp_path / "etc" / "musicbox.toml"
    with socket.socket() as probe, socket.socket() as web_probe:  # free ports: metrics, web page
        probe.bind(("127.0.0.1", 0))
        web_probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
        web_port = web_probe.getsockname()[1]
    write_config(
        config,
        {
            "discord": {
                "token": discord_sim.bot_token,
                "api_base": discord_sim.api_base,
                "gateway_url": discord_sim.gateway_url,
            },
            "resolver": {
                "search_template": media_world.search_template,
                "allowed_private_hosts": (media_world.host,),
            },
            "observability": {"metrics_enabled": True, "metrics_endpoint": f"127.0.0.1:{metrics_port}"},
            "web": {"enabled": True, "port": web_port},
        },
    )
    notifications = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notifications.bind(str(tmp_path / "notify.sock"))
    notifications.setblocking(False)
    environment = {
        **os.environ,
        "MUSICBOX_CONFIG": str(config),
        "STATE_DIRECTORY": str(tmp_path / "lib"),
        "CACHE_DIRECTORY": str(tmp_path / "cache"),
        "RUNTIME_DIRECTORY": str(tmp_path / "run"),
        "SSL_CERT_FILE": str(discord_sim.write_ca(tmp_path / "sim-ca.pem")),
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "WATCHDOG_USEC": "1000000",
    }
    return Box(
        environment,
        notifications,
        tmp_path / "musicbox.log",
        f"http://127.0.0.1:{metrics_port}/metrics",
        f"http://127.0.0.1:{web_port}/",
    )


@contextlib.asynccontextmanager
async def service(box: Box) -> AsyncIterator[asyncio.subprocess.Process]:
    with box.log.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "musicbox", "run", env=box.environment, stdout=log, stderr=log,
            preexec_fn=as_systemd_limits_open_files,
        )  # fmt: skip
    try:
        await box.notified("READY=1", within_s=30)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def as_systemd_limits_open_files() -> None:
    """The soft limit systemd gives a service (1024, for programs that wait with select())."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))


async def status(box: Box) -> tuple[int, dict[str, Any]]:
    return await musicbox_json(box, "status", "--json")


async def musicbox_json(box: Box, *arguments: str) -> tuple[int, dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "musicbox",
        *arguments,
        env=box.environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, json.loads(stdout)


async def web_status(box: Box) -> dict[str, Any]:
    """What the owner's web page shows, logged in with a one-time link from `musicbox web link`."""
    code, answer = await musicbox_json(box, "web", "link", "--json")
    assert code == 0 and answer["url"].startswith(f"{box.web_url}login/link/")
    jar = aiohttp.CookieJar(unsafe=True)  # a browser keeps cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(answer["url"]) as page:
            html = await page.text()
            assert page.status == 200 and "Last 24 hours" in html
            assert "INFO</b> online as" in html  # the bot's own log, as it logged it
        async with browser.get(f"{box.web_url}status.json") as response:
            shown: dict[str, Any] = await response.json()
            return shown


async def scrape(url: str) -> dict[str, float]:
    """What Prometheus would read: each sample line as name{labels} -> value."""
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200 and response.content_type == "text/plain"
        body = await response.text()
    pairs = (line.rsplit(" ", 1) for line in body.splitlines() if line and not line.startswith("#"))
    return {name: float(value) for name, value in pairs}


async def play(scene: Stage, query: str) -> str:
    interaction = await scene.alice.run_command("play", scene.text, query=query)
    return (await interaction.reply(timeout=20)).text()


async def test_the_service_reports_ready_feeds_the_watchdog_and_answers_status(
    box: Box, discord_sim: DiscordSim, media_world: MediaWorld
) -> None:
    scene = stage(discord_sim)
    await scene.alice.join_voice(scene.voice)
    async with service(box) as process:
        await box.notified("WATCHDOG=1", within_s=5)
        await play(scene, media_world.track_url(SONG, seconds=SONG_S))
        await scene.voice.heard().wait_for_rungs([SONG], timeout=15)
        code, report = await status(box)
        assert code == 0
        assert report["state"] == "online" and report["guilds"] == 1
        [session] = report["voice_sessions"]
        assert session["guild"] == "home" and session["channel"] == "Lounge"
        assert session["now_playing"] and session["position_s"] > 0
        assert report["cache"]["transcodes_started"] == 1  # tuned from this box: the cache is on
        assert report["cache"]["budget_mb"] > 0
        assert report["web"] == {"url": box.web_url, "problem": None}
        soft, hard = psutil.Process(process.pid).rlimit(psutil.RLIMIT_NOFILE)
        assert soft == hard, "a bot in a few hundred voice channels needs more than systemd's 1024 files"
        on_the_page = await web_status(box)  # the same source: only the clock-driven figures moved
        for key in ("state", "pid", "version", "guilds", "web", "max_voice_sessions", "update"):
            assert on_the_page[key] == report[key]
        # The song may have ended meanwhile on a busy box; the session it played in has not.
        [shown] = on_the_page["voice_sessions"]
        assert (shown["guild"], shown["channel"]) == (session["guild"], session["channel"])
        scraped = await scrape(box.metrics_url)
        assert scraped["musicbox_voice_sessions"] == 1.0 and scraped["musicbox_guilds"] == 1.0
        assert scraped['musicbox_command_seconds_count{command="play"}'] == 1.0
        assert scraped["musicbox_first_audio_seconds_count"] == 1.0  # the web page graphs its p95
        assert scraped["musicbox_transcodes"] == 1.0 and scraped["process_resident_memory_bytes"] > 10e6
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=20) == 0
    code, report = await status(box)
    assert code == 1
    assert report["state"] == "stopped" and "no bot is listening" in report["reason"]
    assert "Traceback" not in box.log.read_text()


async def test_after_a_sigkill_mid_song_the_restarted_bot_resumes_where_it_stopped(
    box: Box, discord_sim: DiscordSim, media_world: MediaWorld
) -> None:
    scene = stage(discord_sim)
    await scene.alice.join_voice(scene.voice)
    heard = scene.voice.heard()
    async with service(box) as process:
        await play(scene, media_world.track_url(SONG, seconds=SONG_S))
        await heard.wait_for_rungs([SONG], timeout=15)
        for _ in range(100):  # bounded: until 5 s of the song were heard
            if heard.heard_ms(SONG) >= 5000:
                break
            await asyncio.sleep(0.1)
        process.kill()
        await process.wait()
    before_kill_ms = heard.heard_ms(SONG)
    async with service(box):
        ready_at = asyncio.get_running_loop().time()
        for _ in range(100):  # bounded: until the song plays again
            if heard.heard_ms(SONG) > before_kill_ms + 500:
                break
            await asyncio.sleep(0.1)
        resumed_after_s = asyncio.get_running_loop().time() - ready_at
        for _ in range(200):  # until the rest of the song has played
            if heard.heard_ms(SONG) >= SONG_S * 1000 - 500 or heard.heard_ms(SONG) > SONG_S * 1000 + 3000:
                await asyncio.sleep(1.0)
                break
            await asyncio.sleep(0.1)
    total_s = heard.heard_ms(SONG) / 1000
    print(
        f"heard {before_kill_ms / 1000:.1f} s before the kill; resumed {resumed_after_s:.1f} s after READY;"
        f" {total_s:.1f} s of a {SONG_S:.0f} s song in all"
    )
    assert resumed_after_s < 10
    # Resumed at the stored position (checkpoints every 2 s): the song is heard once, not restarted.
    assert SONG_S - 1.0 <= total_s <= SONG_S + 2.5


async def test_a_host_that_keeps_failing_is_refused_at_once_and_status_shows_its_circuit(
    box: Box, discord_sim: DiscordSim, media_world: MediaWorld
) -> None:
    scene = stage(discord_sim)
    await scene.alice.join_voice(scene.voice)
    async with service(box) as process:
        # Up to three tries a /play: the first fails three times, the second twice, and that fifth
        # failure in a row opens the host's circuit, so there is no third try.
        for index in (40, 41):
            said = await play(scene, media_world.track_url(index, fault="server_error"))
            assert "the site is failing right now" in said
        # The media world is shared by the session's tests: count only this /play's requests.
        asked_before = sum("/media/42/" in path for path in media_world.requests())
        asked_at = asyncio.get_running_loop().time()
        said = await play(scene, media_world.track_url(42, seconds=2))
        answered_s = asyncio.get_running_loop().time() - asked_at
        assert f"{media_world.host} has failed 5 times in a row" in said and "try again in" in said
        assert answered_s < 1.0  # told at once, not after another round of tries
        assert sum("/media/42/" in path for path in media_world.requests()) == asked_before
        # A box under load can keep the bot from answering for seconds (here it is stopped for 5):
        # status waits for it rather than calling a running bot "not running".
        process.send_signal(signal.SIGSTOP)
        asked = asyncio.create_task(status(box))
        await asyncio.sleep(5)
        process.send_signal(signal.SIGCONT)
        code, report = await asked
        assert (code, report["state"], report["config"]) == (0, "online", box.environment["MUSICBOX_CONFIG"])
        [troubled] = report["upstreams"]["troubled"]
        assert troubled["name"] == media_world.host and troubled["circuit"] == "open"
        assert 0 < troubled["retry_in_s"] <= 30
        assert report["upstreams"]["retries"] == 3 and report["upstreams"]["failures"] == 5
        scraped = await scrape(box.metrics_url)
        assert scraped[f'musicbox_upstream_circuit{{state="open",upstream="{media_world.host}"}}'] == 1.0
        assert scraped["musicbox_upstream_retries_total"] == 3.0
        shown = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "musicbox", "status", env=box.environment, stdout=asyncio.subprocess.PIPE
        )
        printed, _ = await shown.communicate()
        assert f"{media_world.host}: circuit open after 5 failures in a row" in printed.decode()
    # Each line about it names the guild and the command it came from.
    retried = [line for line in box.log.read_text().splitlines() if "trying again" in line]
    assert retried and all(f"guild={scene.guild.id} command=play:" in line for line in retried), retried


async def test_a_24_7_server_gets_the_bot_back_after_a_sigkill_and_autoplay_goes_on(
    box: Box, discord_sim: DiscordSim, media_world: MediaWorld
) -> None:
    scene = stage(discord_sim)
    carol = scene.guild.create_member(
        "carol", roles=[scene.guild.create_role("Mods", permissions=MANAGE_GUILD)]
    )
    await scene.alice.join_voice(scene.voice)
    async with service(box) as process:
        await play(scene, media_world.track_url(35, seconds=1))
        asked = await carol.run_command("settings", scene.text, stay_in_voice=True, autoplay=True)
        assert "24/7 in" in (await asked.reply(timeout=20)).text()
        process.kill()
        await process.wait()
    await scene.alice.leave_voice()  # nobody listens when the bot comes back
    # What the server heard last week, as its history keeps it: autoplay's material.
    database = connect(Path(box.environment["STATE_DIRECTORY"]) / "musicbox.sqlite3")
    history = HistoryStore(database)
    for index in range(50, 56):
        url = media_world.track_url(index, seconds=20)
        history.record(
            scene.guild.id, Played(Track(TrackId("http", url), f"Song {index}", url), scene.alice.id, 1e9)
        )
    database.close()
    async with service(box):
        await scene.alice.join_voice(scene.voice)
        heard = scene.voice.heard()
        for _ in range(200):  # bounded: until an autoplayed song is heard
            if any(rung in range(50, 56) for rung in heard.heard_rungs()):
                break
            await asyncio.sleep(0.1)
        # A voice connection of the new process (the old one died with it), playing without a /play.
        assert any(rung in range(50, 56) for rung in heard.heard_rungs())
