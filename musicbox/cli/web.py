"""`musicbox web link`: a one-time link that logs the owner in to the web page, asked of the running
bot over its control socket (so only someone who may read that socket, the service user or root,
gets one)."""

from __future__ import annotations

import asyncio
import os

import typer

from musicbox.cli.console import fail, out, print_json
from musicbox.service.control import ControlUnavailable, ask
from musicbox.store.config_file import paths_for

web = typer.Typer(help="The web page: a one-time login link.", no_args_is_help=True)


@web.command()
def link(json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Print a link that logs you in to the web page once, within 10 minutes."""
    try:
        answer = asyncio.run(ask(paths_for(os.environ).runtime_dir, "web-link"))
    except ControlUnavailable as down:
        fail(f"cannot ask the bot: {down}", "Start it with `musicbox service start` (see `musicbox status`).")
    if "error" in answer:
        fail(str(answer["error"]), "Then run `musicbox web link` again.")
    if json_output:
        print_json(answer)
        return
    out.print("Open this within 10 minutes; it works once:")
    out.print(f"  {answer['url']}", markup=False, soft_wrap=True)
