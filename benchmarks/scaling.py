"""How training time and memory grow with batch size, sequence length and the amount of bitext.

Each point runs ``optical.train.train`` in a fresh process, so its peak resident memory (CPU) or
peak allocated memory (GPU) is its own. Writes ``results/scaling_<device>.{json,md,png}``.
``python -m benchmarks.scaling [--device cuda] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch

from benchmarks.machine import RESULTS, write_results

STEPS = 4  # optimiser steps per point (bitext-size points take as many as the size needs)


def one_point(device: str, batch_size: int, max_length: int, num_pairs: int, joined: int) -> dict:
    """Train on ``num_pairs`` pairs (each ``joined`` consecutive verses long) and measure it."""
    from optical.data import bible_splits, load_bible_bitext
    from optical.data.bitext import BitextPair
    from optical.encoders import TokenEncoder
    from optical.train import TrainConfig, train

    verses = load_bible_bitext("ny").select(bible_splits()["train"])[: num_pairs * joined]
    pairs = [
        BitextPair(
            str(i),
            " ".join(v.english for v in verses[i : i + joined]),
            " ".join(v.foreign for v in verses[i : i + joined]),
            "",
        )
        for i in range(0, len(verses), joined)
    ]
    teacher = TokenEncoder(max_length=max_length).eval().requires_grad_(False)
    student = TokenEncoder(max_length=max_length)
    config = TrainConfig(epochs=1, batch_size=batch_size, device=device)
    result = train(student, teacher, pairs, config, progress=False)
    memory = (
        torch.cuda.max_memory_allocated()
        if device == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )
    return {
        "batch_size": batch_size,
        "max_length": max_length,
        "pairs": len(pairs),
        "seconds": result.seconds,
        "seconds_per_step": result.seconds / result.steps,
        "pairs_per_second": len(pairs) / result.seconds,
        "peak_memory_gib": memory / 2**30,
    }


def run_point(device: str, **point) -> dict:
    command = [sys.executable, "-m", "benchmarks.scaling", "--device", device, "--point", json.dumps(point)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def plot(table: pd.DataFrame, path: Path) -> None:
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for axis, (sweep, x, y) in zip(
        axes,
        [
            ("batch size", "batch_size", "seconds_per_step"),
            ("sequence length", "max_length", "seconds_per_step"),
            ("bitext size", "pairs", "seconds"),
        ],
        strict=True,
    ):
        rows = table[table.sweep == sweep]
        axis.plot(rows[x], rows[y], "o-", color="tab:blue")
        axis.set_xlabel(x.replace("_", " "))
        axis.set_ylabel(y.replace("_", " "), color="tab:blue")
        axis.set_xscale("log", base=2)
        memory = axis.twinx()
        memory.plot(rows[x], rows["peak_memory_gib"], "s--", color="tab:red")
        memory.set_ylabel("peak memory (GiB)", color="tab:red")
        memory.set_ylim(bottom=0)
        axis.set_title(f"vs {sweep}")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--quick", action="store_true", help="two tiny points per sweep")
    parser.add_argument("--point", help=argparse.SUPPRESS)  # internal: run one point, print its JSON
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args()
    if args.point:
        print(json.dumps(one_point(args.device, **json.loads(args.point))))
        return
    batches, lengths, sizes = (
        ((4, 8), (16, 32), (8, 16)) if args.quick else ((8, 16, 32, 64), (16, 32, 64, 128), (128, 256, 512, 1024))
    )
    default_batch, default_length = (4, 32) if args.quick else (32, 64)
    points = (
        [
            ("batch size", {"batch_size": b, "max_length": default_length, "num_pairs": b * STEPS, "joined": 1})
            for b in batches
        ]
        + [
            (
                "sequence length",
                {"batch_size": default_batch, "max_length": n, "num_pairs": default_batch * STEPS, "joined": 4},
            )
            for n in lengths
        ]
        + [
            ("bitext size", {"batch_size": default_batch, "max_length": default_length, "num_pairs": s, "joined": 1})
            for s in sizes
        ]
    )
    rows = []
    for sweep, point in points:
        rows.append({"sweep": sweep, **run_point(args.device, **point)})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    name = f"scaling_{args.device}" + ("_quick" if args.quick else "")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot(table, out_dir / f"{name}.png")
    title = (
        f"# Training time and memory vs batch size, sequence length and bitext size ({args.device})\n\n"
        f"OT objective, all-MiniLM-L6-v2 teacher and student, {STEPS} steps per point for the batch and length "
        "sweeps (sentences of 4 joined verses so every one reaches the length), one epoch for the bitext sizes; "
        "each point in a fresh process. Memory: peak resident set (CPU) or peak allocated (GPU).\n\n"
        f"![scaling]({name}.png)\n\n"
    )
    write_results(name, {"rows": rows}, title + table.to_markdown(index=False, floatfmt=".4g"), out_dir=out_dir)


if __name__ == "__main__":
    main()
