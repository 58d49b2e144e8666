"""Discord's limits on what a bot sends, checked without a server."""

from __future__ import annotations

from typing import Any

import pytest

from musicbox.sim.discord import contract, gateway


def test_a_message_within_every_limit_has_no_problem() -> None:
    body = {
        "content": "x" * 2000,
        "embeds": [{"title": "t", "fields": [{"name": "n", "value": "v"}] * 25}] * 10,
    }
    assert contract.message_problems(body) == {}


def test_each_limit_is_named_by_the_field_that_broke_it() -> None:
    body = {
        "content": "x" * 2001,
        "embeds": [{"description": "d" * 4097, "fields": [{"name": "n", "value": "v" * 1025}] * 26}] * 11,
        "components": [{"type": 1, "components": [{"type": 2, "label": "l" * 81, "custom_id": "c"}] * 6}] * 6,
    }
    problems = contract.message_problems(body)
    for path in (
        "content",
        "embeds",
        "embeds.0.description",
        "embeds.0.fields",
        "embeds.0.fields.0.value",
        "embeds.0",
        "components",
        "components.0.components",
        "components.0.components.0.label",
    ):
        assert path in problems, path


def test_autocomplete_offers_at_most_25_choices_of_100_characters() -> None:
    fine = [{"name": f"n{i}", "value": f"v{i}"} for i in range(25)]
    assert contract.choice_problems(fine) == {}
    assert "data.choices" in contract.choice_problems([*fine, {"name": "x", "value": "x"}])
    assert "data.choices.0.name" in contract.choice_problems([{"name": "n" * 101, "value": "v"}])


def test_command_declarations_follow_discords_naming_and_ordering_rules() -> None:
    good = {
        "name": "play",
        "description": "Play",
        "options": [
            {"name": "query", "description": "q", "type": 3, "required": True},
            {"name": "next", "description": "n", "type": 5},
        ],
    }
    assert contract.command_problems([good]) == {}
    bad = {
        "name": "Play Now",
        "description": "",
        "options": [
            {"name": "later", "description": "l", "type": 3},
            {"name": "query", "description": "q", "type": 3, "required": True},
        ],
    }
    problems = contract.command_problems([bad, bad])
    assert {"0.name", "0.description", "0.options.1.required"} <= set(problems)


def test_the_error_body_nests_like_discords() -> None:
    body = contract.invalid_form_body({"embeds.0.title": "Must be 256 or fewer in length."})
    assert body["code"] == 50035
    assert body["errors"]["embeds"]["0"]["title"]["_errors"][0]["message"].startswith("Must be 256")


VOLUME = {"name": "percent", "type": contract.INTEGER, "required": True, "min_value": 0, "max_value": 200}
SEEK = {"name": "position", "type": contract.STRING, "min_length": 1, "max_length": 8}
LOOP = {"name": "mode", "type": contract.STRING, "choices": [{"name": "Off", "value": "off"}]}


@pytest.mark.parametrize(
    ("declared", "given", "refusals"),
    [
        ([VOLUME], {"percent": 0}, []),
        ([VOLUME], {"percent": 200}, []),
        ([VOLUME], {"percent": -5}, ["percent must be from 0 to 200"]),
        ([VOLUME], {"percent": 201}, ["percent must be from 0 to 200"]),
        ([VOLUME], {}, ["percent is required"]),
        ([SEEK], {}, []),
        ([SEEK], {"position": ""}, ["position must be from 1 to 8 characters long"]),
        ([SEEK], {"position": "123456789"}, ["position must be from 1 to 8 characters long"]),
        ([LOOP], {"mode": "off"}, []),
        ([LOOP], {"mode": "sometimes"}, ["mode must be one of ['off']"]),
        (
            [{"name": "n", "type": contract.NUMBER}],
            {"n": 2.0**60},
            ["n must be from -9007199254740992 to 9007199254740992"],
        ),
        (
            [{"name": "q", "type": contract.STRING}],
            {"q": "x" * 6001},
            ["q must be from 0 to 6000 characters long"],
        ),
    ],
)
def test_the_discord_client_refuses_what_a_declaration_excludes(
    declared: list[dict[str, Any]], given: dict[str, object], refusals: list[str]
) -> None:
    assert contract.option_refusals(declared, given) == refusals


def member(user_id: int, *, roles: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"user": {"id": str(user_id), "username": f"user{user_id}"}, "roles": list(roles), "nick": None}


