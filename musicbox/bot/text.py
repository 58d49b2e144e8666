"""Every sentence a member reads, in one place so wording stays consistent and tests can match it.

Errors are one sentence that says what to do next."""

from __future__ import annotations

import math
import re

from discord.utils import escape_markdown, escape_mentions

from musicbox.core.limits import Refusal
from musicbox.core.queue import LoopMode, QueuedTrack, QueuePage
from musicbox.core.track import Track

NOT_IN_GUILD = "Use this command in a server, not in a direct message."
NOT_IN_VOICE = "Join a voice channel first, then try again."
NOT_WITH_BOT = "Join the voice channel I'm playing in to control the music."
BOT_LACKS_PERMISSION = (
    "I can't connect or speak in {channel}; ask an admin to give me Connect and Speak there."
)
TOO_MANY_GUILDS = "I'm playing in as many servers as this box can handle; try again in a few minutes."
VOICE_CONNECT_FAILED = "I couldn't join {channel}; try again, or pick another voice channel."
NOTHING_PLAYING = "Nothing is playing; add a song with /play."
QUEUE_EMPTY = "The queue is empty; add a song with /play."
NOT_ALLOWED = "Only members with the {role} role can do that here; ask one of them."
SETTINGS_NOT_ALLOWED = "Only members who can manage the server can change settings."
NO_RESULTS = "I found nothing for “{query}”; try other words or paste a link."
RESOLVE_FAILED = "I couldn't play “{query}”: {reason}. Check the link, or try search words instead."
# The site failed, not the link (the reason already says when to try again), or there was no link.
COULD_NOT_PLAY = "I couldn't play “{query}”: {reason}."
PLAYLIST_TOO_LONG = "That playlist has {count} tracks, more than the limit of {limit}; queue a shorter one."
POSITION_OUT_OF_RANGE = "There's no track {position} in the queue (it has {count}); check /queue."
SEEK_PAST_END = "That's past the end of the track ({length}); pick a time before it."
SEEK_UNKNOWN_LENGTH = "This track can't be sought; it has no known length."
GENERIC_ERROR = "Something went wrong on my side; try again in a moment."
PICK_EXPIRED = "That pick has expired; run /search again."

REFUSALS = {
    Refusal.DUPLICATE: "“{title}” is already in the queue; add a different song.",
    Refusal.TOO_LONG: "“{title}” is longer than the limit of {limit}; pick a shorter track.",
    Refusal.QUEUE_FULL: "The queue is full ({limit} tracks); skip or remove some first.",
}


def duration(seconds: float) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


# Discord refuses a message over 2,000 characters; a page of ten lines must fit whatever the titles.
TITLE_MAX = 120  # once escaped: eleven lines of it (now and a page of ten) stay under 2,000
ECHO_MAX = 100
NAME_MAX = 100  # a channel or role name: Discord allows 100
REASON_MAX = 300
# Direction overrides and invisible joiners in a member's text could turn the bot's own sentence
# around it backwards or hide what was asked; an echo shows the words without them.
_INVISIBLE = dict.fromkeys(
    [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF], None
)
# A `<` opens every mention Discord renders (<@user>, <@&role>, <#channel>, </command:id>, <t:time>):
# escaped, the text shows as typed.
_ANGLE = re.compile(r"<")


