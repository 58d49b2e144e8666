"""tune() on the boxes owners run musicbox on, and the edges where a naive formula breaks."""

from __future__ import annotations

import dataclasses

import pytest

from musicbox.core.tuning import Overrides, Probe, Tuning, tune

PI_ZERO_2_W = Probe(4, 512, 20_000, "Cortex-A53", "aarch64", "0xd03", "Raspberry Pi Zero 2 W Rev 1.0")
PI_4_2GB = Probe(4, 2048, 50_000, "Cortex-A72", "aarch64", "0xd08", "Raspberry Pi 4 Model B Rev 1.4")
PI_5_8GB = Probe(4, 8192, 100_000, "Cortex-A76", "aarch64", "0xd0b", "Raspberry Pi 5 Model B Rev 1.0")
X86_16GB = Probe(8, 16_384, 400_000, "Intel(R) Core(TM) i5-8500T", "x86_64")
ONE_CORE_256MB = Probe(1, 256, 8_000, "Cortex-A53", "aarch64", "0xd03")
FULL_DISK = Probe(4, 2048, 100, "Cortex-A72", "aarch64", "0xd08")


def figures(tuning: Tuning) -> tuple[int, int, int, int, int]:
    return (
        tuning.resolver_workers,
        tuning.max_transcodes,
        tuning.max_guilds,
        tuning.cache_budget_mb,
        tuning.prefetch_depth,
    )


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        # resolvers, transcodes, voice sessions, cache MB, prefetch
        (PI_ZERO_2_W, (1, 1, 11, 5_000, 1)),  # one loudness-normalising fill (60 MB) at a time
        (PI_4_2GB, (4, 4, 67, 12_500, 2)),
        (PI_5_8GB, (4, 4, 400, 20_000, 2)),
        (X86_16GB, (8, 8, 1000, 20_000, 2)),
        (ONE_CORE_256MB, (1, 1, 1, 2_000, 1)),
        (FULL_DISK, (4, 4, 67, 0, 0)),
    ],
    ids=["pi-zero-2w", "pi4-2gb", "pi5-8gb", "x86-16gb", "1-core-256mb", "full-disk"],
)
def test_each_box_gets_limits_its_ram_cpu_and_disk_can_carry(
    box: Probe, expected: tuple[int, int, int, int, int]
) -> None:
    assert figures(tune(box)) == expected


def test_the_owners_settings_win_over_the_tuner() -> None:
    chosen = tune(
        PI_ZERO_2_W,
        Overrides(
            resolver_workers=6,
            max_transcodes=2,
            max_guilds=50,
            cache_budget_mb=100,
            prefetch_depth=0,
            max_filtered=3,
        ),
    )
    assert figures(chosen) == (6, 2, 50, 100, 0) and chosen.max_filtered == 3
    assert all("(set in config)" in reason for reason in chosen.reasons)


def test_a_box_nobody_described_still_gets_one_of_everything() -> None:
    nothing = Probe(0, 0, 0, "", "riscv64")
    assert figures(tune(nothing)) == (1, 1, 1, 0, 0)


def test_more_ram_never_means_fewer_sessions() -> None:
    sessions = [
        tune(Probe(4, ram, 50_000, "", "aarch64", "0xd08")).max_guilds for ram in range(256, 9000, 256)
    ]
    assert sessions == sorted(sessions)


@pytest.mark.parametrize(
    ("box", "filtered"),
    [
        (PI_ZERO_2_W, 2),  # RAM bounds it: 89 MB left after the resolver and one transcode
        (PI_4_2GB, 13),  # RAM again: 536 MB left, half of it at 20 MB a stream
        (PI_5_8GB, 64),  # CPU: 4 cores x 2 Pi 4 cores x 8
        (X86_16GB, 160),
        (ONE_CORE_256MB, 1),  # nothing left, but one server may still have its filter
    ],
    ids=["pi-zero-2w", "pi4-2gb", "pi5-8gb", "x86-16gb", "1-core-256mb"],
)
def test_filtered_streams_get_half_the_cpu_and_half_the_ram_transcodes_leave(
    box: Probe, filtered: int
) -> None:
    assert tune(box).max_filtered == filtered


def test_the_owner_may_turn_filters_off_for_the_box_or_allow_more() -> None:
    assert tune(PI_4_2GB, Overrides(max_filtered=0)).max_filtered == 0
    assert tune(PI_ZERO_2_W, Overrides(max_filtered=5)).max_filtered == 5
    assert "(set in config)" in tune(PI_ZERO_2_W, Overrides(max_filtered=5)).reasons[-1]


def test_voice_sessions_stay_within_the_open_files_and_tasks_the_process_may_have() -> None:
    """A container's default hard limit of 1,024 open files ran out at about 240 voice connections
    (four files each, and one for the song); past it a join fails halfway."""
    x86_4_cores = Probe(4, 16_384, 100_000, "x86", "x86_64")
    assert tune(x86_4_cores).max_guilds == 500
    container = dataclasses.replace(x86_4_cores, open_files_limit=1024)
    assert tune(container).max_guilds == (1024 - 256) // 5
    assert "153 by the process's limits (1024 open files)" in tune(container).reasons[2]
    few_tasks = dataclasses.replace(x86_4_cores, tasks_limit=512)  # two threads a session
    assert tune(few_tasks).max_guilds == (512 - 256) // 2
    # The unit's TasksMax and systemd's hard open-file limit leave the tuner's figure as it was.
    unit = dataclasses.replace(x86_4_cores, open_files_limit=524_288, tasks_limit=4096)
    assert tune(unit).max_guilds == 500
    assert tune(dataclasses.replace(x86_4_cores, open_files_limit=200)).max_guilds == 1  # never 0
