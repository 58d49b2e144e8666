"""A saved playlist as a file a member downloads: XSPF (which /playlist import and /play read back,
and most players open) or plain text, one link a line. Pure: text in, text out."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from musicbox.core.track import Track


def as_xspf(name: str, tracks: Sequence[Track]) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<playlist version="1" xmlns="http://xspf.org/ns/0/">',
        f"  <title>{escape(name)}</title>",
        "  <trackList>",
    ]
    for track in tracks:
        parts = [f"<location>{escape(track.page_url)}</location>", f"<title>{escape(track.title)}</title>"]
        if track.artist:
            parts.append(f"<creator>{escape(track.artist)}</creator>")
        if track.duration_s is not None:
            parts.append(f"<duration>{round(track.duration_s * 1000)}</duration>")
        lines.append(f"    <track>{''.join(parts)}</track>")
    lines += ["  </trackList>", "</playlist>", ""]
    return "\n".join(lines)


def as_text(tracks: Sequence[Track]) -> str:
    return "".join(f"{track.page_url}\n" for track in tracks)
