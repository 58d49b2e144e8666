"""What loudnorm's closing report says about the source, and which lines of a fill's log are errors."""

from __future__ import annotations

import pytest

from musicbox.cache.loudness import errors_of, loudnorm_filter, measured_lufs

REPORT = """[Parsed_loudnorm_0 @ 0x5581] [info] {
	"input_i" : "-37.95",
	"input_tp" : "-18.00",
	"input_lra" : "0.00",
	"output_i" : "-14.02",
	"normalization_type" : "dynamic",
	"target_offset" : "0.02"
}
[info] size=      66kB time=00:00:04.00 bitrate= 135.8kbits/s speed=45.3x"""


@pytest.mark.parametrize(
    ("report", "lufs"),
    [
        (REPORT, -37.95),
        (REPORT.replace('"-37.95"', '"-inf"'), None),  # silence
        ('"input_i" : "-20.0"\n"input_i" : "-21.5"', -21.5),  # the last report counts
        ("[error] http://x: Connection refused", None),
        ('"input_i" : "loud"', None),
        ("", None),
    ],
)
def test_measured_lufs(report: str, lufs: float | None) -> None:
    assert measured_lufs(report) == lufs


def test_a_failed_fill_logs_its_errors_not_its_info() -> None:
    log = "[info] Input #0, ogg, from 'x':\n[error] No space left on device\n[info] size=1kB\n[fatal] bye"
    assert errors_of(log) == "[error] No space left on device\n[fatal] bye"


def test_the_filter_names_the_target() -> None:
    assert loudnorm_filter(-14).startswith("loudnorm=I=-14:TP=-1.5:LRA=11:")
