"""`musicbox logs`: the service's journal, or the bot's own log file when it runs without systemd."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import typer

from musicbox.cli.console import BAD_INPUT, FAILURE, fail, out
from musicbox.service.logbook import (
    JOURNAL_PRIORITY,
    LEVELS,
    BadSince,
    entries,
    log_files,
    parse_since,
    select,
)
from musicbox.service.unit import UNIT, has_journal, is_installed
from musicbox.store.config_file import paths_for

_FOLLOW_POLL_S = 0.5


def logs(
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines until Ctrl-C."),
    since: str = typer.Option("", "--since", help="From when: 10m, 2h, 1d ago, or 2026-11-24 18:00."),
    level: str = typer.Option("info", "--level", help=f"Lowest level shown: {', '.join(LEVELS)}."),
    lines: int = typer.Option(200, "--lines", "-n", min=1, help="At most this many of the latest lines."),
) -> None:
    """Show what the bot logged: journald for the service, else the log file in the state directory."""
    if level not in LEVELS:
        fail(f"--level {level!r} is not a level", f"Use one of: {', '.join(LEVELS)}.", code=BAD_INPUT)
    try:
        start = parse_since(since, datetime.now()) if since else None
    except BadSince as bad:
        fail(str(bad), "For example: musicbox logs --since 30m", code=BAD_INPUT)
    if has_journal() and is_installed():
        _journal(follow, start, level, lines)
    _log_file(paths_for(os.environ).state_dir, follow, start, level, lines)


def _journal(follow: bool, start: datetime | None, level: str, lines: int) -> None:
    command = ["journalctl", "-u", UNIT, "-o", "short-iso", "--no-pager", "-p", JOURNAL_PRIORITY[level]]
    command += ["-n", str(lines)] + (["-f"] if follow else [])
    if start is not None:
        command += ["--since", start.strftime("%Y-%m-%d %H:%M:%S")]
    os.execvp(command[0], command)


def _log_file(state_dir: Path, follow: bool, start: datetime | None, level: str, lines: int) -> None:
    files = log_files(state_dir)
    if not files:
        fail(
            f"no log yet: musicbox is not a systemd service here and {state_dir} has no log file",
            "Start it with `musicbox run` (it logs there), or install the service with install.sh.",
            code=FAILURE,
        )
    written: list[str] = []
    for path in files:
        written += path.read_text(errors="replace").splitlines()
    for line in list(select(entries(written), since=start, min_level=level))[-lines:]:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    if follow:
        _follow(files[-1], level)


def _follow(path: Path, level: str) -> None:
    with path.open(errors="replace") as reading:
        reading.seek(0, os.SEEK_END)
        try:
            while True:
                fresh = reading.readlines()
                for line in select(entries(line.rstrip("\n") for line in fresh), since=None, min_level=level):
                    out.print(line, markup=False, highlight=False, soft_wrap=True)
                time.sleep(_FOLLOW_POLL_S)
        except KeyboardInterrupt:
            return
