"""A song's start is handed to the graph of time to first audio once, when its first packet goes."""

from __future__ import annotations

from musicbox.start_times import FIRST_AUDIO, StartTimes


def test_each_start_reports_its_time_to_the_first_packet_once() -> None:
    heard: list[float] = []
    starts = StartTimes(on_first_audio=heard.append)
    timeline = starts.begin(guild_id=1)
    timeline.mark("queued")
    assert heard == []  # not audio yet
    timeline.mark(FIRST_AUDIO)
    timeline.mark(FIRST_AUDIO)  # a later packet of the same song is not another start
    assert len(heard) == 1 and heard[0] == timeline.marks[FIRST_AUDIO] - timeline.marks["command"] >= 0
