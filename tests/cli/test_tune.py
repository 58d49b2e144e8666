"""`musicbox tune` as the owner runs it: this box's figures, and the owner's setting winning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.cli import run_musicbox


def tune_json(tmp_path: Path, **extra: str) -> dict[str, dict[str, object]]:
    environment = {
        "MUSICBOX_CONFIG": str(tmp_path / "config.toml"),
        "CACHE_DIRECTORY": str(tmp_path / "cache"),
    }
    ran = run_musicbox("tune", "--json", environment={**environment, **extra}, check=True)
    document: dict[str, dict[str, object]] = json.loads(ran.stdout)
    return document


def test_tune_reports_this_box_and_limits_it_can_carry(tmp_path: Path) -> None:
    report = tune_json(tmp_path)
    assert report["probe"]["cores"] == os.cpu_count()
    assert isinstance(report["probe"]["ram_mb"], int) and report["probe"]["ram_mb"] > 0
    assert report["tuning"]["resolver_workers"] in range(1, 9)
    assert isinstance(report["tuning"]["max_guilds"], int) and report["tuning"]["max_guilds"] >= 1


def test_an_explicit_setting_beats_the_tuner(tmp_path: Path) -> None:
    report = tune_json(tmp_path, MUSICBOX_MAX_GUILDS="7", MUSICBOX_CACHE_BUDGET_MB="300")
    assert report["tuning"]["max_guilds"] == 7
    assert report["tuning"]["cache_budget_mb"] == 300


def test_a_broken_config_is_named_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[limits]\nmax_guilds = 'many'\n")
    ran = subprocess.run(
        [sys.executable, "-m", "musicbox", "tune"],
        capture_output=True,
        text=True,
        env={**os.environ, "MUSICBOX_CONFIG": str(tmp_path / "config.toml")},
        timeout=60,
        check=False,
    )
    assert ran.returncode == 2
    assert "max_guilds" in ran.stderr
