"""The `musicbox` command: one Typer app, each verb in the module named after it."""

from __future__ import annotations

import typer

from musicbox import __version__
from musicbox.cli.api import api
from musicbox.cli.bench import bench
from musicbox.cli.cache import cache
from musicbox.cli.demo import demo
from musicbox.cli.doctor import doctor
from musicbox.cli.logs import logs
from musicbox.cli.run import run
from musicbox.cli.service import service
from musicbox.cli.setup import setup
from musicbox.cli.status import status
from musicbox.cli.store import store
from musicbox.cli.tune import tune_command
from musicbox.cli.update import update
from musicbox.cli.web import web

app = typer.Typer(
    name="musicbox",
    help="A self-hosted Discord music bot. Start with `musicbox setup`, check with `musicbox status`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Markdown joins a docstring's wrapped lines into sentences; typer's "rich" mode prints each
    # source line break, so help broke mid-sentence. It also shows `musicbox setup` as code.
    rich_markup_mode="markdown",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"musicbox {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """A self-hosted Discord music bot."""


app.command()(setup)
app.command()(run)
app.command()(demo)
app.command()(status)
app.command("tune")(tune_command)
app.command()(logs)
app.command()(doctor)
app.command()(bench)
app.command()(update)
app.add_typer(service, name="service")
app.add_typer(cache, name="cache")
app.add_typer(web, name="web")
app.add_typer(api, name="api")
app.add_typer(store, name="store")
