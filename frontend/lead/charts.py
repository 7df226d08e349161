"""Chart geometry for the dashboard's server-side SVG: numbers in, shapes and labels out.

Templates draw what these return and compute nothing; every chart keeps its numbers in a
table (`Table`) that the page shows under the chart and the CSV view writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

POSITIVE = "#1a7f37"
ACCENT = "#0969da"
SERIES = ["#0969da", "#1a7f37", "#bf3989", "#9a6700", "#8250df", "#cf222e", "#1b7c83", "#6e7781"]
STATE_COLOURS = {
    "unassigned": "#d0d7de", "partly_labeled": "#d4a72c", "fully_labeled": "#0969da",
    "adjudicated": "#1a7f37", "qc": "#8250df",
}


@dataclass
class Table:
    """A chart's numbers: column names and rows of plain values."""

    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _mix(share: float, low: str = "#f6f8fa", high: str = "#0550ae") -> str:
    """Return the colour `share` (0..1) of the way from `low` to `high`."""
    share = min(max(share, 0.0), 1.0)
    a = [int(low[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(high[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))


def heatmap(labels: list[str], matrix: list[list[int]], *, cell: int = 40) -> dict[str, Any]:
    """Return the cells of a confusion heatmap, shaded by the share of their row."""
    left, top = 150, 110
    cells = []
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        for j, n in enumerate(row):
            share = n / total
            cells.append({
                "x": left + j * cell, "y": top + i * cell, "size": cell - 2, "n": n,
                "fill": _mix(share), "ink": "#fff" if share > 0.45 else "#1f2328",
                "title": f"{labels[i]} × {labels[j]}: {n} label pairs ({share:.0%} of the row)",
                "tx": left + j * cell + (cell - 2) / 2, "ty": top + i * cell + cell / 2 + 4,
                "is_diagonal": i == j,
            })
    return {
        "width": left + cell * len(labels) + 70, "height": top + cell * len(labels) + 10,
        "cells": cells,
        "rows": [{"label": name, "x": left - 8, "y": top + i * cell + cell / 2 + 4}
                 for i, name in enumerate(labels)],
        "cols": [{"label": name, "x": left + j * cell + cell / 2, "y": top - 8}
                 for j, name in enumerate(labels)],
    }


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def category_bars(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Return horizontal bars of per-category kappa (with CI whiskers when present)."""
    values = [r["kappa"] for r in rows if r["kappa"] is not None]
    lows = [r["low"] for r in rows if r.get("low") is not None]
    lo = min([0.0, *values, *lows])
    left, right, bar_h, gap = 150, 540, 20, 10
    x = _scale(lo, 1.0, left, right)
    bars = []
    for i, r in enumerate(rows):
        y = 12 + i * (bar_h + gap)
        v = r["kappa"]
        bar = {"label": r["category"], "y": y, "ty": y + bar_h / 2 + 4, "h": bar_h,
               "text": fmt(v), "n": r["n_labels"], "reason": r.get("reason", "")}
        if v is not None:
            x0, x1 = sorted((x(0.0), x(v)))
            bar.update(x=x0, w=max(x1 - x0, 1.5), tx=max(x(v), x(0.0)) + 6, is_defined=True,
                       fill=POSITIVE if v >= 0.6 else "#d4a72c" if v >= 0.2 else "#cf222e")
            if r.get("low") is not None and r.get("high") is not None:
                bar.update(ci_x1=x(r["low"]), ci_x2=x(r["high"]), ci_y=y + bar_h / 2)
                bar["tx"] = max(bar["tx"], x(r["high"]) + 6)
        bars.append(bar)
    height = 12 + len(rows) * (bar_h + gap) + 22
    ticks = [{"x": x(t), "label": f"{t:g}"} for t in (lo, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
             if t >= lo and (t == lo or t - lo > 0.08 or t == 0.0)]
    ticks = list({t["label"]: t for t in ticks}.values())
    return {"width": 600, "height": height, "bars": bars, "zero_x": x(0.0), "axis_y": height - 18,
            "ticks": ticks, "top": 6}


def line_chart(
    points: list[str], series: list[tuple[str, list[float | None]]], *,
    width: int = 560, height: int = 220,
) -> dict[str, Any]:
    """Return polylines and dots of series over categorical x points (weeks), y up to 1."""
    left, right, top, bottom = 44, width - 34, 14, height - 30
    values = [v for _, vs in series for v in vs if v is not None]
    lo = min([0.0, *values])
    y = _scale(lo, 1.0, bottom, top)
    n = max(len(points), 1)
    step = (right - left) / max(n - 1, 1)

    def px(i: int) -> float:
        return left + (i * step if n > 1 else (right - left) / 2)

    lines = []
    for k, (name, vs) in enumerate(series):
        colour = SERIES[k % len(SERIES)]
        segments: list[list[str]] = [[]]
        dots = []
        for i, v in enumerate(vs):
            if v is None:
                segments.append([])
                continue
            segments[-1].append(f"{px(i):.1f},{y(v):.1f}")
            dots.append({"x": px(i), "y": y(v), "title": f"{name}, {points[i]}: {v:.3f}"})
        lines.append({"name": name, "colour": colour, "dots": dots,
                      "paths": [" ".join(s) for s in segments if s]})
    grid = [{"y": y(t), "label": f"{t:.1f}"} for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    if lo < 0:
        grid.insert(0, {"y": y(lo), "label": f"{lo:.1f}"})
    every = max(1, n // 8)
    xlabels = [{"x": px(i), "label": p} for i, p in enumerate(points) if i % every == 0]
    return {"width": width, "height": height, "lines": lines, "grid": grid, "left": left,
            "right": right, "xlabels": xlabels, "label_y": height - 10}


def column_chart(
    points: list[str], values: list[int], *, width: int = 560, height: int = 220,
    colour: str = ACCENT, unit: str = "labels",
) -> dict[str, Any]:
    """Return vertical bars of counts over categorical x points (weeks)."""
    left, right, top, bottom = 44, width - 12, 18, height - 30
    peak = max(values, default=0) or 1
    y = _scale(0, peak, bottom, top)
    n = max(len(points), 1)
    slot = (right - left) / n
    bars = []
    for i, (p, v) in enumerate(zip(points, values, strict=True)):
        bw = min(slot * 0.7, 48)
        bx = left + i * slot + (slot - bw) / 2
        bars.append({"x": bx, "y": y(v), "w": bw, "h": bottom - y(v), "v": v,
                     "tx": bx + bw / 2, "ty": y(v) - 4, "title": f"{p}: {v} {unit}"})
    every = max(1, n // 8)
    xlabels = [{"x": left + i * slot + slot / 2, "label": p}
               for i, p in enumerate(points) if i % every == 0]
    grid = [{"y": y(peak * t), "label": f"{round(peak * t):,}"} for t in (0, 0.5, 1)]
    return {"width": width, "height": height, "bars": bars, "colour": colour, "grid": grid,
            "left": left, "right": right, "xlabels": xlabels, "label_y": height - 10}


def stacked_bar(parts: list[tuple[str, str, int]], *, width: int = 560) -> dict[str, Any]:
    """Return one horizontal bar split into (key, label, count) parts, with a legend."""
    total = sum(n for _, _, n in parts) or 1
    x = 0.0
    segments = []
    for key, label, n in parts:
        w = width * n / total
        segments.append({"key": key, "label": label, "n": n, "x": x, "w": w,
                         "share": n / total, "pct": round(100 * n / total),
                         "fill": STATE_COLOURS.get(key, "#888"),
                         "title": f"{label}: {n} ({n / total:.0%})"})
        x += w
    return {"width": width, "height": 28, "segments": segments, "total": sum(n for *_, n in parts)}


def day_grid(days: list[str], annotators: list[str], counts: list[list[int]]) -> dict[str, Any]:
    """Return a calendar heatmap: one row per annotator, one square per day."""
    left, top, size = 110, 22, 23
    peak = max((n for row in counts for n in row), default=0) or 1
    cells = []
    for i, (name, row) in enumerate(zip(annotators, counts, strict=True)):
        for j, n in enumerate(row):
            cells.append({"x": left + j * size, "y": top + i * size, "size": size - 4,
                          "fill": "#ebedf0" if n == 0 else _mix(0.2 + 0.8 * n / peak,
                                                                  "#dafbe1", "#116329"),
                          "title": f"{name}, {days[j]}: {n} labels"})
    return {
        "width": left + size * len(days) + 8, "height": top + size * len(annotators) + 6,
        "cells": cells,
        "rows": [{"label": a, "y": top + i * size + size / 2 + 1}
                 for i, a in enumerate(annotators)],
        "cols": [{"label": d[5:], "x": left + j * size} for j, d in enumerate(days) if j % 7 == 0],
        "left": left,
    }
