"""The dashboard's graphs as inline SVG drawn on the server: no chart library, no script, a few
kilobytes a graph. Pure: samples in, markup out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from musicbox.core.vitals import KEEP_S, POINTS_PER_GRAPH, SAMPLE_EVERY_S, Sample, downsample

WIDTH, HEIGHT = 300, 60
# Points further apart than three of a graph's steps are not joined: the bot was not running.
GAP_S = 3 * max(SAMPLE_EVERY_S, KEEP_S / POINTS_PER_GRAPH)


@dataclass(frozen=True, slots=True)
class Graph:
    series: str  # a Sample field
    title: str
    unit: str


GRAPHS = (
    Graph("command_p95_ms", "command time p95", "ms"),
    Graph("first_audio_p95_ms", "time to first audio p95", "ms"),
    Graph("cache_hit_ratio", "cache hit ratio", "%"),
    Graph("streams", "voice sessions", ""),
    Graph("rss_mb", "memory", "MiB"),
    Graph("cpu_percent", "CPU", "%"),
    Graph("errors", "errors a minute", ""),
)


def graphs_section(samples: Sequence[Sample], now: float) -> str:
    charts = "".join(_figure(graph, samples, now) for graph in GRAPHS)
    return f"<h2>Last 24 hours</h2><div class=graphs>{charts}</div>"


def _figure(graph: Graph, samples: Sequence[Sample], now: float) -> str:
    scale = 100.0 if graph.unit == "%" and graph.series == "cache_hit_ratio" else 1.0
    points = downsample(
        [(sample.at, _scaled(getattr(sample, graph.series), scale)) for sample in samples], POINTS_PER_GRAPH
    )
    values = [value for _, value in points if value is not None]
    latest = f"{values[-1]:g} {graph.unit}".strip() if values else "no data yet"
    top = max(values, default=0.0) or 1.0
    lines = "".join(f'<polyline points="{run}"/>' for run in _runs(points, now, top) if run.count(" ") >= 1)
    return (
        f'<figure data-series="{graph.series}"><figcaption>{escape(graph.title)}: '
        f"<b>{escape(latest)}</b> <small>(top {top:g})</small></figcaption>"
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role=img aria-label="{escape(graph.title)}">{lines}</svg>'
        "</figure>"
    )


def _runs(points: Sequence[tuple[float, float | None]], now: float, top: float) -> list[str]:
    """Polyline point lists, one per stretch without a gap (the bot stopped, or a figure that had
    nothing to measure: no command, no song played)."""
    runs: list[list[str]] = [[]]
    previous_at = -GAP_S
    for at, value in points:
        if value is None or at - previous_at > GAP_S:
            runs.append([])
        previous_at = at
        if value is None:
            continue
        x = WIDTH * (1 - (now - at) / KEEP_S)
        y = HEIGHT - HEIGHT * value / top
        runs[-1].append(f"{max(0.0, x):.1f},{y:.1f}")
    return [" ".join(run) for run in runs if run]


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value * scale
