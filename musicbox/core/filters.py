"""Audio filters a server puts on its music (/filter): what each one asks of ffmpeg, how fast it plays
the song, how it is kept, and whether the box has room for one more filtered stream. Pure.

A filter needs decoding, so a filtered song goes through ffmpeg (from its cached file when there is
one) the way a volume other than 100 % does; without a filter a cached song is sent as it is.

Nightcore and vaporwave play the song faster or slower with its pitch (a tape run fast or slow);
`speed` changes the tempo and keeps the pitch. Either way the song's position runs at `rate` song
seconds per second heard, which is what the session's clock and a direct stream's length go by."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from enum import StrEnum

SAMPLE_RATE = 48_000  # what the cache holds and Discord plays; a source at another rate is resampled first
SLOWEST = 0.5  # ffmpeg's atempo takes 0.5-2.0 in one pass; beyond that a song is no longer itself
FASTEST = 2.0
NIGHTCORE_RATE = 1.25
VAPORWAVE_RATE = 0.8
# A low shelf of +10 dB at 110 Hz, and a limiter so the boost does not clip a song already brought to
# -14 LUFS.
BASS_BOOST = "bass=g=10:f=110:w=0.6,alimiter=limit=0.9"
# The sound circles the listener's head once every 8 s (in headphones): what "8D audio" is.
EIGHT_D = "apulsator=hz=0.125"


class Effect(StrEnum):
    NIGHTCORE = "nightcore"
    VAPORWAVE = "vaporwave"
    BASSBOOST = "bassboost"
    EIGHT_D = "8d"
    SPEED = "speed"


@dataclass(frozen=True, slots=True)
class AudioFilter:
    effect: Effect
    speed: float = 1.0  # the tempo factor of `speed`; 1.0 for every other effect

    @property
    def rate(self) -> float:
        """Song seconds played per second heard."""
        if self.effect is Effect.NIGHTCORE:
            return NIGHTCORE_RATE
        if self.effect is Effect.VAPORWAVE:
            return VAPORWAVE_RATE
        return self.speed

    @property
    def label(self) -> str:
        """How /now and the web page name it."""
        return f"speed {self.speed:g}×" if self.effect is Effect.SPEED else self.effect.value

    @property
    def stored(self) -> str:
        """The form kept in the server's settings: "nightcore", "speed:1.5"."""
        return f"speed:{self.speed:g}" if self.effect is Effect.SPEED else self.effect.value

    def chain(self) -> str:
        """ffmpeg's -af filter chain for this filter."""
        if self.effect in (Effect.NIGHTCORE, Effect.VAPORWAVE):
            # Played at another sample rate, then brought back to 48 kHz: faster and higher (or
            # slower and lower) together, like a record at the wrong speed.
            played_at = round(SAMPLE_RATE * self.rate)
            return f"aresample={SAMPLE_RATE},asetrate={played_at},aresample={SAMPLE_RATE}"
        if self.effect is Effect.BASSBOOST:
            return BASS_BOOST
        if self.effect is Effect.EIGHT_D:
            return EIGHT_D
        return f"atempo={self.speed:g}"


def filter_chain(audio_filter: AudioFilter | None, volume: int) -> str | None:
    """The whole -af chain for a song: the filter, then the volume; None when neither changes the
    audio (a cached song is then sent as it is, with no ffmpeg)."""
    parts = [] if audio_filter is None else [audio_filter.chain()]
    if volume != 100:
        parts.append(f"volume={volume / 100:.2f}")
    return ",".join(parts) or None


class FilterMistake(StrEnum):
    """What is wrong with a member's /filter choice (bot/text.py says it)."""

    UNKNOWN = "unknown"
    SPEED_MISSING = "speed missing"  # speed chosen without a value, or one out of bounds
    SPEED_UNWANTED = "speed unwanted"  # a value given with an effect that takes none


def chosen_filter(effect: str, speed: float | None) -> AudioFilter | FilterMistake | None:
    """A member's /filter choice: the filter, None for "off", or what is wrong with it."""
    if effect == "off":
        return None if speed is None else FilterMistake.SPEED_UNWANTED
    try:
        picked = Effect(effect)
    except ValueError:
        return FilterMistake.UNKNOWN
    if picked is not Effect.SPEED:
        return FilterMistake.SPEED_UNWANTED if speed is not None else AudioFilter(picked)
    if speed is None or not SLOWEST <= speed <= FASTEST:
        return FilterMistake.SPEED_MISSING
    return AudioFilter(Effect.SPEED, round(speed, 2))


def stored_filter(stored: str) -> AudioFilter | None:
    """The filter a server's settings keep; None for none, or for a value this version cannot read
    (a hand-edited database must not stop the music)."""
    effect, _, speed = stored.partition(":")
    try:
        picked = chosen_filter(effect, float(speed) if speed else None)
    except ValueError:
        return None
    return picked if isinstance(picked, AudioFilter) else None


def admits(holders: Set[int], guild_id: int, most: int) -> bool:
    """Whether a server may hear its songs filtered: it holds a slot already, or one is free.
    `most` is the tuner's max_filtered (each filtered stream is one ffmpeg decoding and encoding in
    real time); 0 means no filtered streams at all."""
    return guild_id in holders or len(holders) < most
