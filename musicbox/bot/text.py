"""Every sentence a member reads, in one place so wording stays consistent and tests can match it.

Errors are one sentence that says what to do next."""

from __future__ import annotations

import math
import re

from discord.utils import escape_markdown, escape_mentions

from musicbox.core.filters import FASTEST, SLOWEST, AudioFilter, FilterMistake
from musicbox.core.limits import Refusal
from musicbox.core.queue import LoopMode, QueuedTrack, QueuePage
from musicbox.core.track import Track
from musicbox.sources.lyrics import Lyrics, page_breaks

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
NO_STATION_WORDS = "Give some words from the station's name, like /radio jazz."
LYRICS_NOTHING_PLAYING = "Nothing is playing; give the song's title and artist, like /lyrics Blue Harbour."

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
    if track.live:
        return f"**{title}** (LIVE)"
    if track.duration_s is None:  # a playlist entry not looked at yet
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


def join_cancelled(channel: str) -> str:
    """/leave while a /play waited for its turn to join (see join_paced)."""
    return f"Stopped: I won't join {shown(channel, NAME_MAX)} after all."


def join_cancelled_for_player(channel: str) -> str:
    """What the member whose /play waited to join reads when a /leave cancelled the join."""
    return (
        f"/leave was used before I could join {shown(channel, NAME_MAX)}, so nothing was queued; "
        "use /play again if you still want it."
    )


# A /play cut off before it queued anything, by who cut it off (the /leave case names the channel).
PLAY_CUT_OFF = {
    "stopping": "The bot is stopping (a restart or an update), so this /play did not happen; "
    "try it again in a minute.",
    "removed": "I was removed from this server, so this /play did not happen.",
}


