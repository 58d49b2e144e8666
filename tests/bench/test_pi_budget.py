"""`musicbox bench pi`: the Zero 2 W's budget worked out from 7-Zip's rating, the tuner's choice for
the Zero set in the bot's config, and control groups that really hold a process to 512 MB-style
limits (a process over its group's memory is killed, and the scenario counts it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from musicbox.bench.cgroup import (
    ROOT,
    SHARES,
    NoControlGroups,
    ProcessTime,
    Throttling,
    budget,
    oom_kills,
    process_time,
    quota_us,
)
from musicbox.bench.pi import (
    BOT,
    CACHED,
    FFMPEG,
    PI_ZERO_2_W,
    TRANSCODING,
    WORKER,
    ThreePlaying,
    pi_config,
    pi_cores,
    seven_zip_rating,
    used_by_kind,
)
from musicbox.core.tuning import tune
from musicbox.sim.voice.listener import Hearing

# What p7zip 16.02 printed for `7z b -mmt1` on this box (x86_64, other work running: 25 % usage).
SEVEN_ZIP_REPORT = """
                       Compressing  |                  Decompressing
Dict     Speed Usage    R/U Rating  |      Speed Usage    R/U Rating
         KiB/s     %   MIPS   MIPS  |      KiB/s     %   MIPS   MIPS

