"""`musicbox status`: how the running bot is, asked over its control socket; when nothing answers,
whether it runs at all (a socket listening but silent is a busy or stuck bot, not a stopped one),
systemd's view of the unit and the last lines it logged."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from musicbox.bot.text import duration
from musicbox.cli.console import FAILURE, out, print_json
from musicbox.core import diagnosis
from musicbox.core.config_rules import ConfigError
from musicbox.core.diagnosis import Verdict
from musicbox.core.fleet import process_state
from musicbox.core.throttling import Throttling
from musicbox.service.control import (
    SOCKET_NAME,
    BotUnresponsive,
    ControlUnavailable,
    ask_status,
    sockets_found,
)
from musicbox.service.throttling import read_throttling
from musicbox.service.unit import has_systemd, last_log, unit_state
from musicbox.service.update_state import update_line
from musicbox.store.config_file import config_path, load_config, paths_for
from musicbox.store.sql import FAILURES, is_postgresql, redacted

DOWN = ("stopped", "unresponsive")


def status(json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Show whether the bot is online, its voice sessions, queues, memory and recent errors; of
    every process of a sharded bot on this box (`musicbox run --shards`), each in turn; and, with
    the stores on PostgreSQL, every process of the fleet, on this box or others."""
    runtime_dir = paths_for(os.environ).runtime_dir
    names = sockets_found(runtime_dir)
    # Read here, where status runs: the board is this box's, whether the bot answers or not.
    power = read_throttling()
    power_json = None if power is None else power.as_json()
    fleet = _fleet()
    fleet_down = fleet is not None and bool(fleet.get("down"))
    if names == [SOCKET_NAME]:
        report = _ask(runtime_dir, SOCKET_NAME) | {"power": power_json}
        if json_output:
            print_json(report | {"fleet": fleet})
        else:
            _show(report)
            _show_power(power)
            _show_fleet(fleet)
        if report["state"] in DOWN or fleet_down:
            raise typer.Exit(FAILURE)
        return
    reports = [_ask(runtime_dir, name) | {"socket": name} for name in names]
    down = [r for r in reports if r["state"] in DOWN]
    if json_output:
        overall = "online" if not down else "stopped" if len(down) == len(reports) else "degraded"
        print_json({"state": overall, "processes": reports, "power": power_json, "fleet": fleet})
    else:
        out.print(f"[bold]{len(reports)} musicbox processes on this box[/] ({len(down)} down)")
        for report in reports:
            shards = report.get("shards")
            named = f"shards {shards['ids']} of {shards['count']}" if shards else "unsharded"
            out.print(f"\n[bold]{escape(named)}[/] ({escape(report['socket'])})")
            _show(report)
        _show_power(power)
        _show_fleet(fleet)
    if down or fleet_down:
        raise typer.Exit(FAILURE)


def _fleet() -> dict[str, Any] | None:
    """Every process of the fleet from its heartbeat row, when the stores are on PostgreSQL (None on
    SQLite: this box's sockets are the whole story). Read only: status migrates nothing."""
    try:
        url = load_config(os.environ).store.url
    except ConfigError:  # `musicbox doctor` says what is wrong with the file; the sockets still answer
        return None
    if not is_postgresql(url):
        return None
    from musicbox.store.fleet import read_heartbeats
    from musicbox.store.postgres import PostgresConnection
    from musicbox.store.schema import version_of

    shown = redacted(url)
    try:
        connection = PostgresConnection(url)
    except FAILURES as unreachable:
        return {"store": shown, "error": str(unreachable)}
    try:
        if version_of(connection) < 4:
            return {"store": shown, "error": "no process of this version has started on it yet"}
        beats, now = read_heartbeats(connection)
    except FAILURES as failed:
        return {"store": shown, "error": str(failed)}
    finally:
        connection.close()
    processes = [
        {
            "label": beat.label,
            "shards": {"ids": list(beat.shard_ids), "count": beat.shard_count},
            "host": beat.host,
            "pid": beat.pid,
            "state": process_state(beat, now or beat.seen_at),
            "started_at": beat.started_at,
            "seen_s_ago": round((now or beat.seen_at) - beat.seen_at, 1),
            "guilds": beat.guilds,
            "voice_sessions": beat.voice_sessions,
        }
        for beat in beats
    ]
    down = sum(1 for p in processes if p["state"] == "down")
    return {"store": shown, "processes": processes, "down": down}


