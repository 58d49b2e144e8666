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
MUSIC_DROP_IN = Path(UNIT + ".d") / "music-folders.conf"  # beside the unit file
# ProtectHome=yes makes these inaccessible, and a bind mount cannot be made under them then; tmpfs
# empties them instead and lets the folder be bound in (the exposure score stays at 1.1).
HOME_TREES = ("/home", "/root", "/run/user")


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


def systemctl_daemon_reload() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemctl", "daemon-reload"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def music_folders_drop_in(folders: tuple[str, ...]) -> str:
    """The drop-in that lets the sandboxed service read the owner's music folders, and only read them.
    `-`: a folder missing at start (a USB disk unplugged) is skipped rather than failing the start."""
    lines = [
        "# Written by `musicbox setup` from [library] folders: the bot reads them, never writes them.",
        "[Service]",
    ]
    if any(folder == tree or folder.startswith(tree + "/") for folder in folders for tree in HOME_TREES):
        lines.append("ProtectHome=tmpfs")
    lines += [f'BindReadOnlyPaths="-{_unit_quoted(folder)}"' for folder in folders]
    return "\n".join(lines) + "\n"


def write_music_drop_in(unit_directory: Path, folders: tuple[str, ...]) -> Path:
    """Write (or, with no folders, remove) the drop-in beside the unit in `unit_directory`."""
    path = unit_directory / MUSIC_DROP_IN
    if not folders:
        path.unlink(missing_ok=True)
        return path
    path.parent.mkdir(mode=0o755, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_text(music_folders_drop_in(folders))
    partial.chmod(0o644)
    partial.replace(path)
    return path


def _unit_quoted(path: str) -> str:
    # systemd unquotes C-style escapes in a quoted word and expands %-specifiers in it.
    return path.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