22:        961    31   3035    936  |      13156    28   4050   1123
----------------------------------  | ------------------------------
Avr:       729    26   2952    757  |      11104    24   4026    964
Tot:              25   3489    860
"""

CAN_MAKE_GROUPS = os.geteuid() == 0 and (ROOT / "memory" / "memory.limit_in_bytes").exists()


def test_the_rating_is_7zips_per_core_figure_whatever_else_the_box_was_doing() -> None:
    assert seven_zip_rating(SEVEN_ZIP_REPORT) == 3489.0  # R/U, not the 860 the busy core managed
    with pytest.raises(ValueError):
        seven_zip_rating("7-Zip: out of memory\n")


@pytest.mark.parametrize(
    ("core_mips", "cores"),
    [(3009.0, 1.0), (3489.0, 3009 / 3489), (6018.0, 0.5), (835.0, 3009 / 835)],
)
def test_the_zeros_four_cores_are_worth_their_7zip_total_in_this_boxs_cores(
    core_mips: float, cores: float
) -> None:
    assert pi_cores(core_mips) == pytest.approx(cores)


def test_the_quota_is_a_share_of_a_short_period_and_never_below_the_kernels_floor() -> None:
    assert quota_us(0.86, period_us=10_000) == 8600
    assert quota_us(2.0, period_us=10_000) == 20_000
    assert quota_us(0.01, period_us=10_000) == 1000
    with pytest.raises(ValueError):
        quota_us(0.0)


def test_oom_kills_are_read_from_the_groups_oom_control() -> None:
    assert oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n") == 2
    assert oom_kills("oom_kill_disable 0\nunder_oom 0\n") == 0  # a kernel before 4.13 does not count


def test_the_bot_runs_with_what_the_tuner_chose_for_a_zero_not_for_this_box() -> None:
    zero = tune(PI_ZERO_2_W)
    config = pi_config(zero)
    assert config == {
        "resolver": {"workers": zero.resolver_workers},
        "cache": {"max_transcodes": zero.max_transcodes, "prefetch_depth": zero.prefetch_depth},
        "limits": {"max_guilds": zero.max_guilds, "max_filtered": zero.max_filtered},
    }
    assert (zero.resolver_workers, zero.prefetch_depth) == (1, 1)  # 512 MB: one at a time


def test_the_windows_cpu_is_what_each_kind_of_process_used_in_it() -> None:
    bot, ffmpeg, worker, gone = 100, 101, 102, 103
    before = {
        bot: ProcessTime(bot, "python3", 10.0, 2.0),
        ffmpeg: ProcessTime(ffmpeg, "ffmpeg", 1.0, 0.5),
        gone: ProcessTime(gone, "ffmpeg", 4.0, 0.0),  # ended in the window: what it did is not seen
    }
    after = {
        bot: ProcessTime(bot, "python3", 13.0, 2.5),
        ffmpeg: ProcessTime(ffmpeg, "ffmpeg", 1.5, 1.0),
        worker: ProcessTime(worker, "python3", 0.75, 0.25),  # started in the window: all of it
        104: ProcessTime(104, "ffmpeg", 0.5, 0.0),
    }
    used = used_by_kind(before, after, bot_pid=bot)
    assert {kind: (t.cpu_s, t.waited_s) for kind, t in used.items()} == {
        BOT: (3.0, 0.5),
        FFMPEG: (1.0, 0.5),
        WORKER: (0.75, 0.25),
    }


def test_late_packets_are_counted_by_kind_of_guild_and_together() -> None:
    three = ThreePlaying(
        peak_mb=200.0,
        peak_mb_by_kind={},
        heard={CACHED: Hearing(3000, 30, 3000), TRANSCODING: Hearing(1500, 0, 1000)},
        used={},
        throttled=Throttling(0, 0),
        worst_slice_late=0.0,
    )
    assert three.late_share(CACHED) == 1.0
    assert three.late_share(TRANSCODING) == 0.0
    assert three.late_share() == 30 / 4000 * 100


def test_a_processs_cpu_and_waits_are_the_schedulers_own_figures() -> None:
    sum(range(2_000_000))  # some CPU of this process's own
    mine = process_time(Path(f"/proc/{os.getpid()}"))
    assert mine.pid == os.getpid()
    assert mine.name == Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert mine.cpu_s > 0.01
    assert mine.waited_s >= 0


@pytest.mark.skipif(not CAN_MAKE_GROUPS, reason="needs root and cgroup v1 controllers (CI has both)")
def test_a_process_over_the_groups_memory_is_killed_and_counted() -> None:
    name = f"musicbox-test-{os.getpid()}"
    with budget(name, memory_bytes=64 * 2**20, cores=0.5) as group:
        hungry = subprocess.run(
            [sys.executable, "-c", "b = bytearray(256 * 2**20); b[::4096] = b'x' * len(b[::4096])"],
            preexec_fn=group.join,
            check=False,
        )
        assert hungry.returncode == -9  # SIGKILL from the group's OOM killer
        assert group.oom_kills() == 1
        assert group.peak_bytes() <= 64 * 2**20
        calm = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=group.join, check=False)
        assert calm.returncode == 0
        # The quota's CPU is the group's even when the rest of the box is busy (see cgroup.SHARES).
        assert int((ROOT / "cpu" / name / "cpu.shares").read_text()) == SHARES
        with subprocess.Popen(
            [sys.executable, "-c", "input()"], stdin=subprocess.PIPE, preexec_fn=group.join
        ) as idle:
            assert idle.pid in group.processes()
            idle.communicate(b"\n")
    assert not (ROOT / "memory" / name).exists() and not (ROOT / "cpu" / name).exists()


def test_without_root_the_budget_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    said = "run it with sudo" if (ROOT / "memory" / "memory.limit_in_bytes").exists() else "no cgroup v1"
    with pytest.raises(NoControlGroups, match=said), budget("musicbox-never", memory_bytes=2**30, cores=1):
        pass


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not CAN_MAKE_GROUPS, reason="needs root and cgroup v1 controllers (CI has both)")
def test_the_quick_pi_bench_reports_every_figure() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "musicbox", "bench", "--quick", "--json", "pi"],
        capture_output=True,
        text=True,
        timeout=880,
        check=False,
    )
    report = json.loads(ran.stdout)
    (scenario,) = report["scenarios"]
    assert scenario["error"] is None, ran.stderr[-2000:]
    figures = {f["name"]: f for f in scenario["figures"]}
    assert figures["processes OOM-killed"]["value"] == 0
    assert 0 < figures["CPU budget"]["value"] < 4
    assert figures["RSS after ready"]["value"] < figures["RSS, three guilds playing (peak)"]["value"]
    assert figures["memory charged (peak)"]["value"] <= 512
    assert {"pi-ttfa-cold p95", "pi-ttfa-warm p95", "packets over 60 ms late"} <= figures.keys()
