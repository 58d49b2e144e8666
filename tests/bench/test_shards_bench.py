"""`musicbox bench shards`: the same servers and load served by one process and by four. Its figures
are named for the fleet that made them, each process's memory counted and summed; the quick run
(slow: it starts five bot processes, one of them pacing four shards' IDENTIFYs 5 s apart) reports
them all for both fleets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from musicbox.bench.load import AckRun
from musicbox.bench.shards import FleetRun, fleet_figures

LOADED = AckRun(latencies=[float(n) for n in range(1, 101)], replied=[500.0] * 100, failed=0)


def figures_of(run: FleetRun) -> dict[str, Any]:
    return {figure.name: figure for figure in fleet_figures(run, "100 servers")}


def test_each_fleet_s_figures_carry_its_process_count_and_sum_its_processes() -> None:
    one = figures_of(FleetRun(1, LOADED, [200.0, 300.0], 0, 2.0, [64.0], [150.0], 3.0))
    four = figures_of(FleetRun(4, LOADED, [250.0, 400.0], 1, 3.0, [60.0, 61.0, 62.0, 66.0], [90.0] * 4, 5.0))
    assert one["ack p99, 1 process"].value == 99.0
    assert one["bot CPU per command, 1 process"].value == 20.0  # 2 s of CPU over 100 commands
    assert four["RSS after ready, largest process, 4 processes"].value == 66.0
    assert four["RSS after ready, all processes, 4 processes"].value == 249.0
    assert four["RSS under load, all processes, 4 processes"].value == 360.0
    assert four["ttfa p95 under load, 4 processes"].value == 400.0
    assert four["new songs unheard under load, 4 processes"].value == 1
    assert "box load 5.0" in four["ack p50, 4 processes"].note
    assert all(figure.passed is not False for figure in four.values())


def test_a_command_past_discord_s_3_s_fails_the_fleet_that_dropped_it() -> None:
    dropped = AckRun(latencies=LOADED.latencies, replied=LOADED.replied, failed=1)
    four = figures_of(FleetRun(4, dropped, [], 2, 3.0, [60.0] * 4, [90.0] * 4, 5.0))
    assert four["ack past 3 s, 4 processes"].passed is False
    assert four["new songs unheard under load, 4 processes"].value == 2
    assert "ttfa p95 under load, 4 processes" not in four  # none heard: no percentile of nothing


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quick_shards_bench_reports_both_fleets() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "musicbox", "bench", "--quick", "--json", "shards"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=580,
        check=False,
    )
    report = json.loads(ran.stdout)
    [scenario] = report["scenarios"]
    assert scenario["error"] is None, ran.stderr[-2000:]
    figures = {f["name"]: f for f in scenario["figures"]}
    for label in ("1 process", "4 processes"):
        assert figures[f"ack past 3 s, {label}"]["unit"] == "commands"
        assert figures[f"new songs unheard under load, {label}"]["unit"] == "songs"
    # Four interpreters hold more than one: what each process costs shows in the sum.
    assert (
        figures["RSS after ready, all processes, 4 processes"]["value"]
        > figures["RSS after ready, all processes, 1 process"]["value"]
    )
    assert ran.returncode == (0 if report["passed"] else 1)
