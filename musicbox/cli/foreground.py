"""`musicbox run`'s work: the bot in the foreground (systemd's ExecStart, or by hand on a development
box). Imports neither Typer nor rich: the service path (`musicbox.cli.main`) comes here without
them, and they are loaded only to print a failure."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from musicbox import log_context
from musicbox.core.config import Config
from musicbox.core.config_rules import ConfigError
from musicbox.core.secrets import forms_of, token_problem
from musicbox.core.shards import ShardPlan, parse_run_arguments
from musicbox.service.logbook import LINE_FORMAT, file_handler
from musicbox.service.runner import ShardsMisfit, TokenRejected, run_service
from musicbox.service.secret_keeping import keep_from_children, redact_logs
from musicbox.store.config_file import config_path, left_behind, load_config
from musicbox.store.sql import StoreError


def run_from_arguments(arguments: Sequence[str]) -> None:
    """`musicbox run`'s arguments (after `run`): bad ones are one sentence and exit 2."""
    request = parse_run_arguments(arguments)
    if isinstance(request, str):
        fail(request, code=_BAD_INPUT)
    run_bot(verbose=request.verbose, shards=request.shards)


def run_bot(*, verbose: bool, shards: ShardPlan | None = None) -> None:
    """Run the bot in the foreground until stopped (Ctrl-C or SIGTERM); with `shards`, only those."""
    environment = dict(os.environ)
    keep_from_children(os.environ)
    try:
        config = load_config(environment)
    except ConfigError as bad:
        fail(str(bad), "Fix the value, or run `musicbox setup` to write a fresh config.", code=_BAD_INPUT)
    if not config.discord.token:
        path = config_path(environment)
        old = left_behind(path)
        fail(
            f"no bot token in {path} or MUSICBOX_TOKEN",
            f"{old} is musicbox 0.1.0's name for it and no longer read: run `mv {old} {path}`."
            if old is not None and not path.exists()
            else "Run `musicbox setup` to add one, or `musicbox demo` to see musicbox work without Discord.",
            code=_BAD_INPUT,
        )
    if problem := token_problem(config.discord.token):
        fail(
            f"{problem} (read from {config_path(environment)} or MUSICBOX_TOKEN)",
            "Run `musicbox setup` to check a token with Discord and save it.",
            code=_BAD_INPUT,
        )
    redact_logs(_secrets(config))
    _configure_logging(verbose, config.paths.state_dir, under_journald="JOURNAL_STREAM" in environment)
    try:
        asyncio.run(run_service(config, environment, shards))
    except TokenRejected:
        fail("Discord refused the bot token.", "Run `musicbox setup` and paste the token again.")
    except StoreError as unreachable:  # [store] url's server: down, refusing, or of a newer musicbox
        fail(str(unreachable), "Check [store] url and the server (`musicbox doctor` says what it found).")
    except ShardsMisfit as misfit:
        fail(str(misfit), code=_BAD_INPUT)


def _secrets(config: Config) -> list[str]:
    return forms_of(config.discord.token, config.spotify.client_id, config.spotify.client_secret)


def _configure_logging(verbose: bool, state_dir: Path, *, under_journald: bool) -> None:
    # journald stamps and keeps each line itself; elsewhere we add the time and keep a file that
    # `musicbox logs` reads.
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format=log_context.JOURNAL_FORMAT if under_journald else LINE_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(log_context.Fields())
    if not under_journald:
        logging.getLogger().addHandler(file_handler(state_dir))
    logging.getLogger("discord").setLevel(logging.INFO if verbose else logging.WARNING)


_BAD_INPUT = 2  # the CLI's exit code for bad input (console.BAD_INPUT), without importing it


def fail(problem: str, fix: str = "", *, code: int = 1) -> NoReturn:
    from musicbox.cli.console import report

    report(problem, fix)
    raise SystemExit(code)
