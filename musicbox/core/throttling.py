"""What a Raspberry Pi's firmware says about its power and heat: the bits of `get_throttled`, as
`vcgencmd get_throttled` prints them (`throttled=0x50005`) and the firmware's sysfs file holds them
(`50005`, hex without 0x). Pure; musicbox/service/throttling.py reads them off the board.

The bits, from the Raspberry Pi documentation of `vcgencmd get_throttled`: the low ones are what
holds now, the same conditions 16 bits up are what has happened since boot."""

from __future__ import annotations

import string
from dataclasses import dataclass

UNDER_VOLTAGE = "under-voltage"
FREQUENCY_CAPPED = "arm frequency capped"
THROTTLED = "throttled"
SOFT_TEMPERATURE_LIMIT = "soft temperature limit"
# bit now, bit since boot, condition
BITS = (
    (0, 16, UNDER_VOLTAGE),
    (1, 17, FREQUENCY_CAPPED),
    (2, 18, THROTTLED),
    (3, 19, SOFT_TEMPERATURE_LIMIT),
)


@dataclass(frozen=True, slots=True)
class Throttling:
    raw: int
    now: tuple[str, ...]  # conditions in force as it was read
    since_boot: tuple[str, ...]  # conditions that have happened since boot (those in force among them)

    @property
    def troubled(self) -> bool:
        return bool(self.now or self.since_boot)

    def as_json(self) -> dict[str, object]:
        return {
            "get_throttled": f"0x{self.raw:x}",
            "now": list(self.now),
            "since_boot": list(self.since_boot),
        }


def decode(raw: int) -> Throttling:
    now = tuple(name for bit, _, name in BITS if raw >> bit & 1)
    # A condition in force has happened, whatever its sticky bit says (the firmware sets both).
    since_boot = tuple(name for bit, sticky, name in BITS if raw >> sticky & 1 or raw >> bit & 1)
    return Throttling(raw, now, since_boot)


def from_vcgencmd(output: str) -> int | None:
    """`throttled=0x50005` → 0x50005; None for anything else (an error message, an old firmware's)."""
    name, separator, value = output.strip().partition("=")
    if not separator or name != "throttled":
        return None
    return _hex(value.removeprefix("0x"))


def from_sysfs(text: str) -> int | None:
    """The firmware's sysfs file: hex digits without 0x (the kernel prints it with "%x")."""
    return _hex(text.strip())


def _hex(digits: str) -> int | None:
    # int() alone would also take "+5", "5_0" and " 5": the firmware writes none of those.
    if not 0 < len(digits) <= 8 or any(digit not in string.hexdigits for digit in digits):
        return None
    return int(digits, 16)
