"""`musicbox setup`: the few questions that make a working bot, each answer checked before anything is
written; re-running edits the existing config and keeps everything else in it."""

from __future__ import annotations

import asyncio
import base64
import grp
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer
from rich.markup import escape

from musicbox.bot.identity import BotIdentity, IdentityUnknown, identify
from musicbox.cli.console import BAD_INPUT, err, fail, out
from musicbox.cli.store import store_finding
from musicbox.core.config import DISCORD_API_BASE, SPOTIFY_ACCOUNTS_BASE
from musicbox.core.config_rules import (
    ConfigError,
    environment_name,
    listening_address_problem,
    store_url_problem,
)
from musicbox.core.diagnosis import Verdict
from musicbox.core.passwords import hash_password, password_problem
from musicbox.core.secrets import SPOTIFY_SECRET_VARIABLE, TOKEN_VARIABLE, token_problem
from musicbox.service.control import ControlUnavailable, ask_status
from musicbox.service.secret_keeping import keep_from_children
from musicbox.service.unit import UNIT, has_systemd, systemctl, systemctl_daemon_reload, write_music_drop_in
from musicbox.sources.local import folder_problem
from musicbox.store.config_file import config_path, paths_for, read_document, write_config

SERVICE_USER = "musicbox"
UNIT_FILE = Path("/etc/systemd/system") / UNIT
ONLINE_WAIT_S = 60
PROMPTS = {
    "--token-file": "Bot token",
    "--spotify-secret-file": "Spotify client secret",
    "--web-password-file": "Web page password",
    "--store-url-file": "PostgreSQL URL",
}
WEB_PASSWORD_VARIABLE = "MUSICBOX_WEB_PASSWORD"
STORE_URL_VARIABLE = environment_name("store", "url")


