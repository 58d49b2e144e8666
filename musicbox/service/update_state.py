"""What the last `musicbox update` did, kept beside the versions it records in the venv (both describe
the venv, and uninstalling removes both): the bot reads it for `musicbox status --json` and the web
page, so the owner sees there whether the weekly upgrade of yt-dlp and Deno worked. Written by the
update's process, read by the bot's; the bot's sandbox only reads the venv, which is all it needs."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

STATE = Path(sys.prefix) / "musicbox-update-state.json"
# What `musicbox update` came to: a newer version, none, a failed upgrade undone, the owner's
# --rollback, or a failure it could not undo.
OUTCOMES = ("upgraded", "unchanged", "rolled back", "went back", "failed")


def remember(
    installed: dict[str, str], outcome: str, problem: str = "", *, path: Path = STATE, at: float | None = None
) -> None:
    assert outcome in OUTCOMES
    state = {
        "at": time.time() if at is None else at,
        "outcome": outcome,
        "installed": installed,
        "problem": problem or None,
    }
    path.write_text(json.dumps(state) + "\n")


def last_update(path: Path = STATE) -> dict[str, Any] | None:
    """The last run's outcome, or None when `musicbox update` never ran in this venv (or its file
    cannot be read: the status must not fail for it)."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("outcome") not in OUTCOMES:
        return None
    installed = state.get("installed")
    return {
        "at": float(state.get("at") or 0.0),
        "outcome": str(state["outcome"]),
        "installed": {str(k): str(v) for k, v in installed.items()} if isinstance(installed, dict) else {},
        "problem": None if state.get("problem") is None else str(state["problem"]),
    }


def update_line(update: dict[str, Any] | None, now: float) -> str:
    """One line for the terminal and the web page (plain text: the caller escapes it)."""
    if update is None:
        return "never run here (the weekly musicbox-update timer runs `musicbox update`)"
    versions = ", ".join(f"{name} {number or 'missing'}" for name, number in update["installed"].items())
    ago = _ago(now - update["at"])
    problem = f": {update['problem']}" if update["problem"] else ""
    return f"{update['outcome']} {ago}{problem}; now {versions}"


def _ago(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(0, int(seconds // 60))} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"
