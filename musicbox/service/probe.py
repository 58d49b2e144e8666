"""What this box has: cores, RAM, free disk where the cache lives, the CPU and the board.

The imperative half of tuning; `musicbox.core.tuning.tune` turns what this reads into limits."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil

from musicbox.core.tuning import Probe

CPUINFO = Path("/proc/cpuinfo")
DEVICE_TREE_MODEL = Path("/proc/device-tree/model")


def probe(cache_dir: Path) -> Probe:
    cpuinfo = _read(CPUINFO)
    return Probe(
        cores=os.cpu_count() or 1,
        ram_mb=psutil.virtual_memory().total // 2**20,
        free_disk_mb=psutil.disk_usage(str(_existing(cache_dir))).free // 2**20,
        cpu_model=_field(cpuinfo, "model name") or _field(cpuinfo, "Model") or platform.processor(),
        machine=platform.machine(),
        arm_part=_field(cpuinfo, "CPU part"),
        board=_read(DEVICE_TREE_MODEL).rstrip("\0").strip(),
    )


def _existing(directory: Path) -> Path:
    # Before the first start the cache directory may not exist; its disk is its nearest parent's.
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _field(cpuinfo: str, name: str) -> str:
    for line in cpuinfo.splitlines():
        key, separator, value = line.partition(":")
        if separator and key.strip() == name:
            return value.strip()
    return ""
