"""What members read, through discord.py's real interaction code (see recording_discord.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from musicbox.bot import text
from tests.stories.recording_discord import (
    ALICE,
    BOB,
    CAROL,
    CONNECT,
    DAVE,
    GUILD_ID,
    SPEAK,
    RecordingDiscord,
    TextWorld,
    start_world,
    track,
    voice_state,
)


@pytest.fixture
async def text_world(tmp_path: Path) -> AsyncIterator[TextWorld]:
    discord_fake = RecordingDiscord()
    await discord_fake.start()
    world = await start_world(discord_fake, tmp_path)
    yield world
    if not world.bot.is_closed():
        await world.bot.close()
    await discord_fake.aclose()


async def test_commands_are_synced_onstart_world(text_world: TextWorld) -> None:
    assert {c["name"] for c in text_world.discord.synced} >= {"play", "skip", "queue", "settings", "loop"}


async def test_play_without_voice_is_answered_at_once_and_only_to_the_member(text_world: TextWorld) -> None:
    assert await text_world.run(BOB, "play", query="anything") == (text.NOT_IN_VOICE, True)


async def test_controls_on_an_idle_guild_say_what_to_do(text_world: TextWorld) -> None:
    assert await text_world.run(ALICE, "queue") == (text.QUEUE_EMPTY, True)
    for command in ("skip", "pause", "resume", "stop", "clear", "now"):
        assert await text_world.run(ALICE, command) == (text.NOTHING_PLAYING, True), command


async def test_settings_are_for_managers_and_survive_a_restart(text_world: TextWorld, tmp_path: Path) -> None:
    assert await text_world.run(BOB, "settings", max_queue=20) == (text.SETTINGS_NOT_ALLOWED, True)
    said, private = await text_world.run(CAROL, "settings", max_queue=20)
    assert said.startswith("Settings saved") and "queue limit 20" in said and private
    await text_world.bot.close()
    restarted = await start_world(text_world.discord, tmp_path)
    said, _ = await restarted.run(BOB, "settings")
    assert "queue limit 20" in said
    await restarted.bot.close()


async def test_play_answers_publicly_with_what_plays_and_where_it_queued(text_world: TextWorld) -> None:
    text_world.seat_bot()
    assert await text_world.run(ALICE, "play", query="song-a") == (text.playing_now(track("song-a")), False)
    assert await text_world.run(ALICE, "play", query="song-b") == (text.queued_one(track("song-b"), 1), False)


async def test_the_same_song_twice_is_refused_only_to_the_member(text_world: TextWorld) -> None:
    text_world.seat_bot()
    await text_world.run(ALICE, "play", query="song-a")
    said = await text_world.run(ALICE, "play", query="song-a")
    assert said == ("“song-a” is already in the queue; add a different song.", True)
    assert text_world.sent("delete"), "the public 'thinking' placeholder must go"


async def test_a_bad_link_is_a_one_sentence_private_error(text_world: TextWorld) -> None:
    text_world.seat_bot()
    said = await text_world.run(ALICE, "play", query="bad")
    assert said == (text.RESOLVE_FAILED.format(query="bad", reason="it is not a media link"), True)


async def test_a_playlist_reports_progress_then_what_it_queued(text_world: TextWorld) -> None:
    text_world.seat_bot()
    assert await text_world.run(ALICE, "play", query="list:3") == (text.queued_many(3, 0), False)
    assert any(edit.get("content", "").startswith("Resolving") for edit in text_world.sent("edit"))


async def test_a_playlist_over_the_limit_is_refused(tmp_path: Path) -> None:
    fake = RecordingDiscord()
    await fake.start()
    world = await start_world(fake, tmp_path, max_playlist=5)
    world.seat_bot()
    assert await world.run(ALICE, "play", query="list:6") == (
        text.PLAYLIST_TOO_LONG.format(count=6, limit=5),
        True,
    )
    await world.bot.close()
    await fake.aclose()


async def test_only_djs_skip_while_others_listen_but_a_lone_listener_may(tmp_path: Path) -> None:
    fake = RecordingDiscord()
    await fake.start()
    world = await start_world(fake, tmp_path, dj_role="DJ")
    world.seat_bot()
    await world.run(ALICE, "play", query="song-a")
    world.joins_voice(BOB)
    assert await world.run(BOB, "skip") == (text.NOT_ALLOWED.format(role="DJ"), True)
    world.joins_voice(DAVE)
    said, private = await world.run(DAVE, "skip")
    assert said.startswith("Skipped") and not private
    await world.run(ALICE, "play", query="song-b")
    world.bot._connection.parse_voice_state_update(voice_state(BOB, None))
    world.bot._connection.parse_voice_state_update(voice_state(DAVE, None))
    said, _ = await world.run(ALICE, "skip")
    assert said.startswith("Skipped")
    await world.bot.close()
    await fake.aclose()


async def test_seek_past_the_end_is_refused_and_within_it_jumps(text_world: TextWorld) -> None:
    voice = text_world.seat_bot()
    await text_world.run(ALICE, "play", query="song-a")
    said = await text_world.run(ALICE, "seek", position="10:00")
    assert said == (text.SEEK_PAST_END.format(length="2:00"), True)
    assert await text_world.run(ALICE, "seek", position="1:30") == (
        text.SOUGHT.format(position="1:30"),
        False,
    )
    for _ in range(100):
        if len(voice.sources) == 2:
            break
        await asyncio.sleep(0.01)
    assert voice.sources[-1].start_s == 90


async def test_queue_edits_remove_move_shuffle_loop_clear(text_world: TextWorld) -> None:
    text_world.seat_bot()
    await text_world.run(ALICE, "play", query="list:14")  # one plays, 13 wait
    shown, _ = await text_world.run(ALICE, "queue")
    assert "Page 1/2" in shown and "13 queued" in shown
    assert await text_world.run(ALICE, "remove", position=20) == (
        text.POSITION_OUT_OF_RANGE.format(position=20, count=13),
        True,
    )
    said, _ = await text_world.run(ALICE, "remove", position=1)
    assert said == text.REMOVED.format(title=text.track_line(track("list:14-1")))
    said, _ = await text_world.run(ALICE, "move", source=3, destination=1)
    assert said == text.MOVED.format(title=text.track_line(track("list:14-4")), position=1)
    assert await text_world.run(ALICE, "shuffle") == (text.SHUFFLED.format(count=12), False)
    assert await text_world.run(ALICE, "loop", mode="queue") == (text.LOOP_SET.format(mode="queue"), False)
    assert await text_world.run(ALICE, "clear") == (text.CLEARED.format(count=12), False)
    assert len(text_world.session().queue) == 0 and text_world.session().queue.current is not None


async def test_pause_resume_and_volume(text_world: TextWorld) -> None:
    text_world.seat_bot()
    await text_world.run(ALICE, "play", query="song-a")
    for _ in range(100):
        if text_world.session().voice.is_playing():
            break
        await asyncio.sleep(0.01)
    assert await text_world.run(ALICE, "pause") == (text.PAUSED, False)
    assert await text_world.run(ALICE, "pause") == (text.ALREADY_PAUSED, True)
    assert await text_world.run(ALICE, "resume") == (text.RESUMED, False)
    assert await text_world.run(ALICE, "volume", percent=40) == (text.VOLUME_SET.format(volume=40), False)
    assert text_world.session().volume == 40


async def test_leave_releases_everything_the_guild_held(text_world: TextWorld) -> None:
    voice = text_world.seat_bot()
    await text_world.run(ALICE, "play", query="list:3")
    held = text_world.session().tasks
    assert await text_world.run(ALICE, "leave") == (text.LEFT, False)
    assert text_world.bot.sessions.get(GUILD_ID) is None
    assert held and all(task.done() for task in held)
    assert voice.disconnected


def last_message(world: TextWorld) -> int:
    return max(i for reply in world.discord.replies.values() for i in reply.message_ids)


async def test_search_offers_five_and_a_pick_plays(text_world: TextWorld) -> None:
    text_world.seat_bot()
    said, private = await text_world.run(ALICE, "search", query="lofi")
    assert said == text.search_results("lofi", [track(f"lofi-{n}") for n in range(5)]) and not private
    picked = await text_world.press(ALICE, last_message(text_world), "search:2")
    assert picked == (text.playing_now(track("lofi-1")), False)


async def test_now_shows_the_song_and_its_skip_button_skips(text_world: TextWorld) -> None:
    text_world.seat_bot()
    await text_world.run(ALICE, "play", query="song-a")
    await text_world.run(ALICE, "play", query="song-b")
    said, _ = await text_world.run(ALICE, "now")
    assert said.startswith("Playing **song-a**") and "loop off" in said
    pressed = await text_world.press(ALICE, last_message(text_world), "now:skip")
    assert pressed == (text.SKIPPED.format(title=text.track_line(track("song-a"))), False)


async def test_queue_pages_turn_with_the_next_button(text_world: TextWorld) -> None:
    text_world.seat_bot()
    await text_world.run(ALICE, "play", query="list:14")
    shown, _ = await text_world.run(ALICE, "queue")
    assert "Page 1/2" in shown
    turned, _ = await text_world.press(ALICE, last_message(text_world), "queue:next")
    assert "Page 2/2" in turned and "11. " in turned


async def test_a_bot_that_may_not_connect_says_so_and_who_can_fix_it(tmp_path: Path) -> None:
    fake = RecordingDiscord()
    await fake.start()
    world = await start_world(fake, tmp_path, bot_denied=CONNECT | SPEAK)
    said = await world.run(ALICE, "play", query="song-a")
    assert said == (text.BOT_LACKS_PERMISSION.format(channel="Lounge"), True)
    await world.bot.close()
    await fake.aclose()


async def test_a_full_box_turns_a_new_guild_away_politely(tmp_path: Path) -> None:
    fake = RecordingDiscord()
    await fake.start()
    world = await start_world(fake, tmp_path, max_guilds=1)
    world.seat_bot(guild_id=4242)  # another guild holds the only slot
    assert await world.run(ALICE, "play", query="song-a") == (text.TOO_MANY_GUILDS, True)
    await world.bot.close()
    await fake.aclose()


async def test_a_queue_of_very_long_titles_still_fits_one_discord_message(text_world: TextWorld) -> None:
    text_world.seat_bot()
    for n in range(12):
        await text_world.run(ALICE, "play", query=f"{n:02}" + "x" * 400)
    shown, _ = await text_world.run(ALICE, "queue")
    assert "Page 1/2" in shown and len(shown) <= 2000


async def test_the_bot_stays_while_someone_listens_and_leaves_an_empty_channel(text_world: TextWorld) -> None:
    voice = text_world.seat_bot(idle_timeout_s=0.4)
    await text_world.run(ALICE, "play", query="song-a")  # plays for 30 s
    await asyncio.sleep(1.0)
    assert text_world.bot.sessions.get(GUILD_ID) is not None, "left while Alice was listening"
    text_world.bot._connection.parse_voice_state_update(voice_state(ALICE, None))
    for _ in range(100):
        if text_world.bot.sessions.get(GUILD_ID) is None:
            break
        await asyncio.sleep(0.02)
    assert text_world.bot.sessions.get(GUILD_ID) is None and voice.disconnected


async def test_typing_search_words_offers_results_and_links_offer_nothing(text_world: TextWorld) -> None:
    offered = await text_world.autocomplete(ALICE, "play", "query", "lofi beats")
    assert [c["value"] for c in offered] == [track(f"lofi beats-{n}").page_url for n in range(5)]
    assert offered[0]["name"] == "lofi beats-0 (2:00)"
    assert await text_world.autocomplete(ALICE, "play", "query", "https://media.test/a.ogg") == []
