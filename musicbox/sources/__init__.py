"""Where tracks come from: links and words recognised (pure), resolved by yt-dlp through the egress gate."""

from musicbox.sources.query import Query, recognise
from musicbox.sources.ytdlp import YtDlpSource

__all__ = ["Query", "YtDlpSource", "recognise"]
