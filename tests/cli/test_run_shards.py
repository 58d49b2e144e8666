"""`musicbox run --shards … --shard-count …` as an owner types it: a mistake is one sentence and exit
2 before anything starts, and `musicbox run --help` says what the options mean."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.fixtures.cli import run_musicbox


def musicbox(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return run_musicbox(*arguments, environment={"CONFIGURATION_DIRECTORY": str(tmp_path / "etc")})


def test_a_backwards_range_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    shown = musicbox(tmp_path, "run", "--shards", "5-2", "--shard-count", "8")
    assert shown.returncode == 2
    assert shown.stderr.strip() == "error: --shards range 5-2 runs backwards: write the lower number first"
    assert shown.stdout == ""


def test_run_help_explains_the_shard_options(tmp_path: Path) -> None:
    shown = musicbox(tmp_path, "run", "--help")
    assert shown.returncode == 0
    assert "--shards" in shown.stdout and "--shard-count" in shown.stdout
    assert "One process per range" in shown.stdout
