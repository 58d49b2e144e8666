"""Queue operations from outside Discord (the REST API), held to exactly the rules of the slash
commands: the member must be in the server, in the bot's voice channel to control it, and allowed
by `core.permissions.may` with the server's DJ role. Each refusal is the sentence the slash command
would have answered (bot/text.py), with an HTTP status."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import discord

from musicbox.bot import text
from musicbox.bot.access import cached_settings, skip_or_vote, standing
from musicbox.bot.sources import QueryFailed, UpstreamFault
from musicbox.core.fleet import NO_ANSWER_SENTENCE, Answer, Forwarded, ForwardedAction, forward_to
from musicbox.core.limits import admit, playlist_over_limit
from musicbox.core.permissions import Action, may
from musicbox.core.queue import QueuedTrack
from musicbox.core.shards import ShardPlan
from musicbox.core.track import Track
from musicbox.playback.session import GuildSession, SessionCapReached

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot
    from musicbox.service.fleet import FleetLink

log = logging.getLogger(__name__)
NOT_A_MEMBER = "You are not a member of that server, or the bot is not in it."
STARTING = "The bot's process for this server is starting; try again in a minute."


class Refused(Exception):
    """What the member is told, and the HTTP status that goes with it."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


@dataclass(frozen=True, slots=True)
class Done:
    """What happened, in the sentence the slash command would have said in the channel."""

    message: str


def track_view(track: Track) -> dict[str, Any]:
    return {
        "title": track.title,
        "url": track.page_url,
        "duration_s": track.duration_s,
        "artist": track.artist,
    }


class Remote(Protocol):
    """What the web page and the API drive: RemoteControl on this process's own servers, FleetRemote
    on every server of a fleet."""

    async def guilds(self, user_id: int) -> list[dict[str, Any]]: ...
    async def queue(self, user_id: int, guild_id: int) -> dict[str, Any]: ...
    async def skip(self, user_id: int, guild_id: int) -> Done: ...
    async def pause(self, user_id: int, guild_id: int) -> Done: ...
    async def resume(self, user_id: int, guild_id: int) -> Done: ...
    async def remove(self, user_id: int, guild_id: int, position: int) -> Done: ...
    async def move(self, user_id: int, guild_id: int, source: int, destination: int) -> Done: ...
    async def volume(self, user_id: int, guild_id: int, percent: int) -> Done: ...
    async def play(self, user_id: int, guild_id: int, query: str) -> Done: ...


