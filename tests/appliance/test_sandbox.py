"""The tools the bot needs, run under the parts of musicbox.service's sandbox this machine can rebuild
without systemd as PID 1: its /proc view (ProtectProc=, ProcSubset=, in a private mount and PID
namespace), MemoryDenyWriteExecute= (the kernel's PR_SET_MDWE, which systemd itself uses where the
kernel has it), NoNewPrivileges= and the empty CapabilityBoundingSet= (setpriv). The system call and
address family filters, ProtectSystem= and User= are not rebuilt here.

Each check is what the running bot does: `musicbox tune` (the hardware probe it starts with), Deno
running JavaScript as yt-dlp makes it for YouTube, ffmpeg encoding Opus, and `musicbox update`'s smoke
test (yt-dlp extracting from 127.0.0.1). Two variants of the unit show the checks can fail: each
setting the unit leaves off on purpose breaks one of them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
UNIT = CHECKOUT / "systemd/musicbox.service"
VENV_BIN = Path(sys.executable).parent
SMOKE = "import sys; from musicbox.cli.update import smoke_test; sys.exit(smoke_test() or None)"

# Applies the process-wide settings, then runs each check as a child (children inherit them both).
HARNESS = """
import ctypes, json, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 38, 65, 1
settings, checks = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if settings["mdwe"] and libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit(f"PR_SET_MDWE failed: errno {ctypes.get_errno()}")
if settings["nnp"] and libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    sys.exit(f"PR_SET_NO_NEW_PRIVS failed: errno {ctypes.get_errno()}")
failed = {}
for name, command in checks.items():
    ran = subprocess.run(command, capture_output=True, text=True, timeout=60, input="")
    if ran.returncode != 0:
        failed[name] = " | ".join(ran.stderr.strip().splitlines()[-8:])[-1000:] or "exit %d" % ran.returncode
print(json.dumps(failed))
"""


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
            settings[key] = value
    return settings


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
    applied = {
        "mdwe": settings.get("MemoryDenyWriteExecute") == "yes",
        "nnp": settings.get("NoNewPrivileges") == "yes",
    }
    mount = f"mount -t proc -o {','.join(proc_options) or 'defaults'} proc /proc"
    ran = subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "sh", "-c", f'{mount} && exec "$@"', "sh",
         *privileges, sys.executable, "-c", HARNESS, json.dumps(applied), json.dumps(checks())],
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
        ("MemoryDenyWriteExecute=yes", "deno", "panicked"),
        # The hardware probe reads /proc/meminfo and /proc/cpuinfo, which subset=pid hides.
        ("ProcSubset=pid", "tune", "/proc/meminfo"),
    ],
)
def test_what_the_unit_leaves_off_would_break_the_bot(setting: str, breaks: str, says: str) -> None:
    stricter = UNIT.read_text().replace("[Install]", f"{setting}\n\n[Install]")
    failed = run_sandboxed(stricter)
    assert set(failed) == {breaks}, failed
    assert says in failed[breaks], failed
