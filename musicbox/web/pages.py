"""The web page's HTML, rendered from the same snapshot `musicbox status --json` prints. Pure: a
snapshot in, text out. Server, channel and song names are whatever their owners typed, so every
value is escaped; the pages carry no inline script or style (the server's policy forbids both)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from html import escape
from typing import Any

from musicbox.bot.text import duration
from musicbox.service.update_state import update_line

LOGIN_PROBLEMS = {
    "wrong": "That password is not right.",
    "expired": "That link was used already or has expired: run `musicbox web link` for a new one.",
    "no-password": "No password is set: run `musicbox setup --web` to set one, or `musicbox web link`.",
    "discord": "Discord did not confirm the login; try again.",
}


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel=stylesheet href="/static/style.css"></head>'
        f"<body>{body}</body></html>"
    )


def login_page(*, csrf: str, problem: str = "", wait_s: float = 0.0, with_discord: bool = False) -> str:
    notice = ""
    if wait_s > 0:
        notice = f"<p class=problem>Too many failed attempts: try again in {int(wait_s) + 1} s.</p>"
    elif problem in LOGIN_PROBLEMS:
        notice = f"<p class=problem>{escape(LOGIN_PROBLEMS[problem])}</p>"
    return page(
        "musicbox: log in",
        "<main class=login><h1>musicbox</h1>"
        f"{notice}"
        '<form method=post action="/login">'
        f'<input type=hidden name=csrf value="{escape(csrf)}">'
        "<label>Password <input type=password name=password autocomplete=current-password "
        "autofocus required></label>"
        "<button>Log in</button></form>"
        + (
            '<p><a class=discord href="/login/discord">Members: log in with Discord</a></p>'
            if with_discord
            else ""
        )
        + "<p class=hint>Forgot it? On the box: <code>sudo musicbox web link</code></p></main>",
    )


def dashboard_page(
    live: str, *, csrf: str, notice: str = "", cache_on: bool = False, events_query: str = ""
) -> str:
    """`live` is the status section, the graphs and the log (what server-sent events replace)."""
    token = f'<input type=hidden name=csrf value="{escape(csrf)}">'
    purge = (
        f'<form method=post action="/cache/purge">{token}'
        "<button>Purge the cache</button> <small>(keeps what plays or is queued)</small></form>"
        if cache_on
        else ""
    )
    return page(
        "musicbox",
        "<header><h1>musicbox</h1>"
        f'<form method=post action="/logout">{token}<button>Log out</button></form></header>'
        + (f"<p class=notice>{escape(notice)}</p>" if notice else "")
        + f'<main id=status data-events="/events{escape(events_query)}">{live}</main>{purge}'
        '<script src="/static/dashboard.js" defer></script>',
    )


def status_section(snapshot: dict[str, Any]) -> str:
    """Everything the snapshot says, as one HTML fragment (also what the live page swaps in)."""
    latency = snapshot.get("gateway_latency_ms")
    state = str(snapshot.get("state", "unknown"))
    parts = [
        f'<p class="state {escape(state)}">● {escape(state)} as <b>{escape(str(snapshot.get("user")))}</b>'
        f" · musicbox {escape(str(snapshot.get('version')))}</p>",
        "<dl>",
        _fact("up", duration(float(snapshot.get("uptime_s", 0.0)))),
        _fact("memory", f"{snapshot.get('rss_mb')} MiB, {snapshot.get('children')} child processes"),
        _fact("gateway latency", "—" if latency is None else f"{latency:.0f} ms"),
        _fact("servers", str(snapshot.get("guilds"))),
        _fact(
            "voice sessions",
            f"{len(snapshot.get('voice_sessions', []))} (cap {snapshot.get('max_voice_sessions') or 'none'})",
        ),
        _fact("cache", _cache(snapshot.get("cache"))),
        _fact("yt-dlp update", update_line(snapshot.get("update"), time.time())),
        "</dl>",
        _sessions(snapshot.get("voice_sessions", [])),
        _upstreams(snapshot.get("upstreams", {})),
        _errors(snapshot.get("last_errors", [])),
    ]
    return "".join(parts)


def purge_notice(songs: str, freed: str) -> str:
    """What the page says after a purge (the figures come back in its address, so: digits only)."""
    if not (songs.isdigit() and freed.isdigit()):
        return ""
    return f"Removed {int(songs)} songs from the cache ({int(freed) / 2**20:.1f} MB freed)."


LOG_LEVELS = ("info", "warning", "error")
LOG_LINES_SHOWN = 100


def log_level(asked: str) -> str:
    """The level the page filters the log at: what was asked if it is one, else everything."""
    return asked if asked in LOG_LEVELS else "info"


def log_section(records: Sequence[dict[str, Any]], level: str) -> str:
    """The newest lines at `level` and above (`level` from `log_level`), newest first."""
    lowest = LOG_LEVELS.index(level)
    shown = [
        record for record in reversed(records) if LOG_LEVELS.index(_level_name(record["level"])) >= lowest
    ][:LOG_LINES_SHOWN]
    options = "".join(f"<option{' selected' if name == level else ''}>{name}</option>" for name in LOG_LEVELS)
    lines = "".join(
        f'<li class="{_level_name(record["level"])}"><time>{_clock(record["at"])}</time> '
        f"<b>{escape(str(record['level']))}</b> {escape(str(record['message']))}</li>"
        for record in shown
    )
    return (
        '<h2>Log</h2><form method=get action="/" class=filter><label>at least '
        f"<select name=level>{options}</select></label> <button>Show</button></form>"
        + (f"<ol class=log>{lines}</ol>" if lines else "<p>Nothing logged at this level.</p>")
    )


def _level_name(level: str) -> str:
    name = level.lower()
    if name == "critical":
        return "error"
    return name if name in LOG_LEVELS else "info"


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def _fact(name: str, value: str) -> str:
    return f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>"


def _cache(cache: dict[str, Any] | None) -> str:
    if not cache:
        return "off (budget 0): every song is streamed from its source"
    ratio = "—" if cache.get("hit_ratio") is None else f"{cache['hit_ratio']:.0%}"
    full = "; the disk is full" if cache.get("disk_full") else ""
    return f"{cache['songs']} songs, {cache['used_mb']} of {cache['budget_mb']} MB, hit ratio {ratio}{full}"


def _sessions(sessions: list[dict[str, Any]]) -> str:
    if not sessions:
        return "<h2>Playing</h2><p>Nothing is playing.</p>"
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(cell))}</td>"
            for cell in (
                session.get("guild") or session["guild_id"],
                session.get("channel") or "—",
                (session.get("now_playing") or "—")
                + (" (paused)" if session.get("paused") else "")
                + (f" · filter {session['filter']}" if session.get("filter") else ""),
                duration(float(session.get("position_s", 0.0))),
                session.get("queue_length", 0),
                session.get("loop", "off"),
            )
        )
        + "</tr>"
        for session in sessions
    )
    head = "".join(f"<th>{name}</th>" for name in ("server", "channel", "playing", "at", "queued", "loop"))
    return f"<h2>Playing</h2><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _upstreams(upstreams: dict[str, Any]) -> str:
    lines = "".join(
        f"<li>{escape(str(troubled['name']))}: circuit {escape(str(troubled['circuit']))}, "
        f"{troubled['consecutive_failures']} failures in a row</li>"
        for troubled in upstreams.get("troubled", [])
    )
    return (
        f"<h2>Upstreams</h2><p>{upstreams.get('failures', 0)} failed calls, "
        f"{upstreams.get('retries', 0)} tried again</p>" + (f"<ul>{lines}</ul>" if lines else "")
    )


def _errors(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return ""
    lines = "".join(
        f"<li><b>{escape(str(error['level']))}</b> {escape(str(error['message']))}</li>" for error in errors
    )
    return f"<h2>Recent errors</h2><ul class=errors>{lines}</ul>"
