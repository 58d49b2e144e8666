"""`musicbox run --shards … --shard-count …` read into the shards one process runs, and Discord's
formula for which shard a server belongs to."""

from __future__ import annotations

import pytest

from musicbox.core.shards import RunRequest, ShardPlan, parse_run_arguments, parse_shard_ids, shard_of


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("0", (0,)),
        ("0-3", (0, 1, 2, 3)),
        ("0,2,5", (0, 2, 5)),
        ("8-9,0-1", (0, 1, 8, 9)),
        ("3,3,2-3", (2, 3)),
        (" 1 , 4-5 ", (1, 4, 5)),
    ],
)
def test_shard_ids_read_as_ranges_and_lists(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], RunRequest()),
        (["-v"], RunRequest(verbose=True)),
        (["--shards", "0-3", "--shard-count", "16"], RunRequest(shards=ShardPlan((0, 1, 2, 3), 16))),
        (["--shards=4-7", "--shard-count=16", "--verbose"], RunRequest(True, ShardPlan((4, 5, 6, 7), 16))),
        (["--shards", "2,0"], RunRequest(shards=ShardPlan((0, 2), None))),  # the count from Discord
        (["--shard-count", "3"], RunRequest(shards=ShardPlan((0, 1, 2), 3))),  # every shard here
    ],
)
def test_run_arguments(arguments: list[str], expected: RunRequest) -> None:
    assert parse_run_arguments(arguments) == expected


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        (
            ["--shards", "a-b"],
            "--shards takes shard numbers and ranges such as 0-3 or 0,2,5, not 'a-b': write it like that",
        ),
        (
            ["--shards", "0-"],
            "--shards takes shard numbers and ranges such as 0-3 or 0,2,5, not '0-': write it like that",
        ),
        (
            ["--shards", "-1"],
            "--shards takes shard numbers and ranges such as 0-3 or 0,2,5, not '-1': write it like that",
        ),
        (
            ["--shards", "0,,1"],
            "--shards takes shard numbers and ranges such as 0-3 or 0,2,5, not '0,,1': write it like that",
        ),
        (["--shards", "5-2"], "--shards range 5-2 runs backwards: write the lower number first"),
        (["--shards", "0-100000"], "--shards 0-100000 goes past 99999: no bot has that many shards"),
        (
            ["--shards", "0-3", "--shard-count", "2"],
            "shard 2 does not exist with 2 shards (ids run from 0 to 1): pick ids below the count",
        ),
        (["--shard-count", "0"], "--shard-count takes a whole number of shards, 1 or more, not '0'"),
        (["--shard-count", "two"], "--shard-count takes a whole number of shards, 1 or more, not 'two'"),
        (["--shards"], "--shards needs a value, as in `musicbox run --shards 0-3 --shard-count 16`"),
        (["--shard"], "musicbox run does not take '--shard': see `musicbox run --help`"),
        (["now"], "musicbox run does not take 'now': see `musicbox run --help`"),
    ],
)
def test_bad_arguments_are_one_sentence(arguments: list[str], sentence: str) -> None:
    assert parse_run_arguments(arguments) == sentence


@pytest.mark.parametrize(
    ("ids", "label"), [((0,), "0"), ((0, 1, 2, 3), "0-3"), ((0, 2, 5, 6, 7), "0,2,5-7"), ((1, 3), "1,3")]
)
def test_a_plan_is_labelled_as_the_owner_writes_it(ids: tuple[int, ...], label: str) -> None:
    assert ShardPlan(ids, 8).label == label


def test_a_count_learnt_later_checks_the_ids() -> None:
    assert ShardPlan((0, 1), None).with_count(4) == ShardPlan((0, 1), 4)
    assert ShardPlan((0, 4), None).with_count(4) == (
        "shard 4 does not exist with 4 shards (ids run from 0 to 3): pick ids below the count"
    )
    assert ShardPlan((1,), None).with_count(1) == (
        "shard 1 does not exist with 1 shard (ids run from 0 to 0): pick ids below the count"
    )


def test_a_server_belongs_to_the_shard_discords_formula_names() -> None:
    guild_id = 175928847299117063  # Discord's documentation's example snowflake: timestamp 41944705796
    assert [shard_of(guild_id, count) for count in (1, 2, 3, 16)] == [
        0,
        41944705796 % 2,
        41944705796 % 3,
        41944705796 % 16,
    ]
