"""What `musicbox doctor` concludes from the facts it gathered: one finding per check, each with
the fix in the owner's words. Pure; the CLI gathers the facts."""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from datetime import date
from enum import Enum
from urllib.parse import urlsplit

from musicbox.core import throttling
from musicbox.core.throttling import Throttling

DISK_WARN_MB = 512
DISK_FAIL_MB = 64
CLOCK_WARN_S = 30.0  # Discord's rate-limit resets and voice timestamps assume a clock within seconds
SERVICE_ACCOUNT = "musicbox"  # the user and group install.sh creates for the service
YTDLP_STALE_DAYS = 60  # YouTube changes often; a yt-dlp this old usually fails on some videos


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    verdict: Verdict
    detail: str
    fix: str = ""


def ok(check: str, detail: str) -> Finding:
    return Finding(check, Verdict.OK, detail)


def disk(where: str, free_mb: int) -> Finding:
    detail = f"{free_mb} MB free at {where}"
    if free_mb < DISK_FAIL_MB:
        return Finding(
            "disk", Verdict.FAIL, detail, "Free some space: `musicbox cache purge --all`, old logs"
        )
    if free_mb < DISK_WARN_MB:
        return Finding("disk", Verdict.WARN, detail, "The audio cache turns itself off below 256 MB free")
    return ok("disk", detail)


def clock(skew_s: float | None) -> Finding:
    if skew_s is None:
        return Finding("clock", Verdict.WARN, "Discord's time was not available to compare with")
    detail = f"{abs(skew_s):.1f} s {'ahead of' if skew_s > 0 else 'behind'} Discord"
    if abs(skew_s) > CLOCK_WARN_S:
        return Finding("clock", Verdict.WARN, detail, "Enable time sync: `sudo timedatectl set-ntp true`")
    return ok("clock", detail)


def ytdlp_age(version: str, today: date) -> Finding:
    released = _release_date(version)
    detail = f"yt-dlp {version}"
    if released is None:
        return Finding("yt-dlp", Verdict.WARN, f"{detail} (release date unknown)", "Run `musicbox update`")
    age = (today - released).days
    if age > YTDLP_STALE_DAYS:
        return Finding(
            "yt-dlp",
            Verdict.WARN,
            f"{detail} is {age} days old",
            "Run `musicbox update` (YouTube changes often)",
        )
    return ok("yt-dlp", detail)


def old_config(old: str, read: str, *, read_exists: bool) -> Finding:
    """A config under musicbox 0.1.0's name, which nothing reads any more."""
    fix = (
        f"Copy what you still need from it into {read}, then delete it"
        if read_exists
        else f"Run `mv {old} {read}`"
    )
    return Finding("old config", Verdict.WARN, f"{old} is not read: musicbox reads {read}", fix)


def search_host(template: str) -> str | None:
    """The host `doctor --online` reaches first for a search template: a URL's, YouTube's for
    yt-dlp's ytsearch, None for another yt-dlp search prefix."""
    if template.startswith("ytsearch"):
        return "www.youtube.com"
    return urlsplit(template).hostname if "://" in template else None


def online_failure(reason: str, host: str | None, *, resolves: bool) -> Finding:
    """A search that failed. A name that does not resolve is this box's network or DNS, which no
    yt-dlp update fixes; anything else is most often a yt-dlp too old for the site."""
    if host is not None and not resolves:
        return Finding(
            "online",
            Verdict.FAIL,
            f"{host} does not resolve: this box has no network or no working DNS",
            f"Check the network and DNS (`getent hosts {host}`), then run `musicbox doctor --online` again",
        )
    return Finding("online", Verdict.FAIL, reason, "Run `musicbox update`, then try again")


