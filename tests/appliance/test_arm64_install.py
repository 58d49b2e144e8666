"""install.sh on a 64-bit ARM Debian 12, for real, on this x86 box: a Debian bookworm arm64 root
made by debootstrap from Debian's archive, its programs run by qemu-user-static through binfmt_misc,
install.sh run in it unchanged (as root, through chroot, with no systemd running, as in a
container), which installs ffmpeg and libopus from the arm64 archive, makes the venv and installs
the lock's aarch64 wheels from PyPI, then shows the demo (no terminal, no token); then
`musicbox doctor` there. What an owner of a Pi running the 64-bit Raspberry Pi OS (Debian 12
arm64 underneath) meets, short of the board itself.

Slow (minutes under emulation) and needs the network to Debian's archive and PyPI, so it is marked
slow: `MUSICBOX_TEST_FULL=1 bash tests/run.sh tests/appliance/test_arm64_install.py`. The base root
(debootstrap's two stages, the slowest part) is kept under /var/cache/musicbox-arm64, one per
month and debootstrap version, and each run sees it through an overlay whose writes live in memory,
so every run starts from the same clean root; the .debs apt downloads are kept there too (the
wheels come from PyPI on every run). The last result is in docs/operations.md ("ARM64")."""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MUSICBOX_ARM64_CACHE", "/var/cache/musicbox-arm64"))
SUITE = "bookworm"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
BUILD_S = 3600  # debootstrap under emulation: about 5 min on an idle 2-core box, much longer loaded
INSTALL_S = 3600  # apt-get and pip under emulation, then the demo
MANYLINUX_AARCH64 = re.compile(r"[\w.]+-[\w.]+-manylinux(2014|_2_\d+)_aarch64")
# Where this machine reaches PyPI through a TLS proxy with its own CA (pip told so by PIP_CERT), the
# root gets that bundle and pip in it the same PIP_CERT, as an owner behind such a proxy sets up pip;
# install.sh itself is run unchanged (it passes the environment on to pip).
HOST_CA = "usr/local/share/musicbox-host-ca.pem"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def timed(command: list[str], timeout: float, **options: object) -> Ran:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **options)  # type: ignore[call-overload]
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def debian_mirror() -> str:
    """The archive apt on this machine uses (a deb822 URIs: line or a one-line deb entry)."""
    for source in sorted(Path("/etc/apt").glob("sources.list*")) + sorted(
        Path("/etc/apt/sources.list.d").glob("*")
    ):
        if not source.is_file():
            continue
        for line in source.read_text().splitlines():
            found = re.match(r"\s*(?:URIs:|deb)\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?(\s|$)", line)
            if found:
                return found.group(1)
    return "http://deb.debian.org/debian"


def prepare_emulation() -> str | None:
    """Makes this machine run arm64 programs (mounts binfmt_misc, enables qemu's handler) and says
    why it cannot, or None when it can."""
    if os.geteuid() != 0:
        return "building and entering the arm64 root needs root (debootstrap, chroot, mounts)"
    tools = ("debootstrap", "qemu-aarch64-static", "unshare", "nsenter")
    if missing := [tool for tool in tools if not shutil.which(tool)]:
        return f"{', '.join(missing)} missing: apt-get install qemu-user-static binfmt-support debootstrap"
    if not (BINFMT / "register").exists():
        mounted = timed(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], 30)
        if mounted.returncode != 0:
            return f"binfmt_misc cannot be mounted here ({mounted.stderr.strip()}): no arm64 programs can run"
    if aarch64_handler() is None and shutil.which("update-binfmts"):
        timed(["update-binfmts", "--enable", "qemu-aarch64"], 30)
    flags = aarch64_handler()
    if flags is None:
        return (
            "binfmt_misc has no enabled qemu-aarch64 handler: apt-get install binfmt-support qemu-user-static"
        )
    # F: the kernel opens qemu when the handler is registered, so it runs inside a chroot without a copy.
    if "F" not in flags:
        return "the qemu-aarch64 handler lacks the F flag: inside a chroot qemu would not be found"
    return None


