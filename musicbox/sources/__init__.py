"""Where tracks come from: links and words recognised (pure), checked for safety, resolved by yt-dlp."""

from musicbox.sources.query import Query, recognise
from musicbox.sources.ytdlp import YtDlpSource

__all__ = ["Query", "YtDlpSource", "recognise"]
