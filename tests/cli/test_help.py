"""`musicbox --help` as an owner reads it: each command's description is sentences wrapped to the
terminal, not the line breaks of the source it was written in."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from tests.fixtures.cli import run_musicbox


def commands_panel(columns: int) -> list[str]:
    shown = run_musicbox("--help", environment={"COLUMNS": str(columns)}, check=True).stdout.splitlines()
    start = next(n for n, line in enumerate(shown) if line.startswith("╭─ Commands"))
    end = next(n for n in range(start, len(shown)) if shown[n].startswith("╰"))
    return shown[start + 1 : end]


@pytest.mark.parametrize("columns", [80, 120])
def test_command_descriptions_wrap_only_where_the_terminal_ends(columns: int) -> None:
    rows = [line[1:-1] for line in commands_panel(columns)]  # inside the panel's borders
    description_at = len(rows[0]) - len(rows[0].split(maxsplit=1)[1])
    width = len(rows[0]) - description_at - 1  # rich keeps one space of padding on the right
    for row, following in itertools.pairwise(rows):
        if following[:description_at].strip():
            continue  # the next command: this description ended here
        text, next_word = row[description_at:].rstrip(), following[description_at:].split()[0]
        assert len(text) + 1 + len(next_word) > width, f"broke early before {next_word!r}: {text!r}"


def test_everyday_commands_do_not_load_yt_dlp_the_simulator_or_the_benchmarks() -> None:
    # Each costs a second of imports here, several on a Pi: `musicbox status` must not wait for them.
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, musicbox.cli.app; "
            "print(*(m for m in ('yt_dlp', 'musicbox.sim', 'musicbox.bench.load') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert loaded == []


def test_bench_names_every_scenario_it_can_run() -> None:
    from musicbox.cli.bench import NAMES, scenarios

    assert tuple(scenarios()) == NAMES
