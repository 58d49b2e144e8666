"""`musicbox doctor` on a box that cannot look names up, and naming what it read: the config file
(also when there is none) and the variable behind a bad value."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from musicbox.core import diagnosis
from musicbox.core.diagnosis import Verdict
from musicbox.store.config_file import write_config

NOWHERE = "musicbox-doctor.invalid"  # RFC 6761: never resolves, with or without a network


async def doctor(environment: dict[str, str], *arguments: str) -> tuple[int, dict[str, dict[str, Any]]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "musicbox", "doctor", "--json", *arguments,
        env={**os.environ, **environment},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None, stderr
    return process.returncode, {finding["check"]: finding for finding in json.loads(stdout)}


async def test_a_search_host_that_does_not_resolve_is_the_network_not_an_old_yt_dlp(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    template = f"http://{NOWHERE}/search.xspf?q={{query}}&n={{limit}}"
    write_config(config, {"resolver": {"search_template": template}})
    code, found = await doctor({"MUSICBOX_CONFIG": str(config), "CACHE_DIRECTORY": str(tmp_path)}, "--online")
    assert code == 1
    online = found["online"]
    assert online["verdict"] == "fail" and f"{NOWHERE} does not resolve" in online["detail"]
    assert "musicbox update" not in online["fix"] and f"getent hosts {NOWHERE}" in online["fix"]


async def test_the_config_is_named_when_absent_and_a_bad_variable_by_its_name(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    code, found = await doctor({"MUSICBOX_CONFIG": str(config), "CACHE_DIRECTORY": str(tmp_path)})
    assert found["config"]["detail"] == f"no file at {config}: defaults"
    code, found = await doctor({"MUSICBOX_CONFIG": str(config), "MUSICBOX_PLAYBACK_DEFAULT_VOLUME": "900"})
    assert code == 1
    assert found["config"]["detail"].startswith("MUSICBOX_PLAYBACK_DEFAULT_VOLUME: 900 is out of range")
    assert str(config) not in found["config"]["detail"]


@pytest.mark.parametrize(
    ("template", "host"),
    [
        ("ytsearch{limit}:{query}", "www.youtube.com"),
        ("http://127.0.0.1:8080/search.xspf?q={query}&n={limit}", "127.0.0.1"),
        ("scsearch{limit}:{query}", None),
    ],
)
def test_the_host_a_search_reaches_first(template: str, host: str | None) -> None:
    assert diagnosis.search_host(template) == host


def test_only_a_failure_whose_name_resolves_is_sent_to_musicbox_update() -> None:
    offline = diagnosis.online_failure("it could not be read", "www.youtube.com", resolves=False)
    assert offline.verdict is Verdict.FAIL and "musicbox update" not in offline.fix
    extractor = diagnosis.online_failure("it could not be read", "www.youtube.com", resolves=True)
    assert extractor.fix == "Run `musicbox update`, then try again"
    unknown = diagnosis.online_failure("it could not be read", None, resolves=False)
    assert unknown.fix == "Run `musicbox update`, then try again"


def test_an_old_config_beside_a_new_one_is_merged_by_hand_not_moved_over_it() -> None:
    both = diagnosis.old_config("/etc/musicbox/musicbox.toml", "/etc/musicbox/config.toml", read_exists=True)
    assert both.verdict is Verdict.WARN and "mv" not in both.fix


async def test_a_config_under_the_old_name_is_pointed_out_with_the_move(tmp_path: Path) -> None:
    """A box set up by hand with musicbox 0.1.0 (install.sh moves it on an upgrade itself)."""
    old, read = tmp_path / "musicbox.toml", tmp_path / "config.toml"
    write_config(old, {"playback": {"default_volume": 80}})
    environment = {"CONFIGURATION_DIRECTORY": str(tmp_path), "CACHE_DIRECTORY": str(tmp_path)}
    _, found = await doctor(environment)
    assert found["old config"]["verdict"] == "warn"
    assert found["old config"]["detail"] == f"{old} is not read: musicbox reads {read}"
    assert found["old config"]["fix"] == f"Run `mv {old} {read}`"
    ran = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "musicbox", "run",
        env={**os.environ, **environment, "STATE_DIRECTORY": str(tmp_path)},
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, said = await asyncio.wait_for(ran.communicate(), timeout=60)
    assert ran.returncode == 2 and f"run `mv {old} {read}`" in " ".join(said.decode().split())
