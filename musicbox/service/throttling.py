"""A Raspberry Pi's under-voltage and throttling, read off the board (core/throttling.py decodes it).

`vcgencmd get_throttled` first: Raspberry Pi OS ships it on every model, the Pi 5 included. It needs
the video group (/dev/vcio), which the first user of a Pi has and a plain account may not; then the
firmware's sysfs file, readable by all (deprecated by newer kernels, so it may be missing). A box with
neither is not a Pi, and gets None: no check, no noise."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from musicbox.core.throttling import Throttling, decode, from_sysfs, from_vcgencmd

# soc/soc:firmware on the Pi 0-4; the Pi 5's node is named after its bus address (soc@107c000000).
PLATFORM_DEVICES = Path("/sys/devices/platform")
SYSFS_PATTERN = "soc*/soc*:firmware/get_throttled"
VCGENCMD_WAIT_S = 5.0  # it answers in milliseconds; a firmware that does not is not worth the wait


def read_throttling(vcgencmd: str | None = None, sysfs: Sequence[Path] | None = None) -> Throttling | None:
    """vcgencmd: the command (default: `vcgencmd` on PATH); sysfs: files to try (default: the firmware's)."""
    command = vcgencmd if vcgencmd is not None else shutil.which("vcgencmd")
    if command is not None and (raw := _ask_vcgencmd(command)) is not None:
        return decode(raw)
    for path in sysfs if sysfs is not None else sorted(PLATFORM_DEVICES.glob(SYSFS_PATTERN)):
        try:
            raw = from_sysfs(path.read_text())
        except OSError:
            continue
        if raw is not None:
            return decode(raw)
    return None


def _ask_vcgencmd(command: str) -> int | None:
    try:
        answered = subprocess.run(
            [command, "get_throttled"],
            capture_output=True,
            text=True,
            timeout=VCGENCMD_WAIT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return from_vcgencmd(answered.stdout) if answered.returncode == 0 else None