def setup(
    token_file: str = typer.Option(
        "",
        "--token-file",
        help="Read the bot token from this file; - reads it from standard input. Or set MUSICBOX_TOKEN.",
        show_default=False,
    ),
    token: str = typer.Option("", "--token", hidden=True),
    spotify_id: str = typer.Option("", "--spotify-id", help="Spotify client id (optional)."),
    spotify_secret_file: str = typer.Option(
        "",
        "--spotify-secret-file",
        help="Read the Spotify client secret from this file (- : standard input), "
        "or set MUSICBOX_SPOTIFY_CLIENT_SECRET.",
        show_default=False,
    ),
    spotify_secret: str = typer.Option("", "--spotify-secret", hidden=True),
    volume: int = typer.Option(
        -1, "--volume", min=-1, max=200, help="Default volume, 0-200 %.", show_default=False
    ),
    dj_role: str = typer.Option(None, "--dj-role", help="Role allowed to skip/stop/clear; empty: everyone."),
    idle_timeout: int = typer.Option(
        -1, "--idle-timeout", help="Seconds alone before leaving.", show_default=False
    ),
    web: bool = typer.Option(
        None,
        "--web/--no-web",
        help="Turn the web page on (127.0.0.1 unless --web-host names a LAN address) or off.",
        show_default=False,
    ),
    web_host: str = typer.Option(
        "", "--web-host", help="Where the web page listens: 127.0.0.1, a LAN address or 0.0.0.0."
    ),
    web_port: int = typer.Option(
        0, "--web-port", min=0, max=65_535, help="The web page's port (8080).", show_default=False
    ),
    web_password_file: str = typer.Option(
        "",
        "--web-password-file",
        help="Read the web page's password from this file (- : standard input), "
        f"or set {WEB_PASSWORD_VARIABLE}.",
        show_default=False,
    ),
    # Annotated: a list option may not be a call in a default (ruff B008), a str or int may.
    music_folders: Annotated[
        list[str] | None,
        typer.Option(
            "--music-folder",
            help='A folder of your own music to play from (absolute path; repeat for more; "" for none).',
            show_default=False,
        ),
    ] = None,
    store_url_file: str = typer.Option(
        "",
        "--store-url-file",
        help="Keep settings, queues, playlists and favourites in PostgreSQL: read its URL "
        "(postgresql://user:password@host/db) from this file (- : standard input), "
        f"or set {STORE_URL_VARIABLE}.",
        show_default=False,
    ),
    unattended: bool = typer.Option(False, "--unattended", help="Ask nothing: take flags and environment."),
    no_service: bool = typer.Option(
        False, "--no-service", help="Write the config only; do not start the service."
    ),
) -> None:
    """Check your bot token with Discord, write the config, print the invite link, start the service."""
    _refuse_on_command_line(token=token, spotify_secret=spotify_secret)
    if [token_file, spotify_secret_file, web_password_file, store_url_file].count("-") > 1:
        fail(
            "standard input can carry only one secret",
            "Give the other in a file or its variable.",
            code=BAD_INPUT,
        )
    environment = dict(os.environ)
    keep_from_children(os.environ)  # systemctl, below, needs none of them
    given_token = _secret_from(token_file, TOKEN_VARIABLE, environment, "--token-file")
    given_secret = _secret_from(
        spotify_secret_file, SPOTIFY_SECRET_VARIABLE, environment, "--spotify-secret-file"
    )
    given_password = _secret_from(
        web_password_file, WEB_PASSWORD_VARIABLE, environment, "--web-password-file"
    )
    given_store_url = _secret_from(store_url_file, STORE_URL_VARIABLE, environment, "--store-url-file")
    path = config_path(environment)
    try:
        current = read_document(path)
    except ConfigError as broken:
        fail(str(broken), f"Fix it, or move it aside (mv {path} {path}.broken) and run setup again.")
    known: dict[str, Any] = {section: dict(keys) for section, keys in current.items()}
    discord_section = known.get("discord", {})
    token = given_token or _ask_token(discord_section.get("token", ""), unattended)
    if problem := token_problem(token):
        fail(problem, "Copy it from your application's Bot page, then run setup again.", code=BAD_INPUT)
    api_base = environment.get("MUSICBOX_DISCORD_API_BASE") or discord_section.get(
        "api_base", DISCORD_API_BASE
    )
    identity = _checked_identity(api_base, token)
    out.print(f"[green]✓[/] the token belongs to [bold]{escape(identity.name)}[/]")
    changes: dict[str, dict[str, Any]] = {"discord": {"token": token}}
    spotify = _spotify(known.get("spotify", {}), spotify_id, given_secret, unattended, environment)
    if spotify:
        changes["spotify"] = spotify
    changes["playback"] = _playback(known.get("playback", {}), volume, dj_role, idle_timeout, unattended)
    changes["web"] = _web(known.get("web", {}), web, web_host, web_port, given_password, unattended)
    folders = _music_folders(known.get("library", {}), music_folders, unattended)
    if folders is not None:
        changes["library"] = {"folders": list(folders)}
    if given_store_url:
        changes["store"] = {"url": _checked_store(given_store_url)}
    elif known.get("store", {}).get("url"):
        _check_kept_store(str(known["store"]["url"]))
    try:
        write_config(path, changes, group=_service_group())
    except ConfigError as bad:
        fail(str(bad), "Nothing was written; run setup again with a value in range.", code=BAD_INPUT)
    except OSError as cannot:
        fail(f"could not write {path}: {cannot.strerror}", "Run setup with sudo, or free some disk space.")
    out.print(f"[green]✓[/] wrote {escape(str(path))}")
    if folders is not None:
        _let_the_service_read(folders)
    out.print(f"Invite the bot to your server:\n  [link={identity.invite_url}]{identity.invite_url}[/link]")
    if not no_service:
        _start_service(environment)


def _refuse_on_command_line(*, token: str, spotify_secret: str) -> None:
    # Every user of the box can read a process's arguments (ps, /proc/PID/cmdline), and shells keep
    # them in their history: a secret given there is no longer a secret.
    for given, option, variable in (
        (token, "--token", TOKEN_VARIABLE),
        (spotify_secret, "--spotify-secret", SPOTIFY_SECRET_VARIABLE),
    ):
        if given:
            fail(
                f"{option} on the command line would show the secret to every user of this machine",
                f"Give it on standard input ({option}-file -), in a file ({option}-file PATH) "
                f"or in {variable}; or run setup without it and paste it when asked.",
                code=BAD_INPUT,
            )


