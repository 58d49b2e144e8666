"""The bot's own check of declared option bounds: what a crafted interaction is refused for."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from musicbox.bot.options import option_refusal


def parameter(
    name: str, low: float | None = None, high: float | None = None, choices: tuple[Any, ...] = ()
) -> Any:
    return SimpleNamespace(
        display_name=name, min_value=low, max_value=high, choices=[SimpleNamespace(value=c) for c in choices]
    )


PERCENT = parameter("percent", 0, 200)
POSITION = parameter("position", 1)
SEEK = parameter("position", 1, 8)
MODE = parameter("mode", choices=("off", "track", "queue"))


@pytest.mark.parametrize(
    ("declared", "given", "refusal"),
    [
        (PERCENT, {"percent": 200}, None),
        (PERCENT, {"percent": 201}, "percent must be from 0 to 200; try again with a value in range."),
        (PERCENT, {"percent": -1}, "percent must be from 0 to 200; try again with a value in range."),
        (POSITION, {"position": 0}, "position must be at least 1; try again with a value in range."),
        (POSITION, {"position": 10**9}, None),
        (SEEK, {"position": "1:02:03"}, None),
        (
            SEEK,
            {"position": "123456789"},
            "position must be from 1 to 8 characters long; try again with a value in range.",
        ),
        (MODE, {"mode": "sideways"}, "mode must be one of off, track, queue; pick one of those."),
        (MODE, {"mode": "track"}, None),
        (PERCENT, {}, None),  # an optional option left out
        (PERCENT, {"percent": None}, None),
    ],
)
def test_values_outside_the_declared_bounds_are_refused_in_one_sentence(
    declared: Any, given: dict[str, Any], refusal: str | None
) -> None:
    assert option_refusal([declared], given) == refusal  # type: ignore[arg-type]
