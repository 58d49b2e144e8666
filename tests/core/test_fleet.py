"""The fleet's pure core: which process a server's action goes to, the messages that carry it (and
what a hostile NOTIFY is refused for), and when a process counts as down."""

from __future__ import annotations

import json

import pytest

from musicbox.core.fleet import (
    MAX_PAYLOAD_BYTES,
    STALE_AFTER_S,
    Answer,
    Forwarded,
    Heartbeat,
    decode_answer,
    decode_request,
    encode_answer,
    encode_request,
    forward_to,
    namespace,
    others_to_ask,
    owner_online,
    process_state,
    reply_channel,
    shard_channel,
)
from musicbox.core.shards import ShardPlan, shard_of

SPACE = namespace("musicbox", "public")
REPLY = reply_channel(SPACE, "0123456789abcdef")
# Guild ids whose shard of 4 is 0, 1, 2, 3: Discord's formula reads the timestamp bits above 22.
GUILDS = {n: (1_000_000 + n) << 22 for n in range(4)}


@pytest.mark.parametrize(
    ("guild", "plan", "shard"),
    [
        (GUILDS[0], None, None),  # unsharded: every server is here
        (GUILDS[3], ShardPlan((0, 1), None), None),  # count not known yet: nothing to route by
        (GUILDS[0], ShardPlan((0, 1), 4), None),
        (GUILDS[1], ShardPlan((0, 1), 4), None),
        (GUILDS[2], ShardPlan((0, 1), 4), 2),
        (GUILDS[3], ShardPlan((0, 1), 4), 3),
        (GUILDS[0], ShardPlan((1, 3), 4), 0),
        (GUILDS[3], ShardPlan((1, 3), 4), None),
        (GUILDS[3], ShardPlan((0,), 1), None),
        (81384788765712384, ShardPlan((0,), 16), 2),  # a real-looking snowflake
        (81384788765712384 + (5 << 22), ShardPlan((0,), 16), 7),
    ],
)
def test_an_action_goes_to_the_shard_of_its_server_unless_it_is_here(
    guild: int, plan: ShardPlan | None, shard: int | None
) -> None:
    assert forward_to(guild, plan) == shard
    if shard is not None and plan is not None and plan.count is not None:
        assert shard == shard_of(guild, plan.count)


def test_channels_are_apart_per_fleet_and_fit_postgresqls_63_bytes() -> None:
    assert namespace("musicbox", "public") != namespace("musicbox", "test_1")
    assert namespace("a", "bc") != namespace("ab", "c")
    longest = shard_channel(SPACE, 99_999, 100_000)
    assert len(longest.encode()) <= 63 and len(REPLY.encode()) <= 63
    assert shard_channel(SPACE, 1, 4) != shard_channel(SPACE, 1, 8)  # another count hears nothing


REQUESTS = [
    Forwarded("a" * 32, REPLY, "skip", 11, GUILDS[2]),
    Forwarded("b" * 32, REPLY, "move", 11, GUILDS[2], (3, 1)),
    Forwarded("c" * 32, REPLY, "volume", 11, GUILDS[2], (150,)),
    Forwarded("d" * 32, REPLY, "play", 2**63 - 1, GUILDS[2], query="ñ 🎵 " * 100),  # 500 characters
    Forwarded("e" * 32, REPLY, "queue", 11, GUILDS[2]),
    Forwarded("f" * 32, REPLY, "guilds", 11, 0),  # asked of every process: no server
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.action)
def test_a_request_survives_its_payload(request_: Forwarded) -> None:
    payload = encode_request(request_)
    assert len(payload.encode()) <= MAX_PAYLOAD_BYTES
    assert decode_request(payload) == request_


def good() -> dict[str, object]:
    return json.loads(encode_request(REQUESTS[1]))


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"v": 2}, "not a version 1 request"),
        ({"id": "../../etc"}, "bad request id"),
        ({"id": "A" * 32}, "bad request id"),
        ({"reply": "musicbox.x.shard.0.of.4"}, "bad reply channel"),
        ({"reply": "pg_catalog"}, "bad reply channel"),
        ({"action": "shutdown"}, "unknown action"),
        ({"action": "__class__"}, "unknown action"),
        ({"user": 0}, "bad member or server id"),
        ({"user": "11"}, "bad member or server id"),
        ({"guild": 2**64}, "bad member or server id"),
        ({"guild": True}, "bad member or server id"),
        ({"guild": 0}, "bad member or server id"),  # only `guilds` names no server
        ({"numbers": [1]}, "move takes 2 numbers"),
        ({"numbers": "1,2"}, "move takes 2 numbers"),
        ({"numbers": [1, 2.5]}, "numbers must be whole and small"),
        ({"numbers": [1, 2**40]}, "numbers must be whole and small"),
        ({"numbers": [True, 1]}, "numbers must be whole and small"),
        ({"query": "x"}, "bad query"),  # only /play carries words
        ({"action": "play", "numbers": [], "query": "x" * 501}, "bad query"),
        ({"action": "play", "numbers": [], "query": None}, "bad query"),
    ],
)
def test_a_hostile_payload_is_refused_with_its_reason(change: dict[str, object], refusal: str) -> None:
    assert decode_request(json.dumps(good() | change)) == refusal