def _secret_from(file: str, variable: str, environment: Mapping[str, str], option: str) -> str:
    if not file:
        return environment.get(variable, "").strip()
    if file == "-" and sys.stdin.isatty():  # typed, not piped: ask without echoing it
        answer: str = typer.prompt(PROMPTS[option], hide_input=True)
        return answer.strip()
    try:
        if file == "-":
            return sys.stdin.read().strip()
        return Path(file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as unreadable:
        reason = getattr(unreadable, "strerror", None) or "it is not UTF-8 text"
        fail(f"cannot read {option} {file}: {reason}", f"Check the path given to {option}.", code=BAD_INPUT)


def _ask_token(existing: str, unattended: bool) -> str:
    if unattended:
        if existing:
            return str(existing)
        fail(
            "no bot token given",
            f"Pipe it in with --token-file -, or set {TOKEN_VARIABLE}.",
            code=BAD_INPUT,
        )
    out.print("Paste the bot token from https://discord.com/developers/applications → your app → Bot.")
    hint = " (Enter keeps the current one)" if existing else ""
    answer: str = typer.prompt(f"Bot token{hint}", default="", hide_input=True, show_default=False)
    if answer.strip():
        return answer.strip()
    if existing:
        return str(existing)
    fail("no bot token given", "Run `musicbox demo` to try musicbox without one.", code=BAD_INPUT)


def _checked_identity(api_base: str, token: str) -> BotIdentity:
    with out.status("Checking the token with Discord…"):
        try:
            return asyncio.run(identify(api_base, token))
        except IdentityUnknown as unknown:
            fail(str(unknown), "Nothing was written.")


def _spotify(
    existing: Mapping[str, Any], client_id: str, secret: str, unattended: bool, environment: Mapping[str, str]
) -> dict[str, str]:
    if secret and not client_id:  # a new secret (from its variable, say) for the app already set up
        client_id = str(existing.get("client_id", ""))
    if not (client_id or secret) and not unattended:
        out.print(
            "Spotify links need a Spotify app's client id and secret "
            "(https://developer.spotify.com/dashboard); Enter skips."
        )
        client_id = typer.prompt(
            "Spotify client id", default=existing.get("client_id", ""), show_default=False
        )
        if client_id:
            secret = typer.prompt(
                "Spotify client secret",
                default=existing.get("client_secret", ""),
                hide_input=True,
                show_default=False,
            )
    if not (client_id or secret):
        return {}
    if not (client_id and secret):
        fail("Spotify needs both a client id and a client secret", "Give both, or neither.", code=BAD_INPUT)
    accounts = environment.get("MUSICBOX_SPOTIFY_ACCOUNTS_BASE") or existing.get(
        "accounts_base", SPOTIFY_ACCOUNTS_BASE
    )
    with out.status("Checking the Spotify credentials…"):
        problem = asyncio.run(_spotify_problem(accounts, client_id, secret))
    if problem:
        fail(
            problem,
            "Nothing was written. Copy both from your app at https://developer.spotify.com/dashboard.",
        )
    out.print("[green]✓[/] Spotify accepted the client id and secret")
    return {"client_id": client_id, "client_secret": secret}


async def _spotify_problem(accounts_base: str, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http,
            http.post(
                f"{accounts_base}/api/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {basic}"},
            ) as response,
        ):
            if response.status in (400, 401):
                return "Spotify refused the client id and secret"
            if response.status >= 300:
                return f"Spotify answered {response.status}; try again in a minute"
    except (aiohttp.ClientError, TimeoutError) as unreachable:
        return f"could not reach Spotify at {accounts_base} ({type(unreachable).__name__})"
    return ""


def _playback(
    existing: Mapping[str, Any], volume: int, dj_role: str | None, idle_timeout: int, unattended: bool
) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    if volume < 0 and not unattended:
        volume = typer.prompt(
            "Default volume (0-200 %)", default=existing.get("default_volume", 100), type=int
        )
    if volume >= 0:
        chosen["default_volume"] = volume
    if dj_role is None and not unattended:
        dj_role = typer.prompt(
            "DJ role (only it may skip, stop, clear; Enter: everyone)",
            default=existing.get("dj_role", ""),
            show_default=False,
        )
    if dj_role is not None:
        chosen["dj_role"] = dj_role
    if idle_timeout < 0 and not unattended:
        idle_timeout = typer.prompt(
            "Leave after this many seconds alone or idle",
            default=existing.get("idle_timeout_s", 300),
            type=int,
        )
    if idle_timeout >= 0:
        chosen["idle_timeout_s"] = idle_timeout
    return chosen


