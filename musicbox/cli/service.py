"""`musicbox service start|stop|restart|enable|disable`: systemctl for the musicbox unit."""

from __future__ import annotations

import os

import typer

from musicbox.cli.console import FAILURE, fail, out
from musicbox.service.unit import UNIT, has_systemd, is_installed, systemctl

service = typer.Typer(
    help="Start, stop, restart, enable or disable the musicbox service.", no_args_is_help=True
)

_DONE = {
    "start": "started",
    "stop": "stopped",
    "restart": "restarted",
    "enable": "will start at boot",
    "disable": "will not start at boot",
}


def _control(verb: str) -> None:
    if not has_systemd():
        fail("systemd is not running this box", "Run the bot in the foreground with `musicbox run`.")
    if not is_installed():
        fail(f"{UNIT} is not installed", "Install it with `sudo ./install.sh` from the musicbox checkout.")
    done = systemctl(verb)
    if done.returncode != 0:
        fix = "Run it with sudo." if os.geteuid() != 0 else "See `musicbox logs` and `musicbox doctor`."
        fail(f"systemctl {verb} {UNIT} failed: {done.stderr.strip()}", fix, code=FAILURE)
    out.print(f"[green]✓[/] musicbox {_DONE[verb]}")


@service.command()
def start() -> None:
    """Start the service now."""
    _control("start")


@service.command()
def stop() -> None:
    """Stop the service (queues are kept and resume at the next start)."""
    _control("stop")


@service.command()
def restart() -> None:
    """Restart the service (after editing the config by hand)."""
    _control("restart")


@service.command()
def enable() -> None:
    """Start the service at every boot."""
    _control("enable")


@service.command()
def disable() -> None:
    """Do not start the service at boot."""
    _control("disable")
