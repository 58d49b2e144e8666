"""Hostile links that try to wear the box down, against the bot in its own process as systemd runs
it (the bench's rig): its memory stays small, and another server's /play is not held up."""

from __future__ import annotations

import asyncio
import contextlib
import time

import psutil
import pytest

from musicbox.bench.rig import first_audio_s, rig, room
from musicbox.sim.discord import Interaction

# yt-dlp reads the pages in extraction worker processes: the bot's own RSS must not grow with them,
# and each worker's is bounded by the gate's cap on what a page may be (a worker is about 56 MiB
# before it reads anything).
BOT_CEILING_MB = 100.0
WORKER_CEILING_MB = 130.0
# The attacking server's lookups take its resolver in turn (a drip holds it 10 s before the gate
# cuts it); a /play queued behind them would wait for all. The figure on an idle box is in
# docs/benchmarks.md (under 1 s); this bound is loose because the test must pass on a loaded box.
NOT_HELD_UP_S = 10.0
TOO_LARGE = "the page is too large to read (over 2 MB)"
TOO_SLOW = "the site took too long to answer"


def said(interaction: Interaction) -> str:
    """What the member last read in answer (after the bot's "thinking…"), or "" while nothing."""
    return next((m.text() for m in reversed(interaction.messages) if m.text()), "")


def _rss_mb(process: psutil.Process) -> float:
    try:
        return float(process.memory_info().rss / 2**20)
    except psutil.Error:  # a worker that ended meanwhile
        return 0.0


def _workers(bot: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in bot.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "musicbox.sources.extraction" in child.cmdline():
                found.append(child)
    return found


async def attack_while_another_server_plays(
    *, answered_within_s: float
) -> tuple[list[str], float, list[float], list[float]]:
    """Twenty /play at once from one server, 200 MB pages (half saying so in Content-Length, half
    chunked) and pages sending a byte every 5 s, while another server plays a song; what the
    attackers read within `answered_within_s`, the other server's time to first audio, and the
    bot's and its busiest extraction worker's RSS (MiB) sampled all along."""
    async with rig() as box:
        attack, calm = await room(box.sim, "attack"), await room(box.sim, "calm")
        rss, workers_rss = [_rss_mb(box.bot)], [0.0]
        hostile = [
            box.media.huge_page_url(str(n), declared=n % 4 == 0) if n % 2 == 0 else box.media.drip_url(str(n))
            for n in range(20)
        ]
        sent = await asyncio.gather(
            *(attack.member.run_command("play", attack.text, query=q) for q in hostile)
        )
        await asyncio.sleep(1.0)  # the hostile lookups are under way
        asked_at = await calm.play(box.media.track_url(50, seconds=3))
        started_s = await first_audio_s(calm.heard, 50, asked_at)
        until = time.monotonic() + answered_within_s
        while time.monotonic() < until and not all(said(i) for i in sent):
            rss.append(_rss_mb(box.bot))
            workers_rss.append(max((_rss_mb(worker) for worker in _workers(box.bot)), default=0.0))
            await asyncio.sleep(0.05)
        return [said(i) for i in sent], started_s, rss, workers_rss


async def test_twenty_huge_pages_and_drips_at_once_cost_little_memory_and_hold_up_no_other_server() -> None:
    replies, started_s, rss, workers_rss = await attack_while_another_server_plays(answered_within_s=12)
    print(
        f"first audio {started_s * 1000:.0f} ms; bot RSS {rss[0]:.1f} -> peak {max(rss):.1f} MiB;"
        f" an extraction worker's peak {max(workers_rss):.1f} MiB"
    )
    assert started_s < NOT_HELD_UP_S
    assert max(rss) < BOT_CEILING_MB
    assert 0 < max(workers_rss) < WORKER_CEILING_MB  # found and measured, and bounded
    # Whatever the attackers were answered by then is one of the two sentences, nothing else.
    assert all(TOO_LARGE in said or TOO_SLOW in said for said in replies if said), replies


@pytest.mark.slow
async def test_every_one_of_twenty_hostile_links_is_answered_and_memory_stays_small() -> None:
    replies, started_s, rss, workers_rss = await attack_while_another_server_plays(answered_within_s=180)
    print(
        f"first audio {started_s * 1000:.0f} ms; bot RSS {rss[0]:.1f} -> peak {max(rss):.1f} MiB;"
        f" an extraction worker's peak {max(workers_rss):.1f} MiB"
    )
    assert started_s < NOT_HELD_UP_S
    assert max(rss) < BOT_CEILING_MB
    assert 0 < max(workers_rss) < WORKER_CEILING_MB  # found and measured, and bounded
    assert [TOO_LARGE in said for said in replies[0::2]] == [True] * 10, replies
    assert [TOO_SLOW in said for said in replies[1::2]] == [True] * 10, replies
