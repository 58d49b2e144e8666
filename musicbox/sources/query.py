"""What a member typed into /play, recognised without touching the network.

YouTube URL forms are matched by yt-dlp's own extractors' patterns (`_VALID_URL`, copied into
`youtube_patterns.py` so the bot does not import yt-dlp), so what musicbox calls a video is exactly
what yt-dlp will later extract; everything else is plain parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit, urlunsplit

from musicbox.core.track import TrackId
from musicbox.sources.youtube_patterns import TAB_URL, VIDEO_URL


@dataclass(frozen=True, slots=True)
class YouTubeVideo:
    video_id: str
    start_s: float = 0.0  # from `t=`/`start=`: where the member wants the song to begin

    @property
    def url(self) -> str:
        return f"https://www.youtube.com/watch?v={self.video_id}"


@dataclass(frozen=True, slots=True)
class YouTubePlaylist:
    playlist_id: str
    # A watch URL with `&list=` names the video the member was on; the playlist is still queued whole.
    video_id: str | None = None

    @property
    def url(self) -> str:
        return f"https://www.youtube.com/playlist?list={self.playlist_id}"


@dataclass(frozen=True, slots=True)
class SpotifyLink:
    kind: str  # track, album, playlist, artist
    spotify_id: str


@dataclass(frozen=True, slots=True)
class WebLink:
    """Any other http(s) address: a media file, a page with audio, a feed, a site yt-dlp knows."""

    url: str  # normalised: lower-case scheme and host, no fragment, no default port
    start_s: float = 0.0


@dataclass(frozen=True, slots=True)
class SearchWords:
    words: str


@dataclass(frozen=True, slots=True)
class NotALink:
    """Looks like an address but cannot be one musicbox plays (file://, ftp://, a bare scheme)."""

    reason: str


Query = YouTubeVideo | YouTubePlaylist | SpotifyLink | WebLink | SearchWords | NotALink

MAX_QUERY_CHARS = 500
_SPOTIFY_PATH = re.compile(
    r"^/(?:intl-[a-z]{2}(?:-[a-z]{2})?/|embed/)?(track|album|playlist|artist)/([A-Za-z0-9]{22})"
)
_SPOTIFY_URI = re.compile(r"^spotify:(track|album|playlist|artist):([A-Za-z0-9]{22})$")
# Mixes ("RD...") and the like are endless generated lists, not something a member means to queue whole.
_GENERATED_LIST_PREFIXES = ("RD", "UL")
# Links with no "//" that are still links, never search words: what a browser, a shell or ffmpeg
# would act on if one ever got that far.
_NOT_WEB = re.compile(
    r"^(data|javascript|vbscript|file|ftp|ftps|sftp|smb|tftp|gopher|dict|ldap|telnet|ssh|mailto|about"
    r"|blob|view-source|rtmp|rtsp|udp|tcp|concat|subfile|pipe|crypto|hls)\s*:",
    re.IGNORECASE,
)
_VIDEO_URL = re.compile(VIDEO_URL)
_TAB_URL = re.compile(TAB_URL)
_TIMESTAMP = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")


def recognise(text: str) -> Query:
    query = " ".join(text.split())
    if not query:
        return NotALink("the query is empty; type a link or some words")
    if len(query) > MAX_QUERY_CHARS:
        return NotALink(f"the query is longer than {MAX_QUERY_CHARS} characters; shorten it")
    spotify = _SPOTIFY_URI.match(query)
    if spotify:
        return SpotifyLink(spotify[1], spotify[2])
    not_web = _NOT_WEB.match(query) if "://" not in query else None
    if not_web:
        return NotALink(f"{not_web[1].lower()}: links are not played; paste an http or https link")
    if " " in query or "://" not in query:
        return _bare_host(query) or SearchWords(query)
    scheme = query.partition("://")[0].lower()
    if scheme not in ("http", "https"):
        return NotALink(f"{scheme}:// links are not played; paste an http or https link")
    return _web(query)


def _bare_host(query: str) -> Query | None:
    """`youtu.be/x` or `www.youtube.com/watch?v=x` pasted without a scheme is still a link."""
    if " " in query or "/" not in query or "." not in query.partition("/")[0]:
        return None
    return _web("https://" + query)


def _web(url: str) -> Query:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        return NotALink("the link has no site in it; check the address")
    if host in ("open.spotify.com", "play.spotify.com"):
        spotify = _SPOTIFY_PATH.match(parts.path)
        if spotify:
            return SpotifyLink(spotify[1], spotify[2])
        return NotALink("that Spotify link is not a track, album, playlist or artist")
    youtube = _youtube(url, parts.query, parts.fragment)
    if youtube is not None:
        return youtube
    return WebLink(normalise_url(url), _start_seconds(parts.query, parts.fragment))


def _youtube(url: str, query: str, fragment: str) -> Query | None:
    params = parse_qs(query)
    list_id = params.get("list", [""])[0]
    video_id = _video_id(url)
    if list_id and not list_id.startswith(_GENERATED_LIST_PREFIXES) and _tab_suitable(url):
        return YouTubePlaylist(list_id, video_id)
    if video_id is not None:
        return YouTubeVideo(video_id, _start_seconds(query, fragment))
    return None


def _video_id(url: str) -> str | None:
    # YoutubeIE declines watch URLs carrying `list=` (it defers to the tab extractor), but its
    # pattern still finds the video in them.
    if not (_video_suitable(url) or _tab_suitable(url)):
        return None
    match = _VIDEO_URL.match(url)
    if match is None:
        return None
    video_id = match.group("id")
    return video_id if isinstance(video_id, str) and len(video_id) == 11 else None


def _video_suitable(url: str) -> bool:
    """`YoutubeIE.suitable`: its pattern, and no `list=` (a playlist is the tab extractor's)."""
    return not parse_qs(urlsplit(url).query).get("list", [""])[0] and _VIDEO_URL.match(url) is not None


def _tab_suitable(url: str) -> bool:
    """`YoutubeTabIE.suitable`: its pattern, for what `YoutubeIE` declines."""
    return not _video_suitable(url) and _TAB_URL.match(url) is not None


def _start_seconds(query: str, fragment: str) -> float:
    params = parse_qs(query) | parse_qs(fragment)
    raw = (params.get("t") or params.get("start") or [""])[0]
    match = _TIMESTAMP.match(raw)
    if not raw or match is None:
        return 0.0
    hours, minutes, seconds = (int(group) if group else 0 for group in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def normalise_url(url: str) -> str:
    """One spelling per address: scheme and host lower-case, default port and fragment dropped."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def track_id(query: YouTubeVideo | WebLink) -> TrackId:
    if isinstance(query, YouTubeVideo):
        return TrackId("youtube", query.video_id)
    return TrackId("http", query.url)


def entry_track_id(url: str) -> TrackId:
    """The identity of a playlist or search entry, from the address yt-dlp gave for it."""
    recognised = recognise(url)
    if isinstance(recognised, YouTubeVideo):
        return track_id(recognised)
    return TrackId("http", normalise_url(url))
