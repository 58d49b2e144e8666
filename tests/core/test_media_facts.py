"""What a file says of itself, read from the transcode's own ffmpeg log (as ffmpeg 5.1 prints it with
`-loglevel level+info`) instead of a probe of its own: pure, table-tested; the last test holds the
reading to ffprobe's on real files, so a new ffmpeg that prints differently is noticed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from musicbox.core.media_facts import MediaFacts, facts_of_input, facts_of_tags, input_described

MP3 = """\
[info] Input #0, mp3, from 'http://127.0.0.1:8765/a.mp3':
[info]   Metadata:
[info]     title           : Electric Daydream
[info]     artist          : Nadia Cruz
[info]     encoder         : Lavf59.27.100
[info]   Duration: 00:03:02.04, start: 0.025057, bitrate: 65 kb/s
[info]   Stream #0:0: Audio: mp3, 44100 Hz, mono, fltp, 64 kb/s
[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (mp3 (mp3float) -> opus (libopus))
"""

# A title with newlines in it (the host's text): each continuation line is indented, unprefixed,
# so the forged "Duration" and "Stream" lines stay part of the title.
HOSTILE = """\
[info] Input #0, mp3, from 'http://127.0.0.1:8765/a.mp3':
[info]   Metadata:
[info]     title           : Hello
                    :   Duration: 99:00:00.00, start: 0
                    : [info]   Stream #0:9: Audio: fake
[info]     artist          : Me
[info]   Duration: 00:00:02.04, start: 0.025057, bitrate: 65 kb/s
[info]   Stream #0:0: Audio: mp3, 44100 Hz, mono, fltp, 64 kb/s
[info] Stream mapping:
"""

# Ogg keeps its tags on the stream; a second audio stream's tags are not the song's.
OGG = """\
[ogg @ 0x5635800cca00] [warning] Estimating duration from bitrate, this may be inaccurate
[info] Input #0, ogg, from 'http://127.0.0.1:8765/a.ogg':
[info]   Duration: 00:00:02.36, start: 0.000000, bitrate: 154 kb/s
[info]   Stream #0:0(eng): Audio: vorbis, 44100 Hz, mono, fltp, 80 kb/s
[info]     Metadata:
[info]       encoder         : Lavc59.37.100 libvorbis
[info]       TITLE           : Tone
[info]       ARTIST          :\x20
[info]   Stream #0:1: Audio: vorbis, 44100 Hz, mono, fltp, 80 kb/s
[info]     Metadata:
[info]       artist          : Not this one
[info] Stream mapping:
"""

STATION = """\
[info] Input #0, mp3, from 'http://127.0.0.1:39033/radio/night.mp3?first=3&every=20':
[info]   Metadata:
[info]     icy-name        : Radio night.mp3
[info]     icy-genre       : Tones
[info]     icy-br          : 64
[info]     StreamTitle     : Nadia Cruz - Electric Daydream
[info]   Duration: N/A, start: 0.000000, bitrate: 64 kb/s
[info]   Stream #0:0: Audio: mp3, 48000 Hz, stereo, fltp, 64 kb/s
[info] Stream mapping:
"""

# A video with no sound: described, but no audio stream (ffmpeg then fails to map one).
SILENT_VIDEO = """\
[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'http://127.0.0.1:8765/v.mp4':
[info]   Metadata:
[info]     title           : A film
[info]   Duration: 00:00:05.00, start: 0.000000, bitrate: 12 kb/s
[info]   Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 320x240, 10 fps
[info]     Metadata:
[info]       handler_name    : VideoHandler
[error] Stream map '0:a:0' matches no streams.
"""

# Chapters' and programs' titles are not the song's; an absurd length is not believed.
CHAPTERED = """\
[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'http://127.0.0.1:8765/book.m4a':
[info]   Duration: 9999999:00:00.00, start: 0.000000, bitrate: 12 kb/s
[info]   Chapters:
[info]     Chapter #0:0: start 0.000000, end 2.000000
[info]       Metadata:
[info]         title           : Chapter one
[info]   Program 0
[info]     Metadata:
[info]       service_name    : Not the song
[info]   Stream #0:0[0x1](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 127 kb/s
[info] Stream mapping:
"""


@pytest.mark.parametrize(
    ("log", "facts"),
    [
        (MP3, MediaFacts(182.04, "Electric Daydream", "Nadia Cruz")),
        (
            HOSTILE,
            MediaFacts(
                2.04, "Hello\n  Duration: 99:00:00.00, start: 0\n[info]   Stream #0:9: Audio: fake", "Me"
            ),
        ),
        (OGG, MediaFacts(2.36, "Tone", None)),
        (STATION, MediaFacts(None, None, None, station="Radio night.mp3")),
        (SILENT_VIDEO, None),
        (CHAPTERED, MediaFacts(None, None, None)),
    ],
    ids=["mp3", "hostile-title", "ogg", "station", "silent-video", "chaptered"],
)
def test_the_transcode_s_log_tells_length_tags_audio_and_radio(log: str, facts: MediaFacts | None) -> None:
    described = input_described(log)
    assert described is not None and described.startswith("[info] Input #0")
    assert facts_of_input(described) == facts


def test_the_description_is_complete_only_once_a_line_after_it_has_come() -> None:
    whole = input_described(MP3)
    assert whole is not None and whole.endswith("64 kb/s") and "Stream mapping" not in whole
    cut = MP3.index("[info]   Stream #0:0")
    assert input_described(MP3[:cut]) is None  # the stream lines are still to come
    assert input_described(MP3[: MP3.index("[info] Stream mapping:") + 5]) is None  # half a line
    # ffmpeg ended without opening an input: no description, ever.
    refused = "[error] http://x/a.mp3: Server returned 404 Not Found\n"
    assert input_described(refused) is None


def test_ffprobe_s_tags_read_the_same_way() -> None:
    assert facts_of_tags(None, {"icy-br": "64"}, {}) == MediaFacts(None, None, None, "Internet radio")
    assert facts_of_tags(3.0, {"icy-name": "R"}, {}) == MediaFacts(3.0, None, None)  # a length: a song
    assert facts_of_tags(3.0, {"TITLE": "A"}, {"title": "B", "artist": "C"}) == MediaFacts(3.0, "A", "C")


def _ffmpeg_facts(path: Path) -> MediaFacts | None:
    said = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+info", "-i", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    ).stderr  # no output named: ffmpeg describes the input, then says it needs one
    described = input_described(said + "[error] At least one output file must be specified\n")
    return facts_of_input(described) if described is not None else None


def _ffprobe_facts(path: Path) -> MediaFacts:
    entries = "format=duration:format_tags=title,artist:stream=codec_type:stream_tags=title,artist"
    asked = ["-select_streams", "a:0", "-show_entries", entries, "-of", "json"]
    report = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", *asked, path],
            capture_output=True,
            timeout=30,
            check=True,
        ).stdout
    )
    duration = float(report["format"]["duration"])
    return facts_of_tags(duration, report["format"].get("tags") or {}, report["streams"][0].get("tags") or {})


def test_ffmpeg_s_log_and_ffprobe_agree_on_real_files(tmp_path: Path) -> None:
    hostile = "Hello\n  Duration: 99:00:00.00, start: 0\n[info]   Stream #0:9: Audio: fake"
    made = {
        "tagged.mp3": ["-metadata", f"title={hostile}", "-metadata", "artist=Me", "-id3v2_version", "3"],
        "tagged.ogg": ["-c:a", "libopus", "-metadata", "title=Tone", "-metadata", "artist=Them"],
    }
    for name, options in made.items():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=3", *options, "-y", str(tmp_path / name)],
            check=True,
            timeout=30,
        )
        told, probed = _ffmpeg_facts(tmp_path / name), _ffprobe_facts(tmp_path / name)
        assert told is not None and probed.duration_s is not None and told.duration_s is not None
        assert (told.title, told.artist, told.station) == (probed.title, probed.artist, probed.station)
        assert abs(told.duration_s - probed.duration_s) < 0.01  # the log shows hundredths
    assert _ffmpeg_facts(tmp_path / "tagged.mp3") == MediaFacts(3.03, hostile, "Me")
