"""What a benchmark reports: named figures, each held against its target. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class Direction(Enum):
    AT_MOST = "<="
    AT_LEAST = ">="


@dataclass(frozen=True, slots=True)
class Target:
    direction: Direction
    bound: float

    def met_by(self, value: float) -> bool:
        if self.direction is Direction.AT_MOST:
            return value <= self.bound
        return value >= self.bound

    def margin(self, value: float) -> float:
        """How far inside (positive) or outside (negative) the target the value lies, in its unit."""
        if self.direction is Direction.AT_MOST:
            return self.bound - value
        return value - self.bound


def at_most(bound: float) -> Target:
    return Target(Direction.AT_MOST, bound)


def at_least(bound: float) -> Target:
    return Target(Direction.AT_LEAST, bound)


@dataclass(frozen=True, slots=True)
class Figure:
    scenario: str
    name: str
    value: float
    unit: str
    target: Target | None = None
    note: str = ""

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.target.met_by(self.value)

    @property
    def missed_by(self) -> float | None:
        """How far outside its target the figure lies, in its unit; None when met or without one."""
        if self.target is None or self.target.met_by(self.value):
            return None
        return -self.target.margin(self.value)

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "scenario": self.scenario,
            "name": self.name,
            "value": round(self.value, 6),
            "unit": self.unit,
        }
        if self.target is not None:
            data["target"] = f"{self.target.direction.value} {self.target.bound:g}"
            data["passed"] = self.passed
        if self.missed_by is not None:
            data["missed_by"] = round(self.missed_by, 6)
        if self.note:
            data["note"] = self.note
        return data


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (fraction in [0, 1]) of non-empty samples."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must lie in [0, 1]")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points, in y per unit of x."""
    if len(points) < 2:
        raise ValueError("a slope needs two points")
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        raise ValueError("a slope needs points at different x")
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def verdict(figures: Sequence[Figure]) -> bool:
    """True when no figure with a target missed it."""
    return all(figure.passed is not False for figure in figures)
