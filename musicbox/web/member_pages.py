"""The member's remote control: the servers they share with the bot, a server's queue with its
buttons, its songs dragged into another order by their grips (static/reorder.js, through the REST
API). Pure: what RemoteControl answered in, HTML out; every title and name escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from musicbox.bot.text import duration
from musicbox.web.api import BASE
from musicbox.web.pages import page


def guilds_page(name: str, guilds: list[dict[str, Any]], csrf: str) -> str:
    items = "".join(
        f'<li><a href="/member/{escape(guild["id"])}">{escape(guild["name"])}</a>'
        + (" · playing" if guild["playing"] else "")
        + "</li>"
        for guild in guilds
    )
    body = f"<ul>{items}</ul>" if items else "<p>You share no server with the bot.</p>"
    return page("musicbox", _header(name, csrf) + f"<main><h2>Your servers</h2>{body}</main>")


def guild_page(
    name: str, guild_id: int, queue: dict[str, Any], csrf: str, said: str = "", refused: bool = False
) -> str:
    notice = ""
    if said:
        notice = f'<p class="{"problem" if refused else "notice"}" id=said>{escape(said)}</p>'
    play = _form(
        guild_id,
        "play",
        csrf,
        '<input name=query required maxlength=500 placeholder="a link or search words"> ',
        "Play",
    )
    return page(
        "musicbox",
        _header(name, csrf)
        + notice
        + f'<main id=status data-events="/member/{guild_id}/events">'
        + queue_section(guild_id, queue, csrf)
        + "</main>"
        + play
        + '<p><a href="/member">Your servers</a></p><script src="/static/dashboard.js" defer></script>'
        '<script src="/static/reorder.js" defer></script>',
    )


def queue_section(guild_id: int, queue: dict[str, Any], csrf: str) -> str:
    playing = queue["playing"]
    if playing is None:
        now = "<p>Nothing is playing.</p>"
    else:
        state = " (paused)" if queue["paused"] else ""
        state += f" · filter {escape(queue['filter'])}" if queue.get("filter") else ""
        now = (
            f"<p class=now>▶ <b>{escape(playing['title'])}</b>{state} · {duration(queue['position_s'])}"
            f" · volume {queue['volume']} %</p>"
        )
    controls = (
        _form(guild_id, "skip", csrf, "", "Skip")
        + _form(
            guild_id,
            "resume" if queue["paused"] else "pause",
            csrf,
            "",
            "Resume" if queue["paused"] else "Pause",
        )
        + _form(
            guild_id,
            "volume",
            csrf,
            f'<input type=number name=percent min=0 max=200 value="{queue["volume"] or 100}"> ',
            "Set volume",
        )
    )
    rows = "".join(
        f'<li data-position="{entry["position"]}"><span class=grip title="Drag to reorder">⠿</span>'
        f"<span class=title>{escape(entry['title'])}</span> "
        + _form(
            guild_id,
            "remove",
            csrf,
            f'<input type=hidden name=position value="{entry["position"]}">',
            "Remove",
        )
        + (
            _form(
                guild_id,
                "move",
                csrf,
                f'<input type=hidden name=from value="{entry["position"]}">'
                f'<input type=hidden name=to value="{entry["position"] - 1}">',
                "Up",
            )
            if entry["position"] > 1
            else ""
        )
        + "</li>"
        for entry in queue["upcoming"]
    )
    upcoming = (
        f'<h2>Up next</h2><ol class=queue data-move="{BASE}/guilds/{guild_id}/queue/move">{rows}</ol>'
        if rows
        else "<p>The queue is empty.</p>"
    )
    return f"{now}<div class=controls>{controls}</div>{upcoming}"


def _form(guild_id: int, action: str, csrf: str, fields: str, label: str) -> str:
    return (
        f'<form method=post action="/member/{guild_id}/{action}" class="inline {action}">'
        f'<input type=hidden name=csrf value="{escape(csrf)}">{fields}'
        f"<button>{label}</button></form>"
    )


def _header(name: str, csrf: str) -> str:
    return (
        f"<header><h1>musicbox</h1><span>{escape(name)}</span>"
        f'<form method=post action="/logout"><input type=hidden name=csrf value="{escape(csrf)}">'
        "<button>Log out</button></form></header>"
    )