class RemoteControl:
    def __init__(self, bot: MusicBot) -> None:
        self._bot = bot

    @property
    def ready(self) -> bool:
        """The gateway has sent this process's servers: a server missing now is not the bot's."""
        return self._bot.is_ready()

    async def guilds(self, user_id: int) -> list[dict[str, Any]]:
        """The servers this member shares with the bot."""
        shared = []
        for guild in self._bot.guilds:
            if await self._find_member(guild, user_id) is not None:
                playing = self._bot.sessions.get(guild.id) is not None
                shared.append({"id": str(guild.id), "name": guild.name, "playing": playing})
        return shared

    async def queue(self, user_id: int, guild_id: int) -> dict[str, Any]:
        await self._member(user_id, guild_id)
        session = self._bot.sessions.get(guild_id)
        if session is None:
            return {"playing": None, "paused": False, "volume": None, "position_s": 0.0, "upcoming": []}
        current = session.queue.current
        return {
            "playing": None
            if current is None
            else {**track_view(current.track), "requester_id": str(current.requester_id)},
            "paused": session.paused,
            "volume": session.volume,
            "position_s": round(session.position_s, 1),
            "filter": session.playing_filter.label if session.playing_filter is not None else None,
            "loop": str(session.queue.loop),
            "channel": getattr(session.voice.channel, "name", None),
            "upcoming": [
                {"position": index, **track_view(entry.track), "requester_id": str(entry.requester_id)}
                for index, entry in enumerate(session.queue.upcoming, start=1)
            ],
        }

    async def skip(self, user_id: int, guild_id: int) -> Done:
        """/skip's rule: a member without the DJ role votes rather than being refused."""
        member, session = await self._listening(user_id, guild_id)
        if session.queue.current is None:
            raise Refused(409, text.NOTHING_PLAYING)
        return self._told(session, member, skip_or_vote(self._bot, session, member))

    async def pause(self, user_id: int, guild_id: int) -> Done:
        member, session = await self._control(user_id, guild_id, Action.PAUSE)
        if session.queue.current is None:
            raise Refused(409, text.NOTHING_PLAYING)
        if session.paused:
            raise Refused(409, text.ALREADY_PAUSED)
        session.pause()
        return self._told(session, member, text.PAUSED)

    async def resume(self, user_id: int, guild_id: int) -> Done:
        member, session = await self._control(user_id, guild_id, Action.PAUSE)
        if not session.paused:
            raise Refused(409, text.NOT_PAUSED)
        session.resume()
        return self._told(session, member, text.RESUMED)

    async def remove(self, user_id: int, guild_id: int, position: int) -> Done:
        member, session = await self._control(user_id, guild_id, Action.REMOVE)
        self._check_position(session, position)
        removed = session.queue.remove(position - 1)
        return self._told(session, member, text.removed(removed.track))

    async def move(self, user_id: int, guild_id: int, source: int, destination: int) -> Done:
        member, session = await self._control(user_id, guild_id, Action.MOVE)
        self._check_position(session, source)
        self._check_position(session, destination)
        moved = session.queue.move(source - 1, destination - 1)
        return self._told(session, member, text.moved(moved.track, destination))

    async def volume(self, user_id: int, guild_id: int, percent: int) -> Done:
        if not 0 <= percent <= 200:
            raise Refused(400, text.out_of_range("volume", 0, 200))
        member, session = await self._control(user_id, guild_id, Action.VOLUME)
        session.set_volume(percent)
        return self._told(session, member, text.VOLUME_SET.format(volume=percent))

    async def play(self, user_id: int, guild_id: int, query: str) -> Done:
        """/play: resolve, join the member's voice channel if the bot is not in one, queue."""
        if not query:
            raise Refused(400, "Give a link or search words to play.")
        member = await self._member(user_id, guild_id)
        channel = member.voice.channel if member.voice is not None else None
        if channel is None:
            raise Refused(409, text.NOT_IN_VOICE)
        allowed = cached_settings(self._bot, guild_id).voice_channel_id
        if allowed and channel.id != allowed:  # /settings keeps the bot to one voice channel
            raise Refused(403, text.ONLY_IN_VOICE.format(channel=allowed))
        session = self._bot.sessions.get(guild_id)
        if session is not None:
            bot_channel = session.voice.channel
            if bot_channel is not None and bot_channel.id != channel.id and session.queue.current is not None:
                raise Refused(403, text.NOT_WITH_BOT)
        else:
            rights = channel.permissions_for(member.guild.me)
            if not (rights.connect and rights.speak):
                raise Refused(409, text.bot_lacks_permission(channel.name))
            if not self._bot.sessions.has_room():
                raise Refused(503, text.TOO_MANY_GUILDS)
        limits = (await asyncio.to_thread(self._bot.settings.get, guild_id)).limits
        try:
            tracks = await self._bot.sources.resolve(query)
        except QueryFailed as failure:
            raise Refused(
                422,
                text.could_not_play(query, failure.reason, link_at_fault=failure.fault is UpstreamFault.NONE),
            ) from failure
        if not tracks:
            raise Refused(404, text.no_results(query))
        if playlist_over_limit(len(tracks), limits):
            raise Refused(422, text.PLAYLIST_TOO_LONG.format(count=len(tracks), limit=limits.max_playlist))
        try:
            session = await self._bot.join(channel)
        except SessionCapReached as full:
            raise Refused(503, text.TOO_MANY_GUILDS) from full
        except (discord.ClientException, TimeoutError) as failed:
            raise Refused(503, text.voice_connect_failed(channel.name)) from failed
        admission = admit(tracks, held=session.queue.ids(), queued=len(session.queue), limits=limits)
        if not admission.accepted:
            reason = admission.first_refusal
            assert reason is not None
            limit = (
                str(limits.max_queue) if reason.value == "queue_full" else text.duration(limits.max_track_s)
            )
            raise Refused(409, text.refusal(reason, admission.refused[0][0], limit=limit))
        starts_now = session.queue.current is None and len(session.queue) == 0
        position = 0
        for track in admission.accepted:
            position = session.queue.add(QueuedTrack(track, requester_id=user_id))
        session.enqueued()
        if len(tracks) > 1:
            return self._told(
                session, member, text.queued_many(len(admission.accepted), len(admission.refused))
            )
        if starts_now:
            return self._told(session, member, text.playing_now(admission.accepted[0]))
        return self._told(session, member, text.queued_one(admission.accepted[0], position))

    async def _member(self, user_id: int, guild_id: int) -> discord.Member:
        guild = self._bot.get_guild(guild_id)
        member = await self._find_member(guild, user_id) if guild is not None else None
        if member is None:  # another server's queue: no different from one that does not exist
            raise Refused(404, NOT_A_MEMBER)
        return member

    @staticmethod
    async def _find_member(guild: discord.Guild, user_id: int) -> discord.Member | None:
        # The bot asks for no members intent, so it knows only members in voice (voice states carry
        # them); anyone else is asked of Discord (Get Guild Member needs no privileged intent).
        member = guild.get_member(user_id)
        if member is not None:
            return member
        try:
            return await guild.fetch_member(user_id)
        except discord.NotFound:
            return None
        except discord.HTTPException as failed:
            raise Refused(503, text.GENERIC_ERROR) from failed

    async def _listening(self, user_id: int, guild_id: int) -> tuple[discord.Member, GuildSession]:
        """The member and the session they listen to, in the bot's voice channel."""
        member = await self._member(user_id, guild_id)
        session = self._bot.sessions.get(guild_id)
        if session is None:
            raise Refused(409, text.NOTHING_PLAYING)
        bot_channel = session.voice.channel
        member_channel = member.voice.channel if member.voice is not None else None
        if bot_channel is None or member_channel is None or member_channel.id != bot_channel.id:
            raise Refused(403, text.NOT_WITH_BOT)
        return member, session

    async def _control(
        self, user_id: int, guild_id: int, action: Action
    ) -> tuple[discord.Member, GuildSession]:
        member, session = await self._listening(user_id, guild_id)
        dj_role = cached_settings(self._bot, guild_id).dj_role
        if not may(action, standing(member, session.voice.channel), dj_role=dj_role):
            raise Refused(403, text.not_allowed(dj_role))
        return member, session

    def _told(self, session: GuildSession, member: discord.Member, said: str) -> Done:
        """What happened, also said in the server's music channel (where its last /play was), so
        those in Discord see a change made from outside it, as they see each other's commands."""
        channel = self._bot.get_channel(session.text_channel_id) if session.text_channel_id else None
        if isinstance(channel, discord.abc.Messageable):
            self._bot.replies.spawn(
                _say(channel, text.from_outside(member.display_name, said)), name=f"remote-{session.guild_id}"
            )
        return Done(said)

    @staticmethod
    def _check_position(session: GuildSession, position: int) -> None:
        if not 1 <= position <= len(session.queue):
            raise Refused(400, text.POSITION_OUT_OF_RANGE.format(position=position, count=len(session.queue)))