@pytest.mark.parametrize(
    ("payload", "refusal"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a version 1 request"),
        ('{"v": 1, "pad": "' + "x" * MAX_PAYLOAD_BYTES + '"}', "payload too long"),
    ],
)
def test_a_payload_that_is_not_a_request_is_refused(payload: str, refusal: str) -> None:
    assert decode_request(payload) == refusal


@pytest.mark.parametrize(
    "answer",
    [
        Answer(200, "Skipped **Song**."),
        Answer(403, "Only members with the DJ role may do that."),
        Answer(200, body={"playing": None, "upcoming": [{"title": "<b>x</b>"}] * 1000}),
    ],
)
def test_an_answer_survives_its_row(answer: Answer) -> None:
    assert decode_answer(encode_answer(answer)) == answer


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ('{"v": 1, "status": 302, "sentence": ""}', None),
        ('{"v": 1, "status": 99, "sentence": ""}', "bad status"),
        ('{"v": 1, "status": "200", "sentence": ""}', "bad status"),
        ('{"v": 1, "status": 200, "sentence": 5}', "bad sentence"),
        ('{"v": 1, "status": 200, "sentence": "", "body": []}', "bad body"),
        ("{", "not JSON"),
    ],
)
def test_an_unusable_answer_says_why(text: str, refusal: str | None) -> None:
    decoded = decode_answer(text)
    assert decoded == refusal if refusal is not None else isinstance(decoded, Answer)


def beat(**changes: object) -> Heartbeat:
    fields: dict[str, object] = {
        "host": "pi", "label": "2-3", "shard_ids": (2, 3), "shard_count": 4, "pid": 10,
        "started_at": 0.0, "seen_at": 100.0, "guilds": 500, "voice_sessions": 3, "connected": True,
        "stopped": False,
    }  # fmt: skip
    return Heartbeat(**(fields | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("heartbeat", "now", "state"),
    [
        (beat(), 101.0, "online"),
        (beat(), 100.0 + STALE_AFTER_S, "online"),  # a missed beat or two on a busy box
        (beat(), 100.0 + STALE_AFTER_S + 0.1, "down"),  # hung, or cut off from the server
        (beat(connected=False), 101.0, "down"),  # killed: its connection closed with it
        (beat(stopped=True), 101.0, "stopped"),
        (beat(stopped=True, connected=False), 500.0, "stopped"),
    ],
)
def test_a_process_is_down_when_its_connection_is_gone_or_its_heartbeat_stale(
    heartbeat: Heartbeat, now: float, state: str
) -> None:
    assert process_state(heartbeat, now) == state


@pytest.mark.parametrize(
    ("beats", "shard", "online"),
    [
        ([beat()], 2, True),
        ([beat()], 1, False),  # nobody runs shard 1
        ([beat(shard_count=8)], 2, False),  # shard 2 of another count
        ([beat(connected=False)], 3, False),
        ([beat(connected=False), beat(host="other", pid=11)], 3, True),  # started again elsewhere
        ([], 2, False),
    ],
)
def test_an_owner_is_asked_only_when_a_process_running_its_shard_is_online(
    beats: list[Heartbeat], shard: int, online: bool
) -> None:
    assert owner_online(beats, shard, 4, now=101.0) is online


@pytest.mark.parametrize(
    ("beats", "asked"),
    [
        ([beat()], [2]),  # one channel per process, not one per shard
        ([beat(), beat(host="b", label="4-5", shard_ids=(4, 5))], [2, 4]),
        ([beat(label="0-1", shard_ids=(0, 1))], []),  # this process itself
        ([beat(label="1-2", shard_ids=(1, 2))], []),  # a range overlapping ours: its servers answer here
        ([beat(connected=False), beat(stopped=True, host="b")], []),
        ([beat(shard_count=8)], []),
    ],
)
def test_a_question_for_every_process_goes_once_to_each_other_online_one(
    beats: list[Heartbeat], asked: list[int]
) -> None:
    assert others_to_ask(beats, (0, 1), 4, now=101.0) == asked
