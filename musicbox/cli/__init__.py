"""The `musicbox` command.

`musicbox run` (what systemd starts) goes straight to the bot: Typer, rich and the other verbs'
libraries (the simulator, numpy for the bench, ...) would cost the running bot about 25 MiB for
nothing, so its few options (`-v`, `--shards`, `--shard-count`) are read by
`core.shards.parse_run_arguments`. Any other arguments, `musicbox run --help` included, go through
the Typer app."""

from __future__ import annotations

import sys

_HELP = ("--help", "-h")


def main() -> None:
    arguments = sys.argv[1:]
    if arguments[:1] == ["run"] and not any(word in _HELP for word in arguments):
        from musicbox.cli.foreground import run_from_arguments

        run_from_arguments(arguments[1:])
        return
    from musicbox.cli.app import app

    app()
