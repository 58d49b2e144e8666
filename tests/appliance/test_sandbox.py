"""The tools the bot needs, run under the parts of musicbox.service's sandbox this machine can rebuild
without systemd as PID 1: its /proc view (ProtectProc=, ProcSubset=, in a private mount and PID
namespace), the empty CapabilityBoundingSet= (setpriv), and in sandbox_harness.py
MemoryDenyWriteExecute= (the kernel's PR_SET_MDWE, as systemd 254+ applies it), NoNewPrivileges=,
and SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures=native and
RestrictAddressFamilies= as one seccomp filter built with libseccomp from systemd's own group table
(`systemd-analyze syscall-filter`). Not rebuilt: ProtectSystem=, PrivateUsers=, User=, the other
namespaces.

Each check is what the running bot does: `musicbox tune` (the hardware probe it starts with), Deno
running JavaScript as yt-dlp makes it for YouTube, ffmpeg encoding Opus, and `musicbox update`'s smoke
test (yt-dlp extracting over HTTP from 127.0.0.1). Variants of the unit show the checks can fail: the
two settings it leaves off on purpose each break one, and so does taking Internet sockets away."""

from __future__ import annotations

import errno
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
UNIT = CHECKOUT / "systemd/musicbox.service"
VENV_BIN = Path(sys.executable).parent
SMOKE = "import sys; from musicbox.cli.update import smoke_test; sys.exit(smoke_test() or None)"

HARNESS = Path(__file__).with_name("sandbox_harness.py")


def service_settings(text: str) -> dict[str, str]:
    """The [Service] section as systemd reads it for these keys: the last assignment wins."""
    settings: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            # SystemCallFilter= lines add up, in order; every other key here: the last one wins.
            adds_up = key == "SystemCallFilter" and key in settings
            settings[key] = f"{settings[key]}\n{value}" if adds_up else value
    return settings


def syscall_groups() -> dict[str, list[str]]:
    """systemd's own @group -> members table (members may be groups), as this systemd defines them."""
    listing = subprocess.run(
        ["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True
    ).stdout  # fmt: skip
    groups: dict[str, list[str]] = {}
    current: list[str] = []
    for line in listing.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif line.startswith("    ") and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def allowed_syscalls(filters: str) -> list[str]:
    """The calls SystemCallFilter= lines leave allowed: allow-lists add, ~deny-lists take away."""
    groups = syscall_groups()

    def expand(entry: str) -> set[str]:
        if not entry.startswith("@"):
            return {entry}
        return set().union(*(expand(member) for member in groups[entry]))

    allowed: set[str] = set()
    for line in filters.splitlines():
        names = set().union(*(expand(entry) for entry in line.lstrip("~").split()))
        allowed = allowed - names if line.startswith("~") else allowed | names
    return sorted(allowed)


def checks() -> dict[str, list[str]]:
    deno = subprocess.run(
        [sys.executable, "-c", "import deno; print(deno.find_deno_bin())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return {
        "tune": [str(VENV_BIN / "musicbox"), "tune", "--json"],
        "deno": [deno, "eval", "let s = 0; for (let i = 0; i < 1e6; i++) s += i % 7; console.log(s)"],
        "ffmpeg": [
            shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=0.5",
            "-c:a", "libopus", "-f", "ogg", "-y", "/dev/null",
        ],
        "smoke": [sys.executable, "-c", SMOKE],
    }  # fmt: skip


def run_sandboxed(unit_text: str) -> dict[str, str]:
    """What failed (check -> the end of its error output) with the unit's settings applied."""
    settings = service_settings(unit_text)
    proc_options = ["hidepid=invisible"] if settings.get("ProtectProc") == "invisible" else []
    if settings.get("ProcSubset") == "pid":
        proc_options.append("subset=pid")
    privileges = []
    if settings.get("CapabilityBoundingSet", None) == "":
        privileges = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]
    filters = settings.get("SystemCallFilter", "")
    applied = {
        "mdwe": settings.get("MemoryDenyWriteExecute") == "yes",
        "nnp": settings.get("NoNewPrivileges") == "yes",
        "syscalls": allowed_syscalls(filters) if filters else [],
        "families": [getattr(socket, name) for name in settings.get("RestrictAddressFamilies", "").split()],
        "errno": getattr(errno, settings.get("SystemCallErrorNumber", "EPERM")),
    }
    mount = f"mount -t proc -o {','.join(proc_options) or 'defaults'} proc /proc"
    ran = subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "sh", "-c", f'{mount} && exec "$@"', "sh",
         *privileges, sys.executable, str(HARNESS), json.dumps(applied), json.dumps(checks())],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, f"could not build the sandbox: {ran.stderr.strip()[-500:]}"
    failed: dict[str, str] = json.loads(ran.stdout)
    return failed


def test_the_bot_s_tools_work_under_the_unit_s_sandbox() -> None:
    assert run_sandboxed(UNIT.read_text()) == {}


@pytest.mark.parametrize(
    ("setting", "breaks", "says"),
    [
        # Deno's JIT needs memory that is writable, then executable: V8 aborts without it.
        ("MemoryDenyWriteExecute=yes", {"deno"}, "panicked"),
        # The hardware probe reads /proc/meminfo and /proc/cpuinfo, which subset=pid hides.
        ("ProcSubset=pid", {"tune"}, "/proc/meminfo"),
        # Without Internet sockets yt-dlp cannot fetch (here from 127.0.0.1; in life, from anywhere).
        ("RestrictAddressFamilies=AF_UNIX", {"smoke"}, "yt-dlp extraction: cannot serve a test file"),
        # The system call filter is really loaded: denying socket calls stops Deno's runtime and yt-dlp.
        ("SystemCallFilter=~@network-io", {"deno", "smoke"}, "Operation not permitted"),
    ],
)
def test_what_the_unit_leaves_open_the_bot_needs(setting: str, breaks: set[str], says: str) -> None:
    stricter = UNIT.read_text().replace("[Install]", f"{setting}\n\n[Install]")
    failed = run_sandboxed(stricter)
    assert set(failed) == breaks, failed
    assert all(says in failed[check] for check in breaks), failed
