"""Watching /proc while something runs, for secrets where another local user or a child could read
them: every process's arguments (/proc/PID/cmdline, readable by any user) and the environment of
every process below a given one (/proc/PID/environ, which a child's crash report or a same-user
process can read).

A thread samples /proc every SAMPLE_S until stopped, so a child that lives less than that may be
missed; the watch records which commands it did see, and tests assert the long-lived ones they care
about (setup, pip, ffmpeg) were among them, so a check cannot pass by seeing nothing."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

SAMPLE_S = 0.05
PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class Leak:
    pid: int
    command: str
    where: str  # "cmdline" or "environ"


@dataclass
class ProcessWatch:
    """`secrets` are searched for; `below` is the pid whose descendants' environments are read (set it
    once the process is started), including its own when `including_itself`."""

    secrets: list[str]
    below: int | None = None
    including_itself: bool = True
    leaks: set[Leak] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)  # commands (argv joined) of the processes below
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ProcessWatch:
        self._thread = threading.Thread(target=self._watch, name="process-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=10)

    def saw(self, word: str) -> bool:
        return any(word in command for command in self.seen)

    def _watch(self) -> None:
        wanted = [secret.encode() for secret in self.secrets if secret]
        me = os.getpid()
        while not self._stop.is_set():
            self._sample(wanted, me)
            self.samples += 1
            self._stop.wait(SAMPLE_S)
        self._sample(wanted, me)

    def _sample(self, wanted: list[bytes], me: int) -> None:
        parents: dict[int, int] = {}
        commands: dict[int, bytes] = {}
        for entry in PROC.iterdir():
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            pid = int(entry.name)
            command = _read(entry / "cmdline")
            parent = _parent(entry)
            if command is None or parent is None:
                continue  # gone meanwhile
            commands[pid], parents[pid] = command, parent
            if any(secret in command for secret in wanted):
                self.leaks.add(Leak(pid, _shown(command), "cmdline"))
        itself = commands.get(self.below) if self.below is not None else None
        for pid in self._below(parents):
            self.seen.add(_shown(commands[pid]))
            if not self.including_itself and commands[pid] == itself:
                # A subshell of the process itself (bash forks for `$(…)` and pipelines): a copy of
                # its memory, environment block included, so nothing it did not already hold.
                continue
            environment = _read(PROC / str(pid) / "environ")
            if environment and any(secret in environment for secret in wanted):
                self.leaks.add(Leak(pid, _shown(commands[pid]), "environ"))

    def _below(self, parents: dict[int, int]) -> list[int]:
        if self.below is None:
            return []
        found = []
        for pid in parents:
            ancestor = pid if self.including_itself else parents[pid]
            for _ in range(64):  # bounded: a pid's chain of parents ends at 1
                if ancestor == self.below:
                    found.append(pid)
                    break
                if ancestor not in parents:
                    break
                ancestor = parents[ancestor]
        return found


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _parent(entry: Path) -> int | None:
    stat = _read(entry / "stat")
    if stat is None:
        return None
    # The command name in parentheses may hold spaces; the fields after the last ")" are fixed.
    return int(stat[stat.rindex(b")") + 2 :].split()[1])


def _shown(command: bytes) -> str:
    return command.replace(b"\0", b" ").decode(errors="replace").strip()
