"""Titles are whatever an uploader typed: a title holding @everyone, a member's mention and markdown
shows as typed and pings nobody, and a 2,500-character title is clipped in every reply, refusals
included, so no member is left looking at "thinking…". The real bot, the simulator's Discord and
the yt-dlp source over the media world (an XSPF playlist carries the titles)."""

from __future__ import annotations

import asyncio

from musicbox.sim.discord import Interaction, SeenMessage
from tests.world.fixture import World
from tests.world.stage import reply_text, stage

LONG_TITLE = ("**Loud** @everyone __and__ long " * 90)[:2500]


def visible(content: str) -> str:
    """The text Discord shows for content whose markdown is escaped: backslashes before punctuation
    and the zero-width spaces that break mentions are not drawn."""
    shown = []
    escaped = False
    for char in content:
        if escaped or char != "\\":
            shown.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(shown).replace("\u200b", "")


async def no_placeholder_left(interaction: Interaction) -> None:
    """The public "thinking…" placeholder is gone once the member has their private answer."""
    async with asyncio.timeout(5):
        while any(m.loading for m in interaction.messages):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def everything_the_bot_sent(world: World) -> list[SeenMessage]:
    return [m for m in world.sim.messages.values() if m.author_id == world.sim.bot_user_id]


async def test_a_title_with_mentions_and_markdown_shows_as_typed_and_pings_nobody(world: World) -> None:
    home = stage(world.sim)
    title = f"@everyone **LOUD** <@{home.bob.id}> __under__ ||spoiler|| `code` @here"
    playlist = world.media.titled_playlist_url([title], seconds=30)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        playing = await (await home.alice.run_command("play", home.text, query=playlist)).reply(timeout=30)
        again, private = await reply_text(await home.alice.run_command("play", home.text, query=playlist))
        queue = await (await home.alice.run_command("queue", home.text)).reply(timeout=10)
        now = await (await home.alice.run_command("now", home.text)).reply(timeout=10)
        skipped = await (await home.alice.run_command("skip", home.text)).reply(timeout=10)
    assert private and visible(again) == f"“{title}” is already in the queue; add a different song."
    assert visible(playing.content) == f"Playing **{title}** (0:30)."  # bold is the bot's own
    for message in (playing, queue, now, skipped):
        assert title in visible(message.content), message.content
        # Nothing of the title is drawn as bold, underline, spoiler or code, nor as a mention.
        for raw in ("**LOUD**", "__under__", "||spoiler||", "`code`", f"<@{home.bob.id}>", "@everyone"):
            assert raw not in message.content, (raw, message.content)
    assert f"<@{home.alice.id}>" in now.content  # the requester is named, as a mention that pings nobody
    sent = everything_the_bot_sent(world)
    assert sent and all(m.pinged() == set() for m in sent), [(m.content, m.pinged()) for m in sent]
    assert all(m.allowed_mentions == {"parse": []} for m in sent if m.content)


async def test_a_2500_character_title_fits_every_reply_refusals_included(world: World) -> None:
    home = stage(world.sim)
    async with world.bot(max_track_s=60):
        await home.alice.join_voice(home.voice)
        # Over the length limit: the refusal names the song, clipped, and the placeholder goes.
        too_long = world.media.titled_playlist_url([LONG_TITLE], seconds=120)
        refused = await home.alice.run_command("play", home.text, query=too_long)
        said, private = await reply_text(refused)
        assert private and said.startswith("“\\*\\*Loud\\*\\* @\u200beveryone") and len(said) <= 2000
        assert said.endswith("…” is longer than the limit of 1:00; pick a shorter track.")
        await no_placeholder_left(refused)
        # Within it: it plays, and every reply that names it fits one message.
        songs = world.media.titled_playlist_url([LONG_TITLE, LONG_TITLE + "!"], seconds=30)
        queued = await (await home.alice.run_command("play", home.text, query=songs)).reply(timeout=30)
        assert queued.content == "Queued 2 tracks."
        again, private = await reply_text(await home.alice.run_command("play", home.text, query=songs))
        assert private and "already in the queue" in again and len(again) <= 2000
        replies = [
            await (await home.alice.run_command(command, home.text)).reply(timeout=10)
            for command in ("queue", "now", "skip")
        ]
    for message in replies:
        assert LONG_TITLE[:60] in visible(message.content) and len(message.content) <= 2000
    assert all(m.pinged() == set() for m in everything_the_bot_sent(world))
