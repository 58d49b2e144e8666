"""The processes of one bot sharing a PostgreSQL server (a fleet): which of them owns a server, the
messages that carry a web page's or API's action to that process and its answer back, and when a
process counts as down. Pure; service/fleet.py is the shell that LISTENs and NOTIFYs.

An action for a server whose shard (`(guild_id >> 22) % count`) this process does not run is sent
as a NOTIFY on the shard's channel, which only the process running that shard LISTENs to. The
owner acts on it with the same RemoteControl the page drives locally, stores the answer in a row
keyed by the request's id (a queue of a thousand titles does not fit a NOTIFY's 8,000 bytes) and
NOTIFYs the asker's own channel with that id. Anyone who can reach the database can NOTIFY, so
every payload is read as untrusted: bounded, JSON, each field checked."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from musicbox.core.shards import ShardPlan, shard_of

# PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more.
MAX_PAYLOAD_BYTES = 7999
# An answer is a row, not a payload; still bounded: a queue of the largest size with long titles
# is well under this, and a row past it is not read.
MAX_ANSWER_BYTES = 4 * 2**20
MAX_QUERY_CHARS = 500  # as the API and page accept
MAX_SENTENCE_CHARS = 4000
DISCORD_ID_MAX = 2**63 - 1  # Discord's snowflakes fit a signed 64-bit integer (PostgreSQL's BIGINT)
# A process writes its heartbeat this often; one not seen for STALE_AFTER_S is down (a busy Pi may
# miss a beat or two, a dead process misses them all).
HEARTBEAT_S = 5.0
STALE_AFTER_S = 20.0
# How long an asker waits for the owner's answer: a control is a few milliseconds' work; /play
# resolves a link and joins voice (the slash command allows itself as long).
ANSWER_WAIT_S = 5.0
PLAY_ANSWER_WAIT_S = 30.0
VERSION = 1

# `guilds` is asked of every other process (the servers a member shares with the bot, fleet-wide);
# its server id is 0, for none.
ForwardedAction = Literal["guilds", "queue", "skip", "pause", "resume", "remove", "move", "volume", "play"]
# What each action carries besides the member and the server: its whole numbers, or a query.
NUMBERS: dict[str, int] = {
    "guilds": 0, "queue": 0, "skip": 0, "pause": 0, "resume": 0, "remove": 1, "move": 2, "volume": 1,
    "play": 0,
}  # fmt: skip
_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
_CHANNEL = re.compile(r"musicbox\.[0-9a-f]{12}\.reply\.[0-9a-f]{16}")

DOWN_SENTENCE = "The bot's process for this server is down right now; try again in a minute."
UNREACHABLE_SENTENCE = "The bot's process for this server cannot be reached right now; try again in a minute."
NO_ANSWER_SENTENCE = "The bot's process for this server did not answer in time; try again in a minute."


@dataclass(frozen=True, slots=True)
class Forwarded:
    """A member's action for a server another process owns."""

    request_id: str  # 32 hex digits: the key of the answer's row
    reply_to: str  # the asker's own channel
    action: ForwardedAction
    user_id: int
    guild_id: int
    numbers: tuple[int, ...] = ()
    query: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the owner answered: an HTTP status with the sentence said (Done's or Refused's), or what
    a read shows (a server's queue as RemoteControl.queue shows it; {"guilds": [...]})."""

    status: int
    sentence: str = ""
    body: dict[str, Any] | None = None


def forward_to(guild_id: int, plan: ShardPlan | None) -> int | None:
    """The shard to send a server's action to, or None when this process runs it (every server,
    unsharded)."""
    if plan is None or plan.count is None:
        return None
    shard = shard_of(guild_id, plan.count)
    return None if shard in plan.ids else shard


def namespace(database: str, schema: str) -> str:
    """Twelve hex digits naming a fleet's channels: NOTIFY reaches every client of the database,
    and two bots keeping their tables in two schemas of one database must not hear each other."""
    return hashlib.sha256(f"{database}\0{schema}".encode()).hexdigest()[:12]


def shard_channel(space: str, shard: int, count: int) -> str:
    # The count is in the name: a process given another count (a misconfiguration) hears nothing
    # it would misroute.
    return f"musicbox.{space}.shard.{shard}.of.{count}"


def reply_channel(space: str, process_token: str) -> str:
    return f"musicbox.{space}.reply.{process_token}"


def encode_request(request: Forwarded) -> str:
    """The NOTIFY payload; ValueError if it would not fit one (a query is at most 500 characters,
    so only a bug gets there)."""
    payload = json.dumps(
        {
            "v": VERSION,
            "id": request.request_id,
            "reply": request.reply_to,
            "action": request.action,
            "user": request.user_id,
            "guild": request.guild_id,
            "numbers": list(request.numbers),
            "query": request.query,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a forwarded {request.action} is {len(payload.encode())} bytes, past a NOTIFY's")
    return payload


def decode_request(payload: str) -> Forwarded | str:
    """The request a payload carries, or why it is refused (logged by the shell, never acted on)."""
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        return "payload too long"
    try:
        message = json.loads(payload)
    except ValueError:
        return "not JSON"
    if not isinstance(message, dict) or message.get("v") != VERSION:
        return "not a version 1 request"
    request_id, reply, action = message.get("id"), message.get("reply"), message.get("action")
    if not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id):
        return "bad request id"
    if not isinstance(reply, str) or not _CHANNEL.fullmatch(reply):
        return "bad reply channel"
    if not isinstance(action, str) or action not in NUMBERS:
        return "unknown action"
    user, guild = message.get("user"), message.get("guild")
    if not _discord_id(user) or not (_discord_id(guild) or (action == "guilds" and guild == 0)):
        return "bad member or server id"
    numbers, query = message.get("numbers"), message.get("query")
    if not isinstance(numbers, list) or len(numbers) != NUMBERS[action]:
        return f"{action} takes {NUMBERS[action]} numbers"
    if not all(isinstance(n, int) and not isinstance(n, bool) and -(2**31) < n < 2**31 for n in numbers):
        return "numbers must be whole and small"
    if not isinstance(query, str) or len(query) > MAX_QUERY_CHARS or (action != "play" and query):
        return "bad query"
    return Forwarded(request_id, reply, action, user, guild, tuple(numbers), query)  # type: ignore[arg-type]


def encode_answer(answer: Answer) -> str:
    body: dict[str, Any] = {"v": VERSION, "status": answer.status, "sentence": answer.sentence}
    if answer.body is not None:
        body["body"] = answer.body
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def decode_answer(text: str) -> Answer | str:
    """The owner's answer as stored in its row, or why it cannot be used."""
    if len(text.encode()) > MAX_ANSWER_BYTES:
        return "answer too long"
    try:
        message = json.loads(text)
    except ValueError:
        return "not JSON"
    if not isinstance(message, dict) or message.get("v") != VERSION:
        return "not a version 1 answer"
    status, sentence, body = message.get("status"), message.get("sentence"), message.get("body")
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        return "bad status"
    if not isinstance(sentence, str) or len(sentence) > MAX_SENTENCE_CHARS:
        return "bad sentence"
    if body is not None and not isinstance(body, dict):
        return "bad body"
    return Answer(status, sentence, body)


def answer_wait_s(action: ForwardedAction) -> float:
    return PLAY_ANSWER_WAIT_S if action == "play" else ANSWER_WAIT_S


def _discord_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= DISCORD_ID_MAX


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One process of the fleet as its last heartbeat row says, with whether its connection to the
    server is still open (a process killed outright closes it at once; PostgreSQL notices)."""

    host: str
    label: str  # its shards as the owner wrote them ("0-3"), "unsharded"
    shard_ids: tuple[int, ...]
    shard_count: int
    pid: int
    started_at: float
    seen_at: float
    guilds: int
    voice_sessions: int
    connected: bool
    stopped: bool


ProcessState = Literal["online", "down", "stopped"]


def process_state(beat: Heartbeat, now: float) -> ProcessState:
    """Stopped: said so as it stopped. Down: killed, hung, or cut off from the server (its
    connection gone, or no heartbeat for STALE_AFTER_S)."""
    if beat.stopped:
        return "stopped"
    if not beat.connected or now - beat.seen_at > STALE_AFTER_S:
        return "down"
    return "online"


def others_to_ask(beats: list[Heartbeat], ids: tuple[int, ...], count: int, now: float) -> list[int]:
    """A shard of each other online process (its channel reaches it), for a question every process
    answers for its own servers: never one of `ids`, whose servers are this process's."""
    shards = {
        b.shard_ids[0]
        for b in beats
        if b.shard_count == count and b.shard_ids and not set(b.shard_ids) & set(ids)
        and process_state(b, now) == "online"
    }  # fmt: skip
    return sorted(shards)


def owner_online(beats: list[Heartbeat], shard: int, count: int, now: float) -> bool:
    """Whether a process running `shard` of `count` is online to be asked: if not, the member is
    told at once rather than after the wait."""
    return any(
        b.shard_count == count and shard in b.shard_ids and process_state(b, now) == "online" for b in beats
    )
