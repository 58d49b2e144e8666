"""Which shards a process runs, from `musicbox run --shards 0-3 --shard-count 16`. Pure.

Discord splits a bot's servers over gateway connections (shards): shard `id` of `count` receives the
events of every server whose `(guild_id >> 22) % count` is `id`, and discord.py's AutoShardedClient
runs any set of them in one process. One process per range, on one box or several, is how musicbox
grows past one process; without `--shard-count` the count is the one Discord recommends (asked of
`/gateway/bot` at start)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Discord's own bound on one IDENTIFY's shard count is far lower; this only keeps a typo such as
# `--shards 0-9999999` from building a tuple of millions before the count is checked.
MAX_SHARDS = 100_000


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """The shards one process runs: `ids` in order, of `count` (None: Discord's recommendation,
    with `ids` then checked once the count is known)."""

    ids: tuple[int, ...]
    count: int | None

    @property
    def label(self) -> str:
        """The ids as the owner would write them, ranges joined: `0-3`, `0,2,5-7`."""
        return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in _runs(self.ids))

    def with_count(self, count: int) -> ShardPlan | str:
        """This plan once the count is known, or why its ids do not fit it."""
        too_big = [i for i in self.ids if i >= count]
        if too_big:
            return (
                f"shard {too_big[0]} does not exist with {shard_count_text(count)}"
                f" (ids run from 0 to {count - 1}): pick ids below the count"
            )
        return ShardPlan(self.ids, count)


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What `musicbox run` was asked for."""

    verbose: bool = False
    shards: ShardPlan | None = None  # None: one unsharded connection, as before sharding existed


def shard_count_text(count: int) -> str:
    return f"{count} shard" if count == 1 else f"{count} shards"


def shard_of(guild_id: int, count: int) -> int:
    """The shard that receives a server's events: Discord's sharding formula."""
    return (guild_id >> 22) % count


def parse_shard_ids(text: str) -> tuple[int, ...] | str:
    """`0-3`, `0,2,5`, `0-3,8-11` as sorted unique ids, or one sentence saying what is wrong."""
    ids: set[int] = set()
    for piece in text.split(","):
        low_text, dash, high_text = piece.strip().partition("-")
        if not low_text.isdigit() or (dash and not high_text.isdigit()):
            return (
                f"--shards takes shard numbers and ranges such as 0-3 or 0,2,5, not {text!r}:"
                " write it like that"
            )
        low, high = int(low_text), int(high_text) if dash else int(low_text)
        if high < low:
            return f"--shards range {piece.strip()} runs backwards: write the lower number first"
        if high >= MAX_SHARDS:
            return f"--shards {piece.strip()} goes past {MAX_SHARDS - 1}: no bot has that many shards"
        ids.update(range(low, high + 1))
    return tuple(sorted(ids))


def parse_run_arguments(arguments: Sequence[str]) -> RunRequest | str:
    """`musicbox run`'s arguments (after `run`), or one sentence saying what is wrong. Read here and
    not by Typer: the service path starts without Typer (25 MiB the running bot would hold)."""
    verbose = False
    shards_text: str | None = None
    count_text: str | None = None
    rest = list(arguments)
    while rest:
        word = rest.pop(0)
        name, equals, value = word.partition("=")
        if word in ("-v", "--verbose"):
            verbose = True
            continue
        if name not in ("--shards", "--shard-count"):
            return f"musicbox run does not take {word!r}: see `musicbox run --help`"
        if not equals:
            if not rest:
                return f"{name} needs a value, as in `musicbox run --shards 0-3 --shard-count 16`"
            value = rest.pop(0)
        if name == "--shards":
            shards_text = value
        else:
            count_text = value
    if shards_text is None and count_text is None:
        return RunRequest(verbose=verbose)
    plan = _plan(shards_text, count_text)
    return plan if isinstance(plan, str) else RunRequest(verbose=verbose, shards=plan)


def _plan(shards_text: str | None, count_text: str | None) -> ShardPlan | str:
    count: int | None = None
    if count_text is not None:
        if not count_text.isdigit() or int(count_text) < 1:
            return f"--shard-count takes a whole number of shards, 1 or more, not {count_text!r}"
        count = int(count_text)
        if count > MAX_SHARDS:
            return f"--shard-count {count} is past {MAX_SHARDS}: no bot has that many shards"
    if shards_text is None:
        assert count is not None
        return ShardPlan(tuple(range(count)), count)  # every shard in this one process
    ids = parse_shard_ids(shards_text)
    if isinstance(ids, str):
        return ids
    plan = ShardPlan(ids, None)
    return plan if count is None else plan.with_count(count)


def _runs(ids: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for shard in ids:
        if runs and runs[-1][1] == shard - 1:
            runs[-1] = (runs[-1][0], shard)
        else:
            runs.append((shard, shard))
    return runs
