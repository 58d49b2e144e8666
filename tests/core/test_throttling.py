"""A Raspberry Pi's `get_throttled` word decoded, and what `musicbox doctor` tells its owner about it:
the bits as the Raspberry Pi documentation gives them, both ways the firmware prints the word, and
silence on a box that reports nothing."""

from __future__ import annotations

import pytest

from musicbox.core import diagnosis
from musicbox.core.diagnosis import Verdict
from musicbox.core.throttling import decode, from_sysfs, from_vcgencmd

UV, CAPPED, THROTTLED, SOFT = "under-voltage", "arm frequency capped", "throttled", "soft temperature limit"


@pytest.mark.parametrize(
    ("raw", "now", "since_boot"),
    [
        (0x0, (), ()),
        (0x1, (UV,), (UV,)),
        (0x2, (CAPPED,), (CAPPED,)),
        (0x4, (THROTTLED,), (THROTTLED,)),
        (0x8, (SOFT,), (SOFT,)),
        (0x10000, (), (UV,)),
        (0x20000, (), (CAPPED,)),
        (0x40000, (), (THROTTLED,)),
        (0x80000, (), (SOFT,)),
        # The classic weak supply: under-voltage and throttling now and since boot.
        (0x50005, (UV, THROTTLED), (UV, THROTTLED)),
        # A hot Pi 4 that has cooled down: only the sticky bits are left.
        (0xE0000, (), (CAPPED, THROTTLED, SOFT)),
        (0xF000F, (UV, CAPPED, THROTTLED, SOFT), (UV, CAPPED, THROTTLED, SOFT)),
        # Bits the documentation does not name mean nothing here.
        (0xFFF0FFF0, (), ()),
    ],
)
def test_the_documented_bits_decode_to_conditions_now_and_since_boot(
    raw: int, now: tuple[str, ...], since_boot: tuple[str, ...]
) -> None:
    decoded = decode(raw)
    assert (decoded.raw, decoded.now, decoded.since_boot) == (raw, now, since_boot)


@pytest.mark.parametrize(
    ("output", "raw"),
    [
        ("throttled=0x0\n", 0),
        ("throttled=0x50005\n", 0x50005),
        ("throttled=0xe0000", 0xE0000),
        ("VCHI initialization failed\n", None),  # no access to /dev/vcio: not in the video group
        ('error=1 error_msg="Command not registered"\n', None),
        ("throttled=\n", None),
        ("throttled=0xzz\n", None),
        ("throttled=0x123456789\n", None),  # wider than the 32-bit word
        ("", None),
    ],
)
def test_vcgencmd_output_is_read_or_refused(output: str, raw: int | None) -> None:
    assert from_vcgencmd(output) == raw


@pytest.mark.parametrize(
    ("text", "raw"),
    [("0\n", 0), ("50005\n", 0x50005), ("e0000", 0xE0000), ("\n", None), ("+5\n", None), ("5_0\n", None)],
)
def test_the_firmware_sysfs_file_is_hex_without_0x(text: str, raw: int | None) -> None:
    assert from_sysfs(text) == raw


def test_a_box_that_reports_nothing_gets_no_line_at_all() -> None:
    assert diagnosis.board_power(None) is None


def test_a_healthy_pi_passes_and_shows_the_word() -> None:
    finding = diagnosis.board_power(decode(0))
    assert finding is not None
    assert finding.verdict is Verdict.OK
    assert finding.detail == "no under-voltage or throttling since boot (get_throttled 0x0)"


@pytest.mark.parametrize(
    ("raw", "detail", "supply", "cooling"),
    [
        (0x50005, "under-voltage now, throttled now (get_throttled 0x50005)", True, False),
        (0x10000, "under-voltage since boot (get_throttled 0x10000)", True, False),
        (0x80008, "soft temperature limit now (get_throttled 0x80008)", False, True),
        (
            0xE0000,
            "arm frequency capped since boot, throttled since boot, soft temperature limit since boot "
            "(get_throttled 0xe0000)",
            False,
            True,
        ),
        # Capped without a word on its cause: heat is the usual one when the supply was fine.
        (0x20002, "arm frequency capped now (get_throttled 0x20002)", False, True),
        (0x90009, "under-voltage now, soft temperature limit now (get_throttled 0x90009)", True, True),
    ],
)
def test_under_voltage_and_heat_warn_each_with_its_own_fix(
    raw: int, detail: str, supply: bool, cooling: bool
) -> None:
    finding = diagnosis.board_power(decode(raw))
    assert finding is not None
    assert finding.verdict is Verdict.WARN
    assert finding.detail == detail
    assert ("power supply" in finding.fix) is supply
    assert ("heatsink" in finding.fix) is cooling
    assert diagnosis.exit_code([finding]) == 0  # the bot plays on: a warning, not a failure
