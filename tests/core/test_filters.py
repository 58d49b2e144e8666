"""/filter's choices, the ffmpeg chain each one asks for, how fast it plays the song, how it is kept,
and whether a server may have one more filtered stream: table tests, no ffmpeg."""

from __future__ import annotations

import pytest

from musicbox.core.filters import (
    AudioFilter,
    Effect,
    FilterMistake,
    admits,
    chosen_filter,
    filter_chain,
    stored_filter,
)

NIGHTCORE = AudioFilter(Effect.NIGHTCORE)
VAPORWAVE = AudioFilter(Effect.VAPORWAVE)


@pytest.mark.parametrize(
    ("audio_filter", "volume", "chain", "rate", "label"),
    [
        (None, 100, None, 1.0, None),  # a cached song is sent as it is: no ffmpeg
        (None, 40, "volume=0.40", 1.0, None),
        (NIGHTCORE, 100, "aresample=48000,asetrate=60000,aresample=48000", 1.25, "nightcore"),
        (VAPORWAVE, 100, "aresample=48000,asetrate=38400,aresample=48000", 0.8, "vaporwave"),
        (AudioFilter(Effect.BASSBOOST), 100, "bass=g=10:f=110:w=0.6,alimiter=limit=0.9", 1.0, "bassboost"),
        (AudioFilter(Effect.EIGHT_D), 100, "apulsator=hz=0.125", 1.0, "8d"),
        (AudioFilter(Effect.SPEED, 1.5), 100, "atempo=1.5", 1.5, "speed 1.5×"),
        (AudioFilter(Effect.SPEED, 0.75), 150, "atempo=0.75,volume=1.50", 0.75, "speed 0.75×"),
        (NIGHTCORE, 50, "aresample=48000,asetrate=60000,aresample=48000,volume=0.50", 1.25, "nightcore"),
    ],
)
def test_each_filter_is_one_ffmpeg_chain_with_the_volume_after_it(
    audio_filter: AudioFilter | None, volume: int, chain: str | None, rate: float, label: str | None
) -> None:
    assert filter_chain(audio_filter, volume) == chain
    if audio_filter is not None:
        assert (audio_filter.rate, audio_filter.label) == (rate, label)


@pytest.mark.parametrize(
    ("effect", "speed", "expected"),
    [
        ("nightcore", None, NIGHTCORE),
        ("8d", None, AudioFilter(Effect.EIGHT_D)),
        ("speed", 1.25, AudioFilter(Effect.SPEED, 1.25)),
        ("speed", 0.5, AudioFilter(Effect.SPEED, 0.5)),
        ("speed", 2.0, AudioFilter(Effect.SPEED, 2.0)),
        ("speed", 1.333333, AudioFilter(Effect.SPEED, 1.33)),
        ("off", None, None),
        ("speed", None, FilterMistake.SPEED_MISSING),
        ("speed", 0.49, FilterMistake.SPEED_MISSING),
        ("speed", 2.01, FilterMistake.SPEED_MISSING),
        ("speed", float("nan"), FilterMistake.SPEED_MISSING),
        ("speed", float("inf"), FilterMistake.SPEED_MISSING),
        ("nightcore", 1.5, FilterMistake.SPEED_UNWANTED),
        ("off", 1.5, FilterMistake.SPEED_UNWANTED),
        ("reverse", None, FilterMistake.UNKNOWN),
        ("", None, FilterMistake.UNKNOWN),
    ],
)
def test_a_members_choice_is_a_filter_off_or_what_is_wrong_with_it(
    effect: str, speed: float | None, expected: AudioFilter | FilterMistake | None
) -> None:
    assert chosen_filter(effect, speed) == expected


@pytest.mark.parametrize(
    "kept", [NIGHTCORE, VAPORWAVE, AudioFilter(Effect.SPEED, 1.75), AudioFilter(Effect.BASSBOOST)]
)
def test_a_filter_kept_in_the_settings_reads_back_as_itself(kept: AudioFilter) -> None:
    assert stored_filter(kept.stored) == kept


@pytest.mark.parametrize("stored", ["", "speed", "speed:fast", "speed:9", "echo", "nightcore:2"])
def test_a_kept_value_this_version_cannot_read_is_no_filter(stored: str) -> None:
    assert stored_filter(stored) is None


@pytest.mark.parametrize(
    ("holders", "guild", "most", "admitted"),
    [
        (set(), 1, 2, True),
        ({1}, 2, 2, True),
        ({1, 2}, 3, 2, False),  # every slot taken by other servers
        ({1, 2}, 2, 2, True),  # a server keeps the slot it holds
        (set(), 1, 0, False),  # the owner turned filters off for the box
        ({1, 2, 3}, 4, 2, False),  # the owner lowered the bound while three played
    ],
)
def test_a_server_may_filter_while_it_holds_a_slot_or_one_is_free(
    holders: set[int], guild: int, most: int, admitted: bool
) -> None:
    assert admits(holders, guild, most) is admitted
