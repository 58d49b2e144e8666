"""This process's place in a fleet of processes sharing one PostgreSQL server (core/fleet.py decides,
this module does the talking): it LISTENs on its shards' channels and answers the actions other
processes forward for its servers, forwards its own for servers it does not run, and writes its
heartbeat row for `musicbox status`.

Why LISTEN/NOTIFY and not Redis pub/sub: PostgreSQL is already there for the stores, so a fleet
has nothing more to run, secure or back up; the traffic is a member's click at a time, far below
what either carries. Two connections of its own: one that only LISTENs (psycopg reads
notifications while nothing else uses the connection) and one that talks (NOTIFY, answers,
heartbeats), both outside the stores' synchronous connection and its worker threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from musicbox.core.fleet import (
    DOWN_SENTENCE,
    HEARTBEAT_S,
    NO_ANSWER_SENTENCE,
    UNREACHABLE_SENTENCE,
    Answer,
    Forwarded,
    ForwardedAction,
    answer_wait_s,
    decode_answer,
    decode_request,
    encode_answer,
    encode_request,
    namespace,
    others_to_ask,
    owner_online,
    reply_channel,
    shard_channel,
)
from musicbox.core.shards import ShardPlan
from musicbox.store.fleet import READ_HEARTBEATS, heartbeats_from
from musicbox.store.postgres import CONNECT_TIMEOUT_S

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

# Heartbeat rows of processes not seen for a day are forgotten (a range the owner no longer runs);
# answers nobody fetched (the asker gave up) after a minute.
FORGET_PROCESS_S = 86400.0
FORGET_ANSWER_S = 60.0
RELISTEN_S = 2.0  # after the server dropped the listening connection
# Forwarded actions answered at once, at most: members' clicks are a handful; more is a flood.
MAX_ANSWERING = 64
STOPPED_BEAT_S = 2.0  # at stop, saying so in the row is not worth holding the stop up longer

Answering = Callable[[Forwarded], Awaitable[Answer]]
Census = Callable[[], tuple[int, int]]  # (servers, voice sessions) of this process, for its heartbeat

_BEAT = """INSERT INTO fleet_processes (host, label, shard_ids, shard_count, pid, started_at, seen_at,
    guilds, voice_sessions, backend_pid, stopped)
    VALUES (%s, %s, %s, %s, %s, %s, extract(epoch FROM clock_timestamp()), %s, %s, %s, %s)
    ON CONFLICT (host, label) DO UPDATE SET shard_ids = excluded.shard_ids,
    shard_count = excluded.shard_count, pid = excluded.pid, started_at = excluded.started_at,
    seen_at = excluded.seen_at, guilds = excluded.guilds, voice_sessions = excluded.voice_sessions,
    backend_pid = excluded.backend_pid, stopped = excluded.stopped"""
# One statement, so the answer is stored before its NOTIFY goes (a NOTIFY is sent at commit).
_STORE_ANSWER = """WITH stored AS (INSERT INTO fleet_answers (request_id, answer, at)
    VALUES (%s, %s, extract(epoch FROM clock_timestamp())) RETURNING request_id)
    SELECT pg_notify(%s, request_id) FROM stored"""


class FleetLink:
    """Made by `joined`; `ask` forwards an action to the process running a shard."""

    def __init__(
        self, url: str, plan: ShardPlan | None, answering: Answering, census: Census, host: str
    ) -> None:
        self._url = url
        self._ids = plan.ids if plan is not None and plan.count is not None else (0,)
        self._count = plan.count if plan is not None and plan.count is not None else 1
        self._label = plan.label if plan is not None else "unsharded"
        self._answering = answering
        self._census = census
        self._host = host
        self._started_at = time.time()
        self._token = secrets.token_hex(8)
        self._space = ""
        self._talker: psycopg.AsyncConnection[tuple[Any, ...]] | None = None
        self._listener: psycopg.AsyncConnection[tuple[Any, ...]] | None = None
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def ask(self, shard: int, request: Forwarded) -> Answer:
        """The owner's answer, or a 503 in one sentence: at once when no process running `shard` is
        online or the database cannot be reached, after the action's wait when the owner is silent."""
        return await self._bounded(request, self._checked_and_sent(shard, request))

    async def ask_others(self, user_id: int) -> list[Answer]:
        """Every other online process's answer to `guilds` for this member (its own servers); none
        while the database cannot be reached."""
        import psycopg

        try:
            async with asyncio.timeout(answer_wait_s("guilds")):
                beats, now = heartbeats_from(await self._fetch(READ_HEARTBEATS))
        except (TimeoutError, psycopg.Error):
            log.warning("cannot read the fleet's heartbeats", exc_info=True)
            return []
        shards = [] if now is None else others_to_ask(beats, self._ids, self._count, now)
        asked = [(shard, self.request("guilds", user_id, 0)) for shard in shards]
        return await asyncio.gather(*(self._bounded(r, self._sent(shard, r)) for shard, r in asked))

    async def _bounded(self, request: Forwarded, answering: Awaitable[Answer]) -> Answer:
        import psycopg

        try:
            async with asyncio.timeout(answer_wait_s(request.action)):
                return await answering
        except TimeoutError:
            log.warning("a forwarded %s was not answered in time", request.action)
            return Answer(503, NO_ANSWER_SENTENCE)
        except psycopg.Error:
            log.warning("cannot forward a %s: the database is out of reach", request.action, exc_info=True)
            return Answer(503, UNREACHABLE_SENTENCE)

    async def _checked_and_sent(self, shard: int, request: Forwarded) -> Answer:
        beats, now = heartbeats_from(await self._fetch(READ_HEARTBEATS))
        if now is None or not owner_online(beats, shard, self._count, now):
            log.warning(
                "shard %d of %d has no process online: %s refused", shard, self._count, request.action
            )
            return Answer(503, DOWN_SENTENCE)
        return await self._sent(shard, request)

    async def _sent(self, shard: int, request: Forwarded) -> Answer:
        arrived = asyncio.get_running_loop().create_future()
        self._waiting[request.request_id] = arrived
        try:
            await self._fetch(
                "SELECT pg_notify(%s, %s)",
                (shard_channel(self._space, shard, self._count), encode_request(request)),
            )
            await arrived
        finally:
            del self._waiting[request.request_id]
        rows = await self._fetch(
            "DELETE FROM fleet_answers WHERE request_id = %s RETURNING answer", (request.request_id,)
        )
        answer = decode_answer(str(rows[0][0])) if rows else "its row is gone"
        if isinstance(answer, str):
            log.warning("shard %d's answer to a forwarded %s is unusable: %s", shard, request.action, answer)
            return Answer(503, NO_ANSWER_SENTENCE)
        return answer

    def request(
        self,
        action: ForwardedAction,
        user_id: int,
        guild_id: int,
        numbers: tuple[int, ...] = (),
        query: str = "",
    ) -> Forwarded:
        """A new request whose answer comes back to this process."""
        return Forwarded(
            secrets.token_hex(16), reply_channel(self._space, self._token), action, user_id, guild_id,
            numbers, query,
        )  # fmt: skip

    async def _start(self) -> None:
        self._talker = await self._connect()
        database, schema = (await self._fetch("SELECT current_database(), current_schema()"))[0]
        self._space = namespace(str(database), str(schema))
        await self._fetch(
            "DELETE FROM fleet_processes WHERE seen_at < extract(epoch FROM clock_timestamp()) - %s",
            (FORGET_PROCESS_S,),
        )
        await self._listen()
        await self._beat()
        for work, name in ((self._hear, "fleet-listen"), (self._keep_beating, "fleet-heartbeat")):
            task = asyncio.get_running_loop().create_task(work(), name=name)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):  # the server gone: the row goes stale, and reads as down
            async with asyncio.timeout(STOPPED_BEAT_S):
                await self._beat(stopped=True)
        for connection in (self._listener, self._talker):
            if connection is not None:
                await connection.close()

    async def _connect(self) -> psycopg.AsyncConnection[tuple[Any, ...]]:
        import psycopg

        return await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
        )

    async def _listen(self) -> None:
        from psycopg import sql

        listener = await self._connect()
        channels = [shard_channel(self._space, shard, self._count) for shard in self._ids]
        try:
            for channel in [*channels, reply_channel(self._space, self._token)]:
                await listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        except BaseException:
            await listener.close()
            raise
        if self._listener is not None:  # the one the server dropped
            await self._listener.close()
        self._listener = listener

    async def _hear(self) -> None:
        import psycopg

        while True:
            assert self._listener is not None
            try:
                async for note in self._listener.notifies():
                    self._heard(note.channel, note.payload)
            except psycopg.OperationalError:
                log.warning("lost the fleet's listening connection; listening again", exc_info=True)
                await asyncio.sleep(RELISTEN_S)
                with contextlib.suppress(psycopg.OperationalError):
                    await self._listen()
                    await self._beat()  # its new connection's pid: what says it is alive

    def _heard(self, channel: str, payload: str) -> None:
        if channel == reply_channel(self._space, self._token):
            waiting = self._waiting.get(payload)
            if waiting is not None and not waiting.done():
                waiting.set_result(payload)
            return
        request = decode_request(payload)
        if isinstance(request, str):
            log.warning("refused a message on %s: %s", channel, request)
            return
        if len(self._tasks) >= MAX_ANSWERING:  # a flood of NOTIFYs: the asker's wait says so
            log.warning("%d forwarded actions under way; dropped a %s", len(self._tasks), request.action)
            return
        task = asyncio.get_running_loop().create_task(self._answer(request), name=f"fleet-{request.action}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, request: Forwarded) -> None:
        try:
            answer = await self._answering(request)
        except Exception:
            log.exception("a forwarded %s failed", request.action)
            answer = Answer(500, "Something went wrong; the owner can see it in `musicbox logs`.")
        try:
            await self._fetch(_STORE_ANSWER, (request.request_id, encode_answer(answer), request.reply_to))
        except Exception:
            log.warning("could not send the answer to a forwarded %s", request.action, exc_info=True)

    async def _keep_beating(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self._beat()
                await self._fetch(
                    "DELETE FROM fleet_answers WHERE at < extract(epoch FROM clock_timestamp()) - %s",
                    (FORGET_ANSWER_S,),
                )
            except Exception:  # the server away: the next beat tries again
                log.warning("could not write this process's heartbeat", exc_info=True)

    async def _beat(self, *, stopped: bool = False) -> None:
        guilds, voice_sessions = self._census()
        listener = self._listener
        backend_pid = listener.info.backend_pid if listener is not None and not listener.closed else 0
        await self._fetch(
            _BEAT,
            (
                self._host, self._label, list(self._ids), self._count, os.getpid(), self._started_at,
                guilds, voice_sessions, backend_pid, int(stopped),
            ),
        )  # fmt: skip

    async def _fetch(self, statement: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement on the talking connection (made again if the server dropped it)."""
        if self._talker is None or self._talker.closed:
            self._talker = await self._connect()
        cursor = await self._talker.execute(statement, parameters)
        return await cursor.fetchall() if cursor.description is not None else []


@contextlib.asynccontextmanager
async def joined(
    url: str, plan: ShardPlan | None, answering: Answering, census: Census
) -> AsyncIterator[FleetLink]:
    """This process in the fleet of `url` while the context lasts: listening, beating, asking."""
    link = FleetLink(url, plan, answering, census, socket.gethostname())
    try:
        await link._start()
        yield link
    finally:
        await link._aclose()
