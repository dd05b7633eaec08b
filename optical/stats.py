"""Paired significance over queries, over queries and seeds together, and Holm's correction for a family."""

from __future__ import annotations

import numpy as np


def paired_randomization_test(a: np.ndarray, b: np.ndarray, *, trials: int = 10_000, seed: int = 0) -> float:
    r"""Two-sided p-value that systems a and b have the same mean per-query score (sign-flip test).

    a, b: (Q,) per-query values of the same queries. Under the null each difference d_q = a_q - b_q
    is as likely to have either sign; the p-value is the share of random sign flips whose
    :math:`|\mathrm{mean}(d)|` reaches the observed one (Smucker et al., CIKM 2007), counting the
    observed assignment itself.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"need two equal-length, non-empty vectors of per-query values, got {a.shape} and {b.shape}")
    differences = a - b
    observed = abs(differences.mean())
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(trials, len(differences)))
    at_least = np.count_nonzero(np.abs((signs * differences).mean(1)) >= observed - 1e-12)
    return (at_least + 1) / (trials + 1)


def seed_query_bootstrap(
    a: np.ndarray, b: np.ndarray, *, replicates: int = 10_000, level: float = 0.95, seed: int = 0
) -> dict[str, float]:
    r"""Difference of two systems' mean per-query scores with a confidence interval and a p-value that carry both
    the variance over queries and the variance over training seeds.

    a: (S_a, Q), b: (S_b, Q): per-seed, per-query values of the same Q queries (seeds are not paired: seed 0 of
    one objective has nothing in common with seed 0 of another). The statistic is
    :math:`\delta = \frac1Q\sum_q (\bar a_q - \bar b_q)`, with :math:`\bar a_q` the mean over a's seeds. Each
    replicate draws Q queries with replacement, shared by both systems (the pairing), and each system's seeds with
    replacement, independently; the interval is the replicates' percentile interval and the two-sided p-value the
    share of replicates, centred on :math:`\delta`, at least as far from 0 as :math:`\delta` is (counting the
    observed one). With 3 seeds the seed draw sees only 3 values and under-states their spread by about (S-1)/S; one
    seed a system reduces to the paired query bootstrap.
    """
    a, b = np.atleast_2d(np.asarray(a, dtype=float)), np.atleast_2d(np.asarray(b, dtype=float))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or a.shape[1] == 0:
        raise ValueError(f"need (seeds, queries) arrays over the same, non-empty queries, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("per-query values must be finite (a NaN means a query was not scored)")
    rng = np.random.default_rng(seed)
    queries = a.shape[1]

    def seed_means(values: np.ndarray) -> np.ndarray:  # (replicates, Q): each replicate's resampled seed mean
        counts = rng.multinomial(len(values), np.full(len(values), 1 / len(values)), size=replicates)
        return counts @ values / len(values)

    differences = seed_means(a) - seed_means(b)
    query_counts = rng.multinomial(queries, np.full(queries, 1 / queries), size=replicates)
    replicated = (query_counts * differences).sum(1) / queries
    observed = float(a.mean(0).mean() - b.mean(0).mean())
    tail = (1 - level) / 2
    low, high = np.quantile(replicated, [tail, 1 - tail])
    at_least = np.count_nonzero(np.abs(replicated - observed) >= abs(observed) - 1e-12)
    p_value = (at_least + 1) / (replicates + 1)
    return {"difference": observed, "low": float(low), "high": float(high), "p": float(p_value)}


def holm(p_values: np.ndarray) -> np.ndarray:
    r"""Holm's step-down adjustment of a family of m p-values (controls the family-wise error rate).

    With :math:`p_{(1)} \le \dots \le p_{(m)}`, the adjusted :math:`\tilde p_{(i)} = \max_{j \le i}
    \min(1, (m - j + 1)\, p_{(j)})`, returned in the input's order. (m,) -> (m,).
    """
    p_values = np.asarray(p_values, dtype=float)
    order = np.argsort(p_values, kind="stable")
    factors = len(p_values) - np.arange(len(p_values))
    adjusted = np.minimum(1.0, np.maximum.accumulate(factors * p_values[order]))
    result = np.empty_like(adjusted)
    result[order] = adjusted
    return result
