"""The systemd unit as the CLI sees it: its state, its journal, and start/stop through systemctl.

Every function degrades to "no systemd here" rather than failing, so the same CLI works on a
development box, in a container and on the appliance."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

UNIT = "musicbox.service"
TIMEOUT_S = 30
# sd_booted(3): systemd is the init system exactly when this directory exists. A container can have
# systemctl installed with no systemd running; asking it then only yields errors.
BOOTED_MARKER = Path("/run/systemd/system")


def has_systemd() -> bool:
    return BOOTED_MARKER.is_dir() and shutil.which("systemctl") is not None


def has_journal() -> bool:
    return has_systemd() and shutil.which("journalctl") is not None


def unit_state() -> dict[str, str]:
    """systemd's properties of the unit, or {} when there is no systemd to ask."""
    if not has_systemd():
        return {}
    shown = subprocess.run(
        [
            "systemctl",
            "show",
            UNIT,
            "--property=ActiveState,SubState,ExecMainStatus,LoadState,UnitFileState,IPAddressDeny",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    pairs = (line.partition("=") for line in shown.stdout.splitlines() if "=" in line)
    return {key: value for key, _, value in pairs}


def is_installed() -> bool:
    return unit_state().get("LoadState") == "loaded"


def last_log(lines: int = 10) -> list[str]:
    if not has_journal():
        return []
    shown = subprocess.run(
        ["journalctl", "-u", UNIT, "-n", str(lines), "--no-pager", "-o", "short-iso"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    return [line for line in shown.stdout.splitlines() if line and not line.startswith("-- ")]


def systemctl(verb: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemctl", verb, UNIT], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
