"""How a song reached its first packet, stage by stage: what `musicbox bench ttfa` breaks its cold
figure into.

A /play that starts a song at once carries a `StartTimeline` (a context variable, like the guild of
`log_context`); the code on its way (resolver, probe, transcode, player) marks the stages it passes.
Times are `time.monotonic()`, which on Linux is one clock for every process of the box, so the bench
can set them beside what its listener heard in another process. The bot keeps the last few and
answers them on the control socket (`starts`), and hands each start's time to its first packet to
the metrics (the web page's graph of time to first audio)."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

# In the order a cold start passes them; a stage that did not happen (no yt-dlp for a direct file,
# no transcode for a cached song) is absent.
STAGES = (
    "command",  # the bot has the member's /play
    "extracted",  # yt-dlp read the link
    "probing",  # a probe slot was free: ffprobe starts (before: waiting behind other songs' probes)
    "probed",  # the probe answered: length, tags, whether it is audio
    "spawned",  # the transcode's ffmpeg was started
    "resolved",  # the source answered with the tracks
    "joined",  # the voice connection is up
    "queued",  # the song is in the queue and the player woken
    "first page",  # the transcode's first Opus page is in the cache file
    "first packet sent",  # the voice player took the first packet (it is sent at once)
)
KEPT = 64
FIRST_AUDIO = "first packet sent"  # where a start ends, as far as the bot can see


@dataclass(slots=True)
class StartTimeline:
    guild_id: int
    marks: dict[str, float] = field(default_factory=dict)
    # Told the seconds from the command to the first packet, once (from the packet clock's thread
    # for a cached song: it must be thread-safe, as a Prometheus histogram is).
    on_first_audio: Callable[[float], None] | None = None

    def mark(self, stage: str) -> None:
        """The first time a stage is reached counts (a retry does not move it)."""
        if stage in self.marks:
            return
        self.marks[stage] = time.monotonic()
        if stage == FIRST_AUDIO and self.on_first_audio is not None and "command" in self.marks:
            self.on_first_audio(self.marks[stage] - self.marks["command"])


current: ContextVar[StartTimeline | None] = ContextVar("start_timeline", default=None)


def mark(stage: str) -> None:
    """Mark `stage` on the song being started in this task, if any."""
    timeline = current.get()
    if timeline is not None:
        timeline.mark(stage)


class StartTimes:
    """The last `KEPT` starts, oldest first."""

    def __init__(self, on_first_audio: Callable[[float], None] | None = None) -> None:
        self._recent: collections.deque[StartTimeline] = collections.deque(maxlen=KEPT)
        self._on_first_audio = on_first_audio

    def begin(self, guild_id: int) -> StartTimeline:
        timeline = StartTimeline(guild_id, on_first_audio=self._on_first_audio)
        timeline.mark("command")
        self._recent.append(timeline)
        current.set(timeline)
        return timeline

    def as_json(self) -> list[dict[str, object]]:
        return [{"guild_id": t.guild_id, "marks": dict(t.marks)} for t in self._recent]
