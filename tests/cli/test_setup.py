"""`musicbox setup --unattended` against the simulator's Discord: a good token is checked and saved
with the invite link printed; a bad one is refused in one line and the old config stays as it was.
A token never travels on the command line: it comes on standard input, from a file or from
MUSICBOX_TOKEN, and its form is checked before Discord is asked."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

from musicbox.core.passwords import password_matches
from musicbox.sim.discord import DiscordSim
from musicbox.sim.spotify import SpotifyFake
from musicbox.store.config_file import load_config, write_config

WRONG_TOKEN = "TmV2ZXJUaGlzQm90.GAAAAA.not-the-token-of-this-bot-at-all"  # well formed, not the bot's


async def setup(
    environment: dict[str, str], *arguments: str, stdin: str | None = None
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "musicbox",
        "setup",
        "--unattended",
        "--no-service",
        *arguments,
        env={**os.environ, "COLUMNS": "200", **environment},
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    given = None if stdin is None else stdin.encode()
    stdout, stderr = await asyncio.wait_for(process.communicate(given), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def box(sim: DiscordSim, tmp_path: Path) -> dict[str, str]:
    return {"MUSICBOX_CONFIG": str(tmp_path / "musicbox.toml"), "MUSICBOX_DISCORD_API_BASE": sim.api_base}


async def test_a_good_token_is_saved_privately_with_the_invite_link_printed(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    environment = box(discord_sim, tmp_path)
    music, unplugged = tmp_path / "Music", tmp_path / "usb"
    music.mkdir()
    folders = ("--music-folder", str(music), "--music-folder", str(unplugged))
    code, stdout, stderr = await setup(
        environment,
        *("--token-file", "-", "--volume", "80", "--dj-role", "DJ", *folders),
        stdin=discord_sim.bot_token,
    )
    assert code == 0, stderr
    assert f"the token belongs to {discord_sim.bot_name}" in stdout
    assert f"client_id={discord_sim.application_id}&scope=bot+applications.commands&permissions=" in stdout
    path = tmp_path / "musicbox.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_config(environment)
    assert config.discord.token == discord_sim.bot_token
    assert (config.playback.default_volume, config.playback.dj_role) == (80, "DJ")
    assert config.library.folders == (str(music), str(unplugged))
    # A folder not there yet (a disk not plugged in) is saved with a warning, never refused.
    assert f"{unplugged} does not exist; the bot skips it until it can read it" in stderr
    assert discord_sim.bot_token not in stdout + stderr


async def test_a_bad_token_is_refused_in_one_line_and_the_old_config_is_untouched(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    environment = box(discord_sim, tmp_path)
    path = tmp_path / "musicbox.toml"
    write_config(path, {"discord": {"token": "old-token"}, "playback": {"default_volume": 55}})
    before = path.read_bytes()
    code, _, stderr = await setup({**environment, "MUSICBOX_TOKEN": WRONG_TOKEN}, "--volume", "90")
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
    token_file = tmp_path / "token"
    token_file.write_text(discord_sim.bot_token + "\n")
    code, _, stderr = await setup(environment, "--token-file", str(token_file), "--idle-timeout", "120")
    assert code == 0, stderr
    text = path.read_text()
    assert "# my notes" in text and "max_guilds = 7" in text
    assert load_config(environment).playback.idle_timeout_s == 120


async def test_a_token_on_the_command_line_is_refused_with_how_to_give_it_instead(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    environment = box(discord_sim, tmp_path)
    for option, value in (("--token", discord_sim.bot_token), ("--spotify-secret", "s3cret-value")):
        code, stdout, stderr = await setup(environment, option, value)
        assert code == 2, stderr
        assert stderr.startswith(f"error: {option} on the command line would show the secret")
        assert f"{option}-file -" in stderr and "Traceback" not in stderr
        assert value not in stdout + stderr
    code, _, stderr = await setup(environment, "--token")  # no value at all: bad input too
    assert code == 2 and "requires an argument" in stderr
    assert not (tmp_path / "musicbox.toml").exists()


async def test_a_malformed_token_is_told_as_such_in_one_sentence_even_offline(tmp_path: Path) -> None:
    # Nothing listens at this Discord: the form is judged before anything is sent.
    offline = {
        "MUSICBOX_CONFIG": str(tmp_path / "musicbox.toml"),
        "MUSICBOX_DISCORD_API_BASE": "http://127.0.0.1:9",
    }
    pasted = {
        "MTA1NzQwNjQ4OTc2MjcyNTg5OA.GzqH1a\nQ1JYhU6nT-2m_pYk3xZb8vW0dLs7cE": "a line break inside it",
        "xQ2vB9mK_pL3nR7tY1wE5uI8oA4sD6fG": "that is not a bot token",  # the client secret instead
    }
    for token, says in pasted.items():
        piped = await setup(offline, "--token-file", "-", stdin=token)
        from_environment = await setup({**offline, "MUSICBOX_TOKEN": token})
        for code, stdout, stderr in (piped, from_environment):
            assert code == 2, stderr
            assert stderr.startswith("error: ") and says in stderr, stderr
            assert len(stderr.strip().splitlines()) == 2 and "Traceback" not in stderr
            assert "could not reach Discord" not in stderr
            assert not any(part in stdout + stderr for part in token.split("\n"))
    assert not (tmp_path / "musicbox.toml").exists()


async def test_a_new_spotify_secret_from_its_variable_joins_the_client_id_already_saved(
    discord_sim: DiscordSim, spotify_fake: SpotifyFake, tmp_path: Path
) -> None:
    environment = {
        **box(discord_sim, tmp_path),
        "MUSICBOX_TOKEN": discord_sim.bot_token,
        "MUSICBOX_SPOTIFY_CLIENT_SECRET": spotify_fake.client_secret,
    }
    path = tmp_path / "musicbox.toml"
    saved = {"client_id": spotify_fake.client_id, "accounts_base": spotify_fake.accounts_base}
    write_config(path, {"spotify": saved})
    code, stdout, stderr = await setup(environment)
    assert code == 0, stderr
    assert "Spotify accepted the client id and secret" in stdout
    assert load_config({"MUSICBOX_CONFIG": str(path)}).spotify.client_secret == spotify_fake.client_secret
    assert spotify_fake.client_secret not in stdout + stderr


async def test_setup_turns_the_web_page_on_keeping_only_a_hash_of_the_password(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    environment = box(discord_sim, tmp_path)
    code, _, stderr = await setup(
        {**environment, "MUSICBOX_TOKEN": discord_sim.bot_token},
        "--web",
        "--web-host",
        "192.168.1.20",
        "--web-password-file",
        "-",
        stdin="correct horse battery\n",
    )
    assert code == 0, stderr
    web = load_config(environment).web
    assert (web.enabled, web.host, web.port) == (True, "192.168.1.20", 8080)
    assert password_matches(web.password_hash, "correct horse battery")
    assert "correct horse" not in (tmp_path / "musicbox.toml").read_text()


async def test_setup_refuses_a_public_address_or_a_short_password_and_writes_nothing(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    environment = {**box(discord_sim, tmp_path), "MUSICBOX_TOKEN": discord_sim.bot_token}
    code, _, stderr = await setup(environment, "--web", "--web-host", "8.8.8.8")
    assert code == 2 and "8.8.8.8 is a public address" in stderr
    code, _, stderr = await setup({**environment, "MUSICBOX_WEB_PASSWORD": "short"}, "--web")
    assert code == 2 and "at least 8 characters" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "musicbox.toml").exists()


async def test_a_relative_music_folder_is_refused_in_one_sentence_and_nothing_is_written(
    discord_sim: DiscordSim, tmp_path: Path
) -> None:
    environment = box(discord_sim, tmp_path)
    path = tmp_path / "musicbox.toml"
    write_config(path, {"discord": {"token": discord_sim.bot_token}, "library": {"folders": ["/srv/music"]}})
    before = path.read_bytes()
    code, _, stderr = await setup(environment, "--music-folder", "Music")
    assert code == 2
    assert "'Music' is not an absolute path: use a list of absolute folder paths" in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 2
    assert path.read_bytes() == before
