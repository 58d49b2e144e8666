"""The `musicbox` command.

`musicbox run` (what systemd starts) goes straight to the bot: Typer, rich and the other verbs'
libraries (the simulator, numpy for the bench, ...) would cost the running bot about 25 MiB for
nothing. Any other arguments, `musicbox run --help` included, go through the Typer app."""

from __future__ import annotations

import sys

_SERVICE = {("run",): False, ("run", "-v"): True, ("run", "--verbose"): True}


def main() -> None:
    verbose = _SERVICE.get(tuple(sys.argv[1:]))
    if verbose is not None:
        from musicbox.cli.foreground import run_bot

        run_bot(verbose=verbose)
        return
    from musicbox.cli.app import app

    app()
