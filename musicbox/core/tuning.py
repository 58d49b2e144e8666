"""How hard this box can work: the hardware probe's figures in, the limits the bot runs with out.

Pure. The budgets below come from what one unit of work costs on the smallest supported box (a
Raspberry Pi Zero 2 W: four Cortex-A53 cores, 512 MB), measured or reasoned in docs/operations.md:

- the bot itself (Python, discord.py; yt-dlp is not imported in it) holds about 60 MB (55-58 MiB
  measured after ready and with a guild playing, session 7);
- a resolver is an extraction worker process: its interpreter and yt-dlp (about 56 MiB measured)
  plus a resolve's peak of about 120 MB with its Deno child solving YouTube's JavaScript. Workers
  retire when idle, so this is what a burst costs, not what the bot holds;
- a transcode is one ffmpeg filling the cache, most of a slow core while it runs ahead, and about
  60 MB of its own: loudness normalisation (loudnorm, on by default) holds 59 MB of anonymous memory
  in each fill, 100 MB RSS with the libraries all ffmpegs share (`bench pi` and smaps, session 8;
  25 MB was the figure without loudnorm). On the Zero that leaves room for one fill at a time;
- a voice session costs about 8 MB (buffers, its Opus reader) and 1 % of a Cortex-A72 core;
- a filtered stream (/filter) is one more ffmpeg decoding, filtering and encoding in real time, and
  the bot reading its pipe: about 24 ms of CPU per second of audio on an x86 core, 1.1-1.3 times a
  plain transcode (docs/benchmarks.md, `bench cpu-ratio`), so about 6 % of a Cortex-A72 core, and
  some 20 MB. Filtered streams get at most half of the CPU and half of the RAM the transcodes
  leave, so a box full of them still sends every other guild's music;
- the operating system and its page cache need a quarter of the RAM to stay responsive;
- a voice session holds about four open files (its UDP socket, its websocket, its reader's wake-up
  pair) and one for the song it reads, and two threads (discord.py's heartbeat and UDP reader), which
  count against the process's open-file limit and its cgroup's task limit (a container's
  `pids_limit`, a unit's `TasksMax`): past them a join fails halfway, so sessions stay within them.

Explicit configuration always wins over the figure tuned here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from musicbox.core.config import Config

BOT_BASE_MB = 60
RESOLVE_MB = 175
TRANSCODE_MB = 60
SESSION_MB = 8
FILTERED_MB = 20
OS_SHARE = 0.25

MAX_RESOLVERS = 8
UNLIMITED_SESSIONS = 1_000_000
# A cached stream is about 1 % of one Cortex-A72 core; half a core is kept for the event loop.
SESSIONS_PER_CORE = 50
# A filtered stream is about 6 % of a Cortex-A72 core: half a core's worth of them per Pi 4 core.
FILTERED_PER_CORE = 8
FILES_PER_SESSION = 5
THREADS_PER_SESSION = 2
# What the rest of the bot holds: its database, gateway, the workers' and every ffmpeg's pipes; the
# event loop's threads, the workers, the ffmpegs and their threads.
FILES_KEPT_BACK = 256
TASKS_KEPT_BACK = 256
CACHE_SHARE_OF_FREE_DISK = 0.25
CACHE_CEILING_MB = 20_000  # about 5,000 songs at 128 kb/s: far past any guild's rotation
CACHE_FLOOR_MB = 256  # below this the disk is too full to cache: stream everything instead

# How fast one core is next to a Pi 4's Cortex-A72, by the ARM "CPU part" in /proc/cpuinfo.
ARM_CORE_SPEED = {"0xd03": 0.4, "0xd04": 0.5, "0xd08": 1.0, "0xd0b": 2.0, "0xd05": 0.5, "0xd07": 1.3}
X86_CORE_SPEED = 2.5
UNKNOWN_CORE_SPEED = 0.4  # an ARM part we do not know: assume the slowest we support


@dataclass(frozen=True, slots=True)
class Probe:
    cores: int
    ram_mb: int
    free_disk_mb: int  # at the cache directory
    cpu_model: str
    machine: str  # platform.machine(): x86_64, aarch64, armv7l
    arm_part: str = ""  # "0xd08" (Cortex-A72), from /proc/cpuinfo; empty on x86
    board: str = ""  # "Raspberry Pi 4 Model B Rev 1.4", from the device tree; empty elsewhere
    open_files_limit: int = 0  # the hard RLIMIT_NOFILE (`musicbox run` raises the soft one to it); 0: none
    tasks_limit: int = 0  # the cgroup's pids.max (threads count); 0: none


@dataclass(frozen=True, slots=True)
class Overrides:
    """The owner's explicit settings; 0 means "let the tuner choose"."""

    resolver_workers: int = 0
    max_transcodes: int = 0
    max_guilds: int = 0
    cache_budget_mb: int = 0
    prefetch_depth: int = -1  # 0 is a real choice here (no prefetch), so "unset" is -1
    max_filtered: int = -1  # 0 is a real choice here too (no filters on this box)


@dataclass(frozen=True, slots=True)
class Tuning:
    resolver_workers: int
    max_transcodes: int
    max_guilds: int
    cache_budget_mb: int
    prefetch_depth: int
    max_filtered: int  # guilds hearing a filtered stream at once (/filter)
    reasons: tuple[str, ...]  # one line per figure, for `musicbox tune`


def core_speed(probe: Probe) -> float:
    if probe.machine in ("x86_64", "amd64", "i686"):
        return X86_CORE_SPEED
    return ARM_CORE_SPEED.get(probe.arm_part.lower(), UNKNOWN_CORE_SPEED)