def aarch64_handler() -> str | None:
    """The flags of the enabled qemu-aarch64 binfmt_misc handler, None when there is none."""
    try:
        lines = (BINFMT / "qemu-aarch64").read_text().splitlines()
    except OSError:
        return None
    if "enabled" not in lines:
        return None
    return next((line.removeprefix("flags: ") for line in lines if line.startswith("flags: ")), "")


def root_key() -> str:
    debootstrap = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "debootstrap"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return f"{SUITE}-arm64-minbase-debootstrap{debootstrap or 'unknown'}-{datetime.date.today():%Y-%m}"


def build_root(root: Path) -> float:
    """debootstrap's first stage here, its second inside the root (arm64 programs, under qemu)."""
    building = root.with_name(root.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    mirror = debian_mirror()
    started = time.monotonic()
    first = timed(
        ["nice", "-n", "19", "debootstrap", "--arch=arm64", "--variant=minbase", "--foreign",
         SUITE, str(building), mirror],
        BUILD_S,
    )  # fmt: skip
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    second = timed(
        ["nice", "-n", "19", "chroot", str(building), "/debootstrap/debootstrap", "--second-stage"], BUILD_S
    )
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    # As a Debian 12 box has it: its updates and security fixes too, not the release alone.
    security = mirror.removesuffix("/debian") + "/debian-security"
    suites = ((mirror, SUITE), (mirror, f"{SUITE}-updates"), (security, f"{SUITE}-security"))
    (building / "etc/apt/sources.list").write_text(
        "".join(f"deb {url} {name} main\n" for url, name in suites)
    )
    cleaned = timed(["chroot", str(building), "apt-get", "clean"], 600)
    assert cleaned.returncode == 0, cleaned.stderr
    building.rename(root)  # whole or not at all: an interrupted build is never taken for a cached one
    return time.monotonic() - started


HOLD = """
set -e
root=$1 layers=$2 debs=$3  # $4: the CA bundle pip is told to trust here, if any
mount -t tmpfs -o size=6g musicbox-arm64 "$layers"
mkdir "$layers/upper" "$layers/work" "$layers/merged"
merged=$layers/merged
mount -t overlay overlay -o "lowerdir=$root,upperdir=$layers/upper,workdir=$layers/work" "$merged"
mount --rbind /dev "$merged/dev"
mount -t proc proc "$merged/proc"
mount --rbind /sys "$merged/sys"
mount -t tmpfs tmpfs "$merged/run"
mount --bind "$debs" "$merged/var/cache/apt/archives"
cp -L /etc/resolv.conf "$merged/etc/resolv.conf"
[ -z "$4" ] || cp "$4" "$merged/usr/local/share/musicbox-host-ca.pem"
exec chroot "$merged" /bin/sh -c 'echo ready; exec sleep infinity'
"""


@dataclass(frozen=True)
class Arm64System:
    pid: int  # the chrooted (arm64) sleep holding the mount namespace

    @property
    def root(self) -> Path:
        return Path(f"/proc/{self.pid}/root")

    def run(self, command: list[str], timeout: float) -> Ran:
        root = self.root
        enter = ["nsenter", f"--target={self.pid}", "--mount", "--root", "--wd"]
        # A clean environment, as `sudo` gives one; never a terminal on standard input.
        environment = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "COLUMNS": "200", "TERM": "dumb"}
        if (root / HOST_CA).exists():
            environment["PIP_CERT"] = f"/{HOST_CA}"
        return timed(
            ["nice", "-n", "19", *enter, *command], timeout, env=environment, stdin=subprocess.DEVNULL
        )


