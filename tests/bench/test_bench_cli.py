"""`musicbox bench --quick --json` as the owner (or CI) runs it: every figure printed with its target;
a song from the cache starts faster than one transcoded on the spot; the cold start is broken into
the stages the bot passed, in the order it passed them, ending where the listener heard it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

# Stages every cold start of a direct link passes one after another (the transcode's own stages
# overlap the probe's, so they are checked against the player's only).
IN_ORDER = ("command", "probed", "resolved", "queued", "first packet sent", "first packet heard")


@pytest.mark.timeout(300)
def test_quick_bench_reports_each_figure_and_the_cache_pays_off() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "musicbox", "bench", "--quick", "--json", "cache", "cpu-ratio", "ttfa"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=280,
        check=False,
    )
    report = json.loads(ran.stdout)
    assert report["quick"] is True
    scenarios = {s["name"]: s for s in report["scenarios"]}
    assert [s["error"] for s in scenarios.values()] == [None, None, None], ran.stderr[-2000:]
    figures: dict[str, dict[str, Any]] = {f["name"]: f for s in scenarios.values() for f in s["figures"]}
    assert {
        "ttfa-cold p95",
        "ttfa-warm p95",
        "cached / transcoded",
        "filtered / transcoded",
        "zipf: s3-fifo over lru",
    } <= figures.keys()
    assert all(
        "target" in figures[n] and "passed" in figures[n] for n in ("ttfa-warm p95", "cached / transcoded")
    )
    assert figures["ttfa-warm p50"]["value"] < figures["ttfa-cold p50"]["value"]
    assert figures["cached / transcoded"]["value"] < 1.0
    assert figures["filtered / cached"]["value"] > 1.0  # a filter costs what passthrough saves
    reached = [figures[f"at {stage} p50"]["value"] for stage in IN_ORDER]
    assert reached == sorted(reached), reached
    assert figures["at first frame recognised p50"]["value"] == figures["ttfa-cold p50"]["value"]
    assert ran.returncode == (0 if report["passed"] else 1)
