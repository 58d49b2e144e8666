"""The systemd units as systemd itself judges them: verify is clean and the service's exposure score
(`systemd-analyze security`) is at most 2.0."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
UNITS = ("musicbox.service", "musicbox-update.service", "musicbox-update.timer")


@pytest.fixture(autouse=True)
def systemd_analyze() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: tests/run.sh installs it (apt-get install systemd)")


@pytest.mark.parametrize("service", ["musicbox.service", "musicbox-update.service"])
def test_the_exposure_is_at_most_2(service: str) -> None:
    ran = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(CHECKOUT / "systemd" / service)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(rf"Overall exposure level for {re.escape(service)}: ([0-9.]+)", ran.stdout)
    assert found is not None, ran.stdout + ran.stderr
    print(f"\nsystemd-analyze security {service}: exposure {found[1]}")
    assert float(found[1]) <= 2.0


def test_the_units_verify_clean(tmp_path: Path) -> None:
    # verify insists ExecStart exists; point it at a stand-in executable at a path of our own.
    program = tmp_path / "opt/musicbox/venv/bin/musicbox"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    for unit in UNITS:
        text = (CHECKOUT / "systemd" / unit).read_text()
        (tmp_path / unit).write_text(text.replace("/opt/musicbox/venv/bin/musicbox", str(program)))
    ran = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit) for unit in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0 and ran.stderr.strip() == "", ran.stderr


def test_install_sh_is_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is missing: tests/run.sh installs it")
    ran = subprocess.run(["shellcheck", str(CHECKOUT / "install.sh")], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout
