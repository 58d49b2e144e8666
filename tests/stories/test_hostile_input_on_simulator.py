"""Hostile and odd input, command by command: every one gets a short private answer, nothing is
queued that should not be, musicbox never fetches what it must not, and nothing raises."""

from __future__ import annotations

import logging

import pytest

from musicbox.sim.discord import Interaction
from tests.world.fixture import World
from tests.world.stage import reply_text, stage

LONG_WORDS = "la " * 1500  # 4,500 characters: under Discord's 6,000 for an option, over 2,000 for a reply
UNICODE_TRICKS = "\u202eevil\u202c \u200b\u200d 🎵 \ufeff Ω"


def assert_private_sentence(said: str, private: bool) -> None:
    assert private, said
    assert len(said) <= 2000 and "\n" not in said and "Traceback" not in said


async def answered(interaction: Interaction) -> tuple[str, bool]:
    said, private = await reply_text(interaction)
    assert_private_sentence(said, private)
    return said, private


async def test_hostile_play_queries_are_refused_in_one_private_sentence(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    home = stage(world.sim)
    media = world.media
    other_loopback = media.base_url.rsplit(":", 1)[0] + ":22/admin"
    cases = {
        LONG_WORDS: "longer than 500 characters",
        UNICODE_TRICKS: "I found nothing for",
        "file:///etc/passwd": "file:// links are not played",
        other_loopback: "",
        "http://169.254.169.254/latest/meta-data/": "",
        "http://[::1]:8080/": "",
        # Over the length limit (a 10-hour video, scaled down: the limit is set to 60 s here).
        media.track_url(1, seconds=120): "this server plays songs up to 1:00",
        media.track_url(2, fault="redirect_loop"): "redirects in a loop",
    }
    with caplog.at_level(logging.WARNING):
        async with world.bot(max_track_s=60):
            await home.alice.join_voice(home.voice)
            for query, expected in cases.items():
                said, _ = await answered(await home.alice.run_command("play", home.text, query=query))
                assert expected in said, (query[:80], said)
            queue, _ = await reply_text(await home.alice.run_command("queue", home.text))
            assert queue.startswith("Nothing is queued") or "Page" not in queue  # nothing hostile got in
    assert all(host not in " ".join(world.media.requests()) for host in (":22/", "169.254", "[::1]"))
    unhandled = [r for r in caplog.records if r.exc_info is not None and r.levelno >= logging.ERROR]
    assert unhandled == []


async def test_hostile_control_options_get_a_clear_answer(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    home = stage(world.sim)
    with caplog.at_level(logging.WARNING):
        async with world.bot():
            await home.alice.join_voice(home.voice)
            song = world.media.track_url(5, seconds=20)
            await (await home.alice.run_command("play", home.text, query=song)).reply(timeout=20)
            for position in ("99:99:99", "-5", "abc", "1e9"):
                await answered(await home.alice.run_command("seek", home.text, position=position))
            # Past /seek's declared 8 characters: only a modified client sends these.
            for position in (LONG_WORDS, UNICODE_TRICKS):
                await answered(await home.alice.run_crafted_command("seek", home.text, position=position))
            await answered(await home.alice.run_command("remove", home.text, position=10_000))
            await answered(await home.alice.run_command("move", home.text, source=500, destination=1))
            # Results are public, and the query shown in them is clipped to fit one message.
            results, _ = await reply_text(await home.alice.run_command("search", home.text, query=LONG_WORDS))
            assert len(results) <= 2000 and results.startswith("Results for “la la")
    unhandled = [r for r in caplog.records if r.exc_info is not None and r.levelno >= logging.ERROR]
    assert unhandled == []
