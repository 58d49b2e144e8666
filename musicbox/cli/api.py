"""`musicbox api token create|list|revoke`: personal tokens for the REST API, each acting as one
Discord member. Made by the running bot (over its control socket, so only root and the service
user can), which keeps only a hash: the token is shown once, here."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from musicbox.cli.console import BAD_INPUT, fail, out, print_json
from musicbox.service.control import ControlUnavailable, ask
from musicbox.store.config_file import paths_for

api = typer.Typer(help="The REST API: personal tokens.", no_args_is_help=True)
token = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
api.add_typer(token, name="token")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _ask(request: str) -> dict[str, Any]:
    try:
        answer = asyncio.run(ask(paths_for(os.environ).runtime_dir, f"api-token {request}"))
    except ControlUnavailable as down:
        fail(f"cannot ask the bot: {down}", "Start it with `musicbox service start` (see `musicbox status`).")
    if "error" in answer:
        fail(str(answer["error"]), code=BAD_INPUT)
    result: dict[str, Any] = answer
    return result


@token.command()
def create(
    name: str = typer.Argument(..., help="What the token is for, e.g. 'phone'."),
    user: int = typer.Option(..., "--user", min=1, help="The Discord user id the token acts as."),
    json_output: bool = JSON,
) -> None:
    """Make a token that acts as a Discord member (their roles, their voice channel)."""
    answer = _ask(f"create {user} {name}")
    if json_output:
        print_json(answer)
        return
    out.print(
        f"Token {answer['id']} for user {answer['user_id']} ({escape(str(answer['name']))}); shown only now:"
    )
    out.print(f"  {answer['token']}", markup=False, soft_wrap=True)
    out.print("Send it as 'Authorization: Bearer <token>' to /api/v1 (see /api/v1/openapi.json).")


@token.command("list")
def list_tokens(json_output: bool = JSON) -> None:
    """The tokens that work now (never the tokens themselves)."""
    answer = _ask("list")
    if json_output:
        print_json(answer)
        return
    if not answer["tokens"]:
        out.print("No API tokens; make one with `musicbox api token create NAME --user ID`.")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "user", "name", "created"):
        table.add_column(column)
    for listed in answer["tokens"]:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(listed["created_at"]))
        table.add_row(str(listed["id"]), listed["user_id"], escape(listed["name"]), created)
    out.print(table)


@token.command()
def revoke(
    token_id: int = typer.Argument(..., help="The token's id, from `musicbox api token list`."),
) -> None:
    """Stop a token from working, at once."""
    _ask(f"revoke {token_id}")
    out.print(f"[green]✓[/] token {token_id} no longer works")