def config_mode(path: str, mode: int, owner: str, group: str) -> Finding:
    """The config holds the bot token. On an installed box it is root's, readable by the service's
    group and writable by nobody else (a compromised bot must not choose where the next
    `sudo musicbox setup` sends the token); on a development box it is private to its owner."""
    installed = owner in ("root", SERVICE_ACCOUNT)
    fix = (
        f"Run `sudo chown root:{SERVICE_ACCOUNT} {path}` and `sudo chmod 640 {path}`"
        if installed
        else f"Run `chmod 600 {path}`"
    )
    shown = f"{path} (owner {owner}:{group}, mode {mode & 0o777:o})"
    if mode & 0o007:
        return Finding("permissions", Verdict.FAIL, f"{shown} is readable by others: it holds the token", fix)
    if mode & 0o020:
        return Finding("permissions", Verdict.FAIL, f"{shown} can be changed by the service's group", fix)
    if owner == SERVICE_ACCOUNT:
        # As the first installs left it, and as a container's setup (run as the service) writes it.
        return Finding(
            "permissions",
            Verdict.WARN,
            f"{shown} is the service's own: a compromised bot could change where setup sends the token",
            f"{fix} (not in a container, where setup runs as the service)",
        )
    if mode & 0o040 and group != SERVICE_ACCOUNT:
        return Finding("permissions", Verdict.FAIL, f"{shown} is readable by the group {group}", fix)
    return ok("permissions", f"{shown} is readable only by root and the service" if installed else shown)


def database(path: str, exists: bool, damage: str | None) -> Finding:
    """The bot moves a damaged database aside itself and plays on, so damage is a warning: the owner
    learns now what the next start will lose, and can keep a copy first."""
    if not exists:
        return ok("database", f"{path} not made yet (the bot makes it when it first starts)")
    if damage is not None:
        return Finding(
            "database",
            Verdict.WARN,
            f"{path} {damage}",
            "The bot moves it aside at its next start and begins afresh (saved queues and server "
            "settings are lost); copy it first if you want to look at it",
        )
    return ok("database", f"{path} is healthy")


def store(where: str, version: int | None, problem: str | None, current: int) -> Finding:
    """`[store] url`'s server: `version` is its schema version, read (None with the `problem` when
    it could not be reached). The bot cannot start without it, so unreachable fails."""
    if problem is not None:
        return Finding(
            "store",
            Verdict.FAIL,
            problem,
            "Check [store] url, that the server runs and lets this box in (pg_hba.conf); "
            "or empty it to keep everything in SQLite on this box",
        )
    assert version is not None
    if version > current:
        return Finding(
            "store",
            Verdict.FAIL,
            f"{where} is at schema version {version}, newer than this musicbox knows ({current})",
            "Update musicbox on this box (`musicbox update`): another box runs a newer one",
        )
    if version == 0:
        return ok("store", f"{where} reached; empty (the bot makes its tables at its first start)")
    if version < current:
        return ok(
            "store", f"{where} reached at schema version {version} (the next start upgrades it to {current})"
        )
    return ok("store", f"{where} reached, schema version {version}")


def unit(state: dict[str, str]) -> Finding:
    if not state:
        return ok("service", "not a systemd service here (run it with `musicbox run`)")
    if state.get("LoadState") != "loaded":
        return Finding(
            "service", Verdict.WARN, "musicbox.service is not installed", "Run `sudo ./install.sh`"
        )
    active, enabled = state.get("ActiveState", "?"), state.get("UnitFileState", "?")
    detail = f"musicbox.service {active} ({state.get('SubState', '?')}), {enabled} at boot"
    if active != "active":
        return Finding("service", Verdict.FAIL, detail, "See `musicbox logs`, then `musicbox service start`")
    if enabled != "enabled":
        return Finding("service", Verdict.WARN, detail, "Run `musicbox service enable` to start it at boot")
    return ok("service", detail)


