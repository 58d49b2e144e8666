"""The cold start's stages as the bench reports them, and the bot's record of them: pure, no bot."""

from __future__ import annotations

import contextvars
import time

from musicbox import start_times
from musicbox.bench.playback import RECOGNISED, stage_figures
from musicbox.cache.ogg import whole_pages
from musicbox.start_times import KEPT, StartTimes


def test_each_stage_is_reported_at_p50_and_p95_in_the_order_a_start_passes_them() -> None:
    plays = [
        {"command": 0.001, "probed": 0.070, "first packet sent": 0.100, RECOGNISED: 0.105},
        {"command": 0.002, "probed": 0.090, "first packet sent": 0.120, RECOGNISED: 0.130},
        {"command": 0.001, "extracted": 0.300, "probed": 0.350, "first packet sent": 0.400, RECOGNISED: 0.41},
    ]
    figures = {f.name: f for f in stage_figures("ttfa-cold", plays)}
    assert list(figures) == [
        f"at {stage} {p}"
        for stage in ("command", "extracted", "probed", "first packet sent", RECOGNISED)
        for p in ("p50", "p95")
    ]
    assert figures["at probed p50"].value == 90.0 and figures["at probed p95"].value == 350.0
    # Only one play ran yt-dlp: the stage is taken over that play, and says so.
    assert figures["at extracted p50"].value == 300.0
    assert figures["at extracted p50"].note == "1 of 3 plays"


def test_a_start_keeps_the_first_time_of_each_stage_and_the_bot_keeps_only_the_last_starts() -> None:
    contextvars.copy_context().run(_starts_kept)  # the timeline set here must not outlive the test


def _starts_kept() -> None:
    starts = StartTimes()
    timeline = starts.begin(guild_id=7)
    assert start_times.current.get() is timeline
    start_times.mark("probed")
    first = timeline.marks["probed"]
    time.sleep(0.002)
    start_times.mark("probed")  # a retried probe does not move the stage
    assert timeline.marks["probed"] == first >= timeline.marks["command"]
    for guild in range(KEPT + 5):
        starts.begin(guild)
    kept = starts.as_json()
    assert len(kept) == KEPT and kept[-1]["guild_id"] == KEPT + 4


def test_whole_pages_counts_complete_pages_only() -> None:
    page = b"OggS" + bytes([0, 0]) + bytes(8) + bytes(4) + bytes(4) + bytes(4) + bytes([1, 3]) + b"abc"
    assert whole_pages(page * 3) == 3
    assert whole_pages(page * 3 + page[:10]) == 3
    assert whole_pages(b"not ogg at all, a shopping list") == 0
