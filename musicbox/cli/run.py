"""`musicbox run`: the bot in the foreground (systemd's ExecStart, or by hand on a development box).
`musicbox.cli.main` runs it without Typer; this declaration is what `musicbox run --help` shows."""

from __future__ import annotations

import typer


def run(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail too."),
    shards: str = typer.Option(
        "",
        "--shards",
        help="Run these shards in this process: `0-3`, `0,2,5`. One process per range; each server"
        " belongs to one shard. Without it: every server on one connection.",
    ),
    shard_count: int = typer.Option(
        0,
        "--shard-count",
        help="How many shards the bot has in all, across every process. Without it: the count"
        " Discord recommends.",
    ),
) -> None:
    """Run the bot in the foreground until stopped (Ctrl-C or SIGTERM)."""
    # Imported here: the bot brings discord.py, a second of imports other commands would pay.
    from musicbox.cli.foreground import run_from_arguments

    arguments = ["--verbose"] if verbose else []
    arguments += ["--shards", shards] if shards else []
    arguments += ["--shard-count", str(shard_count)] if shard_count else []
    run_from_arguments(arguments)
