"""A training step broken into its parts, per objective, and end-to-end throughput of ``optical.train``.

Parts: teacher forward (no gradient), student forward, objective forward, backward, optimiser
(clipping + AdamW). The objective's own share is timed apart as forward + backward to the token
embeddings, on detached copies. Throughput comes from ``optical.train.train`` itself, and the
achieved model FLOP/s are set against this machine's measured float32 (or bf16 on GPU) matmul rate.
``python -m benchmarks.training_step [--device cuda] [--quick]``.
"""

from __future__ import annotations

import argparse
import copy
import resource
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import torch

from benchmarks.machine import RESULTS, median_seconds, write_results
from optical.data import bible_splits, load_bible_bitext, sample_pairs
from optical.encoders import TokenBatch, TokenEncoder
from optical.losses import OBJECTIVES
from optical.train import TrainConfig, loss_function, make_optimizer, pick_device, train


def matmul_flops_per_second(device: torch.device, dtype: torch.dtype) -> float:
    """The rate of a large square matmul: what the hardware allows this model's dense layers at best."""
    size = 2048 if device.type == "cpu" else 8192
    x = torch.randn(size, size, device=device, dtype=dtype)
    seconds = median_seconds(lambda: x @ x, 5, sync=device.type == "cuda")
    return 2 * size**3 / seconds


def step_flops(student: TokenEncoder, teacher_tokens: int, student_tokens: int) -> float:
    """2 FLOPs per weight per token forward (embeddings excluded), x3 for forward + backward of the student."""
    embedding = student.transformer.get_input_embeddings().weight.numel()
    weights = sum(p.numel() for p in student.parameters()) - embedding
    return 2 * weights * (teacher_tokens + 3 * student_tokens)


@contextmanager
def clock(times: dict, name: str, sync: bool):
    """Adds the wall seconds of the ``with`` body to ``times[name]`` (waiting for the GPU when ``sync``)."""
    if sync:
        torch.cuda.synchronize()
    start = time.perf_counter()
    yield
    if sync:
        torch.cuda.synchronize()
    times[name] = time.perf_counter() - start


STEP_PARTS = ("teacher forward", "student forward", "objective forward", "backward", "optimiser")


def step_parts(objective: str, teacher, student, batches, device, amp: bool) -> dict:
    """Median seconds of each part of a step over ``batches`` (the first is a warm-up), and tokens per step."""
    config = TrainConfig(objective=objective)
    loss_fn, optimizer = loss_function(config), make_optimizer(student, config)
    sync, parts = device.type == "cuda", []
    for english, foreign in batches:
        times = {}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            with clock(times, "teacher forward", sync), torch.no_grad():
                teacher_out = teacher.encode(english)
            with clock(times, "student forward", sync):
                student_out = student.encode(foreign)
            with clock(times, "objective forward", sync):
                loss = loss_fn(teacher_out, student_out).loss
        with clock(times, "backward", sync):
            loss.backward()
        with clock(times, "optimiser", sync):
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        detached = student_out.embeddings.detach().requires_grad_(True)
        alone = TokenBatch(detached, student_out.attention_mask, student_out.content_mask)
        with clock(times, "objective fwd+bwd alone", sync):
            torch.autograd.grad(loss_fn(teacher_out, alone).loss, detached)
        times["teacher tokens"] = teacher_out.attention_mask.numel()
        times["student tokens"] = student_out.attention_mask.numel()
        parts.append(times)
    medians = pd.DataFrame(parts[1:]).median().to_dict()
    medians["step"] = sum(medians[name] for name in STEP_PARTS)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per objective (+1 warm-up)")
    parser.add_argument("--quick", action="store_true", help="2 steps of 4 pairs, ot and mse only")
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args()
    if args.quick:
        args.batch_size, args.steps = 4, 2
    objectives = ("ot", "mse") if args.quick else OBJECTIVES
    device = pick_device(args.device)
    amp = device.type == "cuda"
    teacher = TokenEncoder(max_length=args.max_length).to(device).eval().requires_grad_(False)
    pairs = sample_pairs(load_bible_bitext("ny").select(bible_splits()["train"]), args.batch_size * (args.steps + 1), 0)
    batches = [
        ([p.english for p in pairs[i : i + args.batch_size]], [p.foreign for p in pairs[i : i + args.batch_size]])
        for i in range(0, len(pairs), args.batch_size)
    ]
    peak = matmul_flops_per_second(device, torch.bfloat16 if amp else torch.float32)

    rows = []
    for objective in objectives:
        student = copy.deepcopy(teacher).requires_grad_(True).train()
        parts = step_parts(objective, teacher, student, batches, device, amp)
        if amp:
            torch.cuda.reset_peak_memory_stats()
        student = copy.deepcopy(teacher).requires_grad_(True)
        config = TrainConfig(objective=objective, epochs=1, batch_size=args.batch_size, device=device.type)
        result = train(student, teacher, pairs, config, progress=False)
        pairs_per_second = len(pairs) / result.seconds
        flops = step_flops(student, parts["teacher tokens"], parts["student tokens"]) / parts["step"]
        rows.append(
            {
                "objective": objective,
                **{
                    f"{name} ms": 1e3 * parts[name]
                    for name in (
                        "teacher forward",
                        "student forward",
                        "objective forward",
                        "backward",
                        "optimiser",
                        "step",
                    )
                },
                "objective fwd+bwd alone ms": 1e3 * parts["objective fwd+bwd alone"],
                "objective share of step": parts["objective fwd+bwd alone"] / parts["step"],
                "train() pairs/s": pairs_per_second,
                "model TFLOP/s": flops / 1e12,
                "share of matmul peak": flops / peak,
                "peak GPU memory GiB": torch.cuda.max_memory_allocated() / 2**30 if amp else None,
            }
        )
    table = pd.DataFrame(rows).dropna(axis=1, how="all")
    print(table.round(4).to_string(index=False))
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    title = (
        f"# Training step by part ({device.type}{', bf16 autocast' if amp else ', float32'})\n\n"
        f"Batch {args.batch_size} Chichewa-English Bible pairs, max {args.max_length} tokens, all-MiniLM-L6-v2 "
        f"teacher and student; medians of {args.steps} steps after a warm-up. Matmul peak measured here: "
        f"{peak / 1e12:.3f} TFLOP/s. Peak resident memory of the whole benchmark: {peak_rss:.2f} GiB.\n\n"
    )
    name = f"training_step_{device.type}" + ("_quick" if args.quick else "")
    results = {
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "matmul_peak_flops": peak,
        "peak_rss_gib": peak_rss,
        "rows": rows,
    }
    write_results(name, results, title + table.to_markdown(index=False, floatfmt=".4g"), out_dir=Path(args.out_dir))


if __name__ == "__main__":
    main()