def voice_channel_deleted(channel: str, kept: int) -> str:
    """The voice channel the bot played in was deleted; its queue is kept for the next /play."""
    if not kept:
        return f"{shown(channel, NAME_MAX)} was deleted, so I left."
    songs = "1 track" if kept == 1 else f"{kept} tracks"
    return (
        f"{shown(channel, NAME_MAX)} was deleted, so the music stopped. I kept the queue ({songs}); "
        "it goes on where it stopped with the next /play in another voice channel."
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
    template: str,
    *,
    dj_role: str,
    volume: int,
    max_queue: int,
    max_playlist: int,
    max_track_s: float,
    max_saved_songs: int,
    max_saved_playlists: int,
    autoplay: bool,
    skip_share: int,
    always_in: int,
    text_channel: int,
    voice_channel: int,
    loudness: bool,
    skipped: tuple[str, ...],
) -> str:
    return template.format(
        skipped=", ".join(skipped) if skipped else "nothing",
        autoplay="on" if autoplay else "off",
        skip_share=skip_share,
        always_in=f"in <#{always_in}>" if always_in else "off",
        text_channel=f"<#{text_channel}>" if text_channel else "any channel",
        voice_channel=f"<#{voice_channel}>" if voice_channel else "any voice channel",
        max_saved_songs=max_saved_songs,
        max_saved_playlists=max_saved_playlists,
        loudness="on" if loudness else "off",
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


def now_playing(
    current: QueuedTrack,
    position_s: float,
    paused: bool,
    loop: LoopMode,
    on_air: str | None = None,
    audio_filter: AudioFilter | None = None,
    left_out_s: float = 0.0,
) -> str:
    """`on_air`: what a live stream says it plays now (its ICY title), untrusted text;
    `audio_filter`: the /filter the song plays through (its position is the song's, at any speed);
    `left_out_s`: how much of the song SponsorBlock's cuts leave out (its position counts what is heard)."""
    state = "Paused" if paused else "Playing"
    filtered = f" · filter {audio_filter.label}" if audio_filter is not None else ""
    if current.track.live:
        where = f" · on air: {shown(on_air, TITLE_MAX)}" if on_air else ""
        first = f"{state} {track_line(current.track)}{where} · loop {loop.value}"
    else:
        cut = f" · {duration(left_out_s)} left out (SponsorBlock)" if left_out_s >= 1 else ""
        at = f"at {duration(position_s)}{cut}"
        first = f"{state} {track_line(current.track)} {at} · loop {loop.value}{filtered}"
    return f"{first}\nRequested by <@{current.requester_id}>"


def search_results(query: str, tracks: list[Track]) -> str:
    lines = [f"Results for “{echo(query)}”, pick one:"]
    lines += [f"{n}. {track_line(track)}" for n, track in enumerate(tracks, start=1)]
    return "\n".join(lines)


def no_stations(words: str) -> str:
    return f"I found no radio station called “{echo(words)}”; try other words from its name."


LYRIC_LINE_MAX = 200  # once escaped; a lyric line is rarely a quarter of that
LYRICS_PAGE_BUDGET = 1_600  # a page's lines once escaped: with its heading, under Discord's 2,000
LYRICS_PAGE_LINES = 15


def no_lyrics(song: str) -> str:
    return f"I found no lyrics for “{echo(song)}”; try /lyrics with the song's title and artist."


def lyrics_failed(song: str, reason: str) -> str:
    return f"I couldn't get the lyrics of “{echo(song)}”: {reason}."


def lyrics_pages(lyrics: Lyrics, sung: int | None) -> tuple[list[str], int]:
    """The lyrics as pages of lines, each under a heading naming the song and the page, and the page
    to open at: the one holding `sung`, the line being sung, which is marked. Every line is someone
    else's text: escaped, one line each."""
    lines = [shown(line.words, LYRIC_LINE_MAX) for line in lyrics.lines]
    if sung is not None:
        lines[sung] = f"▶ **{lines[sung]}**" if lines[sung] else "▶"
    breaks = page_breaks(
        [len(line) + 1 for line in lines], budget=LYRICS_PAGE_BUDGET, most_lines=LYRICS_PAGE_LINES
    )
    song = f"**{shown(lyrics.track_name, TITLE_MAX)}** by {shown(lyrics.artist_name, NAME_MAX)}"
    kind = " (synced)" if lyrics.synced else ""
    pages = [
        f"Lyrics of {song}{kind} · page {number}/{len(breaks)}\n" + "\n".join(lines[i] for i in page)
        for number, page in enumerate(breaks, start=1)
    ]
    return pages, next((n for n, page in enumerate(breaks) if sung in page), 0)


def station_results(words: str, stations: list[Track]) -> str:
    lines = [f"Stations for “{echo(words)}”, pick one:"]
    lines += [f"{n}. {track_line(station)}" for n, station in enumerate(stations, start=1)]
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
FILTER_SET = "Filter set to {label}; it goes on from where the song is."
FILTER_OFF = "Filter off."
FILTER_SET_LIVE = "Filter set to {label}; a live stream plays as it is sent, so it starts with the next song."
FILTER_MISTAKES = {
    FilterMistake.UNKNOWN: "Choose one of nightcore, vaporwave, bassboost, 8d, speed or off.",
    FilterMistake.SPEED_MISSING: (
        f"Give speed a value from {SLOWEST:g} to {FASTEST:g} (1.25 plays a quarter faster)."
    ),
    FilterMistake.SPEED_UNWANTED: "Only the speed effect takes a speed; choose speed, or leave speed out.",
}
FILTERS_BUSY = (
    "Every filtered stream this box allows ({most}) plays in another server; try /filter again when "
    "one of them turns its filter off."
)
FILTERS_NONE = "The owner of this bot has turned filters off on this box (limits.max_filtered = 0)."
FILTERS_BUSY_UNFILTERED = (
    "This box already plays as many filtered streams as it can; songs here play unfiltered until one is free."
)
SETTINGS_SHOWN = (
    "DJ role: {dj_role} · default volume {volume}% · queue limit {max_queue} · "
    "playlist limit {max_playlist} · max track length {max_track} · "
    "saved playlists {max_saved_playlists} a member, {max_saved_songs} songs each · "
    "autoplay {autoplay} · vote skip at {skip_share}% of listeners · 24/7 {always_in} · "
    "commands in {text_channel} · plays in {voice_channel} · "
    "left out of YouTube videos: {skipped} · loudness evened out: {loudness}"
)
STAY_NEEDS_VOICE = "Join the voice channel I should stay in, then set stay_in_voice again."
ONLY_IN_TEXT = "Music commands are taken in <#{channel}> on this server; use them there."
ONLY_IN_VOICE = "I play only in <#{channel}> on this server; join it and try again."
SETTINGS_SAVED = "Settings saved. " + SETTINGS_SHOWN
SKIP_CATEGORIES_UNKNOWN = (
    "That is not a list of SponsorBlock categories: name some of {categories} "
    "(separated by commas or spaces), or none."
)
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


# ---- saved playlists ----
PLAYLIST_NAME_BAD = "Give the playlist a name of 1 to 50 characters."
PLAYLIST_NOT_ALLOWED = (
    "Only members with the {role} role can change this server's playlists; ask one of them."
)
PLAYLIST_NOTHING_TO_ADD = "Nothing is playing; give a link, or /play something first."


def playlist_owner(server: bool) -> str:
    return "This server has" if server else "You have"


def playlist_unknown(name: str, *, server: bool) -> str:
    return f"{playlist_owner(server)} no playlist called “{echo(name)}”; see /playlist list."


def playlist_exists(name: str, *, server: bool) -> str:
    return (
        f"{playlist_owner(server)} a playlist called “{echo(name)}” already; "
        "pick another name or delete that one first."
    )


def too_many_playlists(limit: int, *, server: bool) -> str:
    return (
        f"{playlist_owner(server)} {limit} playlists, this server's limit; "
        "delete one with /playlist delete first."
    )


def playlist_full(name: str, limit: int) -> str:
    return f"“{echo(name)}” is full ({limit} songs, this server's limit); start another playlist."


def import_too_long(count: int, limit: int) -> str:
    return (
        f"That link has {count} songs, more than this server's limit of {limit} for a playlist; "
        "import a shorter one."
    )


def playlist_empty(name: str) -> str:
    return f"“{echo(name)}” has no songs yet; add some with /playlist add."


def playlist_created(name: str, count: int) -> str:
    songs = f" with {count} songs" if count else ""
    return f"Saved the playlist “{echo(name)}”{songs}."


def playlist_added(name: str, added: int, already_in: int, over_limit: int) -> str:
    notes = []
    if already_in:
        notes.append(f"{already_in} already in it")
    if over_limit:
        notes.append(f"{over_limit} over the limit")
    tail = f" ({', '.join(notes)})" if notes else ""
    return f"Added {added} songs to “{echo(name)}”{tail}."


def playlist_renamed(name: str, new_name: str) -> str:
    return f"Renamed “{echo(name)}” to “{echo(new_name)}”."


def playlist_deleted(name: str) -> str:
    return f"Deleted the playlist “{echo(name)}”."


def playlist_exported(name: str, count: int) -> str:
    return f"“{echo(name)}”, {count} songs:"


LISTED_MAX = 800
PLAYLIST_SHOWN_MAX = 15  # songs listed by /playlist show: fifteen escaped titles fit one message


def playlist_songs(name: str, tracks: list[Track]) -> str:
    lines = [f"“{echo(name)}”, {len(tracks)} songs:"]
    lines += [f"{n}. {track_line(t)}" for n, t in enumerate(tracks[:PLAYLIST_SHOWN_MAX], start=1)]
    if len(tracks) > PLAYLIST_SHOWN_MAX:
        lines.append(f"…and {len(tracks) - PLAYLIST_SHOWN_MAX} more.")
    return "\n".join(lines)


def playlists_listed(mine: list[tuple[str, int]], server: list[tuple[str, int]]) -> str:
    def names(found: list[tuple[str, int]]) -> str:
        shown_names: list[str] = []
        for name, count in found:
            if sum(len(n) + 2 for n in shown_names) > LISTED_MAX:  # both lists fit one message
                return ", ".join(shown_names) + f" and {len(found) - len(shown_names)} more"
            shown_names.append(f"{echo(name)} ({count})")
        return ", ".join(shown_names) or "none yet"

    return f"Yours: {names(mine)}\nThis server's: {names(server)}"


# ---- favourites and history ----
NO_FAVORITES = "You have no favourites yet; press ❤ on /now, or use /like while a song plays."
NO_HISTORY = "Nothing has played in this server yet; start with /play."
NOTHING_BEFORE = "No song played before this one since I joined; /history shows what did."
HISTORY_SHOWN = 10


def liked(track: Track, *, already: bool) -> str:
    if already:
        return f"{track_line(track)} is in your favourites already."
    return f"Added {track_line(track)} to your favourites; /favorites plays them."


def favorites_page(tracks: list[Track], page: int, per_page: int = 10) -> str:
    page_count = max(1, -(-len(tracks) // per_page))
    start = page * per_page
    lines = [f"Your favourites, {len(tracks)} songs:"]
    lines += [
        f"{n}. {track_line(t)}" for n, t in enumerate(tracks[start : start + per_page], start=start + 1)
    ]
    lines.append(f"Page {page + 1}/{page_count} · /favorites play:True queues them all")
    return "\n".join(lines)


def history(entries: list[tuple[Track, int, float]]) -> str:
    """Newest first: the song, who asked for it (a mention that pings nobody), when (Discord shows
    the time in each reader's own zone)."""
    lines = ["Recently played here:"]
    lines += [
        f"{n}. {track_line(track)} · asked by <@{requester}> · <t:{int(at)}:R>"
        for n, (track, requester, at) in enumerate(entries, start=1)
    ]
    return "\n".join(lines)


def went_back(track: Track) -> str:
    return f"Going back to {track_line(track)}."


def replayed(track: Track) -> str:
    return f"Playing {track_line(track)} again from the start."


# ---- vote skip ----
def vote_counted(counted: int, needed: int) -> str:
    more = needed - counted
    votes = "vote" if more == 1 else "votes"
    return f"Vote to skip counted: {counted} of {needed} needed; {more} more {votes} to skip."


def vote_skipped(track: Track, counted: int, listeners: int) -> str:
    return f"Skipped {track_line(track)}: {counted} of {listeners} listeners voted."
