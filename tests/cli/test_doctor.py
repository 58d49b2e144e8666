"""`musicbox doctor` against the simulator's Discord and the media world, as the owner runs it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from musicbox.sim.discord import DiscordSim
from musicbox.sim.media import MediaWorld
from musicbox.sim.media.catalog import entry
from musicbox.store.config_file import write_config


async def doctor(environment: dict[str, str], *arguments: str) -> tuple[int, list[dict[str, Any]]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "musicbox",
        "doctor",
        "--json",
        *arguments,
        env={**os.environ, **environment},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None, stderr
    return process.returncode, json.loads(stdout)


def by_check(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {finding["check"]: finding for finding in findings}


def box(sim: DiscordSim, media: MediaWorld, tmp_path: Path, token: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    write_config(
        path,
        {
            "discord": {"token": token, "api_base": sim.api_base},
            "resolver": {"search_template": media.search_template, "allowed_private_hosts": [media.host]},
        },
    )
    return {"MUSICBOX_CONFIG": str(path), "CACHE_DIRECTORY": str(tmp_path / "cache")}


async def test_a_healthy_box_passes_every_check_including_the_live_source(
    discord_sim: DiscordSim, media_world: MediaWorld, tmp_path: Path
) -> None:
    code, findings = await doctor(
        box(discord_sim, media_world, tmp_path, discord_sim.bot_token), "--online", "--words", entry(3).title
    )
    found = by_check(findings)
    assert code == 0, [f for f in findings if f["verdict"] != "ok"]
    assert found["token"]["detail"] == f"accepted: the bot is {discord_sim.bot_name}"
    assert found["clock"]["verdict"] == "ok"
    assert found["permissions"]["verdict"] == "ok"
    assert {"ffmpeg", "libopus", "yt-dlp", "deno", "config", "disk", "service"} <= found.keys()
    assert found["online"]["verdict"] == "ok" and "found and resolved" in found["online"]["detail"]


async def test_a_refused_token_and_a_readable_config_fail_with_their_fixes(
    discord_sim: DiscordSim, media_world: MediaWorld, tmp_path: Path
) -> None:
    wrong_token = "TmV2ZXJUaGlzQm90.GAAAAA.not-the-token-of-this-bot-at-all"  # well formed: Discord judges it
    environment = box(discord_sim, media_world, tmp_path, wrong_token)
    (tmp_path / "config.toml").chmod(0o644)
    code, findings = await doctor(environment)
    found = by_check(findings)
    assert code == 1
    assert found["token"]["verdict"] == "fail" and "refused that token" in found["token"]["detail"]
    assert (
        found["permissions"]["verdict"] == "fail" and "readable by others" in found["permissions"]["detail"]
    )
    assert "chmod" in found["permissions"]["fix"]


async def test_a_broken_config_is_named_and_the_rest_still_checked(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[playback]\ndefault_volume = 900\n")
    code, findings = await doctor({"MUSICBOX_CONFIG": str(tmp_path / "config.toml")})
    found = by_check(findings)
    assert code == 1
    assert found["config"]["verdict"] == "fail" and "default_volume" in found["config"]["detail"]
    assert found["ffmpeg"]["verdict"] == "ok"


@pytest.mark.parametrize(
    ("toml", "shown"),
    [
        ('[discord]\ntokn = "x"\n', "musicbox.toml [discord]: unknown key 'tokn'"),
        ('[discord]\n"[/]" = 1\n', "musicbox.toml [discord]: unknown key '[/]'"),
    ],
)
async def test_a_config_key_is_named_with_its_section_as_typed(tmp_path: Path, toml: str, shown: str) -> None:
    (tmp_path / "musicbox.toml").write_text(toml)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "musicbox",
        "doctor",
        env={**os.environ, "MUSICBOX_CONFIG": str(tmp_path / "musicbox.toml"), "COLUMNS": "400"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    printed, errors = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 1 and "Traceback" not in errors.decode(), errors.decode()
    [config] = [line for line in printed.decode().splitlines() if "config:" in line]
    assert shown in config, config


async def test_doctor_checks_the_database_and_leaves_it_as_it_found_it(tmp_path: Path) -> None:
    environment = {"MUSICBOX_CONFIG": str(tmp_path / "none.toml"), "STATE_DIRECTORY": str(tmp_path)}
    _, findings = await doctor(environment)
    assert "not made yet" in by_check(findings)["database"]["detail"]
    assert not (tmp_path / "musicbox.sqlite3").exists()  # doctor makes nothing, whoever runs it
    (tmp_path / "musicbox.sqlite3").write_bytes(b"not a database, a shopping list\n" * 100)
    _, findings = await doctor(environment)
    database = by_check(findings)["database"]
    assert database["verdict"] == "warn" and "is not a SQLite database" in database["detail"]
    assert "moves it aside at its next start" in database["fix"]
    assert (tmp_path / "musicbox.sqlite3").read_bytes().startswith(b"not a database")


async def test_a_missing_music_folder_is_one_warning_and_a_readable_one_passes(
    discord_sim: DiscordSim, media_world: MediaWorld, tmp_path: Path
) -> None:
    music = tmp_path / "Music"
    music.mkdir()
    environment = box(discord_sim, media_world, tmp_path, discord_sim.bot_token)
    environment["MUSICBOX_LIBRARY_FOLDERS"] = f"{music},{tmp_path / 'usb'}"
    code, findings = await doctor(environment)
    folders = [(f["verdict"], f["detail"]) for f in findings if f["check"] == "music folder"]
    assert folders == [
        ("ok", f"{music} is readable"),
        ("warn", f"{tmp_path / 'usb'} does not exist: its songs are not offered"),
    ]
    assert code == 0  # the bot still plays everything else