def tune(probe: Probe, overrides: Overrides = Overrides()) -> Tuning:
    cores = max(1, probe.cores)
    spare_mb = max(0, int(probe.ram_mb * (1 - OS_SHARE)) - BOT_BASE_MB)
    speed = core_speed(probe)

    resolvers = _clamp(min(cores, spare_mb // (2 * RESOLVE_MB)), 1, MAX_RESOLVERS)
    after_resolvers_mb = max(0, spare_mb - resolvers * RESOLVE_MB)
    transcodes = _clamp(min(cores, after_resolvers_mb // (2 * TRANSCODE_MB)), 1, cores)
    after_transcodes_mb = max(0, after_resolvers_mb - transcodes * TRANSCODE_MB)
    by_cpu = int(cores * speed * SESSIONS_PER_CORE)
    by_ram = after_transcodes_mb // SESSION_MB
    by_limits = sessions_within_limits(probe)
    guilds = max(1, min(by_cpu, by_ram, by_limits))
    budget = _cache_budget(probe.free_disk_mb)
    prefetch = 0 if budget == 0 else (1 if probe.ram_mb < 1024 else 2)
    filtered_by_cpu = int(cores * speed * FILTERED_PER_CORE)
    filtered_by_ram = after_transcodes_mb // (2 * FILTERED_MB)
    filtered = max(1, min(filtered_by_cpu, filtered_by_ram))

    return Tuning(
        resolver_workers=overrides.resolver_workers or resolvers,
        max_transcodes=overrides.max_transcodes or transcodes,
        max_guilds=overrides.max_guilds or guilds,
        cache_budget_mb=overrides.cache_budget_mb or budget,
        prefetch_depth=prefetch if overrides.prefetch_depth < 0 else overrides.prefetch_depth,
        max_filtered=filtered if overrides.max_filtered < 0 else overrides.max_filtered,
        reasons=_reasons(
            probe,
            overrides,
            spare_mb,
            speed,
            (by_cpu, by_ram, by_limits),
            (filtered_by_cpu, filtered_by_ram),
        ),
    )


def sessions_within_limits(probe: Probe) -> int:
    """How many voice sessions the process's open-file and task limits leave room for (a large
    number when neither is set)."""
    room = [UNLIMITED_SESSIONS]
    if probe.open_files_limit:
        room.append((probe.open_files_limit - FILES_KEPT_BACK) // FILES_PER_SESSION)
    if probe.tasks_limit:
        room.append((probe.tasks_limit - TASKS_KEPT_BACK) // THREADS_PER_SESSION)
    return max(0, min(room))


def _cache_budget(free_disk_mb: int) -> int:
    budget = min(int(free_disk_mb * CACHE_SHARE_OF_FREE_DISK), CACHE_CEILING_MB)
    return budget if budget >= CACHE_FLOOR_MB else 0


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def _reasons(
    probe: Probe,
    overrides: Overrides,
    spare_mb: int,
    speed: float,
    sessions: tuple[int, int, int],
    filtered: tuple[int, int],
) -> tuple[str, ...]:
    by_cpu, by_ram, by_limits = sessions

    def source(value: int, unset: int = 0) -> str:
        return " (set in config)" if value != unset else ""

    return (
        f"resolver workers: one per core while each can have {RESOLVE_MB * 2} MB of the "
        f"{spare_mb} MB spare{source(overrides.resolver_workers)}",
        f"transcodes: one ffmpeg per core while RAM allows{source(overrides.max_transcodes)}",
        f"voice sessions: the lower of {by_cpu} by CPU ({probe.cores} cores x {speed:g} Pi 4 core "
        f"x {SESSIONS_PER_CORE}) and {by_ram} by RAM{_limits_reason(probe, by_limits)}"
        f"{source(overrides.max_guilds)}",
        f"cache: a quarter of the {probe.free_disk_mb} MB free, at most {CACHE_CEILING_MB} MB, "
        f"none under {CACHE_FLOOR_MB} MB{source(overrides.cache_budget_mb)}",
        f"prefetch: the next 2 songs, 1 under 1 GB of RAM, 0 without a cache"
        f"{source(overrides.prefetch_depth, -1)}",
        f"filtered streams: the lower of {filtered[0]} by CPU (half of it, {FILTERED_PER_CORE} a Pi 4 core)"
        f" and {filtered[1]} by RAM ({FILTERED_MB} MB each, half of what transcodes leave)"
        f"{source(overrides.max_filtered, -1)}",
    )


def _limits_reason(probe: Probe, by_limits: int) -> str:
    limits = [
        f"{limit} {name}"
        for limit, name in ((probe.open_files_limit, "open files"), (probe.tasks_limit, "tasks"))
        if limit
    ]
    return f", and {by_limits} by the process's limits ({', '.join(limits)})" if limits else ""


def overrides_from(config: Config) -> Overrides:
    return Overrides(
        resolver_workers=config.resolver.workers,
        max_transcodes=config.cache.max_transcodes,
        max_guilds=config.limits.max_guilds,
        cache_budget_mb=config.cache.budget_mb,
        prefetch_depth=config.cache.prefetch_depth,
        max_filtered=config.limits.max_filtered,
    )


def with_tuning(config: Config, tuning: Tuning) -> Config:
    """The config with every "let the tuner choose" value replaced by the tuned figure."""
    return dataclasses.replace(
        config,
        resolver=dataclasses.replace(config.resolver, workers=tuning.resolver_workers),
        limits=dataclasses.replace(
            config.limits, max_guilds=tuning.max_guilds, max_filtered=tuning.max_filtered
        ),
        cache=dataclasses.replace(
            config.cache,
            budget_mb=tuning.cache_budget_mb,
            max_transcodes=tuning.max_transcodes,
            prefetch_depth=tuning.prefetch_depth,
        ),
    )
