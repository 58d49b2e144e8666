"""One yt-dlp extraction worker: a process of its own, started by `workers.py`, that reads one
request a line on stdin and answers on stdout (JSON lines: progress reports, then the answer).

yt-dlp lives only here, never in the bot's interpreter: its import costs about 20 MiB, and its
extraction is pure Python that held the GIL for stretches while the bot's event loop waited to
acknowledge members' commands. A worker can be killed at any moment (past its deadline, or when the
member's request is cancelled) and nothing of the bot is lost with it.

Every request yt-dlp makes goes through the egress gate in the bot: the request carries the job's
proxy address, and the bot's environment reached this process with the gate's bypasses removed."""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any

import yt_dlp
from yt_dlp.utils import unsmuggle_url

log = logging.getLogger("musicbox.sources.extraction")

PROGRESS_EVERY = 10  # entries between progress reports (the bot throttles its edits)
# What the resolver reads of an answer (`ytdlp.py`): the rest (formats, thumbnails, subtitles, of
# hundreds of kilobytes for a YouTube video) is left here rather than parsed on the bot's event loop.
KEPT_KEYS = (
    "_type", "url", "webpage_url", "ie_key", "id", "title", "duration", "artist", "creator",
    "uploader", "channel", "extractor", "extractor_key", "is_live", "live_status",
)  # fmt: skip

Info = dict[str, Any]


class _Quiet:
    """yt-dlp prints errors to stderr unless given a logger; ours go to the log at debug level."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def info(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def warning(self, message: str) -> None:
        log.debug("yt-dlp warning: %s", message)

    def error(self, message: str) -> None:
        log.debug("yt-dlp error: %s", message)


def extract(
    url: str,
    *,
    flat: bool,
    proxy: str,
    playlist_limit: int,
    deno: str | None,
    report: Callable[[int, int], None],
) -> Info:
    """yt-dlp's answer for `url`, kept to what the resolver reads. Raises yt-dlp's errors."""
    with yt_dlp.YoutubeDL(_options(flat, proxy, playlist_limit, deno)) as downloader:
        info = downloader.extract_info(url, download=False, process=not flat)
        if flat:
            info = _follow(downloader, info)
            if info.get("_type") == "playlist":
                return _materialise(info, playlist_limit, report)
        return _kept(downloader.sanitize_info(info))


def _options(flat: bool, proxy: str, playlist_limit: int, deno: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "proxy": proxy,
        "quiet": True,
        "no_warnings": True,
        "logger": _Quiet(),
        "skip_download": True,
        "noplaylist": False,
        "socket_timeout": 10,
        "retries": 1,
        "format": "bestaudio/best",
        "playlistend": playlist_limit,
        "noprogress": True,
        "cachedir": False,
    }
    if flat:
        options["extract_flat"] = "in_playlist"
    if deno is not None:
        # Explicit, not PATH: YouTube's player JavaScript needs it (yt-dlp issues #15012, #15038).
        options["js_runtimes"] = {"deno": {"path": deno}}
    return options


def _follow(downloader: yt_dlp.YoutubeDL, info: Any) -> Any:
    """An unprocessed result may point at another extractor (a redirect, a YouTube short link)."""
    for _ in range(3):
        if not isinstance(info, dict) or info.get("_type") not in ("url", "url_transparent"):
            break
        info = downloader.extract_info(info["url"], download=False, process=False, ie_key=info.get("ie_key"))
    return info


def _materialise(info: Any, limit: int, report: Callable[[int, int], None]) -> Info:
    """Walk a playlist's (possibly lazy, paged) entries, reporting as they arrive."""
    raw = info.get("entries") or []
    total_hint = info.get("playlist_count")
    total = len(raw) if isinstance(raw, list) else int(total_hint) if total_hint else limit
    total = min(total, limit)
    entries: list[Info] = []
    for done, item in enumerate(itertools.islice(raw, limit), start=1):
        if isinstance(item, dict):
            entries.append(_kept(item))
        if done % PROGRESS_EVERY == 0 or done == total:
            report(done, max(total, done))
    return {"_type": "playlist", "title": info.get("title"), "entries": entries}


def _kept(info: Mapping[str, Any]) -> Info:
    kept = {key: info[key] for key in KEPT_KEYS if key in info}
    for key in ("url", "webpage_url"):
        if isinstance(kept.get(key), str):
            kept[key] = unsmuggle_url(kept[key])[0]  # yt-dlp's private data rides in the fragment
    formats = info.get("formats")
    # An unprocessed feed entry carries its address only in its formats; the last is the best.
    if isinstance(formats, list) and formats and isinstance(formats[-1], Mapping):
        last = formats[-1].get("url")
        if isinstance(last, str):
            kept["formats"] = [{"url": unsmuggle_url(last)[0]}]
    return kept


def deno_path() -> str | None:
    try:
        import deno
    except ImportError:
        return None
    path = deno.find_deno_bin()
    return str(path) if path and os.path.exists(path) else None


def serve(requests: IO[str], replies: IO[str]) -> None:
    """Answer requests until stdin closes (the bot retiring this worker, or gone)."""
    deno = deno_path()

    def send(message: Mapping[str, Any]) -> None:
        replies.write(json.dumps(message, default=str) + "\n")
        replies.flush()

    for line in requests:
        request = json.loads(line)
        try:
            info = extract(
                request["url"],
                flat=request["flat"],
                proxy=request["proxy"],
                playlist_limit=request["playlist_limit"],
                deno=deno,
                report=lambda done, total: send({"progress": [done, total]}),
            )
        except yt_dlp.utils.YoutubeDLError as error:
            send({"error": str(error)})
        except Exception as error:  # a yt-dlp bug on a strange page: the member still gets a sentence
            log.warning("yt-dlp failed on a request", exc_info=True)
            send({"error": f"{type(error).__name__}: {error}"})
        else:
            send({"info": info})


def main() -> None:
    # The replies get stdout to themselves: anything yt-dlp or a library prints goes to stderr (the
    # bot's log) instead of into the middle of an answer.
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    logging.basicConfig(level=logging.WARNING, format="extraction worker: %(message)s")
    serve(sys.stdin, replies)


if __name__ == "__main__":
    main()