@pytest.fixture(scope="module")
def arm64(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arm64System]:
    reason = prepare_emulation()
    if reason is not None:
        pytest.skip(reason)
    root = CACHE / root_key()
    if not root.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"built {root} in {build_root(root):.0f} s")
    debs = CACHE / "debs"
    (debs / "partial").mkdir(parents=True, exist_ok=True)
    layers = tmp_path_factory.mktemp("arm64")
    unshare = ["unshare", "--mount", "--propagation", "private", "--fork", "--kill-child"]
    holder = subprocess.Popen(
        [
            *unshare,
            "sh",
            "-c",
            HOLD,
            "sh",
            str(root),
            str(layers),
            str(debs),
            os.environ.get("PIP_CERT", ""),
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"ready\n", "no arm64 system"
    [sleeper] = Path(f"/proc/{holder.pid}/task/{holder.pid}/children").read_text().split()
    system = Arm64System(int(sleeper))
    try:
        yield system
    finally:
        os.kill(system.pid, signal.SIGTERM)
        holder.wait(timeout=60)


def copy_checkout(destination: Path) -> None:
    """The files git knows of (tracked, and new ones not ignored): what a clone would have, no venv."""
    listed = subprocess.run(
        ["git", "-C", str(CHECKOUT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = CHECKOUT / name
        if not source.exists():  # deleted in the work tree, not yet in git
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def compiled_wheels(venv: Path) -> dict[str, list[str]]:
    """Each installed distribution whose wheel is not pure Python, by name, with its wheel tags
    (from its .dist-info/WHEEL)."""
    compiled = {}
    for wheel in (venv / "lib").glob("python3*/site-packages/*.dist-info/WHEEL"):
        lines = wheel.read_text().splitlines()
        tags = [line.removeprefix("Tag: ") for line in lines if line.startswith("Tag: ")]
        if any(not tag.endswith("-none-any") for tag in tags):
            compiled[wheel.parent.name.split("-")[0].lower()] = tags
    return compiled


@pytest.mark.timeout(BUILD_S + INSTALL_S + 1200)
def test_install_sh_on_debian_12_arm64_then_the_demo_and_doctor(arm64: Arm64System) -> None:
    root = arm64.root
    machine = arm64.run(["sh", "-c", "uname -m; dpkg --print-architecture"], 120)
    assert machine.stdout.split() == ["aarch64", "arm64"], machine
    copy_checkout(root / "usr/src/musicbox")

    installed = arm64.run(["bash", "/usr/src/musicbox/install.sh"], INSTALL_S)
    print(installed.stdout[-6000:], installed.stderr[-3000:], sep="\n")
    print(f"install.sh: {installed.seconds:.0f} s (load {os.getloadavg()[0]:.1f})")
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    assert "debian 12 on aarch64" in installed.stdout
    assert "installing ffmpeg libopus0 python3-venv with apt-get" in installed.stdout
    assert "no bot token yet: showing musicbox at work" in installed.stdout
    assert "That is musicbox." in installed.stdout
    assert "install finished" in installed.stdout

    # Every compiled dependency came as a manylinux aarch64 wheel from PyPI: none was built here
    # (a wheel pip builds itself is tagged linux_aarch64; this root has no compiler anyway).
    compiled = compiled_wheels(root / "opt/musicbox/venv")
    print(
        "compiled wheels:",
        *(f"{name} {' '.join(tags)}" for name, tags in sorted(compiled.items())),
        sep="\n  ",
    )
    assert {"pynacl", "davey", "deno", "numpy", "cryptography"} <= set(compiled)
    assert {
        name: tags for name, tags in compiled.items() if not all(MANYLINUX_AARCH64.fullmatch(t) for t in tags)
    } == {}

    doctor = arm64.run(["musicbox", "doctor", "--json"], 600)
    print(doctor.stdout)
    found = {finding["check"]: finding for finding in json.loads(doctor.stdout)}
    assert found["ffmpeg"]["verdict"] == "ok" and found["ffmpeg"]["detail"].startswith("ffmpeg version 5.1")
    assert found["libopus"]["verdict"] == "ok", found["libopus"]
    assert found["deno"]["verdict"] == "ok" and found["deno"]["detail"].startswith("deno 2."), found["deno"]
    # No token yet: the one failure an owner who has not run setup meets on any box.
    assert found["token"]["verdict"] == "fail" and found["token"]["detail"] == "no bot token"
    assert "power" not in found  # a qemu "board" has no Raspberry Pi firmware: nothing said
    print(f"doctor: {doctor.seconds:.0f} s")

    demo = arm64.run(["timeout", "900", "musicbox", "demo"], 960)
    print(demo.stdout[-3000:])
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "That is musicbox." in demo.stdout
    print(f"demo again: {demo.seconds:.0f} s")
