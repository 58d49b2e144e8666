"""The web page's HTML, rendered from the same snapshot `musicbox status --json` prints. Pure: a
snapshot in, text out. Server, channel and song names are whatever their owners typed, so every
value is escaped; the pages carry no inline script or style (the server's policy forbids both)."""

from __future__ import annotations

from html import escape
from typing import Any

from musicbox.cli.status import duration

LOGIN_PROBLEMS = {
    "wrong": "That password is not right.",
    "expired": "That link was used already or has expired: run `musicbox web link` for a new one.",
    "no-password": "No password is set: run `musicbox setup --web` to set one, or `musicbox web link`.",
}


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel=stylesheet href="/static/style.css"></head>'
        f"<body>{body}</body></html>"
    )


def login_page(*, csrf: str, problem: str = "", wait_s: float = 0.0) -> str:
    notice = ""
    if wait_s > 0:
        notice = f"<p class=problem>Too many failed attempts: try again in {int(wait_s) + 1} s.</p>"
    elif problem in LOGIN_PROBLEMS:
        notice = f"<p class=problem>{escape(LOGIN_PROBLEMS[problem])}</p>"
    return _page(
        "musicbox: log in",
        "<main class=login><h1>musicbox</h1>"
        f"{notice}"
        '<form method=post action="/login">'
        f'<input type=hidden name=csrf value="{escape(csrf)}">'
        "<label>Password <input type=password name=password autocomplete=current-password "
        "autofocus required></label>"
        "<button>Log in</button></form>"
        "<p class=hint>Forgot it? On the box: <code>sudo musicbox web link</code></p></main>",
    )


def dashboard_page(snapshot: dict[str, Any], *, csrf: str) -> str:
    return _page(
        "musicbox",
        "<header><h1>musicbox</h1>"
        '<form method=post action="/logout">'
        f'<input type=hidden name=csrf value="{escape(csrf)}"><button>Log out</button></form></header>'
        f"<main id=status>{status_section(snapshot)}</main>"
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
        "</dl>",
        _sessions(snapshot.get("voice_sessions", [])),
        _upstreams(snapshot.get("upstreams", {})),
        _errors(snapshot.get("last_errors", [])),
    ]
    return "".join(parts)


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
                (session.get("now_playing") or "—") + (" (paused)" if session.get("paused") else ""),
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
