"""`musicbox tune`: what the hardware probe found and the limits the bot runs with because of it."""

from __future__ import annotations

import dataclasses
import os

import typer
from rich.markup import escape
from rich.table import Table

from musicbox.cli.console import BAD_INPUT, fail, out, print_json
from musicbox.core.config_rules import ConfigError
from musicbox.core.tuning import overrides_from, tune
from musicbox.service.probe import probe
from musicbox.store.config_file import load_config


def tune_command(json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Show this box's cores, RAM and free disk, and the limits chosen from them (config wins)."""
    try:
        config = load_config(dict(os.environ))
    except ConfigError as bad:
        fail(str(bad), "Fix the value, or run `musicbox setup`.", code=BAD_INPUT)
    found = probe(config.paths.cache_dir)
    tuning = tune(found, overrides_from(config))
    if json_output:
        chosen = dataclasses.asdict(tuning)
        print_json({"probe": dataclasses.asdict(found), "tuning": chosen})
        return
    board = found.board or found.cpu_model or found.machine
    out.print(f"[bold]{escape(board)}[/] ({escape(found.machine)})")  # as the firmware names it
    out.print(f"  {found.cores} cores, {found.ram_mb} MB RAM, {found.free_disk_mb} MB free for the cache")
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("limit")
    table.add_column("value", justify="right")
    table.add_column("why")
    rows = (
        ("resolver workers", tuning.resolver_workers),
        ("concurrent transcodes", tuning.max_transcodes),
        ("voice sessions", tuning.max_guilds),
        ("cache budget (MB)", tuning.cache_budget_mb),
        ("prefetch depth", tuning.prefetch_depth),
        ("filtered streams", tuning.max_filtered),
    )
    for (name, value), reason in zip(rows, tuning.reasons, strict=True):
        table.add_row(name, str(value), reason.partition(": ")[2])
    out.print(table)
    out.print("Set any of these in the config file to override (`musicbox setup` shows where it is).")
