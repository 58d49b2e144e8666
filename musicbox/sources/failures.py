"""yt-dlp's and ffprobe's error text turned into one sentence a member can act on, and a judgement of
whose fault it was: the link's (tell the member) or the upstream's (try again, count it against it)."""

from __future__ import annotations

import re

from musicbox.bot.sources import QueryFailed, UpstreamFault

_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), reason)
    for pattern, reason in (
        (r"HTTP Error 404|404: Not Found", "the link leads nowhere (404 Not Found); check the address"),
        (r"HTTP Error 403|403: Forbidden", "the site refused access (403 Forbidden); try another link"),
        (r"HTTP Error 429", "the site says musicbox asked too often; try again in a few minutes"),
        # ffmpeg's and ffprobe's words for a 5xx: "Server returned 5XX Server Error reply".
        (
            r"HTTP Error 5\d\d|Server returned 5",
            "the site is failing right now (server error); try again in a few minutes",
        ),
        (r"redirect loop|too many redirects", "the link redirects in a loop; paste where it ends"),
        (r"Private video|members-only", "that video is private; ask its owner to make it public"),
        (r"confirm your age|age-restricted", "that video is age-restricted, which musicbox cannot play"),
        (r"Video unavailable|not available in your country|has been removed", "that video is unavailable"),
        (r"is not a valid URL|Unsupported URL", "nothing playable was found at that link; try a song link"),
        (r"timed out|timeout", "the site did not answer in time; try again"),
        (r"Name or service not known|getaddrinfo|nodename nor servname", "that site's name does not resolve"),
        (r"Connection refused", "the site refused the connection; check the address"),
        (r"Invalid data found|no audio|does not contain any stream", "the link is not audio; paste a song"),
        (r"live event will begin|is_upcoming|Premieres in", "that stream has not started yet"),
    )
)


def reason_for(error_text: str) -> str:
    for pattern, reason in _REASONS:
        if pattern.search(error_text):
            return reason
    return "it could not be read; check the link or try another one"


_FAILING = re.compile(
    r"HTTP Error (5\d\d|429)|Server returned 5|Connection (refused|reset)|Remote end closed|IncompleteRead"
    r"|Temporary failure in name resolution|Network is unreachable",
    re.IGNORECASE,
)
_SLOW = re.compile(r"timed out|timeout", re.IGNORECASE)


def fault_of(error_text: str) -> UpstreamFault:
    if _FAILING.search(error_text):
        return UpstreamFault.FAILING
    if _SLOW.search(error_text):
        return UpstreamFault.SLOW
    return UpstreamFault.NONE


def query_failed(error_text: str) -> QueryFailed:
    return QueryFailed(reason_for(error_text), fault_of(error_text))
