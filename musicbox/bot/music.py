"""The music commands. Each one acknowledges before anything that can wait: checks that need only the
client's cache run first and answer immediately; anything slower runs after a defer and edits it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from musicbox.bot import text
from musicbox.bot.replies import send_error
from musicbox.bot.sources import QueryFailed, UpstreamFault
from musicbox.bot.views import QueuePager, SearchPicker, now_controls
from musicbox.core.limits import admit, playlist_over_limit
from musicbox.core.permissions import Action, MemberStanding, may
from musicbox.core.queue import LoopMode, QueuedTrack
from musicbox.core.track import Track
from musicbox.playback.session import CalledOffBy, GuildSession, JoinCancelled, SessionCapReached
from musicbox.store.settings import GuildSettings

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot

log = logging.getLogger(__name__)

AUTOCOMPLETE_BUDGET_S = 2.0  # Discord drops autocomplete answers after 3 s
PROGRESS_EVERY_S = 1.0  # edits are rate limited per message; one a second reads as live
VoiceChannel = discord.VoiceChannel | discord.StageChannel
# The largest queue an owner's config allows (core/config_rules.py): no position in /queue is beyond it.
QueuePosition = app_commands.Range[int, 1, 10_000]
# "10:00:00", the longest time a track allowed anywhere can be sought to.
SeekPosition = app_commands.Range[str, 1, 8]


def parse_position(value: str) -> float | None:
    """ "90", "1:30" or "1:02:03" -> seconds; None when it is none of those."""
    parts = value.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return float(seconds)


class OptionOutOfRange(app_commands.CheckFailure):
    """An option value outside what the command declares; the message says what it accepts."""


def option_refusal(parameters: Sequence[app_commands.Parameter], given: app_commands.Namespace) -> str | None:
    """The sentence refusing the first value outside its parameter's declared bounds or choices."""
    for parameter in parameters:
        name = parameter.display_name
        if name not in given or given[name] is None:
            continue
        value = given[name]
        choices = [choice.value for choice in parameter.choices]
        if choices and value not in choices:
            return text.not_a_choice(name, [str(choice) for choice in choices])
        low, high = parameter.min_value, parameter.max_value
        measured = len(value) if isinstance(value, str) else value
        if isinstance(measured, int | float) and not _within(measured, low, high):
            return text.out_of_range(name, low, high, length=isinstance(value, str))
    return None


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


# discord.py's voice resume and its player wait out the same timeout: they give up within this.
LOST_VOICE_SETTLE_S = 1.5
# At stop the HTTP session closes soon after: a /play cut off gets this long to say so.
CUT_OFF_ANSWER_S = 2.0


