"""Run checks under process-wide restrictions rebuilt from a unit: MemoryDenyWriteExecute
(PR_SET_MDWE), NoNewPrivileges, and SystemCallFilter/RestrictAddressFamilies as a seccomp filter
loaded through libseccomp (the library systemd uses; Debian always has it). Children inherit all
three, so each check runs exactly as the service's children would.

    python sandbox_harness.py SETTINGS_JSON CHECKS_JSON   -> prints {check: error} for failed checks

Run by test_sandbox.py inside unshare/setpriv, which rebuild the /proc view and capabilities."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from typing import Any

PR_SET_NO_NEW_PRIVS, PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 38, 65, 1
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO = 0x00050000
SCMP_CMP_EQ = 4
SOCKET_FAMILIES = range(46)  # every AF_* Linux has
EAFNOSUPPORT = 97


class ArgumentComparison(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        sys.exit(f"prctl({option}) failed: errno {ctypes.get_errno()}")


def load_syscall_filter(allowed: list[str], families: list[int], errno: int) -> None:
    """Like systemd: an allow-list whose other calls fail with `errno`, socket() only for `families`."""
    seccomp = ctypes.CDLL("libseccomp.so.2")
    seccomp.seccomp_init.restype = ctypes.c_void_p
    seccomp.seccomp_init.argtypes = [ctypes.c_uint32]
    seccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    seccomp.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(ArgumentComparison)
    ]  # fmt: skip
    seccomp.seccomp_load.argtypes = [ctypes.c_void_p]
    context = seccomp.seccomp_init(SCMP_ACT_ERRNO | errno)
    for name in allowed:
        number = seccomp.seccomp_syscall_resolve_name(name.encode())
        if name != "socket" and number >= 0:
            seccomp.seccomp_rule_add_array(context, SCMP_ACT_ALLOW, number, 0, None)
    socket = seccomp.seccomp_syscall_resolve_name(b"socket")
    for family in SOCKET_FAMILIES:
        action = SCMP_ACT_ALLOW if family in families else SCMP_ACT_ERRNO | EAFNOSUPPORT
        comparison = ArgumentComparison(0, SCMP_CMP_EQ, family, 0)
        seccomp.seccomp_rule_add_array(context, action, socket, 1, ctypes.byref(comparison))
    if seccomp.seccomp_load(context) != 0:
        sys.exit("seccomp_load failed")


def apply(settings: dict[str, Any]) -> None:
    if settings["mdwe"]:
        prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)
    if settings["nnp"] or settings["syscalls"]:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    if settings["syscalls"]:
        load_syscall_filter(settings["syscalls"], settings["families"], settings["errno"])


def main() -> None:
    settings, checks = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    apply(settings)
    failed = {}
    for name, command in checks.items():
        ran = subprocess.run(command, capture_output=True, text=True, timeout=60, input="")
        if ran.returncode != 0:
            said = " | ".join(ran.stderr.strip().splitlines()[-8:])[-1000:]
            failed[name] = said or f"exit {ran.returncode}"
    print(json.dumps(failed))


if __name__ == "__main__":
    main()