class FleetRemote:
    """The page's and API's controls for every server of a fleet (processes sharing one PostgreSQL):
    a server whose shard this process runs is acted on here; any other's action is forwarded to the
    process running its shard (service/fleet.py) and its answer, or refusal, comes back as if here."""

    def __init__(self, local: RemoteControl, plan: ShardPlan | None, link: FleetLink) -> None:
        self._local = local
        self._plan = plan
        self._link = link

    async def guilds(self, user_id: int) -> list[dict[str, Any]]:
        """The member's servers here and those every other online process answers for (a process
        down leaves its servers out until it is back)."""
        shared = await self._local.guilds(user_id)
        known = {guild["id"] for guild in shared}
        for answer in await self._link.ask_others(user_id):
            listed = answer.body.get("guilds") if answer.status == 200 and answer.body else None
            for guild in listed if isinstance(listed, list) else []:
                if _guild_entry(guild) and guild["id"] not in known:
                    known.add(guild["id"])
                    shared.append(guild)
        return shared

    async def queue(self, user_id: int, guild_id: int) -> dict[str, Any]:
        shard = forward_to(guild_id, self._plan)
        if shard is None:
            return await self._local.queue(user_id, guild_id)
        answer = await self._link.ask(shard, self._link.request("queue", user_id, guild_id))
        if answer.status != 200:
            raise Refused(answer.status, answer.sentence)
        if answer.body is None:  # an owner of another version, say: not a queue to show
            raise Refused(503, NO_ANSWER_SENTENCE)
        return answer.body

    async def skip(self, user_id: int, guild_id: int) -> Done:
        return await self._act("skip", user_id, guild_id, lambda: self._local.skip(user_id, guild_id))

    async def pause(self, user_id: int, guild_id: int) -> Done:
        return await self._act("pause", user_id, guild_id, lambda: self._local.pause(user_id, guild_id))

    async def resume(self, user_id: int, guild_id: int) -> Done:
        return await self._act("resume", user_id, guild_id, lambda: self._local.resume(user_id, guild_id))

    async def remove(self, user_id: int, guild_id: int, position: int) -> Done:
        local = self._local
        return await self._act(
            "remove", user_id, guild_id, lambda: local.remove(user_id, guild_id, position), (position,)
        )

    async def move(self, user_id: int, guild_id: int, source: int, destination: int) -> Done:
        local, numbers = self._local, (source, destination)
        return await self._act(
            "move", user_id, guild_id, lambda: local.move(user_id, guild_id, *numbers), numbers
        )

    async def volume(self, user_id: int, guild_id: int, percent: int) -> Done:
        local = self._local
        return await self._act(
            "volume", user_id, guild_id, lambda: local.volume(user_id, guild_id, percent), (percent,)
        )

    async def play(self, user_id: int, guild_id: int, query: str) -> Done:
        local = self._local
        return await self._act(
            "play", user_id, guild_id, lambda: local.play(user_id, guild_id, query), query=query
        )

    async def _act(
        self,
        action: ForwardedAction,
        user_id: int,
        guild_id: int,
        here: Callable[[], Awaitable[Done]],
        numbers: tuple[int, ...] = (),
        query: str = "",
    ) -> Done:
        shard = forward_to(guild_id, self._plan)
        if shard is None:
            return await here()
        answer = await self._link.ask(shard, self._link.request(action, user_id, guild_id, numbers, query))
        if answer.status != 200:
            raise Refused(answer.status, answer.sentence)
        return Done(answer.sentence)


