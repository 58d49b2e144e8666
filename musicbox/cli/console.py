"""The terminal every verb writes to: rich for people, plain JSON for scripts, one red line for a
failure with what to do next, and exit codes that mean something (0 ok, 1 failure, 2 bad input)."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

OK, FAILURE, BAD_INPUT = 0, 1, 2

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(problem: str, fix: str = "", *, code: int = FAILURE) -> NoReturn:
    report(problem, fix)
    raise typer.Exit(code)


def report(problem: str, fix: str = "") -> None:
    err.print(f"[bold red]error:[/] {escape(problem)}", soft_wrap=True)
    if fix:
        err.print(f"  {fix}", markup=False, soft_wrap=True)


def print_json(document: Any) -> None:
    # Straight to stdout without rich's wrapping, so `| jq` always parses it.
    typer.echo(json.dumps(document, indent=2, default=str))
