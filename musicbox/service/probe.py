"""What this box has: cores, RAM, free disk where the cache lives, the CPU and the board, and what
this process may open and start.

The imperative half of tuning; `musicbox.core.tuning.tune` turns what this reads into limits."""

from __future__ import annotations

import os
import platform
import resource
from pathlib import Path

import psutil

from musicbox.core.tuning import Probe

CPUINFO = Path("/proc/cpuinfo")
DEVICE_TREE_MODEL = Path("/proc/device-tree/model")
OWN_CGROUPS = Path("/proc/self/cgroup")
CGROUP_ROOT = Path("/sys/fs/cgroup")


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
        open_files_limit=_finite(resource.getrlimit(resource.RLIMIT_NOFILE)[1]),
        tasks_limit=tasks_limit(_read(OWN_CGROUPS), CGROUP_ROOT),
    )


def tasks_limit(own_cgroups: str, root: Path) -> int:
    """The pids.max of this process's cgroup (threads count as tasks), from /proc/self/cgroup's
    lines: the unified hierarchy's ("0::/path") or the v1 pids controller's ("8:pids:/path"). 0
    when there is none or it is "max"."""
    for line in own_cgroups.splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            found = _read(root / path.lstrip("/") / "pids.max").strip()
        elif "pids" in controllers.split(","):
            found = _read(root / "pids" / path.lstrip("/") / "pids.max").strip()
        else:
            continue
        if found.isdigit():
            return int(found)
    return 0


def _finite(limit: int) -> int:
    return 0 if limit == resource.RLIM_INFINITY else limit


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