def _web(
    existing: Mapping[str, Any], enabled: bool | None, host: str, port: int, password: str, unattended: bool
) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    if enabled is None and not unattended:
        enabled = typer.confirm(
            "Turn on the web page (the bot's status in a browser; this box only unless you choose)?",
            default=bool(existing.get("enabled", False)),
        )
    if enabled is not None:
        chosen["enabled"] = enabled
    if host:
        if problem := listening_address_problem(host):
            fail(f"--web-host: {problem}", "Nothing was written.", code=BAD_INPUT)
        chosen["host"] = host
    if port:
        chosen["port"] = port
    turned_on = enabled if enabled is not None else bool(existing.get("enabled", False))
    if turned_on and not password and not unattended:
        hint = (
            " (Enter keeps the current one)"
            if existing.get("password_hash")
            else " (Enter: none, use `musicbox web link`)"
        )
        password = typer.prompt(
            f"Web page password{hint}",
            default="",
            hide_input=True,
            show_default=False,
            confirmation_prompt=bool(not existing.get("password_hash")),
        )
    if password:
        if problem := password_problem(password):
            fail(problem, "Nothing was written.", code=BAD_INPUT)
        chosen["password_hash"] = hash_password(password)
    return chosen


def _checked_store(url: str) -> str:
    """A new `[store] url`: a PostgreSQL URL whose server answers with a schema this musicbox can use."""
    if problem := store_url_problem(url):
        fail(f"the store URL {problem}", "Nothing was written.", code=BAD_INPUT)
    with out.status("Reaching the PostgreSQL server…"):
        finding = store_finding(url)
    if finding.verdict is Verdict.FAIL:
        fail(finding.detail, f"Nothing was written. {finding.fix}.")
    out.print(f"[green]✓[/] {escape(finding.detail)}")
    return url


def _check_kept_store(url: str) -> None:
    # Kept as it was: said, not refused (setup may be run to change the token while the server is down).
    finding = store_finding(url)
    mark = "[green]✓[/]" if finding.verdict is Verdict.OK else "[yellow]![/]"
    out.print(f"{mark} {escape(finding.detail)}")


def _music_folders(
    existing: Mapping[str, Any], given: list[str] | None, unattended: bool
) -> tuple[str, ...] | None:
    """The folders chosen, or None to leave [library] as it is."""
    if given is None and unattended:
        return None
    if given is None:
        answer = typer.prompt(
            "Folders of your own music, comma-separated (Enter: none)",
            default=", ".join(existing.get("folders", [])),
            show_default=False,
        )
        given = answer.split(",")
    folders = tuple(folder.strip() for folder in given if folder.strip())
    for folder in folders:
        if folder.startswith("/") and (problem := folder_problem(folder)) is not None:
            err.print(f"[yellow]![/] {escape(folder)} {problem}; the bot skips it until it can read it")
    return folders


def _let_the_service_read(folders: tuple[str, ...]) -> None:
    """The sandbox hides /home and lets the service write nowhere but its own directories: a drop-in
    beside the installed unit binds the folders in, read-only."""
    if not UNIT_FILE.exists():
        return
    try:
        drop_in = write_music_drop_in(UNIT_FILE.parent, folders)
    except OSError as cannot:
        fail(f"could not write the service's drop-in: {cannot.strerror}", "Run setup with sudo.")
    if has_systemd():
        systemctl_daemon_reload()
    out.print(
        f"[green]✓[/] the service reads {len(folders)} music folders read-only ({escape(str(drop_in))})"
    )


def _service_group() -> int | None:
    # Run by root on an installed box: the service's group may read the file, never write it, so a
    # compromised bot cannot change where the next `sudo musicbox setup` sends the token.
    if os.geteuid() != 0:
        return None
    try:
        return grp.getgrnam(SERVICE_USER).gr_gid
    except KeyError:
        return None


def _start_service(environment: Mapping[str, str]) -> None:
    if not has_systemd() or not UNIT_FILE.exists():
        out.print("Start the bot with `musicbox run` (install.sh sets it up as a service).")
        return
    # restart rather than start: a running bot must pick up the config just written.
    for action in ("enable", "restart"):
        done = systemctl(action)
        if done.returncode != 0:
            fail(f"systemctl {action} {UNIT} failed: {done.stderr.strip()}", "See `musicbox logs`.")
    with out.status("Waiting for the bot to come online…"):
        deadline = time.monotonic() + ONLINE_WAIT_S
        while time.monotonic() < deadline:
            try:
                if asyncio.run(ask_status(paths_for(environment).runtime_dir))["state"] == "online":
                    out.print("[green]✓[/] the bot is online; try /play in your server")
                    return
            except ControlUnavailable:
                pass
            time.sleep(1)
    err.print(
        f"The service started but did not report online within {ONLINE_WAIT_S} s; see `musicbox status`."
    )
