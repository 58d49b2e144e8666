"""What a media file says of itself before it is played: its length, its title and artist, whether
it has audio, and whether it is an internet radio station (endless, named by its ICY headers).

Two programs can tell: ffprobe (its JSON) and the transcode's own ffmpeg, whose log describes the
file it opened (`Input #0, …`: the tags, `Duration:`, one line per stream) before its first audio
page. Reading the second spares a cold start a program's start (about 60 ms of CPU on a Pi-class
core); ffprobe stays for what that log cannot tell (a link that is not audio, a failure, a song
already cached).

Everything here is the host's text and untrusted. ffmpeg prints each tag as `key : value` and a
newline inside a value as a continuation line, so a value cannot pass for a line of the log's own;
a key can (ffmpeg prints keys as they are, and an ID3 frame's key may hold a newline). Nothing is
lost by that: whatever such a line could claim (a length, a title, an audio stream) the host could
as well claim in the file's own headers, which is all ffprobe reads too; what is read here is
bounded like any tag (a length of at most `LONGEST_S`, titles shown escaped, a transcode bounded by
-t and -fs). ffmpeg cuts a value's lines at 255 characters each. Pure: text in, facts out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# A length past this (a hundred days) is not believed: the file then tells none.
LONGEST_S = 100 * 24 * 3600.0
INFO = "[info] "  # the transcode runs with `-loglevel level+info`: each of the log's lines starts so
_INPUT = INFO + "Input #0, "
_DURATION = re.compile(r"Duration: (?:(\d{1,7}):(\d\d):(\d\d)\.(\d\d)|N/A)")
_STREAM = re.compile(r"Stream #0:\d+(?:\[0x[0-9a-fA-F]+\])?(?:\([^)]*\))?: (\w+)")
_METADATA = "Metadata:"


@dataclass(frozen=True, slots=True)
class MediaFacts:
    duration_s: float | None
    title: str | None
    artist: str | None
    station: str | None = None  # an internet radio's name (its icy-name header): the stream is live


def facts_of_tags(
    duration_s: float | None, file_tags: Mapping[str, str], stream_tags: Mapping[str, str]
) -> MediaFacts:
    """The file's tags first, its audio stream's where the file has none (Ogg keeps them there).
    An endless stream with ICY headers is a radio station (ffmpeg shows them as tags)."""
    tags = {key.lower(): value for key, value in file_tags.items()}
    tags |= {key.lower(): value for key, value in stream_tags.items() if key.lower() not in tags}
    believed = duration_s if duration_s is not None and 0 < duration_s <= LONGEST_S else None
    station = None if believed else station_name(tags)
    return MediaFacts(believed, tags.get("title") or None, tags.get("artist") or None, station)


def station_name(tags: Mapping[str, str]) -> str | None:
    if not any(key.startswith("icy-") for key in tags):
        return None
    name = tags.get("icy-name", "").strip()
    return name or "Internet radio"


def input_described(log: str) -> str | None:
    """ffmpeg's description of its input, from its `Input #0` line to the last line of it, once a
    line after it shows it complete; None until then (or when it never opened an input)."""
    start = log.find(_INPUT)
    if start < 0 or (start > 0 and log[start - 1] != "\n"):
        return None
    lines = log[start:].split("\n")[:-1]  # the last piece is not a whole line yet
    for index, line in enumerate(lines[1:], start=1):
        # The description's own lines are indented under INFO; a tag value's continuation lines
        # are indented with no prefix. Anything else is what ffmpeg did next.
        if not (line.startswith(INFO + "  ") or line.startswith(" ")):
            return "\n".join(lines[:index])
    return None


def facts_of_input(description: str) -> MediaFacts | None:
    """The facts in ffmpeg's description of its input (`input_described`), None when it shows no
    audio stream (the transcode then fails; ffprobe says why in its own words)."""
    file_tags: dict[str, str] = {}
    stream_tags: dict[str, str] = {}
    duration_s: float | None = None
    audio_seen = False
    into: dict[str, str] | None = None  # the tags the next `key : value` lines belong to
    last_key: str | None = None
    where = ""  # the kind of the last two-space line: "file", "audio" (the first one), "other"
    for line in description.split("\n")[1:]:
        if not line.startswith(INFO):  # a value's continuation line: `<spaces>: more`
            if into is not None and last_key is not None:
                into[last_key] += "\n" + line.partition(": ")[2]
            continue
        body = line.removeprefix(INFO)
        text = body.lstrip(" ")
        indent = len(body) - len(text)
        last_key = None
        if indent == 2:
            into, where = None, "other"
            if text.rstrip() == _METADATA:
                into, where = file_tags, "file"
            elif (duration := _DURATION.match(text)) is not None:
                duration_s = _seconds(duration)
            elif not audio_seen and (stream := _STREAM.match(text)) and stream.group(1) == "Audio":
                audio_seen, where = True, "audio"
        elif indent == 4 and text.rstrip() == _METADATA:
            into = stream_tags if where == "audio" else None
        elif into is not None and indent == (4 if into is file_tags else 6):
            key, separator, value = text.partition(": ")
            if separator and key.strip():
                last_key = key.strip()
                into.setdefault(last_key, value)
        else:
            into = None
    if not audio_seen:
        return None
    return facts_of_tags(duration_s, file_tags, stream_tags)


def _seconds(duration: re.Match[str]) -> float | None:
    if duration.group(1) is None:  # N/A: an endless stream, or a host that sends no length
        return None
    hours, minutes, seconds, hundredths = (int(part) for part in duration.groups())
    return hours * 3600 + minutes * 60 + seconds + hundredths / 100
