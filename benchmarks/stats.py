"""Summaries of measured samples for the benchmark reports."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

__all__ = ["median", "p95"]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: Sequence[float]) -> float:
    """The 95th percentile, nearest rank (no interpolation between two samples)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
