"""Runs benchmark scenarios and turns their figures into a table or JSON.

A scenario is an async function that builds its own world (simulator, media, bot), measures, and
returns figures; the runner only orders them, times them and reports."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from musicbox.bench.figures import Figure, verdict


@dataclass(frozen=True, slots=True)
class BenchOptions:
    quick: bool  # the short form CI runs: fewer members, cycles and seconds, same figures
    minutes: float | None = None  # how long the soak runs, instead of its form's default


Scenario = Callable[[BenchOptions], Awaitable[list[Figure]]]


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    name: str
    figures: list[Figure]
    seconds: float
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and verdict(self.figures)


async def run_scenarios(
    scenarios: dict[str, Scenario],
    names: Sequence[str],
    options: BenchOptions,
    on_done: Callable[[ScenarioResult], None] = lambda _: None,
) -> list[ScenarioResult]:
    results = []
    for name in names:
        started = time.monotonic()
        try:
            figures = await scenarios[name](options)
            result = ScenarioResult(name, figures, time.monotonic() - started)
        except Exception as failure:  # one broken scenario must not hide the others' figures
            result = ScenarioResult(
                name, [], time.monotonic() - started, error=f"{type(failure).__name__}: {failure}"
            )
        on_done(result)
        results.append(result)
    return results


def results_json(results: Sequence[ScenarioResult], options: BenchOptions) -> dict[str, object]:
    return {
        "quick": options.quick,
        "passed": all(r.passed for r in results),
        "scenarios": [
            {
                "name": r.name,
                "seconds": round(r.seconds, 3),
                "passed": r.passed,
                "error": r.error or None,
                "figures": [f.as_json() for f in r.figures],
            }
            for r in results
        ],
    }
