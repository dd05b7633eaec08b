"""optical.ot.sinkhorn against POT on the same problems: per-pair ``ot.sinkhorn`` and batched ``ot.batch``.

Same costs (cosine costs of random 384-d token vectors), uniform marginals, epsilon and number of
iterations (no early stop) for every solver; the plans are compared in the same run. Headline:
B = 64 plans of 32 x 32. ``python benchmarks/sinkhorn.py [--quick] [--device cuda]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import ot as pot
import ot.batch
import pandas as pd
import torch

from benchmarks.machine import RESULTS, median_seconds, write_results
from optical.losses import cosine_cost
from optical.ot import sinkhorn, uniform_marginals

EPSILON, ITERATIONS = 0.05, 100


def problem(batch: int, length: int, device: str, seed: int = 0, dim: int = 384):
    """Cosine costs (B, n, n) of random unit token vectors and uniform marginals (B, n).

    In 384 dimensions random cosines sit near 0 (costs 1 +- 0.05: an easy, nearly flat kernel); in
    16 they spread over [0, 2] like the costs of trained token vectors."""
    generator = torch.Generator().manual_seed(seed)
    teacher = torch.randn(batch, length, dim, generator=generator)
    student = torch.randn(batch, length, dim, generator=generator)
    cost = cosine_cost(teacher, student).to(device)
    marginals = uniform_marginals(torch.ones(batch, length, device=device))
    return cost, marginals


def ours(cost, marginals, epsilon=EPSILON):
    return sinkhorn(cost, marginals, marginals, epsilon=epsilon, max_iter=ITERATIONS, tol=0)


def pot_batched(cost, marginals, epsilon=EPSILON):
    return ot.batch.bregman_log_projection_batch(-cost / epsilon, marginals, marginals, max_iter=ITERATIONS, tol=0)["T"]


def pot_per_pair(cost, marginals, epsilon=EPSILON):
    """POT's reference solver, one pair at a time in float64 numpy, as most code calls it."""
    cost64, weights = cost.double().cpu().numpy(), marginals.double().cpu().numpy()
    return np.stack(
        [
            pot.sinkhorn(w, w, c, reg=epsilon, method="sinkhorn_log", numItermax=ITERATIONS, stopThr=0)
            for c, w in zip(cost64, weights, strict=True)
        ]
    )


PER_PAIR_LIMIT = 64 * 64 * 64  # POT's per-pair loop only up to this many cost entries (it takes seconds)


def measure(batch: int, length: int, device: str, repeats: int, epsilon: float = EPSILON, dim: int = 384) -> dict:
    cost, marginals = problem(batch, length, device, dim=dim)
    sync = device == "cuda"
    row = {"device": device, "batch": batch, "length": length, "epsilon": epsilon, "dim": dim}
    row["ours_ms"] = 1e3 * median_seconds(lambda: ours(cost, marginals, epsilon), repeats, sync=sync)
    row["pot_batch_ms"] = 1e3 * median_seconds(lambda: pot_batched(cost, marginals, epsilon), repeats, sync=sync)
    plan = ours(cost, marginals, epsilon)
    row["max_diff_pot_batch"] = float((plan - pot_batched(cost, marginals, epsilon)).abs().max())
    if batch * length * length <= PER_PAIR_LIMIT:
        row["pot_per_pair_ms"] = 1e3 * median_seconds(lambda: pot_per_pair(cost, marginals, epsilon), 3)
        reference = pot_per_pair(cost, marginals, epsilon)
        row["max_diff_pot_per_pair"] = float(np.abs(plan.double().cpu().numpy() - reference).max())
        row["speedup_vs_pot_per_pair"] = row["pot_per_pair_ms"] / row["ours_ms"]
    row["speedup_vs_pot_batch"] = row["pot_batch_ms"] / row["ours_ms"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two small shapes, a few repeats (the test uses it)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--out-dir", default=str(RESULTS), help="where the results go")
    args = parser.parse_args()
    if args.quick:
        shapes, repeats = [(8, 16), (16, 32)], 3
    else:
        shapes = [(64, 32)] + [(batch, 32) for batch in (8, 16, 32, 128, 256, 1024)]
        shapes, repeats = shapes + [(64, length) for length in (8, 16, 64, 128, 256)], 20
    rows = [measure(batch, length, args.device, repeats) for batch, length in shapes]
    if not args.quick:  # spread costs at the training epsilon (0.02) and below, where scalings get re-anchored
        rows += [measure(batch, 32, args.device, repeats, eps, dim=16) for batch in (64, 1024) for eps in (0.02, 0.005)]
    table = pd.DataFrame(rows)
    print(table.round(4).to_string(index=False))
    name = f"sinkhorn_{args.device}" + ("_quick" if args.quick else "")
    title = (
        f"# Sinkhorn: optical.ot.sinkhorn vs POT {pot.__version__} ({args.device})\n\n"
        f"{ITERATIONS} iterations, no early stop, float32 (POT per-pair in float64 numpy); times are medians; "
        "max_diff is the largest absolute difference between the plans. Costs are cosines of random vectors "
        "of `dim` dimensions: 384 gives costs 1 +- 0.05, 16 spreads them over [0, 2] like trained tokens. "
        "POT's batched solver updates u before v, ours and POT's `sinkhorn_log` v before u: where 100 "
        "iterations have not converged (small epsilon) its plan is another iterate, so agreement is read "
        "from the per-pair column.\n\n"
    )
    results = {"iterations": ITERATIONS, "rows": rows}
    write_results(name, results, title + table.to_markdown(index=False, floatfmt=".4g"), out_dir=Path(args.out_dir))


if __name__ == "__main__":
    main()
