"""The owner's secrets while the bot plays: `musicbox run --verbose` as a separate process, given the
bot token and the Spotify secret in its environment (as a unit's Environment= or a container's -e
would), plays a song and a Spotify link on the simulators. Meanwhile no process on the box has
either secret in its arguments, none of the bot's children (ffmpeg, ffprobe, Deno, ...) has them in
its environment, and afterwards the debug log, where spotipy prints the headers it sends, holds
neither (nor the Basic credential spotipy makes of the secret) and no Authorization value."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from musicbox.sim.discord import DiscordSim
from musicbox.sim.media import MediaWorld
from musicbox.sim.spotify import SpotifyFake, track_id
from musicbox.store.config_file import write_config
from tests.appliance.process_watch import ProcessWatch
from tests.world.stage import stage

START_TIMEOUT_S = 60.0
SONG = 12


async def test_a_verbose_bot_playing_a_song_and_a_spotify_link_lets_no_secret_out(
    discord_sim: DiscordSim, media_world: MediaWorld, tmp_path: Path
) -> None:
    spotify_secret = secrets.token_urlsafe(24)
    async with SpotifyFake.start(client_secret=spotify_secret) as spotify:
        basic = base64.b64encode(f"{spotify.client_id}:{spotify_secret}".encode()).decode()
        kept = [discord_sim.bot_token, spotify_secret, basic]
        config = tmp_path / "musicbox.toml"
        write_config(
            config,
            {
                "discord": {"api_base": discord_sim.api_base, "gateway_url": discord_sim.gateway_url},
                "resolver": {
                    "search_template": media_world.search_template,
                    # The fake Spotify API is on 127.0.0.1 too: the egress gate lets it through only so.
                    "allowed_private_hosts": (
                        media_world.host,
                        *(urlsplit(base).netloc for base in (spotify.api_base, spotify.accounts_base)),
                    ),
                },
                "spotify": {
                    "client_id": spotify.client_id,
                    "api_base": spotify.api_base,
                    "accounts_base": spotify.accounts_base,
                },
            },
        )
        environment = {
            **os.environ,
            "MUSICBOX_CONFIG": str(config),
            "MUSICBOX_TOKEN": discord_sim.bot_token,
            "MUSICBOX_SPOTIFY_CLIENT_SECRET": spotify_secret,
            "STATE_DIRECTORY": str(tmp_path / "lib"),
            "CACHE_DIRECTORY": str(tmp_path / "cache"),
            "RUNTIME_DIRECTORY": str(tmp_path / "run"),
            "SSL_CERT_FILE": str(discord_sim.write_ca(tmp_path / "sim-ca.pem")),
        }
        scene = stage(discord_sim)
        await scene.alice.join_voice(scene.voice)
        output = tmp_path / "output.log"
        # Its own environment holds the secrets by design; its children's must not.
        with ProcessWatch(kept, including_itself=False) as watch, output.open("wb") as sink:
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "musicbox",
                "run",
                "--verbose",
                env=environment,
                stdout=sink,
                stderr=sink,
            )
            watch.below = bot.pid
            try:
                await _online(discord_sim, bot)
                played = await scene.alice.run_command(
                    "play", scene.text, query=media_world.track_url(SONG, seconds=20)
                )
                await played.reply(lambda message: "Playing" in message.text(), timeout=30)
                await scene.voice.heard().wait_for_rungs([SONG], timeout=30)
                linked = await scene.alice.run_command(
                    "play", scene.text, query=f"https://open.spotify.com/track/{track_id(21)}"
                )
                await linked.reply(lambda message: "Queued" in message.text(), timeout=30)
            finally:
                bot.send_signal(signal.SIGTERM)
                await asyncio.wait_for(bot.wait(), timeout=30)

    print(f"\n{watch.samples} samples of /proc; the bot's children seen: {sorted(watch.seen)}")
    assert watch.saw("ffmpeg") and watch.samples > 10  # the check looked while the bot played
    assert spotify.requests("/api/token")  # spotipy did send the secret, to the fake
    assert watch.leaks == set(), watch.leaks
    log = output.read_text() + (tmp_path / "lib" / "musicbox.log").read_text()
    assert "DEBUG" in log and "Basic <redacted>" in log  # spotipy's header line was there, cleaned
    assert not [secret for secret in kept if secret in log]
    sent = re.findall(r"Authorization['\"]?\s*[:=]\s*['\"]?(?:(?:Bot|Bearer|Basic)\s+)?([^'\",}\s]+)", log)
    assert sent and set(sent) == {"<redacted>"}, sent


async def _online(sim: DiscordSim, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not sim.registered_commands():
        assert process.returncode is None, f"the bot exited with {process.returncode}"
        assert time.monotonic() < deadline, f"the bot did not come online within {START_TIMEOUT_S} s"
        await asyncio.sleep(0.05)
    await sim.wait_until_ready(timeout=START_TIMEOUT_S)