def _show_fleet(fleet: dict[str, Any] | None) -> None:
    if fleet is None:
        return
    if "error" in fleet:
        out.print(f"\n[red]fleet[/]: cannot read {escape(fleet['store'])}: {escape(fleet['error'])}")
        return
    processes = fleet["processes"]
    out.print(
        f"\n[bold]{len(processes)} processes in the fleet[/] ({fleet['down']} down)"
        f" on {escape(fleet['store'])}"
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("shards", "host", "pid", "state", "last seen", "servers", "voice"):
        table.add_column(column)
    colours = {"online": "green", "down": "red", "stopped": "yellow"}
    for process in processes:
        # The host name is whatever a machine of the fleet wrote: shown, never read as markup.
        table.add_row(
            f"{escape(process['label'])} of {process['shards']['count']}",
            escape(process["host"]),
            str(process["pid"]),
            f"[{colours[process['state']]}]{process['state']}[/]",
            f"{duration(process['seen_s_ago'])} ago",
            str(process["guilds"]),
            str(process["voice_sessions"]),
        )
    out.print(table)
    if fleet["down"]:
        out.print(
            "  a process down stops only its own servers' music; start it again (on its machine: "
            "`musicbox service start`, or its `musicbox run --shards`) and they resume"
        )


def _ask(runtime_dir: Path, name: str) -> dict[str, Any]:
    try:
        return asyncio.run(ask_status(runtime_dir, name=name))
    except ControlUnavailable as down:
        return {
            "state": "unresponsive" if isinstance(down, BotUnresponsive) else "stopped",
            "reason": str(down),
            "config": str(config_path(os.environ)),
            "unit": unit_state(),
            "last_log": last_log(),
        }


def _show(report: dict[str, Any]) -> None:
    if report["state"] in DOWN:
        _show_down(report)
        return
    colour = "green" if report["state"] == "online" else "yellow"
    latency = report["gateway_latency_ms"]
    out.print(
        f"[bold {colour}]●[/] musicbox {escape(str(report['version']))} {report['state']} "
        f"as {escape(str(report['user']))}"
    )
    out.print(f"  config {report['config']}", markup=False)
    allocator = report.get("allocator")  # a bot older than this status says nothing of it
    out.print(
        f"  up {duration(report['uptime_s'])}, pid {report['pid']}, {report['rss_mb']} MiB"
        f"{f' ({escape(str(allocator))} malloc)' if allocator else ''} "
        f"with its {report['children']} child processes"
    )
    out.print(
        f"  gateway latency {'—' if latency is None else f'{latency:.0f} ms'}, "
        f"{report['guilds']} servers, {len(report['voice_sessions'])} voice sessions "
        f"(cap {report['max_voice_sessions'] or 'none'})"
    )
    cache = report.get("cache")
    if cache:
        ratio = "—" if cache["hit_ratio"] is None else f"{cache['hit_ratio']:.0%}"
        out.print(
            f"  cache {cache['songs']} songs, {cache['used_mb']} of {cache['budget_mb']} MB, "
            f"hit ratio {ratio}"
        )
        if cache["disk_full"]:
            out.print(
                f"  [red]the cache disk is full[/]: songs play uncached until space is freed on "
                f"{escape(str(cache['directory']))} "
                "(see `df -h`; `musicbox cache purge` frees the cache's own)"
            )
    else:
        out.print("  cache off (budget 0): every song is streamed from its source")
    _show_web(report.get("web"))
    if "update" in report:  # a bot older than this status says nothing of it
        out.print(f"  update {update_line(report['update'], time.time())}", markup=False)
    _show_upstreams(report["upstreams"])
    for folder in report.get("music_folders", []):
        out.print(music_folder_line(folder), markup=False)
    if report["voice_sessions"]:
        out.print(_sessions_table(report["voice_sessions"]))
    for error in report["last_errors"]:
        out.print(f"  [red]{escape(str(error['level']))}[/] {escape(str(error['message']))}")


def _show_down(report: dict[str, Any]) -> None:
    # A reason and the log lines quote paths and whatever was logged: text, not markup.
    if report["state"] == "unresponsive":
        out.print(f"[bold yellow]●[/] musicbox is running but not answering ({escape(report['reason'])})")
    else:
        out.print(f"[bold red]●[/] musicbox is not running ({escape(report['reason'])})")
    out.print(f"  config {report['config']}", markup=False)
    unit = report["unit"]
    if unit:
        out.print(
            f"  systemd: {unit.get('ActiveState')} ({unit.get('SubState')}), "
            f"last exit status {unit.get('ExecMainStatus')}",
            markup=False,
        )
    for line in report["last_log"]:
        out.print(f"  [dim]{escape(line)}[/]")
    out.print(f"  {what_to_do(report['state'], systemd=has_systemd())}", markup=False)


def what_to_do(state: str, *, systemd: bool) -> str:
    """The next step for a bot that is not answering; `musicbox service` only where systemd runs."""
    if state == "unresponsive":
        restart = "`musicbox service restart`" if systemd else "restarting `musicbox run` or its container"
        return (
            "A busy box can delay it: ask again in a minute. If it stays so, see `musicbox logs`; "
            f"{restart} keeps the queues."
        )
    if systemd:
        return "Start it with `musicbox service start`, or see `musicbox logs` and `musicbox doctor`."
    return (
        "No systemd here: start it with `musicbox run` (or its container: "
        "`docker compose -f packaging/compose.yaml up -d`); `musicbox doctor` checks what it needs."
    )


def _show_power(power: Throttling | None) -> None:
    """A line only for a Pi that reports trouble: a healthy Pi and every other box say nothing."""
    finding = diagnosis.board_power(power)
    if finding is None or finding.verdict is Verdict.OK:
        return
    out.print(f"  [yellow]power[/]: {escape(finding.detail)}")
    out.print(f"    {finding.fix}", markup=False)


def _show_web(web: dict[str, Any] | None) -> None:
    if web is None:
        out.print("  web page off (`musicbox setup --web` turns it on)")
    elif web["problem"]:
        out.print(f"  [red]web page not served[/]: {escape(str(web['problem']))}")
    else:
        out.print(f"  web page {escape(str(web['url']))} (`musicbox web link` logs you in once)")


def music_folder_line(folder: dict[str, Any]) -> str:
    """One line per folder of [library] folders, as the running bot sees it."""
    if folder["problem"] is not None:
        return (
            f"  music folder {folder['folder']} {folder['problem']} for the bot: its songs are not offered "
            "(see `musicbox doctor`)"
        )
    return f"  music folder {folder['folder']}: {folder['songs']} songs"


def _show_upstreams(upstreams: dict[str, Any]) -> None:
    out.print(f"  upstreams: {upstreams['failures']} failed calls, {upstreams['retries']} tried again")
    for troubled in upstreams["troubled"]:
        state = troubled["circuit"]
        failures = troubled["consecutive_failures"]
        if state == "open":
            out.print(
                f"  [red]{escape(troubled['name'])}[/]: circuit open after {failures} failures in a row; "
                f"members are told at once, next try in {troubled['retry_in_s']:.0f} s"
            )
        elif state == "half-open":
            out.print(
                f"  [yellow]{escape(troubled['name'])}[/]: circuit half-open, one request is testing it"
            )
        else:
            out.print(f"  [yellow]{escape(troubled['name'])}[/]: {failures} failures in a row")


def _sessions_table(sessions: list[dict[str, Any]]) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("server", "channel", "playing", "at", "queued", "loop"):
        table.add_column(column)
    for session in sessions:
        playing = session.get("now_playing") or "—"
        if session.get("paused"):
            playing += " (paused)"
        # Server, channel and song names are whatever their owners typed: shown, never read as markup.
        table.add_row(
            escape(str(session.get("guild") or session["guild_id"])),
            escape(str(session.get("channel") or "—")),
            escape(playing),
            duration(session.get("position_s", 0.0)),
            str(session.get("queue_length", 0)),
            escape(str(session.get("loop", "off"))),
        )
    return table
