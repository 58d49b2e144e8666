"""What the probe reads of this process's limits: its cgroup's task limit, under either hierarchy."""

from __future__ import annotations

import resource
from pathlib import Path

from musicbox.service.probe import probe, tasks_limit


def _limit(root: Path, where: str, value: str) -> None:
    (root / where).mkdir(parents=True)
    (root / where / "pids.max").write_text(value + "\n")


def test_the_task_limit_is_read_from_the_unified_hierarchy_or_the_pids_controller(tmp_path: Path) -> None:
    _limit(tmp_path, "system.slice/musicbox.service", "4096")
    assert tasks_limit("0::/system.slice/musicbox.service\n", tmp_path) == 4096
    _limit(tmp_path, "pids/docker/abc", "512")
    v1 = "9:systemd:/docker/abc\n8:pids:/docker/abc\n0::/\n"
    assert tasks_limit(v1, tmp_path) == 512


def test_no_task_limit_is_none(tmp_path: Path) -> None:
    _limit(tmp_path, "user.slice", "max")
    assert tasks_limit("0::/user.slice\n", tmp_path) == 0
    assert tasks_limit("0::/nowhere\n", tmp_path) == 0
    assert tasks_limit("", tmp_path) == 0


def test_this_processs_open_file_limit_is_the_hard_one(tmp_path: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    found = probe(tmp_path).open_files_limit
    assert found == (0 if hard == resource.RLIM_INFINITY else hard)