def guild_of(
    count: int, *, in_voice: tuple[int, ...] = (), with_role: tuple[int, ...] = ()
) -> dict[str, Any]:
    members = [member(n, roles=("9",) if n in with_role else ()) for n in range(1, count + 1)]
    voice = [{"user_id": str(n), "channel_id": "5"} for n in in_voice]
    return {"member_count": count, "members": members, "voice_states": voice, "large": False}


@pytest.mark.parametrize(
    ("count", "intents", "listed", "large"),
    [
        # Without presences: the bot (1) and those in voice (2), small guild or not.
        (10, gateway.GUILDS | gateway.GUILD_MEMBERS, {1, 2}, False),
        # With presences, a guild of at most large_threshold (50): everyone.
        (50, gateway.GUILDS | gateway.GUILD_PRESENCES, set(range(1, 51)), False),
        # Over it: the bot, voice, and members with a role (3).
        (51, gateway.GUILDS | gateway.GUILD_PRESENCES, {1, 2, 3}, True),
    ],
)
def test_guild_create_lists_the_members_discord_sends_each_session(
    count: int, intents: int, listed: set[int], large: bool
) -> None:
    data = guild_of(count, in_voice=(2,), with_role=(3,))
    sent = gateway.guild_create_for(data, intents=intents, large_threshold=50, bot_user_id=1)
    assert {int(m["user"]["id"]) for m in sent["members"]} == listed and sent["large"] is large


@pytest.mark.parametrize(
    ("data", "intents", "refusal"),
    [
        ({"guild_id": ["1", "2"], "query": "", "limit": 0}, gateway.GUILD_MEMBERS, "one guild's id"),
        ({"guild_id": "1"}, gateway.GUILD_MEMBERS, "needs query or user_ids"),
        ({"guild_id": "1", "query": "a"}, gateway.GUILD_MEMBERS, "limit is required"),
        ({"guild_id": "1", "query": "", "limit": 0}, gateway.GUILDS, "GUILD_MEMBERS intent"),
        ({"guild_id": "1", "user_ids": ["x"]}, gateway.GUILD_MEMBERS, "must be ids"),
    ],
)
def test_a_member_request_discord_refuses(data: dict[str, Any], intents: int, refusal: str) -> None:
    answer = gateway.member_request(data, intents)
    assert isinstance(answer, str) and refusal in answer


def test_every_member_comes_in_chunks_of_1000_with_the_nonce() -> None:
    request = gateway.member_request(
        {"guild_id": "1", "query": "", "limit": 0, "nonce": "n"}, gateway.GUILD_MEMBERS
    )
    assert isinstance(request, gateway.MemberRequest) and request.wants_everyone
    chunks = gateway.member_chunks(request, [member(n) for n in range(2500)])
    assert [(c["chunk_index"], c["chunk_count"], len(c["members"]), c["nonce"]) for c in chunks] == [
        (0, 3, 1000, "n"),
        (1, 3, 1000, "n"),
        (2, 3, 500, "n"),
    ]


def test_ids_not_found_are_named_and_a_long_nonce_is_dropped() -> None:
    data = {"guild_id": "1", "user_ids": ["1", "7"], "nonce": "x" * 33, "presences": True}
    request = gateway.member_request(data, gateway.GUILDS)
    assert isinstance(request, gateway.MemberRequest) and not request.presences  # no presences intent
    [chunk] = gateway.member_chunks(request, [member(1), member(2)])
    assert [m["user"]["id"] for m in chunk["members"]] == ["1"] and chunk["not_found"] == ["7"]
    assert "nonce" not in chunk and "presences" not in chunk


def test_a_query_matches_names_from_their_start_and_returns_at_most_100() -> None:
    request = gateway.member_request({"guild_id": "1", "query": "USER1", "limit": 0}, gateway.GUILDS)
    assert isinstance(request, gateway.MemberRequest)
    [chunk] = gateway.member_chunks(request, [member(n) for n in range(2000)])
    names = [m["user"]["username"] for m in chunk["members"]]
    assert len(names) == 100 and all(name.startswith("user1") for name in names)
    empty = gateway.member_request({"guild_id": "1", "query": "nobody", "limit": 5}, gateway.GUILDS)
    assert isinstance(empty, gateway.MemberRequest)
    assert gateway.member_chunks(empty, [member(1)]) == [
        {"guild_id": "1", "members": [], "chunk_index": 0, "chunk_count": 1}
    ]
