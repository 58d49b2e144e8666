"""Loudness normalisation at cache time (EBU R128): the one transcode that fills the cache brings
every song to one integrated loudness, so a replay, sent packet by packet from the file, is already
even with the songs around it and costs nothing more.

ffmpeg's `loudnorm` filter in its one-pass (dynamic) form does it while the song is being written,
so the first play is normalised too, from the growing file: two-pass normalisation would need the
whole song before its first packet. It reports what it measured of the source when it finishes;
that figure is kept in the cache's index. Pure: text in, text out."""

from __future__ import annotations

import math
import re

# Headroom for Opus's own overshoot on decoding; the range is loudnorm's default.
TRUE_PEAK_DBTP = -1.5
LOUDNESS_RANGE_LU = 11
_INPUT_I = re.compile(r'"input_i"\s*:\s*"([^"]+)"')


def loudnorm_filter(target_lufs: int) -> str:
    return f"loudnorm=I={target_lufs}:TP={TRUE_PEAK_DBTP}:LRA={LOUDNESS_RANGE_LU}:print_format=json"


def measured_lufs(report: str) -> float | None:
    """The source's integrated loudness from loudnorm's closing report (None without one, or for
    silence, which it reports as -inf)."""
    found = _INPUT_I.findall(report)
    if not found:
        return None
    try:
        value = float(found[-1])
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def errors_of(report: str) -> str:
    """The error lines of an ffmpeg run told `-loglevel level+info` (what a failed fill logs)."""
    return "\n".join(line for line in report.splitlines() if "[error]" in line or "[fatal]" in line)
