"""`musicbox setup --unattended` against the simulator's Discord: a good token is checked and saved
with the invite link printed; a bad one is refused in one line and the old config stays as it was."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

from musicbox.sim.discord import DiscordSim
from musicbox.store.config_file import load_config, write_config


async def setup(environment: dict[str, str], *arguments: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "musicbox",
        "setup",
        "--unattended",
        "--no-service",
        *arguments,
        env={**os.environ, "COLUMNS": "200", **environment},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def box(sim: DiscordSim, tmp_path: Path) -> dict[str, str]:
    return {"MUSICBOX_CONFIG": str(tmp_path / "musicbox.toml"), "MUSICBOX_DISCORD_API_BASE": sim.api_base}


async def test_a_good_token_is_saved_privately_with_the_invite_link_printed(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    environment = box(discord_sim, tmp_path)
    code, stdout, stderr = await setup(
        environment, "--token", discord_sim.bot_token, "--volume", "80", "--dj-role", "DJ"
    )
    assert code == 0, stderr
    assert f"the token belongs to {discord_sim.bot_name}" in stdout
    assert f"client_id={discord_sim.application_id}&scope=bot+applications.commands&permissions=" in stdout
    path = tmp_path / "musicbox.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_config(environment)
    assert config.discord.token == discord_sim.bot_token
    assert (config.playback.default_volume, config.playback.dj_role) == (80, "DJ")
    assert discord_sim.bot_token not in stdout + stderr


async def test_a_bad_token_is_refused_in_one_line_and_the_old_config_is_untouched(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    environment = box(discord_sim, tmp_path)
    path = tmp_path / "musicbox.toml"
    write_config(path, {"discord": {"token": "old-token"}, "playback": {"default_volume": 55}})
    before = path.read_bytes()
    code, _, stderr = await setup(environment, "--token", "not-a-real-token", "--volume", "90")
    assert code == 1
    assert stderr.startswith("error: Discord refused that token")
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 2  # the error, then what to do
    assert path.read_bytes() == before


async def test_re_running_setup_edits_the_config_and_keeps_the_rest(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    environment = box(discord_sim, tmp_path)
    path = tmp_path / "musicbox.toml"
    path.write_text("# my notes\n[limits]\nmax_guilds = 7\n")
    code, _, stderr = await setup(environment, "--token", discord_sim.bot_token, "--idle-timeout", "120")
    assert code == 0, stderr
    text = path.read_text()
    assert "# my notes" in text and "max_guilds = 7" in text
    assert load_config(environment).playback.idle_timeout_s == 120