class MusicCog(commands.Cog):
    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot
        self._in_flight: Counter[int] = Counter()  # /play commands under way, per guild

    # ---- what every command checks, from the client's cache only (no awaits) ----

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Discord's client keeps members within each option's declared bounds; a crafted interaction
        is not held to them, so every command checks them again before it runs."""
        command = interaction.command
        if isinstance(command, app_commands.Command):
            refusal = option_refusal(command.parameters, interaction.namespace)
            if refusal is not None:
                raise OptionOutOfRange(refusal)
        return True

    def _settings(self, guild_id: int) -> GuildSettings:
        return self.bot.settings.cached(guild_id) or GuildSettings.defaults(self.bot.config.playback)

    def _member_channel(self, interaction: discord.Interaction) -> VoiceChannel | None:
        user = interaction.user
        if not isinstance(user, discord.Member) or user.voice is None:
            return None
        return user.voice.channel

    def _play_refusal(self, interaction: discord.Interaction) -> str | None:
        guild = interaction.guild
        if guild is None:
            return text.NOT_IN_GUILD
        channel = self._member_channel(interaction)
        if channel is None:
            return text.NOT_IN_VOICE
        session = self.bot.sessions.get(guild.id)
        if session is not None:
            bot_channel = session.voice.channel
            if bot_channel is not None and bot_channel.id != channel.id and session.queue.current is not None:
                return text.NOT_WITH_BOT
            return None
        rights = channel.permissions_for(guild.me)
        if not (rights.connect and rights.speak):
            return text.bot_lacks_permission(channel.name)
        if not self.bot.sessions.has_room():
            return text.TOO_MANY_GUILDS
        return None

    def _control(
        self, interaction: discord.Interaction, action: Action
    ) -> tuple[GuildSession | None, str | None]:
        """The session a control command acts on, or the sentence that says why it may not."""
        guild = interaction.guild
        if guild is None or not isinstance(interaction.user, discord.Member):
            return None, text.NOT_IN_GUILD
        session = self.bot.sessions.get(guild.id)
        if session is None:
            return None, text.NOTHING_PLAYING
        bot_channel = session.voice.channel
        member_channel = self._member_channel(interaction)
        if bot_channel is None or member_channel is None or member_channel.id != bot_channel.id:
            return None, text.NOT_WITH_BOT
        settings = self._settings(guild.id)
        if not may(action, self._standing(interaction.user, bot_channel), dj_role=settings.dj_role):
            return None, text.not_allowed(settings.dj_role)
        return session, None

    @staticmethod
    def _standing(member: discord.Member, bot_channel: VoiceChannel | None) -> MemberStanding:
        listeners = [m for m in bot_channel.members if not m.bot] if bot_channel else []
        rights = member.guild_permissions
        return MemberStanding(
            role_names={role.name for role in member.roles},
            is_admin=rights.administrator or rights.manage_guild,
            alone_with_bot=[m.id for m in listeners] == [member.id],
        )

    # ---- /play and /search ----

    @app_commands.command(description="Play a song or playlist: a link, or words to search for.")
    @app_commands.describe(query="A link (video, playlist, media file) or search words")
    async def play(self, interaction: discord.Interaction, query: str) -> None:
        refusal = self._play_refusal(interaction)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        channel = self._member_channel(interaction)
        assert channel is not None and interaction.guild is not None  # checked by _play_refusal
        guild_id = interaction.guild.id
        self._in_flight[guild_id] += 1
        try:
            await self._resolve_and_enqueue(interaction, channel, query)
        except asyncio.CancelledError:
            if self.bot.stopping:  # cut off at stop (see RepliesInFlight): HTTP still works meanwhile
                await _answer_cut_off(interaction, "stopping", channel)
            raise
        finally:
            self._in_flight[guild_id] -= 1
            if not self._in_flight[guild_id]:
                del self._in_flight[guild_id]

    async def _resolve_and_enqueue(
        self, interaction: discord.Interaction, channel: VoiceChannel, query: str
    ) -> None:
        assert interaction.guild is not None
        guild_id = interaction.guild.id
        settings = await asyncio.to_thread(self.bot.settings.get, guild_id)
        progress = _ProgressEditor(interaction)
        # Joining voice and resolving overlap: the member hears the first song sooner.
        joining = asyncio.get_running_loop().create_task(
            self._join(channel, interaction), name=f"join-{guild_id}"
        )
        stream = aiter(self.bot.sources.batches(query, progress=progress.update))
        try:
            none: Sequence[Track] = []
            tracks = await anext(stream, none)
        except QueryFailed as failure:
            await asyncio.gather(joining, return_exceptions=True)
            await self._release_if_unused(guild_id)
            await send_error(interaction, _could_not_play(query, failure))
            return
        except BaseException:
            joining.cancel()
            await asyncio.gather(joining, return_exceptions=True)
            raise
        try:
            session = await joining
            if session.closed:  # a concurrent failed /play released it meanwhile
                session = await self._join(channel, interaction)
        except SessionCapReached:
            await send_error(interaction, text.TOO_MANY_GUILDS)
            return
        except JoinCancelled as called_off:
            await _answer_cut_off(interaction, called_off.by, channel)
            return
        except (discord.ClientException, TimeoutError):
            log.warning("guild %s: voice connect failed", guild_id, exc_info=True)
            await send_error(interaction, text.voice_connect_failed(channel.name))
            return
        session.text_channel_id = interaction.channel_id
        message = await self._enqueue(interaction, session, tracks, settings, query, announced=progress.total)
        if message is None:
            return
        rest = await self._enqueue_rest(interaction, session, stream, tracks, settings, query)
        await interaction.edit_original_response(content=rest or message)

    async def _enqueue_rest(
        self,
        interaction: discord.Interaction,
        session: GuildSession,
        stream: AsyncIterator[Sequence[Track]],
        first: Sequence[Track],
        settings: GuildSettings,
        query: str,
    ) -> str | None:
        """Queue what is still being read (a long Spotify playlist, page by page) while the first song
        plays; what to tell the member in all, or None when everything came in the first batch."""
        received = list(first)
        try:
            async for batch in stream:
                received += batch
                self._admit_into(interaction, session, batch, settings)
        except QueryFailed as failure:
            log.warning("guild %s: reading the rest of %r stopped: %s", session.guild_id, query, failure)
        if len(received) == len(first):
            return None
        held = session.queue.ids()
        accepted = sum(1 for track in received if track.id in held)
        return text.queued_many(accepted, len(received) - accepted)

    def _admit_into(
        self,
        interaction: discord.Interaction,
        session: GuildSession,
        tracks: Sequence[Track],
        settings: GuildSettings,
    ) -> None:
        admission = admit(tracks, held=session.queue.ids(), queued=len(session.queue), limits=settings.limits)
        for track in admission.accepted:
            session.queue.add(QueuedTrack(track, requester_id=interaction.user.id))
        session.enqueued()

    async def _join(self, channel: VoiceChannel, interaction: discord.Interaction) -> GuildSession:
        async def told_to_wait(seconds: float) -> None:
            await interaction.edit_original_response(content=text.join_paced(channel.name, seconds))

        session = await self.bot.join(channel, on_wait=told_to_wait)
        if session.voice.channel is not None and session.voice.channel.id != channel.id:
            await session.voice.move_to(channel)  # idle elsewhere: follow the member who asked
        return session

    async def _release_if_unused(self, guild_id: int) -> None:
        """Leave again after a /play that queued nothing, unless another /play of the guild is under way."""
        session = self.bot.sessions.get(guild_id)
        idle = session is not None and session.queue.current is None and len(session.queue) == 0
        if session is not None and idle and self._in_flight[guild_id] <= 1:
            await session.aclose()

    async def _enqueue(
        self,
        interaction: discord.Interaction,
        session: GuildSession,
        tracks: Sequence[Track],
        settings: GuildSettings,
        query: str,
        *,
        announced: int = 0,
    ) -> str | None:
        """Queue `tracks` (the first batch) and return what to tell the member, or say what is wrong
        and return None. `announced`: how many tracks the source said are coming in all."""
        assert interaction.guild is not None
        limits = settings.limits
        if not tracks:
            await self._release_if_unused(interaction.guild.id)
            await send_error(interaction, text.no_results(query))
            return None
        count = max(len(tracks), announced)
        if playlist_over_limit(count, limits):
            await self._release_if_unused(interaction.guild.id)
            await send_error(
                interaction, text.PLAYLIST_TOO_LONG.format(count=count, limit=limits.max_playlist)
            )
            return None
        admission = admit(tracks, held=session.queue.ids(), queued=len(session.queue), limits=limits)
        if not admission.accepted:
            reason = admission.first_refusal
            assert reason is not None
            track = admission.refused[0][0]
            limit = (
                str(limits.max_queue) if reason.value == "queue_full" else text.duration(limits.max_track_s)
            )
            await self._release_if_unused(interaction.guild.id)
            await send_error(interaction, text.refusal(reason, track, limit=limit))
            return None
        starts_now = session.queue.current is None and len(session.queue) == 0
        position = 0
        for track in admission.accepted:
            position = session.queue.add(QueuedTrack(track, requester_id=interaction.user.id))
        session.enqueued()
        if len(tracks) > 1:
            return text.queued_many(len(admission.accepted), len(admission.refused))
        if starts_now:
            return text.playing_now(admission.accepted[0])
        return text.queued_one(admission.accepted[0], position)

    @play.autocomplete("query")
    async def play_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        words = current.strip()
        if len(words) < 3 or words.startswith(("http://", "https://")):
            return []
        try:
            async with asyncio.timeout(AUTOCOMPLETE_BUDGET_S):
                found = await self.bot.sources.search(words, limit=5)
        except (TimeoutError, QueryFailed):
            return []
        return [app_commands.Choice(name=text.choice_label(t), value=t.page_url[:100]) for t in found]

    @app_commands.command(description="Search and pick one of five results.")
    @app_commands.describe(query="Words to search for")
    async def search(self, interaction: discord.Interaction, query: str) -> None:
        refusal = self._play_refusal(interaction)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            found = list(await self.bot.sources.search(query, limit=5))[:5]
        except QueryFailed as failure:
            await send_error(interaction, _could_not_play(query, failure))
            return
        if not found:
            await send_error(interaction, text.no_results(query))
            return
        picker = SearchPicker(found, self._picked)
        await interaction.edit_original_response(content=text.search_results(query, found), view=picker)

    async def _picked(self, interaction: discord.Interaction, track: Track) -> None:
        refusal = self._play_refusal(interaction)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        channel = self._member_channel(interaction)
        assert channel is not None and interaction.guild is not None
        settings = await asyncio.to_thread(self.bot.settings.get, interaction.guild.id)
        try:
            session = await self._join(channel, interaction)
        except SessionCapReached:
            await send_error(interaction, text.TOO_MANY_GUILDS)
            return
        except JoinCancelled as called_off:
            await _answer_cut_off(interaction, called_off.by, channel)
            return
        except (discord.ClientException, TimeoutError):
            await send_error(interaction, text.voice_connect_failed(channel.name))
            return
        message = await self._enqueue(interaction, session, [track], settings, track.title)
        if message is not None:
            await interaction.edit_original_response(content=message)

    # ---- looking at the queue ----

    @app_commands.command(name="queue", description="Show the queue, ten tracks a page.")
    async def show_queue(self, interaction: discord.Interaction) -> None:
        session = self.bot.sessions.get(interaction.guild.id) if interaction.guild else None
        if session is None or (session.queue.current is None and len(session.queue) == 0):
            await interaction.response.send_message(text.QUEUE_EMPTY, ephemeral=True)
            return

        guild_id = session.guild_id

        def render(page: int) -> str:
            # By guild id, not the session: the pager lives for minutes in discord.py's view store
            # and must not keep a session (its voice client, its queue) alive after a /leave.
            now = self.bot.sessions.get(guild_id)
            if now is None:
                return text.QUEUE_EMPTY
            return text.queue_page(now.queue.current, now.queue.page(page), now.queue.loop)

        page_count = session.queue.page(0).page_count
        if page_count == 1:
            await interaction.response.send_message(render(0))
            return
        await interaction.response.send_message(render(0), view=QueuePager(render, page_count))

    @app_commands.command(description="Show what is playing, with pause, skip and loop buttons.")
    async def now(self, interaction: discord.Interaction) -> None:
        session = self.bot.sessions.get(interaction.guild.id) if interaction.guild else None
        current = session.queue.current if session else None
        if session is None or current is None:
            await interaction.response.send_message(text.NOTHING_PLAYING, ephemeral=True)
            return
        message = text.now_playing(current, session.position_s, session.paused, session.queue.loop)
        await interaction.response.send_message(message, view=now_controls())

    async def now_button(self, interaction: discord.Interaction, control: str) -> None:
        if control == "skip":
            await self._skip(interaction)
        elif control == "loop":
            session, refusal = self._control(interaction, Action.LOOP)
            if session is None:
                await interaction.response.send_message(refusal, ephemeral=True)
                return
            modes = list(LoopMode)
            session.queue.loop = modes[(modes.index(session.queue.loop) + 1) % len(modes)]
            await interaction.response.send_message(text.LOOP_SET.format(mode=session.queue.loop.value))
        else:
            session, refusal = self._control(interaction, Action.PAUSE)
            if session is None:
                await interaction.response.send_message(refusal, ephemeral=True)
                return
            if session.paused:
                session.resume()
                await interaction.response.send_message(text.RESUMED)
            else:
                session.pause()
                await interaction.response.send_message(text.PAUSED)

    # ---- controls: all in-memory, so they answer immediately ----

    @app_commands.command(description="Skip the current track.")
    async def skip(self, interaction: discord.Interaction) -> None:
        await self._skip(interaction)

    async def _skip(self, interaction: discord.Interaction) -> None:
        session, refusal = self._control(interaction, Action.SKIP)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        current = session.queue.current
        if current is None:
            await interaction.response.send_message(text.NOTHING_PLAYING, ephemeral=True)
            return
        session.skip()
        await interaction.response.send_message(text.skipped(current.track))

    @app_commands.command(description="Pause playback.")
    async def pause(self, interaction: discord.Interaction) -> None:
        session, refusal = self._control(interaction, Action.PAUSE)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        if session.queue.current is None:
            await interaction.response.send_message(text.NOTHING_PLAYING, ephemeral=True)
        elif session.paused:
            await interaction.response.send_message(text.ALREADY_PAUSED, ephemeral=True)
        else:
            session.pause()
            await interaction.response.send_message(text.PAUSED)

    @app_commands.command(description="Resume playback.")
    async def resume(self, interaction: discord.Interaction) -> None:
        session, refusal = self._control(interaction, Action.PAUSE)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        if not session.paused:
            await interaction.response.send_message(text.NOT_PAUSED, ephemeral=True)
            return
        session.resume()
        await interaction.response.send_message(text.RESUMED)

    @app_commands.command(description="Stop playback and clear the queue.")
    async def stop(self, interaction: discord.Interaction) -> None:
        session, refusal = self._control(interaction, Action.STOP)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        session.stop()
        await interaction.response.send_message(text.STOPPED)

    @app_commands.command(description="Leave the voice channel and forget the queue.")
    async def leave(self, interaction: discord.Interaction) -> None:
        session, refusal = self._control(interaction, Action.STOP)
        if session is None and refusal == text.NOTHING_PLAYING:
            refusal, private = self._cancel_join(interaction)
            await interaction.response.send_message(refusal, ephemeral=private)
            return
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        await session.aclose()
        await interaction.edit_original_response(content=text.LEFT)

    def _cancel_join(self, interaction: discord.Interaction) -> tuple[str, bool]:
        """/leave with no session: call off the join a /play waits for (its turn in the gateway
        budget), if the member may. What to answer, and whether privately."""
        assert interaction.guild is not None and isinstance(interaction.user, discord.Member)
        channel = self.bot.joining(interaction.guild.id)
        if channel is None:
            return text.NOTHING_PLAYING, True
        member_channel = self._member_channel(interaction)
        if member_channel is None or member_channel.id != channel.id:
            return text.NOT_WITH_BOT, True
        settings = self._settings(interaction.guild.id)
        if not may(Action.STOP, self._standing(interaction.user, channel), dj_role=settings.dj_role):
            return text.not_allowed(settings.dj_role), True
        self.bot.call_off_join(interaction.guild.id, "leave")
        return text.join_cancelled(channel.name), False

    @app_commands.command(description="Remove a track from the queue.")
    @app_commands.describe(position="Its position in /queue")
    async def remove(self, interaction: discord.Interaction, position: QueuePosition) -> None:
        session, refusal = self._control(interaction, Action.REMOVE)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        if position > len(session.queue):
            message = text.POSITION_OUT_OF_RANGE.format(position=position, count=len(session.queue))
            await interaction.response.send_message(message, ephemeral=True)
            return
        removed = session.queue.remove(position - 1)
        await interaction.response.send_message(text.removed(removed.track))

    @app_commands.command(description="Move a track to another position in the queue.")
    @app_commands.describe(source="Its position now", destination="Where it should go")
    async def move(
        self,
        interaction: discord.Interaction,
        source: QueuePosition,
        destination: QueuePosition,
    ) -> None:
        session, refusal = self._control(interaction, Action.MOVE)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        count = len(session.queue)
        if source > count or destination > count:
            bad = source if source > count else destination
            message = text.POSITION_OUT_OF_RANGE.format(position=bad, count=count)
            await interaction.response.send_message(message, ephemeral=True)
            return
        moved = session.queue.move(source - 1, destination - 1)
        message = text.moved(moved.track, destination)
        await interaction.response.send_message(message)

    @app_commands.command(description="Shuffle the upcoming tracks.")
    async def shuffle(self, interaction: discord.Interaction) -> None:
        session, refusal = self._control(interaction, Action.SHUFFLE)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        if len(session.queue) == 0:
            await interaction.response.send_message(text.QUEUE_EMPTY, ephemeral=True)
            return
        session.queue.shuffle()
        await interaction.response.send_message(text.SHUFFLED.format(count=len(session.queue)))

    @app_commands.command(description="Repeat nothing, the current track, or the whole queue.")
    async def loop(self, interaction: discord.Interaction, mode: Literal["off", "track", "queue"]) -> None:
        session, refusal = self._control(interaction, Action.LOOP)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        session.queue.loop = LoopMode(mode)
        await interaction.response.send_message(text.LOOP_SET.format(mode=mode))

    @app_commands.command(description="Jump to a time in the current track.")
    @app_commands.describe(position="Seconds, or m:ss")
    async def seek(self, interaction: discord.Interaction, position: SeekPosition) -> None:
        session, refusal = self._control(interaction, Action.SEEK)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        current = session.queue.current
        seconds = parse_position(position)
        if current is None:
            await interaction.response.send_message(text.NOTHING_PLAYING, ephemeral=True)
        elif seconds is None:
            await interaction.response.send_message(text.SEEK_FORMAT, ephemeral=True)
        elif current.track.duration_s is None:
            await interaction.response.send_message(text.SEEK_UNKNOWN_LENGTH, ephemeral=True)
        elif seconds >= current.track.duration_s:
            message = text.SEEK_PAST_END.format(length=text.duration(current.track.duration_s))
            await interaction.response.send_message(message, ephemeral=True)
        else:
            session.seek(seconds)
            await interaction.response.send_message(text.SOUGHT.format(position=text.duration(seconds)))

    @app_commands.command(description="Set the playback volume.")
    @app_commands.describe(percent="0 to 200")
    async def volume(
        self, interaction: discord.Interaction, percent: app_commands.Range[int, 0, 200]
    ) -> None:
        session, refusal = self._control(interaction, Action.VOLUME)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        session.set_volume(percent)
        await interaction.response.send_message(text.VOLUME_SET.format(volume=percent))

    @app_commands.command(description="Clear the upcoming tracks (the current one keeps playing).")
    async def clear(self, interaction: discord.Interaction) -> None:
        session, refusal = self._control(interaction, Action.CLEAR)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        await interaction.response.send_message(text.CLEARED.format(count=session.queue.clear()))

    # ---- settings: a SQLite write, so defer first ----

    @app_commands.command(description="Show or change this server's music settings.")
    @app_commands.describe(
        dj_role="Only this role may skip, stop, clear, remove, move and set volume",
        no_dj_role="Let everyone control playback again",
        default_volume="Volume new sessions start at, 0 to 200",
        max_queue="Most tracks the queue holds, 1 to 500",
        max_playlist="Most tracks one playlist may add, 1 to 1000",
        max_track_minutes="Longest track allowed, in minutes",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        dj_role: discord.Role | None = None,
        no_dj_role: bool = False,
        default_volume: app_commands.Range[int, 0, 200] | None = None,
        max_queue: app_commands.Range[int, 1, 500] | None = None,
        max_playlist: app_commands.Range[int, 1, 1000] | None = None,
        max_track_minutes: app_commands.Range[int, 1, 600] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = interaction.guild
        if guild is None or not isinstance(interaction.user, discord.Member):
            await interaction.edit_original_response(content=text.NOT_IN_GUILD)
            return
        current = await asyncio.to_thread(self.bot.settings.get, guild.id)
        changing = any(
            v is not None for v in (dj_role, default_volume, max_queue, max_playlist, max_track_minutes)
        )
        if not (changing or no_dj_role):
            await interaction.edit_original_response(content=_describe(text.SETTINGS_SHOWN, current))
            return
        standing = self._standing(interaction.user, None)
        if not may(Action.SETTINGS, standing, dj_role=current.dj_role):
            await interaction.edit_original_response(content=text.SETTINGS_NOT_ALLOWED)
            return
        updated = current.changed(
            dj_role="" if no_dj_role else (dj_role.name if dj_role else None),
            default_volume=default_volume,
            max_queue=max_queue,
            max_playlist=max_playlist,
            max_track_s=max_track_minutes * 60 if max_track_minutes else None,
        )
        await asyncio.to_thread(self.bot.settings.put, guild.id, updated)
        await interaction.edit_original_response(content=_describe(text.SETTINGS_SAVED, updated))

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        if self.bot.user is None or member.id != self.bot.user.id or after.channel is not None:
            return
        session = self.bot.sessions.get(member.guild.id)
        if session is None or session.closed:
            return
        # The bot's voice state also goes to "no channel" when discord.py reconnects by itself (it
        # leaves, then joins again, keeping its voice client) and when it gives a connection up that
        # it could not resume (its player gives the song up at the same moment and the session
        # connects afresh). Give those a moment to show before taking this for a moderator.
        stopped = session.snapshot()  # before the player takes the song cut off for one that ended
        await asyncio.sleep(LOST_VOICE_SETTLE_S)
        reconnecting = member.guild.voice_client is session.voice or session.recovering_voice
        if session.closed or session.voice.is_connected() or reconnecting:
            return
        if before.channel is not None and member.guild.get_channel(before.channel.id) is None:
            # Nobody asked for the music to stop: the queue waits for the next /play elsewhere.
            entries, playback = stopped
            log.info("guild %s: voice channel deleted; keeping %d tracks", member.guild.id, len(entries))
            await session.aclose()
            await asyncio.to_thread(self.bot.queues.save, member.guild.id, entries, playback)
            self.bot.announce(session, text.voice_channel_deleted(before.channel.name, len(entries)))
            return
        # Disconnected by a moderator: release everything it held.
        await session.aclose()


def _describe(template: str, settings: GuildSettings) -> str:
    return text.settings(
        template,
        dj_role=settings.dj_role,
        volume=settings.default_volume,
        max_queue=settings.max_queue,
        max_playlist=settings.max_playlist,
        max_track_s=settings.max_track_s,
    )


class _ProgressEditor:
    """Edits the deferred reply with "Resolving n/total…" at most once a second."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self._interaction = interaction
        self._last = 0.0
        self.total = 0  # how many tracks the source last said are coming in all

    async def update(self, done: int, total: int) -> None:
        self.total = total
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_S or done >= total:
            return
        self._last = now
        try:
            await self._interaction.edit_original_response(content=text.resolving(done, total))
        except discord.HTTPException:
            log.debug("progress edit failed", exc_info=True)


async def _answer_cut_off(
    interaction: discord.Interaction, by: CalledOffBy, channel: VoiceChannel
) -> None:
    """A /play (or a search pick) cut off before it queued anything: a /leave, the bot removed from
    the server or stopping. Its member reads why instead of "thinking…" for good."""
    if by == "leave":
        await send_error(interaction, text.join_cancelled_for_player(channel.name))
        return
    # Discord keeps an interaction's token for 15 minutes, also for a server that removed the bot.
    try:
        async with asyncio.timeout(CUT_OFF_ANSWER_S):
            await interaction.edit_original_response(content=text.PLAY_CUT_OFF[by])
    except (discord.HTTPException, TimeoutError):
        log.info("could not tell a member their /play was cut off (%s)", by, exc_info=True)


def _could_not_play(query: str, failure: QueryFailed) -> str:
    return text.could_not_play(query, failure.reason, link_at_fault=failure.fault is UpstreamFault.NONE)
