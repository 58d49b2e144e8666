"""SponsorBlock: the parts of a YouTube video its viewers marked to skip (a music video's talking
intro, a sponsor read), and what musicbox leaves out of a song because of them. Pure: the API's
answer in, cuts out, and the two ways a cut is carried out (an ffmpeg filter when the song is
cached, stretches to play between seeks when it is not).

A song's positions (what /now, /seek and a resume after a restart count in) are positions in what
is heard: a cut song is shorter than its source, and the cached file, already cut, is on that
timeline; the uncached path maps a heard position to the source's (`source_position`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# SponsorBlock's categories of segments that are skipped (its "skip" action); "poi_highlight" and
# "chapter" mark points and names, not stretches to leave out.
CATEGORIES = ("sponsor", "selfpromo", "interaction", "intro", "outro", "preview", "music_offtopic", "filler")
# What every server leaves out until it says otherwise: the non-music parts of a music video.
DEFAULT_CATEGORIES = ("music_offtopic",)
NONE_WORD = "none"
# The real API's privacy-preserving lookup: only this many hex digits of the id's SHA-256 are sent,
# and the answer lists every video in that bucket (65,536 buckets).
HASH_PREFIX_CHARS = 4
# A stretch shorter than this is not worth a seek (and a cut this short is usually a voting artefact).
MIN_CUT_S = 1.0
# Cuts that would leave less than this of a song are taken for a bad submission: nothing is cut.
MIN_KEPT_S = 5.0
# A segment submitted for a video of another length (an older upload of the same id, re-cut since)
# does not fit this one; SponsorBlock reports the length it was submitted against.
LENGTH_SLACK_S = 1.0
MAX_CUTS = 64  # a hostile or broken answer cannot make the filter or the piece list grow without end


@dataclass(frozen=True, slots=True, order=True)
class Cut:
    """A stretch of the source left out: [start_s, end_s) in the source's seconds."""

    start_s: float
    end_s: float

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


Cuts = tuple[Cut, ...]


def hash_prefix(video_id: str) -> str:
    return hashlib.sha256(video_id.encode()).hexdigest()[:HASH_PREFIX_CHARS]


def segments_of(answer: Any, video_id: str, categories: Iterable[str], duration_s: float | None) -> list[Cut]:
    """The skip segments of `video_id` in `categories` from a hash-prefix answer (a list of videos,
    each with its segments); anything malformed is passed over, never trusted."""
    wanted = set(categories)
    found: list[Cut] = []
    for video in answer if isinstance(answer, list) else []:
        if not isinstance(video, dict) or video.get("videoID") != video_id:
            continue
        for segment in video.get("segments") or []:
            cut = _cut_of(segment, wanted, duration_s)
            if cut is not None:
                found.append(cut)
    return found


def _cut_of(segment: Any, wanted: set[str], duration_s: float | None) -> Cut | None:
    if not isinstance(segment, dict) or segment.get("category") not in wanted:
        return None
    if segment.get("actionType", "skip") != "skip":
        return None
    bounds = segment.get("segment")
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(_is_number(b) for b in bounds)):
        return None
    submitted_for = segment.get("videoDuration")
    if (
        _is_number(submitted_for)
        and duration_s is not None
        and _misfits(float(submitted_for or 0), duration_s)
    ):
        return None
    return Cut(float(bounds[0]), float(bounds[1]))


def _misfits(submitted_for_s: float, duration_s: float) -> bool:
    """SponsorBlock's 0 is "length not known"."""
    return submitted_for_s > 0 and abs(submitted_for_s - duration_s) > LENGTH_SLACK_S


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value  # not NaN


def cuts_within(segments: Iterable[Cut], duration_s: float | None) -> Cuts:
    """What is left out of a song `duration_s` long: the segments clamped to the song, overlapping
    or touching ones merged, slivers dropped; nothing when too little of the song would be left, or
    when the song's length is unknown (a cut past the end could not be checked)."""
    if duration_s is None or duration_s <= 0:
        return ()
    clamped = sorted(
        Cut(max(0.0, cut.start_s), min(duration_s, cut.end_s)) for cut in segments if cut.end_s > cut.start_s
    )
    merged: list[Cut] = []
    for cut in clamped:
        if merged and cut.start_s <= merged[-1].end_s:
            merged[-1] = Cut(merged[-1].start_s, max(merged[-1].end_s, cut.end_s))
        elif cut.length_s > 0:
            merged.append(cut)
    kept = tuple(cut for cut in merged if cut.length_s >= MIN_CUT_S)[:MAX_CUTS]
    if duration_s - sum(cut.length_s for cut in kept) < MIN_KEPT_S:
        return ()
    return tuple(Cut(round(cut.start_s, 3), round(cut.end_s, 3)) for cut in kept)


def heard_length_s(cuts: Cuts, duration_s: float) -> float:
    return duration_s - sum(cut.length_s for cut in cuts)


def source_position(cuts: Cuts, heard_s: float) -> float:
    """Where in the source a position in what is heard is (a seek, a resume, a handover)."""
    position = heard_s
    for cut in cuts:
        if cut.start_s <= position:
            position += cut.length_s
        else:
            break
    return position


def pieces(cuts: Cuts, from_source_s: float, duration_s: float | None) -> list[tuple[float, float | None]]:
    """The stretches of the source played from `from_source_s` on, each (start, end) with None for
    "to the end": what the uncached path plays, seeking over each cut."""
    stretches: list[tuple[float, float | None]] = []
    start = from_source_s
    for cut in cuts:
        if cut.end_s <= start:
            continue
        if cut.start_s > start:
            stretches.append((start, cut.start_s))
        start = cut.end_s
    if duration_s is None or start < duration_s:
        stretches.append((start, None))
    return stretches


# `aselect` keeps or drops whole audio frames (a decoder's are 20 ms or more, and not aligned with
# the cut): frames of 48 samples, 1 ms at 48 kHz, make a cut land within a millisecond of its time.
SELECT_FRAME_SAMPLES = 48


def select_filter(cuts: Cuts) -> str:
    """ffmpeg's audio filter that leaves the cuts out of a transcode and closes the gaps
    (`aselect` drops the samples, `asetpts` renumbers what is left so it plays on without a pause)."""
    if not cuts:
        return ""
    dropped = "+".join(f"between(t,{cut.start_s:.3f},{cut.end_s:.3f})" for cut in cuts)
    return f"asetnsamples=n={SELECT_FRAME_SAMPLES}:p=0,aselect='not({dropped})',asetpts=N/SR/TB"


def parse_categories(text: str) -> tuple[str, ...] | None:
    """A member's list of categories ("sponsor, music_offtopic", or "none"), in SponsorBlock's order;
    None when a word is not one."""
    words = text.replace(",", " ").lower().split()
    if words == [NONE_WORD]:
        return ()
    if not words or any(word not in CATEGORIES for word in words):
        return None
    return tuple(category for category in CATEGORIES if category in words)


def cuts_to_text(cuts: Cuts) -> str:
    """The index's record of what a cached file had cut: JSON pairs ("[]": nothing)."""
    return json.dumps([[cut.start_s, cut.end_s] for cut in cuts], separators=(",", ":"))


def cuts_from_text(text: str) -> Cuts:
    pairs: Sequence[Sequence[float]] = json.loads(text)
    return tuple(Cut(float(start), float(end)) for start, end in pairs)
