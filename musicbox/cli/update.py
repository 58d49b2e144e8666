"""`musicbox update`: upgrade yt-dlp and Deno inside musicbox's own venv (YouTube changes often; an old
yt-dlp is the usual reason a song stops resolving), smoke-test the result, and roll back to the
versions that worked if the test fails. musicbox-update.timer runs it weekly."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version

import typer

from musicbox.cli.console import FAILURE, err, out, print_json
from musicbox.service.unit import has_systemd, is_installed, systemctl

# What YouTube breaks and upstream fixes: only these are upgraded, everything else stays pinned.
UPDATED = ("yt-dlp", "deno")
PIP_TIMEOUT_S = 600
SMOKE_CHECKS = ("ffmpeg", "libopus", "yt-dlp", "deno")


def update(
    check: bool = typer.Option(False, "--check", help="Only show the installed versions."),
    restart: bool = typer.Option(False, "--restart", help="Restart the service if anything changed."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Upgrade yt-dlp and Deno, smoke-test, roll back if the test fails."""
    before = installed()
    if check:
        _report(before, {}, json_output)
        return
    if not json_output:
        out.print(f"upgrading {', '.join(UPDATED)} (now {_versions(before)})…")
    upgraded = _pip("install", "--upgrade", "yt-dlp[default]", "deno")
    after = installed()
    problem = upgraded or smoke_test()
    if problem:
        rollback = _pip("install", *(f"{name}=={number}" for name, number in before.items() if number))
        _report(installed(), {"rolled_back": True, "problem": problem}, json_output)
        err.print(f"[red]error:[/] the upgrade failed ({problem}); kept {_versions(before)}")
        if rollback:
            err.print(f"  and the rollback failed too ({rollback}): run `sudo ./install.sh` again")
        raise typer.Exit(FAILURE)
    changed = after != before
    if changed and restart and has_systemd() and is_installed():
        systemctl("restart")
    _report(after, {"changed": changed, "restarted": changed and restart}, json_output)


def installed() -> dict[str, str]:
    found = {}
    for name in UPDATED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = ""
    return found


def smoke_test() -> str:
    """ "" when the upgraded tools work: a fresh interpreter imports them and doctor's tool checks pass."""
    ran = subprocess.run(
        [sys.executable, "-m", "musicbox", "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        findings = {finding["check"]: finding for finding in json.loads(ran.stdout)}
    except json.JSONDecodeError:
        return f"musicbox no longer starts: {ran.stderr.strip()[-300:]}"
    failed = [name for name in SMOKE_CHECKS if findings.get(name, {}).get("verdict") == "fail"]
    return f"{', '.join(failed)} failed the smoke test" if failed else ""


def _pip(*arguments: str) -> str:
    ran = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *arguments],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        check=False,
    )
    return "" if ran.returncode == 0 else (ran.stderr.strip().splitlines() or ["pip failed"])[-1]


def _versions(found: dict[str, str]) -> str:
    return ", ".join(f"{name} {number or 'missing'}" for name, number in found.items())


def _report(found: dict[str, str], outcome: dict[str, object], json_output: bool) -> None:
    if json_output:
        print_json({"installed": found, **outcome})
        return
    verb = "unchanged" if outcome.get("changed") is False else "installed"
    out.print(f"[green]✓[/] {verb}: {_versions(found)}")
