"""Fusing runs: reciprocal-rank fusion and normalised score fusion, each with per-run weights.

Ranks follow trec_eval's order (:func:`~optical.metrics.rank`). A document missing from a run
contributes nothing to its fused score from that run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from optical.metrics import Run, rank


def _checked_weights(runs: Sequence[Run], weights: Sequence[float] | None) -> list[float]:
    if not runs:
        raise ValueError("nothing to fuse: no runs")
    weights = [1.0] * len(runs) if weights is None else list(weights)
    if len(weights) != len(runs):
        raise ValueError(f"{len(weights)} weights for {len(runs)} runs")
    return weights


def _top(scores: dict[str, float], depth: int) -> dict[str, float]:
    return {docid: scores[docid] for docid in rank(scores, depth)}


def reciprocal_rank_fusion(
    runs: Sequence[Run], weights: Sequence[float] | None = None, *, k: float = 60.0, depth: int = 1000
) -> Run:
    """s(d) = sum_r w_r / (k + rank_r(d)), ranks from 1 (Cormack et al., SIGIR 2009, with weights)."""
    weights = _checked_weights(runs, weights)
    fused: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for run, weight in zip(runs, weights, strict=True):
        for qid, scores in run.items():
            for position, docid in enumerate(rank(scores, len(scores)), start=1):
                fused[qid][docid] += weight / (k + position)
    return {qid: _top(scores, depth) for qid, scores in fused.items()}


def score_fusion(runs: Sequence[Run], weights: Sequence[float] | None = None, *, depth: int = 1000) -> Run:
    """s(d) = sum_r w_r (s_r(d) - min_r) / (max_r - min_r), each run's scores min-max normalised per query
    (a query whose scores are all equal normalises to 1)."""
    weights = _checked_weights(runs, weights)
    fused: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for run, weight in zip(runs, weights, strict=True):
        for qid, scores in run.items():
            if not scores:
                continue
            low, high = min(scores.values()), max(scores.values())
            for docid, score in scores.items():
                fused[qid][docid] += weight * ((score - low) / (high - low) if high > low else 1.0)
    return {qid: _top(scores, depth) for qid, scores in fused.items()}
