"""An exported playlist reads back: XSPF parsed as any XSPF reader would, text one link a line."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from musicbox.core.playlist_files import as_text, as_xspf
from musicbox.core.track import Track, TrackId

NS = {"x": "http://xspf.org/ns/0/"}
SONGS = [
    Track(
        TrackId("http", "a"), "Tom & Jerry <live>", "http://x/a.ogg?x=1&y=2", duration_s=61.5, artist="A&B"
    ),
    Track(TrackId("youtube", "b"), "]]> sneaky", "https://www.youtube.com/watch?v=b"),
]


def test_xspf_keeps_every_link_title_and_length_whatever_they_contain() -> None:
    root = ET.fromstring(as_xspf("Mine & yours", SONGS))
    assert root.findtext("x:title", namespaces=NS) == "Mine & yours"
    tracks = root.findall("x:trackList/x:track", NS)
    assert [t.findtext("x:location", namespaces=NS) for t in tracks] == [s.page_url for s in SONGS]
    assert [t.findtext("x:title", namespaces=NS) for t in tracks] == [s.title for s in SONGS]
    assert [t.findtext("x:duration", namespaces=NS) for t in tracks] == ["61500", None]
    assert tracks[0].findtext("x:creator", namespaces=NS) == "A&B"


def test_text_is_one_link_a_line() -> None:
    assert as_text(SONGS).splitlines() == [s.page_url for s in SONGS]
    assert as_text([]) == ""
