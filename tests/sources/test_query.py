"""Every way a member pastes a song becomes the same canonical track, with no network."""

from __future__ import annotations

import pytest

from musicbox.core.track import TrackId
from musicbox.sources.query import (
    NotALink,
    SearchWords,
    SpotifyLink,
    WebLink,
    YouTubePlaylist,
    YouTubeVideo,
    entry_track_id,
    recognise,
    track_id,
)

VIDEO = "dQw4w9WgXcQ"
LIST = "PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSU"


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        (f"https://www.youtube.com/watch?v={VIDEO}", YouTubeVideo(VIDEO)),
        (f"https://youtube.com/watch?v={VIDEO}&feature=share", YouTubeVideo(VIDEO)),
        (f"https://m.youtube.com/watch?v={VIDEO}", YouTubeVideo(VIDEO)),
        (f"https://music.youtube.com/watch?v={VIDEO}&si=abc", YouTubeVideo(VIDEO)),
        (f"https://youtu.be/{VIDEO}", YouTubeVideo(VIDEO)),
        (f"https://youtu.be/{VIDEO}?si=xyz", YouTubeVideo(VIDEO)),
        (f"https://www.youtube.com/shorts/{VIDEO}", YouTubeVideo(VIDEO)),
        (f"https://www.youtube.com/embed/{VIDEO}", YouTubeVideo(VIDEO)),
        (f"https://www.youtube-nocookie.com/embed/{VIDEO}", YouTubeVideo(VIDEO)),
        (f"https://www.youtube.com/live/{VIDEO}", YouTubeVideo(VIDEO)),
        (f"youtu.be/{VIDEO}", YouTubeVideo(VIDEO)),
        (f"  https://www.youtube.com/watch?v={VIDEO}  ", YouTubeVideo(VIDEO)),
        (f"https://www.youtube.com/watch?v={VIDEO}&t=42", YouTubeVideo(VIDEO, 42.0)),
        (f"https://www.youtube.com/watch?v={VIDEO}&t=42s", YouTubeVideo(VIDEO, 42.0)),
        (f"https://youtu.be/{VIDEO}?t=1m3s", YouTubeVideo(VIDEO, 63.0)),
        (f"https://youtu.be/{VIDEO}?t=1h2m3s", YouTubeVideo(VIDEO, 3723.0)),
        (f"https://www.youtube.com/embed/{VIDEO}?start=90", YouTubeVideo(VIDEO, 90.0)),
        (f"https://www.youtube.com/watch?v={VIDEO}#t=15", YouTubeVideo(VIDEO, 15.0)),
        (f"https://www.youtube.com/playlist?list={LIST}", YouTubePlaylist(LIST)),
        (f"https://music.youtube.com/playlist?list={LIST}", YouTubePlaylist(LIST)),
        (f"https://www.youtube.com/watch?v={VIDEO}&list={LIST}&index=3", YouTubePlaylist(LIST, VIDEO)),
        # A mix is endless: the member gets the video they were watching.
        (f"https://www.youtube.com/watch?v={VIDEO}&list=RD{VIDEO}&start_radio=1", YouTubeVideo(VIDEO)),
        (
            "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
            SpotifyLink("track", "4uLU6hMCjMI75M1A2tKUQC"),
        ),
        (
            "https://open.spotify.com/intl-de/album/1DFixLWuPkv3KT3TnV35m3?si=1",
            SpotifyLink("album", "1DFixLWuPkv3KT3TnV35m3"),
        ),
        ("spotify:playlist:37i9dQZF1DXcBWIGoYBM5M", SpotifyLink("playlist", "37i9dQZF1DXcBWIGoYBM5M")),
        (
            "https://open.spotify.com/artist/0OdUWJ0sBjDrqHygGUXeCF",
            SpotifyLink("artist", "0OdUWJ0sBjDrqHygGUXeCF"),
        ),
        ("HTTP://Example.COM:80/a/song.mp3#frag", WebLink("http://example.com/a/song.mp3")),
        ("https://example.com:8443/x.ogg?t=30", WebLink("https://example.com:8443/x.ogg?t=30", 30.0)),
        ("http://[::1]:8000/a.ogg", WebLink("http://[::1]:8000/a.ogg")),
        ("never gonna give you up", SearchWords("never gonna give you up")),
        ("  daft   punk  ", SearchWords("daft punk")),
        ("https://www.youtube.com/watch?v=short", WebLink("https://www.youtube.com/watch?v=short")),
    ],
)
def test_pasted_links_are_recognised(pasted: str, expected: object) -> None:
    assert recognise(pasted) == expected


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("file:///etc/passwd", "file:// links are not played"),
        ("ftp://example.com/a.mp3", "ftp:// links are not played"),
        ("data:audio/ogg;base64,T2dnUwACAAAAAAAA", "data: links are not played"),
        ("javascript:alert(document.cookie)", "javascript: links are not played"),
        ("JavaScript: alert(1)", "javascript: links are not played"),
        ("file:/etc/passwd", "file: links are not played"),
        ("ftp:example.com", "ftp: links are not played"),
        ("", "empty"),
        ("x" * 501, "longer than 500"),
        ("https://open.spotify.com/show/4rOoJ6Egrf8K2IrywzwOMk", "not a track, album, playlist or artist"),
    ],
)
def test_unplayable_input_says_what_to_do(pasted: str, says: str) -> None:
    result = recognise(pasted)
    assert isinstance(result, NotALink) and says in result.reason


def test_every_youtube_form_shares_one_track_id() -> None:
    forms = [
        f"https://www.youtube.com/watch?v={VIDEO}",
        f"https://youtu.be/{VIDEO}?t=10",
        f"https://www.youtube.com/shorts/{VIDEO}",
        f"https://music.youtube.com/watch?v={VIDEO}",
        f"https://www.youtube.com/embed/{VIDEO}",
    ]
    ids = set()
    for form in forms:
        recognised = recognise(form)
        assert isinstance(recognised, YouTubeVideo)
        ids.add(track_id(recognised))
    assert ids == {TrackId("youtube", VIDEO)}
    assert str(ids.pop()) == f"youtube:{VIDEO}"
    assert entry_track_id(f"https://youtu.be/{VIDEO}") == TrackId("youtube", VIDEO)


def test_web_links_differing_only_in_spelling_share_one_track_id() -> None:
    a = recognise("HTTP://Media.Example.org:80/song.ogg#x")
    b = recognise("http://media.example.org/song.ogg")
    assert isinstance(a, WebLink) and isinstance(b, WebLink)
    assert track_id(a) == track_id(b) == TrackId("http", "http://media.example.org/song.ogg")


def test_the_youtube_patterns_are_the_pinned_yt_dlps_own() -> None:
    # The bot recognises YouTube links without importing yt-dlp (about 20 MiB), from a copy of its
    # patterns; after a yt-dlp upgrade that changed them, copy them again.
    from yt_dlp.extractor.youtube import YoutubeIE, YoutubeTabIE

    from musicbox.sources import youtube_patterns

    again = "yt-dlp's YouTube patterns changed: copy YoutubeIE/YoutubeTabIE._VALID_URL again"
    assert youtube_patterns.VIDEO_URL == YoutubeIE._VALID_URL, again
    assert youtube_patterns.TAB_URL == YoutubeTabIE._VALID_URL, again