async def answer_forwarded(remote: RemoteControl, request: Forwarded) -> Answer:
    """What this process, owning the request's server, answers another that forwarded it: exactly
    what the page here would have done and said."""
    if not remote.ready:
        return Answer(503, STARTING)
    user, guild, numbers = request.user_id, request.guild_id, request.numbers
    acts: dict[str, Callable[[], Awaitable[Done]]] = {
        "skip": lambda: remote.skip(user, guild),
        "pause": lambda: remote.pause(user, guild),
        "resume": lambda: remote.resume(user, guild),
        "remove": lambda: remote.remove(user, guild, numbers[0]),
        "move": lambda: remote.move(user, guild, numbers[0], numbers[1]),
        "volume": lambda: remote.volume(user, guild, numbers[0]),
        "play": lambda: remote.play(user, guild, request.query),
    }
    try:
        if request.action == "guilds":
            return Answer(200, body={"guilds": await remote.guilds(user)})
        if request.action == "queue":
            return Answer(200, body=await remote.queue(user, guild))
        done = await acts[request.action]()
    except Refused as refused:
        return Answer(refused.status, refused.sentence)
    return Answer(200, done.message)


def _guild_entry(guild: object) -> bool:
    """A server as RemoteControl.guilds lists it (another process's answer, read as untrusted)."""
    return (
        isinstance(guild, dict)
        and isinstance(guild.get("id"), str)
        and guild["id"].isdigit()
        and isinstance(guild.get("name"), str)
        and isinstance(guild.get("playing"), bool)
    )


async def _say(channel: discord.abc.Messageable, message: str) -> None:
    try:
        await channel.send(message, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException:  # no Send Messages there: the page or app was told anyway
        log.info("could not tell the channel about a change from the web", exc_info=True)
