"""`musicbox doctor`: every check that explains why a bot does not play, each with its fix."""

from __future__ import annotations

import asyncio
import ctypes.util
import grp
import os
import pwd
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import psutil
import typer
from rich.markup import escape

from musicbox.bot.sources import QueryFailed
from musicbox.cli.console import out, print_json
from musicbox.cli.store import store_finding
from musicbox.core import diagnosis
from musicbox.core.config import Config
from musicbox.core.config_rules import ConfigError
from musicbox.core.diagnosis import Finding, Verdict
from musicbox.service.secret_keeping import keep_from_children
from musicbox.service.throttling import read_throttling
from musicbox.service.unit import unit_state
from musicbox.sources.egress import EgressGate
from musicbox.sources.local import folder_problem
from musicbox.store.config_file import config_path, left_behind, load_config
from musicbox.store.database import damage

RESOLV_CONF = Path("/etc/resolv.conf")
DNS_WAIT_S = 10.0  # a resolver that never answers is as broken as one that says no
_MARK = {Verdict.OK: "[green]✓[/]", Verdict.WARN: "[yellow]![/]", Verdict.FAIL: "[red]✗[/]"}


def doctor(
    online: bool = typer.Option(
        False, "--online", help="Also search and resolve one song through the configured source."
    ),
    words: str = typer.Option(
        "rick astley never gonna give you up", "--words", help="What --online searches for."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Check ffmpeg, libopus, yt-dlp and Deno, a Raspberry Pi's power and heat, the config and token,
    disk, clock, permissions and the service; exit 1 if anything would stop the bot from playing."""
    if json_output:
        findings = _findings(online, words, progress=None)
    else:
        with out.status("checking…") as spinner:
            findings = _findings(online, words, progress=lambda check: spinner.update(f"checking {check}…"))
    if json_output:
        print_json([{**vars_of(finding), "verdict": finding.verdict.value} for finding in findings])
    else:
        for finding in findings:
            # A detail quotes config keys ([discord] token), paths and titles: text, not markup.
            out.print(
                f"{_MARK[finding.verdict]} [bold]{finding.check}[/]: {escape(finding.detail)}", soft_wrap=True
            )
            if finding.fix:
                out.print(f"    {finding.fix}", markup=False, soft_wrap=True)
    raise typer.Exit(diagnosis.exit_code(findings))


def _config_mode(path: Path) -> Finding:
    status = path.stat()
    return diagnosis.config_mode(str(path), status.st_mode, _user(status.st_uid), _group(status.st_gid))


def _nameservers() -> list[str]:
    try:
        lines = RESOLV_CONF.read_text().splitlines()
    except OSError:
        return []
    return [line.split()[1] for line in lines if line.startswith("nameserver") and len(line.split()) > 1]


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def vars_of(finding: Finding) -> dict[str, str]:
    return {"check": finding.check, "detail": finding.detail, "fix": finding.fix}


def _findings(online: bool, words: str, progress: Callable[[str], None] | None) -> list[Finding]:
    def step(check: str) -> None:
        if progress is not None:
            progress(check)

    environment = dict(os.environ)
    keep_from_children(os.environ)  # ffmpeg, yt-dlp, Deno and systemctl below need none of them
    found = [_ffmpeg(), _libopus(), diagnosis.ytdlp_age(_ytdlp_version(), date.today()), _deno()]
    if power := diagnosis.board_power(read_throttling()):
        found.append(power)
    step("config")
    try:
        config = load_config(environment)
    except ConfigError as bad:
        return [*found, Finding("config", Verdict.FAIL, str(bad), "Fix the value, or run `musicbox setup`")]
    path = config_path(environment)
    found.append(
        diagnosis.ok("config", f"{path} is valid" if path.exists() else f"no file at {path}: defaults")
    )
    if (old := left_behind(path)) is not None:
        found.append(diagnosis.old_config(str(old), str(path), read_exists=path.exists()))
    step("token")
    found += _token_and_clock(config)
    found.append(_disk(config))
    database = config.paths.state_dir / "musicbox.sqlite3"
    found.append(diagnosis.database(str(database), database.exists(), damage(database)))
    if config.store.url:
        step("store")
        found.append(store_finding(config.store.url))
    if path.exists():
        found.append(_config_mode(path))
    found += [diagnosis.music_folder(folder, folder_problem(folder)) for folder in config.library.folders]
    state = unit_state()
    found.append(diagnosis.unit(state))
    web = config.web
    found.append(
        diagnosis.web_page(
            enabled=web.enabled, host=web.host, port=web.port, password_set=bool(web.password_hash)
        )
    )
    if dns := diagnosis.resolvers(_nameservers(), state.get("IPAddressDeny", "")):
        found.append(dns)
    if online:
        step("the live source")
        found.append(asyncio.run(_online(config, words)))
    return found


def _ffmpeg() -> Finding:
    binary = shutil.which("ffmpeg")
    if binary is None:
        return Finding("ffmpeg", Verdict.FAIL, "not found", "Run `sudo apt install ffmpeg`")
    shown = subprocess.run([binary, "-version"], capture_output=True, text=True, timeout=30, check=False)
    first = shown.stdout.splitlines()[0] if shown.stdout else "no version output"
    return diagnosis.ok("ffmpeg", " ".join(first.split()[:3]))


def _libopus() -> Finding:
    name = ctypes.util.find_library("opus")
    if name is None:
        return Finding("libopus", Verdict.FAIL, "not found", "Run `sudo apt install libopus0`")
    return diagnosis.ok("libopus", name)


def _ytdlp_version() -> str:
    from yt_dlp.version import __version__

    return str(__version__)


def _deno() -> Finding:
    # Here, not at the top, as discord.py and yt-dlp below: they take a second to import (several
    # on a Pi), which every other `musicbox` command would pay, `status` included.
    from musicbox.sources.extraction import deno_path

    binary = deno_path()
    if binary is None:
        return Finding("deno", Verdict.FAIL, "not found (YouTube needs it)", "Reinstall: `sudo ./install.sh`")
    shown = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    if shown.returncode != 0:
        return Finding("deno", Verdict.FAIL, f"{binary} does not run", "Reinstall: `sudo ./install.sh`")
    return diagnosis.ok("deno", shown.stdout.splitlines()[0])


def _token_and_clock(config: Config) -> list[Finding]:
    if not config.discord.token:
        return [Finding("token", Verdict.FAIL, "no bot token", "Run `musicbox setup`")]
    from musicbox.bot.identity import IdentityUnknown, identify

    try:
        identity = asyncio.run(identify(config.discord.api_base, config.discord.token))
    except IdentityUnknown as unknown:
        return [Finding("token", Verdict.FAIL, str(unknown), "Run `musicbox setup` to paste a new token")]
    skew = None if identity.server_time is None else time.time() - identity.server_time
    return [diagnosis.ok("token", f"accepted: the bot is {identity.name}"), diagnosis.clock(skew)]


def _disk(config: Config) -> Finding:
    where = _existing(config.paths.cache_dir)
    return diagnosis.disk(str(config.paths.cache_dir), psutil.disk_usage(str(where)).free // 2**20)


def _existing(directory: Path) -> Path:
    return next((p for p in (directory, *directory.parents) if p.exists()), Path("/"))


async def _online(config: Config, words: str) -> Finding:
    # A private in-memory store, so the check really goes upstream instead of answering from cache.
    from musicbox.sources.ytdlp import YtDlpSource

    database = sqlite3.connect(":memory:", check_same_thread=False)
    egress = EgressGate(config.resolver.allowed_private_hosts)
    source = YtDlpSource(config, database, egress=egress)
    started = time.monotonic()
    try:
        found = await source.search(words, limit=1)
        if not found:
            return Finding(
                "online", Verdict.FAIL, f"searching for {words!r} found nothing", "Run `musicbox update`"
            )
        await source.media_url(found[0])
    except QueryFailed as failed:
        host = diagnosis.search_host(config.resolver.search_template)
        resolves = host is None or await _resolves(host)
        return diagnosis.online_failure(str(failed), host, resolves=resolves)
    finally:
        await source.aclose()
        egress.close()
        database.close()
    elapsed = time.monotonic() - started
    return diagnosis.ok("online", f"found and resolved {found[0].title!r} in {elapsed:.1f} s")


async def _resolves(host: str) -> bool:
    try:
        async with asyncio.timeout(DNS_WAIT_S):
            await asyncio.get_running_loop().getaddrinfo(host, None)
    except (OSError, TimeoutError):
        return False
    return True
