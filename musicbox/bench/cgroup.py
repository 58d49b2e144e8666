"""A smaller box's budget as Linux control groups: a memory limit on the bot and every child it starts
(extraction workers, ffmpeg), and a CPU quota standing in for a slower CPU.

Version 1 hierarchies (the memory and cpu controllers mounted apart, under /sys/fs/cgroup/memory and
/sys/fs/cgroup/cpu), as on the boxes the benchmarks run on; making groups needs root. A process joins
before it starts (`join`, run in the child between fork and exec), so everything it and its children
allocate is charged to the group from the first page."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
# The scheduler hands out the quota per period: a group over it waits for the next one. A short period
# keeps each wait under a voice packet's 20 ms (the kernel's default of 100 ms would not).
PERIOD_US = 10_000
REMOVE_WAIT_S = 5.0
# A quota caps a group's CPU but does not reserve it: on a box busy with other work the group gets its
# weight's share (1024, as each busy process outside it has), which may be far under its quota, and a
# stand-in Pi that gets a tenth of its CPU is no Pi. The kernel's highest weight makes the quota's
# CPU the group's whenever it wants it; the rest of the box keeps the rest of the cores.
SHARES = 262_144


class NoControlGroups(Exception):
    """The budget cannot be set up here; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Throttling:
    periods: int
    throttled: int  # periods in which the group used up its quota and waited
    throttled_s: float = 0.0  # how long its runnable tasks waited for the next period, in all

    @property
    def share(self) -> float:
        return self.throttled / self.periods if self.periods else 0.0

    def since(self, earlier: Throttling) -> Throttling:
        return Throttling(
            self.periods - earlier.periods,
            self.throttled - earlier.throttled,
            self.throttled_s - earlier.throttled_s,
        )


@dataclass(frozen=True, slots=True)
class ProcessTime:
    """One process of the group, its threads summed, from the scheduler's own accounting
    (/proc/PID/task/TID/schedstat): time on a CPU, and time runnable but waiting for one (other
    work on the box, or the group's quota used up)."""

    pid: int
    name: str  # the kernel's comm: "python3", "ffmpeg"
    cpu_s: float
    waited_s: float

    def since(self, earlier: ProcessTime | None) -> ProcessTime:
        if earlier is None:  # started since: all it did counts
            return self
        return ProcessTime(self.pid, self.name, self.cpu_s - earlier.cpu_s, self.waited_s - earlier.waited_s)


@dataclass(frozen=True, slots=True)
class Budget:
    memory: Path
    cpu: Path

    def join(self) -> None:
        """Put the calling process in the group (async-signal-safe enough for a preexec_fn: two writes)."""
        pid = str(os.getpid())
        for group in (self.memory, self.cpu):
            (group / "cgroup.procs").write_text(pid)

    def peak_bytes(self) -> int:
        """The most the group held at once, page cache of its files included."""
        return int((self.memory / "memory.max_usage_in_bytes").read_text())

    def oom_kills(self) -> int:
        return oom_kills((self.memory / "memory.oom_control").read_text())

    def throttling(self) -> Throttling:
        fields = dict(line.split() for line in (self.cpu / "cpu.stat").read_text().splitlines() if line)
        return Throttling(
            int(fields.get("nr_periods", 0)),
            int(fields.get("nr_throttled", 0)),
            int(fields.get("throttled_time", 0)) / 1e9,
        )

    def processes(self) -> dict[int, ProcessTime]:
        """Every process in the group now, with the CPU it used and the time it waited so far."""
        found = {}
        for pid in (int(line) for line in (self.cpu / "cgroup.procs").read_text().split()):
            with contextlib.suppress(OSError, ValueError):  # it ended while being read
                found[pid] = process_time(Path(f"/proc/{pid}"))
        return found


def oom_kills(oom_control: str) -> int:
    """How many processes the group's OOM killer ended, from `memory.oom_control` (its `oom_kill` line,
    present since Linux 4.13)."""
    for line in oom_control.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return 0


def process_time(proc: Path) -> ProcessTime:
    cpu_ns = waited_ns = 0
    for task in (proc / "task").iterdir():
        on_cpu, run_delay, _ = (task / "schedstat").read_text().split()
        cpu_ns += int(on_cpu)
        waited_ns += int(run_delay)
    return ProcessTime(int(proc.name), (proc / "comm").read_text().strip(), cpu_ns / 1e9, waited_ns / 1e9)


def quota_us(cores: float, period_us: int = PERIOD_US) -> int:
    """The CFS quota per period that lets a group use `cores` of this box's cores on average."""
    if cores <= 0:
        raise ValueError("a budget needs some CPU")
    return max(1000, round(cores * period_us))  # the kernel's floor is 1 ms


@contextlib.contextmanager
def budget(name: str, *, memory_bytes: int, cores: float) -> Iterator[Budget]:
    """Groups named `name` with the limits, removed afterwards (their processes must have ended)."""
    memory_root, cpu_root = ROOT / "memory", ROOT / "cpu"
    if not (memory_root / "memory.limit_in_bytes").exists() or not (cpu_root / "cpu.cfs_quota_us").exists():
        raise NoControlGroups(
            "this box has no cgroup v1 memory and cpu controllers under /sys/fs/cgroup "
            "(a cgroup v2 box is not supported by this benchmark yet)"
        )
    if os.geteuid() != 0:
        raise NoControlGroups("making control groups needs root: run it with sudo")
    made = Budget(memory_root / name, cpu_root / name)
    try:
        made.memory.mkdir()
        made.cpu.mkdir()
        (made.memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        (made.cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (made.cpu / "cpu.cfs_quota_us").write_text(str(quota_us(cores)))
        (made.cpu / "cpu.shares").write_text(str(SHARES))
        yield made
    finally:
        for group in (made.memory, made.cpu):
            _remove(group)


def _remove(group: Path) -> None:
    deadline = time.monotonic() + REMOVE_WAIT_S
    while group.exists():
        try:
            group.rmdir()
        except OSError:  # a process of the group is still exiting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
