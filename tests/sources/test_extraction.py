"""What an extraction worker sends back of yt-dlp's answer: what the resolver reads, nothing more."""

from __future__ import annotations

import json

from yt_dlp.utils import smuggle_url

from musicbox.sources.extraction import _kept


def test_a_youtube_answer_is_cut_to_what_the_resolver_reads() -> None:
    answer = {
        "id": "dQw4w9WgXcQ",
        "title": "A song",
        "duration": 212,
        "uploader": "Someone",
        "url": "https://media.example/audio.webm",
        "live_status": "not_live",
        "formats": [{"url": f"https://media.example/{n}", "format_id": str(n)} for n in range(40)],
        "thumbnails": [{"url": "https://i.example/t.jpg"}] * 30,
        "description": "x" * 50_000,
    }
    kept = _kept(answer)
    assert kept == {
        "id": "dQw4w9WgXcQ",
        "title": "A song",
        "duration": 212,
        "uploader": "Someone",
        "url": "https://media.example/audio.webm",
        "live_status": "not_live",
        "formats": [{"url": "https://media.example/39"}],  # the best, which a feed entry plays
    }
    assert len(json.dumps(kept)) < 400


def test_yt_dlps_private_data_is_taken_off_the_addresses_it_smuggled_it_in() -> None:
    smuggled = smuggle_url("https://site.example/song", {"referrer": "https://elsewhere.example/"})
    kept = _kept({"url": smuggled, "webpage_url": smuggled, "formats": [{"url": smuggled}]})
    assert kept == {
        "url": "https://site.example/song",
        "webpage_url": "https://site.example/song",
        "formats": [{"url": "https://site.example/song"}],
    }
