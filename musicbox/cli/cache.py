"""`musicbox cache stats|purge`: what the audio and metadata caches hold, and emptying them, safely
while the bot runs (SQLite in WAL mode; a song being played keeps its open file until it ends)."""

from __future__ import annotations

import os
import time
from datetime import datetime

import typer
from rich.markup import escape

from musicbox.cache.store import AudioStore
from musicbox.cli.console import BAD_INPUT, fail, out, print_json
from musicbox.core.config import Config
from musicbox.core.config_rules import ConfigError
from musicbox.core.tuning import overrides_from, tune
from musicbox.service.logbook import BadSince, describe_span, parse_since
from musicbox.service.probe import probe
from musicbox.sources.metadata import MetadataCache
from musicbox.store.config_file import load_config
from musicbox.store.database import connect, damage

NOTHING_YET = "Nothing is cached yet: the bot has not run on this box."

cache = typer.Typer(help="Show or empty the audio and metadata caches.", no_args_is_help=True)


@cache.command()
def stats(json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """How many songs and bytes the audio cache holds against its budget, and cached lookups."""
    config = _config()
    opened = _open(config)
    if opened is None:
        _nothing_yet({"songs": 0, "used_mb": 0.0, "cached_lookups": 0}, json_output)
        return
    audio, metadata = opened
    figures = audio.stats()
    oldest = audio.oldest_played()
    report = {
        "directory": str(audio.directory),
        "songs": figures.entries,
        "used_mb": round(figures.used_bytes / 2**20, 1),
        "budget_mb": round(figures.budget_bytes / 2**20, 1),
        "being_written": figures.partial_files,
        "oldest_played_days_ago": None if oldest is None else round((time.time() - oldest) / 86_400, 1),
        "cached_lookups": metadata.count(),
    }
    if json_output:
        print_json(report)
        return
    share = (
        f"{100 * figures.used_bytes / figures.budget_bytes:.0f} %" if figures.budget_bytes else "no budget"
    )
    out.print(f"[bold]audio cache[/] {escape(str(report['directory']))}")
    out.print(f"  {figures.entries} songs, {report['used_mb']} MB of {report['budget_mb']} MB ({share})")
    if figures.partial_files:
        out.print(f"  {figures.partial_files} being written now")
    if oldest is not None:
        out.print(f"  least recently played: {report['oldest_played_days_ago']} days ago")
    out.print(f"[bold]lookups[/] {report['cached_lookups']} resolved links and searches kept")


@cache.command()
def purge(
    older_than: str = typer.Option(
        "", "--older-than", help="Only what was last played/resolved longer ago than this: 7d, 12h, 30m."
    ),
    everything: bool = typer.Option(False, "--all", help="Empty both caches."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Delete cached songs and lookups (songs are fetched again when next played)."""
    if bool(older_than) == everything:
        fail("say what to purge", "Use --older-than 7d, or --all to empty the caches.", code=BAD_INPUT)
    age_s = 0.0
    if older_than:
        now = time.time()
        try:
            cutoff = parse_since(older_than, datetime.fromtimestamp(now))
        except BadSince as bad:
            fail(str(bad).replace("--since", "--older-than"), "For example: --older-than 7d", code=BAD_INPUT)
        age_s = max(0.0, now - cutoff.timestamp())
    opened = _open(_config())
    if opened is None:
        _nothing_yet({"songs_removed": 0, "freed_mb": 0.0, "lookups_removed": 0}, json_output)
        return
    audio, metadata = opened
    keys = audio.keys_older_than(age_s) if older_than else audio.all_keys()
    freed = audio.remove(keys)
    lookups = metadata.forget_older_than(age_s)
    if json_output:
        print_json(
            {"songs_removed": len(keys), "freed_mb": round(freed / 2**20, 1), "lookups_removed": lookups}
        )
        return
    span = f" not played for {describe_span(age_s)}" if older_than else ""
    out.print(f"[green]✓[/] removed {len(keys)} songs{span} ({freed / 2**20:.1f} MB) and {lookups} lookups")


def _nothing_yet(zeros: dict[str, float], json_output: bool) -> None:
    """Before the bot ever ran: the sentence, or for a script the same figures as ever, all zero."""
    if json_output:
        print_json(zeros)
    else:
        out.print(NOTHING_YET, markup=False)


def _config() -> Config:
    try:
        return load_config(dict(os.environ))
    except ConfigError as bad:
        fail(str(bad), "Fix the value, or run `musicbox setup`.", code=BAD_INPUT)


def _open(config: Config) -> tuple[AudioStore, MetadataCache] | None:
    """The bot's caches, or None before the bot ever ran: made now by whoever runs this (root,
    often), the database would be theirs and the service could not write it."""
    path = config.paths.state_dir / "musicbox.sqlite3"
    if not path.exists():
        return None
    problem = damage(path)
    if problem is not None:
        fail(
            f"the database {path} {problem}",
            "The bot moves it aside at its next start; see `musicbox doctor`.",
        )
    tuning = tune(probe(config.paths.cache_dir), overrides_from(config))
    database = connect(path)
    audio = AudioStore(
        config.paths.cache_dir / "audio", database, budget_bytes=tuning.cache_budget_mb * 2**20, owner=False
    )
    return audio, MetadataCache(database, ttl_s=config.resolver.metadata_ttl_s)
