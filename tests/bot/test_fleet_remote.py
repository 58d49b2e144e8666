"""FleetRemote's routing, with this process's RemoteControl and the fleet link stood in by recorders
(the real ones run in tests/service/test_fleet_processes.py): a server of this process's shards is
acted on here, any other's is forwarded with what the member asked, the owner's refusal is raised
as its own, and the member's server list merges what the other processes answer, nothing twice and
nothing malformed."""

from __future__ import annotations

from typing import Any, cast

import pytest

from musicbox.bot.remote import Done, FleetRemote, Refused, RemoteControl, answer_forwarded
from musicbox.core.fleet import Answer, Forwarded, ForwardedAction
from musicbox.core.shards import ShardPlan
from musicbox.service.fleet import FleetLink

HERE = (1_000_000 << 22) + 1  # shard 0 of 2
THERE = (1_000_001 << 22) + 1  # shard 1 of 2


class Local:
    """This process's RemoteControl: says what it did."""

    ready = True

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def guilds(self, user_id: int) -> list[dict[str, Any]]:
        return [{"id": str(HERE), "name": "here", "playing": False}]

    async def queue(self, user_id: int, guild_id: int) -> dict[str, Any]:
        return {"playing": None, "where": "here"}

    def __getattr__(self, action: str) -> Any:
        async def act(*arguments: Any) -> Done:
            self.calls.append((action, *arguments))
            if action == "pause":
                raise Refused(409, "Nothing is playing.")
            return Done(f"{action} here")

        return act


class Link:
    """The fleet link: records what it was asked to forward, answers as `answers` says."""

    def __init__(self, answers: dict[str, Answer], others: list[Answer] | None = None) -> None:
        self.answers = answers
        self.others = others or []
        self.sent: list[tuple[int, Forwarded]] = []

    def request(
        self,
        action: ForwardedAction,
        user_id: int,
        guild_id: int,
        numbers: tuple[int, ...] = (),
        query: str = "",
    ) -> Forwarded:
        return Forwarded("0" * 32, "reply", action, user_id, guild_id, numbers, query)

    async def ask(self, shard: int, request: Forwarded) -> Answer:
        self.sent.append((shard, request))
        return self.answers[request.action]

    async def ask_others(self, user_id: int) -> list[Answer]:
        return self.others


def remote(link: Link, local: Local | None = None) -> FleetRemote:
    return FleetRemote(cast(RemoteControl, local or Local()), ShardPlan((0,), 2), cast(FleetLink, link))


async def test_a_server_here_is_acted_on_here_and_another_is_forwarded_with_what_was_asked() -> None:
    local = Local()
    link = Link({"move": Answer(200, "Moved there."), "play": Answer(200, "Playing there.")})
    fleet = remote(link, local)
    assert await fleet.move(7, HERE, 3, 1) == Done("move here")
    assert await fleet.move(7, THERE, 3, 1) == Done("Moved there.")
    assert await fleet.play(7, THERE, "a song") == Done("Playing there.")
    assert local.calls == [("move", 7, HERE, 3, 1)]
    assert [(shard, r.action, r.user_id, r.guild_id, r.numbers, r.query) for shard, r in link.sent] == [
        (1, "move", 7, THERE, (3, 1), ""),
        (1, "play", 7, THERE, (), "a song"),
    ]


async def test_the_owners_refusal_is_raised_as_its_own() -> None:
    fleet = remote(Link({"skip": Answer(403, "Join the bot's voice channel first."), "queue": Answer(200)}))
    with pytest.raises(Refused) as refused:
        await fleet.skip(7, THERE)
    assert (refused.value.status, refused.value.sentence) == (403, "Join the bot's voice channel first.")
    with pytest.raises(Refused) as no_queue:  # a 200 with no queue in it is not one to show
        await fleet.queue(7, THERE)
    assert no_queue.value.status == 503


async def test_the_members_servers_are_merged_from_every_process_once_and_well_formed() -> None:
    there = {"id": str(THERE), "name": "there", "playing": True}
    others = [
        Answer(200, body={"guilds": [there, {"id": str(HERE), "name": "here again", "playing": False}]}),
        Answer(200, body={"guilds": [{"id": "1; DROP", "name": "x", "playing": True}, "nonsense", there]}),
        Answer(503, "The bot's process for this server is down right now; try again in a minute."),
        Answer(200, body={"guilds": "not a list"}),
    ]
    listed = await remote(Link({}, others)).guilds(7)
    assert listed == [{"id": str(HERE), "name": "here", "playing": False}, there]


@pytest.mark.parametrize(
    ("request_", "answer"),
    [
        (Forwarded("0" * 32, "r", "skip", 7, HERE), Answer(200, "skip here")),
        (Forwarded("0" * 32, "r", "pause", 7, HERE), Answer(409, "Nothing is playing.")),
        (Forwarded("0" * 32, "r", "volume", 7, HERE, (150,)), Answer(200, "volume here")),
        (Forwarded("0" * 32, "r", "queue", 7, HERE), Answer(200, body={"playing": None, "where": "here"})),
        (
            Forwarded("0" * 32, "r", "guilds", 7, 0),
            Answer(200, body={"guilds": [{"id": str(HERE), "name": "here", "playing": False}]}),
        ),
    ],
    ids=lambda value: value.action if isinstance(value, Forwarded) else "",
)
async def test_the_owner_answers_what_its_page_would_have_done_and_said(
    request_: Forwarded, answer: Answer
) -> None:
    assert await answer_forwarded(cast(RemoteControl, Local()), request_) == answer


async def test_an_owner_still_starting_says_so_rather_than_not_knowing_the_server() -> None:
    starting = Local()
    starting.ready = False
    answered = await answer_forwarded(
        cast(RemoteControl, starting), Forwarded("0" * 32, "r", "skip", 7, HERE)
    )
    assert answered.status == 503 and "starting" in answered.sentence and starting.calls == []