def resolvers(nameservers: list[str], denied: str) -> Finding | None:
    """Whether the unit's `IPAddressDeny=` (as systemd shows it) cuts the bot off from the DNS
    resolvers in /etc/resolv.conf: Tailscale's MagicDNS, 100.100.100.100, is in 100.64.0.0/10, which
    the unit denies; the bot would then fail every lookup. None when there is no such unit."""
    if not denied:
        return None
    networks = []
    for text in denied.split():
        with contextlib.suppress(ValueError):
            networks.append(ipaddress.ip_network(text, strict=False))
    blocked = []
    for text in nameservers:
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(text.split("%")[0])
            if any(address.version == network.version and address in network for network in networks):
                blocked.append(text)
    if not blocked:
        return ok(
            "dns", f"resolvers {', '.join(nameservers) or 'none listed'} are reachable from the service"
        )
    return Finding(
        "dns",
        Verdict.FAIL,
        f"musicbox.service's IPAddressDeny= blocks the DNS resolver {', '.join(blocked)} "
        "(/etc/resolv.conf): the bot cannot look up any name",
        "Lift that range with `systemctl edit musicbox.service` (IPAddressDeny= in docs/operations.md)",
    )


def web_page(*, enabled: bool, host: str, port: int, password_set: bool) -> Finding:
    """Where the web page listens, and whether the owner can log in with a password."""
    if not enabled:
        return ok("web page", "off (`musicbox setup --web` turns it on)")
    address = ipaddress.ip_address(host)
    reach = "this box only" if address.is_loopback else "every device on your network"
    detail = f"on {host}:{port}, reachable from {reach}"
    if not password_set:
        return Finding(
            "web page",
            Verdict.WARN,
            f"{detail}; no password is set",
            "Set one with `musicbox setup --web`, or log in once with `musicbox web link`",
        )
    return ok("web page", detail)


def music_folder(folder: str, problem: str | None) -> Finding:
    """A folder of [library] folders: one the bot cannot read is skipped (never a crash), so a warning."""
    if problem is None:
        return ok("music folder", f"{folder} is readable")
    return Finding(
        "music folder",
        Verdict.WARN,
        f"{folder} {problem}: its songs are not offered",
        "Create or mount it so the musicbox user can read it, or change it: `musicbox setup --music-folder`",
    )


def board_power(reading: Throttling | None) -> Finding | None:
    """A Raspberry Pi's under-voltage and thermal throttling, as its firmware reports them; None on a
    box that reports nothing (not a Pi): no line at all there. A warning, not a failure: the bot
    plays on, but an under-powered Pi stutters, resets its USB and corrupts SD cards, and a throttled
    one transcodes late."""
    if reading is None:
        return None
    shown = f"get_throttled 0x{reading.raw:x}"
    if not reading.troubled:
        return ok("power", f"no under-voltage or throttling since boot ({shown})")
    now = set(reading.now)
    parts = [f"{name} now" for name in reading.now]
    parts += [f"{name} since boot" for name in reading.since_boot if name not in now]
    fixes = []
    if throttling.UNDER_VOLTAGE in reading.since_boot:
        fixes.append(
            "Use the board's own power supply (5.1 V 3 A; 5.1 V 5 A for a Pi 5) and a short, thick cable"
        )
    # The firmware also caps and throttles for under-voltage alone: then the supply is the fix, and
    # heat only when the soft temperature limit says so.
    hot = throttling.SOFT_TEMPERATURE_LIMIT in reading.since_boot or not fixes
    if hot:
        fixes.append("Cool it: a heatsink or a fan, and air around the case")
    return Finding("power", Verdict.WARN, f"{', '.join(parts)} ({shown})", "; ".join(fixes))


def exit_code(findings: list[Finding]) -> int:
    return 1 if any(finding.verdict is Verdict.FAIL for finding in findings) else 0


def _release_date(version: str) -> date | None:
    # yt-dlp versions are release dates: 2026.10.26 (or 2026.10.26.123456 for nightlies).
    parts = version.split(".")
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except (IndexError, ValueError):
        return None
