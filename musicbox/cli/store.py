"""`musicbox store migrate --to URL`: this box's settings, queues, playlists, favourites, history,
Spotify matches, API tokens and graphs copied from its SQLite file into PostgreSQL, then counted on
both sides. Stop the bot first, so nothing is written while the copy runs."""

from __future__ import annotations

import os

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from musicbox.cli.console import BAD_INPUT, fail, out, print_json
from musicbox.core import diagnosis
from musicbox.core.config_rules import store_url_problem
from musicbox.core.diagnosis import Finding
from musicbox.store.config_file import paths_for
from musicbox.store.database import connect, damage
from musicbox.store.schema import CURRENT
from musicbox.store.sql import Connection, StoreError, is_postgresql, redacted
from musicbox.store.transfer import Counted, TargetNotEmpty, copy_stores

store = typer.Typer(help="Where the bot keeps its things: SQLite or PostgreSQL.", no_args_is_help=True)


@store.command()
def migrate(
    to: str = typer.Option(..., "--to", help="The PostgreSQL URL: postgresql://user:password@host/database."),
    replace: bool = typer.Option(
        False, "--replace", help="Empty the target's tables first, if it holds rows."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Copy this box's stores from its SQLite file into PostgreSQL and check every table's rows.
    Then set `[store] url` to the same URL and start the bot."""
    if not is_postgresql(to):
        fail(
            f"--to {store_url_problem(to)}",
            "Give the server's URL, e.g. postgresql://musicbox:…@db/musicbox.",
            code=BAD_INPUT,
        )
    path = paths_for(os.environ).state_dir / "musicbox.sqlite3"
    if not path.exists():
        fail(f"there is nothing to copy: {path} does not exist", "Run this on the box whose bot has run.")
    problem = damage(path)
    if problem is not None:
        fail(f"the database {path} {problem}", "See `musicbox doctor`.")
    source = connect(path)
    try:
        from musicbox.store.postgres import PostgresConnection

        target = PostgresConnection(to)
    except StoreError as unreachable:
        source.close()
        fail(str(unreachable), "Check the URL, that the server runs and that this box may connect to it.")
    try:
        counted = _copy(source, target, replace=replace, quiet=json_output)
    except TargetNotEmpty as held:
        fail(f"{held} at {redacted(to)}", "Give --replace to empty its tables first, or another database.")
    except StoreError as failed:
        fail(str(failed), "Nothing was copied (the copy is one transaction); fix that and run it again.")
    finally:
        source.close()
        target.close()
    matched = all(c.matches for c in counted)
    if json_output:
        print_json(
            {
                "from": str(path),
                "to": redacted(to),
                "tables": [{"table": c.table, "source": c.source, "target": c.target} for c in counted],
                "ok": matched,
            }
        )
    else:
        _show(counted)
    if not matched:
        fail(
            "the counts differ (was the bot running?)",
            "Stop it (`musicbox service stop`) and run this again with --replace.",
        )
    if not json_output:
        out.print(
            f"[green]✓[/] copied to {escape(redacted(to))}; now set \\[store] url to it and restart the bot."
        )


def store_finding(url: str) -> Finding:
    """The PostgreSQL server `[store] url` names: reached, and at which schema version (doctor, setup)."""
    from musicbox.store.postgres import schema_version_at

    try:
        version = schema_version_at(url)
    except StoreError as unreachable:
        return diagnosis.store(redacted(url), None, str(unreachable), CURRENT)
    return diagnosis.store(redacted(url), version, None, CURRENT)


def _copy(source: Connection, target: Connection, *, replace: bool, quiet: bool) -> list[Counted]:
    if quiet:
        return copy_stores(source, target, replace=replace)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=out, transient=True
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def shown(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done)

        return copy_stores(source, target, replace=replace, progress=shown)


def _show(counted: list[Counted]) -> None:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("table", "SQLite rows", "PostgreSQL rows", ""):
        table.add_column(column)
    for c in counted:
        table.add_row(
            c.table, str(c.source), str(c.target), "[green]✓[/]" if c.matches else "[red]differs[/]"
        )
    out.print(table)
