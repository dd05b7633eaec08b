"""Spread over seeds and paired significance over queries."""

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
