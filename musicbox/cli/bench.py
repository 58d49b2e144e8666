"""`musicbox bench`: the speed figures, measured on the built-in simulator and media world."""

from __future__ import annotations

import asyncio

import typer
from rich.markup import escape
from rich.table import Table

from musicbox.bench.figures import Figure
from musicbox.bench.runner import BenchOptions, Scenario, ScenarioResult, results_json, run_scenarios
from musicbox.cli.console import BAD_INPUT, FAILURE, err, fail, out, print_json

NAMES = (
    "cache",
    "cpu-ratio",
    "ttfa",
    "gap",
    "playlist",
    "streams",
    "ack",
    "memory",
    "web",
    "soak",
    "pi",
    "shards",
)


def scenarios() -> dict[str, Scenario]:
    # Imported when a bench runs: the scenarios bring the simulator, discord.py and yt-dlp, a second
    # of imports every other `musicbox` command would pay.
    from musicbox.bench.cache_policy import cache_scenario
    from musicbox.bench.cpu import cpu_ratio_scenario
    from musicbox.bench.load import ack_scenario, memory_scenario
    from musicbox.bench.pi import pi_scenario
    from musicbox.bench.playback import gap_scenario, playlist_scenario, ttfa_scenario
    from musicbox.bench.shards import shards_scenario
    from musicbox.bench.soak import soak_scenario
    from musicbox.bench.streams import streams_scenario
    from musicbox.bench.web import web_scenario

    return {
        "cache": cache_scenario,
        "cpu-ratio": cpu_ratio_scenario,
        "ttfa": ttfa_scenario,
        "gap": gap_scenario,
        "playlist": playlist_scenario,
        "streams": streams_scenario,
        "ack": ack_scenario,
        "memory": memory_scenario,
        "web": web_scenario,
        "soak": soak_scenario,
        "pi": pi_scenario,
        "shards": shards_scenario,
    }


_WHICH = typer.Argument(
    None, metavar="SCENARIO...", help=f"Which to run (default: all): {', '.join(NAMES)}.", show_default=False
)


def bench(
    which: list[str] | None = _WHICH,
    quick: bool = typer.Option(False, "--quick", help="The short form CI runs: fewer plays and members."),
    minutes: float = typer.Option(
        0.0, "--minutes", min=0.0, help="How long the soak runs (default: 60; quick: 1).", show_default=False
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Measure acknowledgement latency, time to first audio, gaps, concurrent streams, CPU, cache hit
    ratios, memory and a soak under load against their targets, on the built-in simulator (nothing
    leaves 127.0.0.1); exit 1 if a target is missed."""
    names = which or list(NAMES)
    unknown = [name for name in names if name not in NAMES]
    if unknown:
        fail(
            f"no scenario called {', '.join(unknown)}",
            f"Choose from: {', '.join(NAMES)}.",
            code=BAD_INPUT,
        )
    options = BenchOptions(quick=quick, minutes=minutes or None)
    report = _quiet if json_output else _show
    results = asyncio.run(run_scenarios(scenarios(), names, options, on_done=report))
    if json_output:
        print_json(results_json(results, options))
    if not all(result.passed for result in results):
        raise typer.Exit(FAILURE)


def _quiet(result: ScenarioResult) -> None:
    """--json prints everything at the end, as one document."""


def _show(result: ScenarioResult) -> None:
    if result.error:
        err.print(f"[bold red]✗ {result.name}[/] could not run: {escape(result.error)}", soft_wrap=True)
        return
    table = Table(title=f"{result.name} ({result.seconds:.1f} s)", title_justify="left", show_edge=False)
    for column in ("figure", "value", "target", ""):
        table.add_column(column)
    for figure in result.figures:
        table.add_row(figure.name, _value(figure), _target(figure), _mark(figure))
    out.print(table)


def _value(figure: Figure) -> str:
    return f"{figure.value:.3g} {figure.unit}" if figure.value < 100 else f"{figure.value:.0f} {figure.unit}"


def _target(figure: Figure) -> str:
    return "" if figure.target is None else f"{figure.target.direction.value} {figure.target.bound:g}"


def _mark(figure: Figure) -> str:
    if figure.passed is None:
        return ""
    if figure.missed_by is None:
        return "[green]pass[/]"
    return f"[red]FAIL[/] by {figure.missed_by:.3g} {figure.unit}"
