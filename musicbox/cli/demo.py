"""`musicbox demo`: see musicbox work in half a minute, with no token and no network."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from musicbox.cli.console import FAILURE, out, print_json

if TYPE_CHECKING:
    from musicbox.sim.demo import DemoOutcome


def demo(
    song_seconds: float = typer.Option(5.0, "--song-seconds", min=3.0, max=30.0, help="Length of each song."),
    json_output: bool = typer.Option(False, "--json", help="Print the outcome as JSON for scripts."),
) -> None:
    """Play a scripted session on the built-in Discord simulator: members queue songs, a playlist,
    a bad link, pause, skip; you see what they saw and hear a level meter from the decoded audio."""
    # Imported here: the simulator brings discord.py, a second of imports other commands would pay.
    from musicbox.sim.demo import run_demo

    # The scene shows what matters; library chatter (yt-dlp, discord.py reconnect notes) would tear the view.
    logging.basicConfig(level=logging.ERROR)
    if not json_output:
        out.print(
            "[bold]musicbox demo[/]: a simulated Discord, a local media library and the real bot, "
            "all on 127.0.0.1.\n"
        )
    outcome = asyncio.run(run_demo(out if not json_output else _silent(), song_s=song_seconds))
    if json_output:
        print_json(dataclasses.asdict(outcome) | {"succeeded": outcome.succeeded})
    else:
        _summarise(outcome)
    if not outcome.succeeded:
        raise typer.Exit(FAILURE)


def _summarise(outcome: DemoOutcome) -> None:
    out.print(f"\n[bold]The channel heard[/], in order: {escape('; '.join(outcome.heard)) or 'nothing'}")
    out.print(
        f"{len(outcome.lines)} commands, slowest acknowledgement {outcome.slowest_ack_ms:.0f} ms "
        f"(Discord gives up after 3000 ms), {outcome.failed_interactions} timed out."
    )
    for violation in outcome.violations:
        out.print(f"[red]Discord contract broken:[/] {escape(str(violation))}")
    if outcome.succeeded:
        out.print(
            "[green]That is musicbox.[/] Next: `musicbox setup` with your bot token from "
            "https://discord.com/developers/applications"
        )


def _silent() -> Console:
    return Console(file=io.StringIO())