def shown(untrusted: str, limit: int) -> str:
    """Text nobody at the bot wrote (a title, an artist, a channel or role name, a member's words) as a
    member should read it: one line, no invisible or direction controls, its markdown and mentions
    escaped so they show as typed and act on nothing, at most `limit` characters once escaped."""
    plain = " ".join(untrusted.translate(_INVISIBLE).split())
    escaped = _escape(plain)
    if len(escaped) <= limit:
        return escaped
    # Escaping can double a character's length: clip the plain text until its escaped form fits,
    # so no escape is ever cut in half (a lone backslash would escape the ellipsis).
    keep = min(len(plain), limit - 1)
    while len(_escape(plain[:keep])) > limit - 1:
        keep -= max(1, (len(_escape(plain[:keep])) - (limit - 1)) // 2)
    return _escape(plain[:keep]) + "…"


def _escape(plain: str) -> str:
    # escape_mentions puts a zero-width space after the @ of @everyone, @here and <@id>: no ping,
    # even where allowed_mentions were to allow one.
    return _ANGLE.sub(r"\\<", escape_mentions(escape_markdown(plain)))


def echo(query: str) -> str:
    """A member's own words, quoted back safely, at most ECHO_MAX characters."""
    return shown(query, ECHO_MAX)


def track_line(track: Track) -> str:
    title = shown(track.title, TITLE_MAX)
    if track.duration_s is None:  # a playlist entry not looked at yet, or a stream
        return f"**{title}**"
    return f"**{title}** ({duration(track.duration_s)})"


def choice_label(track: Track) -> str:
    """An autocomplete choice: Discord allows 100 characters and no markdown."""
    label = track.title if track.duration_s is None else f"{track.title} ({duration(track.duration_s)})"
    return label[:100]


def queued_one(track: Track, position: int) -> str:
    return f"Queued {track_line(track)} at position {position}."


def playing_now(track: Track) -> str:
    return f"Playing {track_line(track)}."


def queued_many(count: int, refused: int) -> str:
    tail = f"; {refused} skipped (duplicates or over a limit)" if refused else ""
    return f"Queued {count} tracks{tail}."


def resolving(done: int, total: int) -> str:
    return f"Resolving {done}/{total}…"


def join_paced(channel: str, seconds: float) -> str:
    """A /play whose voice join waits for Discord's gateway budget (many servers joining at once)."""
    return (
        "Discord lets me join voice channels only so often; "
        f"joining {shown(channel, NAME_MAX)} in {math.ceil(seconds)} s…"
    )


def searching(query: str) -> str:
    return f"Looking up “{echo(query)}”…"


def refusal(reason: Refusal, track: Track, *, limit: str) -> str:
    return REFUSALS[reason].format(title=shown(track.title, TITLE_MAX), limit=limit)


def no_results(query: str) -> str:
    return NO_RESULTS.format(query=echo(query))


def could_not_play(query: str, reason: str, *, link_at_fault: bool) -> str:
    """`link_at_fault`: the upstream answered and refused what was asked (not a failing site). The
    advice to check the link is given only then, and only when the member gave a link."""
    template = RESOLVE_FAILED if link_at_fault and _is_link(query) else COULD_NOT_PLAY
    # A reason can quote a title (a Spotify track with no upload): it is shown like one.
    return template.format(query=echo(query), reason=shown(reason, REASON_MAX))


def _is_link(query: str) -> bool:
    """What sources.query.recognise() takes for a link rather than search words: a scheme, or one word
    with a host before its first slash (youtu.be/x)."""
    words = query.split()
    if len(words) != 1:
        return False
    word = words[0]
    return "://" in word or word.startswith("spotify:") or ("." in word.partition("/")[0] and "/" in word)


def bot_lacks_permission(channel: str) -> str:
    return BOT_LACKS_PERMISSION.format(channel=shown(channel, NAME_MAX))


def voice_connect_failed(channel: str) -> str:
    return VOICE_CONNECT_FAILED.format(channel=shown(channel, NAME_MAX))


def not_allowed(role: str) -> str:
    return NOT_ALLOWED.format(role=shown(role, NAME_MAX))


def unplayable(track: Track, reason: str | None) -> str:
    """Said in the channel when a queued song cannot be played and the next one starts instead."""
    if reason is None:
        return f"I couldn't play {track_line(track)}; on to the next song."
    return f"I couldn't play {track_line(track)}: {shown(reason, REASON_MAX)}. On to the next song."


def from_outside(member: str, said: str) -> str:
    """A change a member made from the web page or the API, as told in the music channel."""
    return f"{shown(member, NAME_MAX)}, from the web: {said}"


def skipped(track: Track) -> str:
    return SKIPPED.format(title=track_line(track))


def removed(track: Track) -> str:
    return REMOVED.format(title=track_line(track))


def moved(track: Track, position: int) -> str:
    return MOVED.format(title=track_line(track), position=position)


def settings(
    template: str, *, dj_role: str, volume: int, max_queue: int, max_playlist: int, max_track_s: float
) -> str:
    return template.format(
        dj_role=shown(dj_role, NAME_MAX) if dj_role else "none (everyone)",
        volume=volume,
        max_queue=max_queue,
        max_playlist=max_playlist,
        max_track=duration(max_track_s),
    )


def queue_page(current: QueuedTrack | None, page: QueuePage, loop: LoopMode) -> str:
    lines = [f"Now: {track_line(current.track)}" if current else "Nothing playing."]
    lines += [f"{position}. {track_line(entry.track)}" for position, entry in page.entries]
    if page.total == 0:
        lines.append("The queue is empty.")
    lines.append(f"Page {page.page + 1}/{page.page_count} · {page.total} queued · loop {loop.value}")
    return "\n".join(lines)


def now_playing(current: QueuedTrack, position_s: float, paused: bool, loop: LoopMode) -> str:
    state = "Paused" if paused else "Playing"
    return (
        f"{state} {track_line(current.track)} at {duration(position_s)} · loop {loop.value}\n"
        f"Requested by <@{current.requester_id}>"
    )


def search_results(query: str, tracks: list[Track]) -> str:
    lines = [f"Results for “{echo(query)}”, pick one:"]
    lines += [f"{n}. {track_line(track)}" for n, track in enumerate(tracks, start=1)]
    return "\n".join(lines)


SKIPPED = "Skipped {title}."
PAUSED = "Paused."
RESUMED = "Resumed."
ALREADY_PAUSED = "Already paused; use /resume to continue."
NOT_PAUSED = "Not paused; use /pause to pause."
STOPPED = "Stopped and cleared the queue."
LEFT = "Left the voice channel."
REMOVED = "Removed {title}."
MOVED = "Moved {title} to position {position}."
SHUFFLED = "Shuffled {count} tracks."
CLEARED = "Cleared {count} tracks."
LOOP_SET = "Loop is now {mode}."
SOUGHT = "Jumped to {position}."
VOLUME_SET = "Volume set to {volume}%."
SETTINGS_SHOWN = (
    "DJ role: {dj_role} · default volume {volume}% · queue limit {max_queue} · "
    "playlist limit {max_playlist} · max track length {max_track}"
)
SETTINGS_SAVED = "Settings saved. " + SETTINGS_SHOWN
SEEK_FORMAT = "Give the time as seconds (90) or minutes:seconds (1:30)."


def out_of_range(option: str, low: float | None, high: float | None, *, length: bool = False) -> str:
    """A value outside an option's declared bounds (Discord's client would not have sent it)."""
    unit = " characters long" if length else ""
    if high is None:
        return f"{option} must be at least {low}{unit}; try again with a value in range."
    if low is None:
        return f"{option} must be at most {high}{unit}; try again with a value in range."
    return f"{option} must be from {low} to {high}{unit}; try again with a value in range."


def not_a_choice(option: str, choices: list[str]) -> str:
    return f"{option} must be one of {', '.join(choices)}; pick one of those."
