"""`musicbox demo`, as a newcomer runs it: no token, no network, and it shows musicbox working."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from rich.console import Console

from musicbox.sim.demo import (
    FIRST_SONG,
    PLAYLIST_FIRST,
    PLAYLIST_LENGTH,
    Line,
    conversation,
    discord_markdown,
    with_names,
)
from musicbox.sim.media import entry


def test_the_demo_runs_to_completion_and_the_channel_hears_the_scene() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "musicbox", "demo", "--json", "--song-seconds", "3"],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    outcome = json.loads(finished.stdout)
    assert outcome["succeeded"] and outcome["failed_interactions"] == 0 and outcome["violations"] == []
    playlist = [entry(PLAYLIST_FIRST + i).full_title for i in range(PLAYLIST_LENGTH)]
    assert outcome["heard"] == [entry(FIRST_SONG).full_title, *playlist]
    refused = [line["saw"] for line in outcome["lines"] if "file://" in line["typed"]]
    assert refused[0].startswith("Join a voice channel")
    assert "file:// links are not played" in refused[1] and not refused[1].endswith("…")
    assert all(line["ack_ms"] < 3000 for line in outcome["lines"])
    # Bob's /queue, while the first song plays: what Discord showed him, the playlist after it.
    [bobs_queue] = [
        line["saw"] for line in outcome["lines"] if line["typed"] == "/queue" and line["member"] == "bob"
    ]
    assert bobs_queue.startswith(f"Now: **{entry(FIRST_SONG).title}**")
    queued = [entry(PLAYLIST_FIRST + n).title for n in range(PLAYLIST_LENGTH)]
    assert all(f"{n}. **{title}**" in bobs_queue for n, title in enumerate(queued, start=1)), bobs_queue
    # Alice's /now names who asked for the song as Discord shows a mention: by name, not <@id>.
    [alices_now] = [line["saw"] for line in outcome["lines"] if line["typed"] == "/now"]
    assert alices_now.endswith("Requested by @alice"), alices_now
    assert not [line["saw"] for line in outcome["lines"] if "<@" in line["saw"]]


def test_the_demo_shows_a_mention_as_discord_does_by_name() -> None:
    names = {11: "alice", 12: "bob"}
    assert with_names("Requested by <@11>", names) == "Requested by @alice"
    assert with_names("<@!12> and <@11>", names) == "@bob and @alice"
    assert with_names("Requested by <@99>", names) == "Requested by @unknown-user"
    assert with_names("<@&11> is a role, <#11> a channel", names) == "<@&11> is a role, <#11> a channel"


def test_the_demo_shows_replies_as_discord_does_whole_and_in_bold() -> None:
    refusal = (
        "file:// links are not played: they would read files on the machine running the bot; "
        "paste a web link or search words instead."
    )
    lines = [
        Line(
            1.0,
            "alice",
            "/play query:Juno Park - Hollow Echo",
            r"Playing **Juno Park \- Hollow Echo**",
            False,
            40.0,
        ),
        Line(2.0, "carol", "/play query:file:///etc/passwd", refusal, True, 3.0),
    ]
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(conversation(lines))
    shown = console.export_text()
    assert "Playing Juno Park - Hollow Echo" in shown and "*" not in shown
    # Wrapped in its column, to its last word: nothing cut.
    assert "they would read files" in shown and "search words instead." in shown
    assert "…" not in shown
    bold = discord_markdown(r"Playing **Juno Park \- Hollow Echo** (0:05)")
    emboldened = "".join(bold.plain[span.start : span.end] for span in bold.spans if span.style == "bold")
    assert (bold.plain, emboldened) == ("Playing Juno Park - Hollow Echo (0:05)", "Juno Park - Hollow Echo")
