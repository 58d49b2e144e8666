"""`musicbox run`: the bot in the foreground (systemd's ExecStart, or by hand on a development box)."""

from __future__ import annotations

import typer


def run(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail too."),
) -> None:
    """Run the bot in the foreground until stopped (Ctrl-C or SIGTERM)."""
    # Imported here: the bot brings discord.py, a second of imports other commands would pay.
    from musicbox.cli.foreground import run_bot

    run_bot(verbose=verbose)
