"""Training speed before and after the teacher-state cache, length-bucketed batches and bf16, side by side.

"Before" is ``train()`` with the live teacher, randomly composed batches and float32
(``teacher_cache=None, bucket_by_length=False, amp=False``); "after" is the default path of the
main job and the studies (cached teacher states, bucketed batches, bf16 autocast where the CPU has
bf16 instructions). Everything is measured in this one run on this machine:

1. ``train()`` pairs/s of OT at max_length 64 and at the new default (128), each speed-up alone and
   together, then with bf16 autocast (the default where the CPU has bf16 instructions); cached
   variants cold (states computed in the run, counted) and warm (read from the cache);
2. the share of padding tokens in the student's and the teacher's batches over the whole training
   pool of every installed language;
3. the step broken into parts (teacher, student forward, objective, backward, optimiser);
4. one study run (2,000 pairs x 1 epoch of OT, scored on the dev books) before and after, two seeds:
   its wall time, its loss curve and its dev MAP, to show the results are the same within noise.

``python -m benchmarks.training_speed [--device cuda] [--quick]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from benchmarks.machine import RESULTS, write_results
from benchmarks.training_step import STEP_PARTS, step_parts
from optical.batching import length_bucketed_batches, padding_share, shuffled_batches
from optical.data import bible_splits, installed_languages, load_bible_bitext, sample_pairs
from optical.encoders import DEFAULT_MAX_LENGTH, TokenEncoder
from optical.study import StudyRun, StudySettings, score_run, study_data
from optical.teacher_states import TeacherStateStore
from optical.train import TrainConfig, pick_device, train, training_precision, uses_bf16

VARIANTS = {  # name: (teacher states cached, batches bucketed by length, bf16 autocast)
    "before": (False, False, False),
    "cache only": (True, False, False),
    "buckets only": (False, True, False),
    "cache + buckets": (True, True, False),
    "after": (True, True, True),  # the default: bf16 autocast on CUDA and on CPUs with bf16 instructions
}


def throughput(teacher: TokenEncoder, pairs, device, cache_root: Path) -> list[dict]:
    """pairs/s of one epoch of OT per variant; the cached variants run cold (empty cache), then warm."""
    rows = []
    for name, (cached, bucketed, amp) in VARIANTS.items():
        runs = ("cold", "warm") if cached else ("",)
        cache = cache_root / f"{teacher.max_length}-{name}" if cached else None
        for run in runs:
            student = copy.deepcopy(teacher).requires_grad_(True)
            config = TrainConfig(epochs=1, device=device.type, bucket_by_length=bucketed, amp=amp)
            result = train(student, teacher, pairs, config, teacher_cache=cache, progress=False)
            seconds = result.seconds + result.teacher_seconds
            rows.append(
                {
                    "max_length": teacher.max_length,
                    "variant": f"{name} ({run})" if run else name,
                    "pairs": len(pairs),
                    "teacher states s": result.teacher_seconds,
                    "train loop s": result.seconds,
                    "pairs/s": len(pairs) / seconds,
                }
            )
    before = rows[0]["pairs/s"]
    for row in rows:
        row["speed-up"] = row["pairs/s"] / before
    return rows


def padding(languages: list[str], lengths_of: dict[int, TokenEncoder]) -> list[dict]:
    """Share of padding tokens over one epoch of the whole training pool, random vs bucketed batches."""
    rows = []
    for language in languages:
        pool = load_bible_bitext(language).select(bible_splits(language)["train"])
        for max_length, encoder in lengths_of.items():
            foreign = encoder.token_lengths([p.foreign for p in pool])
            english = encoder.token_lengths([p.english for p in pool])
            for name, batches in (
                ("random", shuffled_batches(len(pool), 32, 0, 0)),
                ("bucketed", length_bucketed_batches(foreign, 32, 0, 0)),
            ):
                rows.append(
                    {
                        "pair": f"en-{language}",
                        "max_length": max_length,
                        "batches": name,
                        "student (foreign) padding": padding_share(foreign, batches),
                        "teacher (English) padding": padding_share(english, batches),
                        "foreign at max_length (cut)": float(np.mean(np.array(foreign) >= max_length)),
                    }
                )
    return rows


class _CachedTeacher:
    """``encode(english)`` read from a TeacherStates, so ``step_parts`` can time the cached path."""

    def __init__(self, teacher: TokenEncoder, texts: list[str], cache: Path, device) -> None:
        self.states = TeacherStateStore(teacher, cache).states(texts)
        self.row = {text: i for i, text in enumerate(texts)}
        self.device = device

    def encode(self, english: list[str]):
        return self.states.batch([self.row[text] for text in english]).to(self.device)


def breakdown(teacher: TokenEncoder, pairs, device, cache: Path, steps: int) -> list[dict]:
    """Median seconds of each part of an OT step: before (live, random, float32), after (cached, bucketed, bf16)."""
    lengths = teacher.token_lengths([p.foreign for p in pairs])
    orders = {
        "before": shuffled_batches(len(pairs), 32, 0, 0),
        "after": length_bucketed_batches(lengths, 32, 0, 0),
    }
    cached = _CachedTeacher(teacher, [p.english for p in pairs], cache, device)
    rows = []
    for name, order in orders.items():
        batches = [([pairs[i].english for i in b], [pairs[i].foreign for i in b]) for b in order[: steps + 1]]
        student = copy.deepcopy(teacher).requires_grad_(True).train()
        source = teacher if name == "before" else cached
        amp = name == "after" and uses_bf16(TrainConfig(), device)  # the default path's precision on this device
        parts = step_parts("ot", source, student, batches, device, amp=amp)
        rows.append(
            {"max_length": teacher.max_length, "variant": name}
            | {f"{part} ms": 1e3 * parts[part] for part in (*STEP_PARTS, "step")}
            | {"student tokens": parts["student tokens"]}
        )
    return rows


def study_runs(work_dir: Path, seeds: list[int], train_pairs: int, lengths: list[int]) -> tuple[list[dict], dict]:
    """Wall time, loss curve and dev MAP of one study run per (variant, max_length, seed)."""
    rows, curves = [], {}
    for max_length in lengths:
        first = max_length == lengths[0]
        for name in ("before", "cache + buckets", "after") if first else ("before", "after"):
            cached, bucketed, amp = VARIANTS[name]
            settings = StudySettings(
                split="dev",
                max_length=max_length,
                work_dir=str(work_dir),
                keep_checkpoints=True,
                cache_teacher_states=cached,
                train=TrainConfig(bucket_by_length=bucketed, amp=amp),
            )
            study_data(settings, "ny")  # collection, document vectors and lexicon: shared by every run, not timed
            for seed in seeds if first else seeds[:1]:
                run = StudyRun("ny", "ot", train_pairs, epochs=1, seed=seed)
                start = time.perf_counter()
                scores = score_run(run, settings, progress=False)
                seconds = time.perf_counter() - start
                checkpoint = settings.checkpoint_dir(run) / "last.pt"
                losses = torch.load(checkpoint, weights_only=False)["losses"]
                curves[f"{name}, max_length {max_length}, seed {seed}"] = losses
                rows.append(
                    {
                        "max_length": max_length,
                        "variant": name,
                        "seed": seed,
                        "study run s": seconds,
                        "loss, first 10 steps": float(np.mean(losses[:10])),
                        "loss, last 10 steps": float(np.mean(losses[-10:])),
                        "dev MAP": float(np.mean(list(scores["clir"]["dense"]["MAP"].values()))),
                        "dev R@10": float(np.mean(list(scores["clir"]["dense"]["R@10"].values()))),
                    }
                )
    return rows, curves


def plot_curves(curves: dict[str, list[float]], path: Path) -> None:
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for label, losses in curves.items():
        axis.plot(losses, label=label, linestyle="--" if label.startswith("before") else "-", linewidth=1.2)
    axis.set(xlabel="step", ylabel="OT loss <T, C>", title="Same seed, before vs after: loss per step")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--pairs", type=int, default=512, help="pairs per throughput run (one epoch)")
    parser.add_argument("--study-pairs", type=int, default=2000, help="training pairs of each study run")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, measures nothing")
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args()
    device = pick_device(args.device)
    lengths = [64, DEFAULT_MAX_LENGTH]
    pair_count, study_pairs, seeds, steps = args.pairs, args.study_pairs, [0, 1], 6
    if args.quick:
        pair_count, study_pairs, seeds, steps = 64, 64, [0], 1
    pool = load_bible_bitext("ny").select(bible_splits()["train"])
    pairs = sample_pairs(pool, pair_count, seed=0)
    scratch = Path(tempfile.mkdtemp(prefix="training-speed-"))
    try:
        teachers = {L: TokenEncoder(max_length=L).to(device).eval().requires_grad_(False) for L in lengths}
        speed = [row for L in lengths for row in throughput(teachers[L], pairs, device, scratch / "speed")]
        pads = padding(installed_languages(), teachers)
        parts = [row for L in lengths for row in breakdown(teachers[L], pairs, device, scratch / "parts", steps)]
        studies, curves = study_runs(scratch / "studies", seeds, study_pairs, lengths)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    tables = {
        "train() throughput, OT, batch 32": pd.DataFrame(speed),
        "Padding share over one epoch of the training pool, batch 32": pd.DataFrame(pads),
        "OT step by part (medians)": pd.DataFrame(parts),
        f"One study run: {study_pairs:,} pairs x 1 epoch of OT, dev books, en-ny": pd.DataFrame(studies),
    }
    for title, table in tables.items():
        print(f"\n{title}\n{table.round(4).to_string(index=False)}")
    name = f"training_speed_{device.type}" + ("_quick" if args.quick else "")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_curves(curves, out_dir / f"{name}_loss.png")
    markdown = (
        f"# Training speed before and after ({device.type})\n\n"
        "Before: live teacher forward at every step, randomly composed batches, float32. After: teacher token "
        "states cached (float16 on disk, memory-mapped), batches bucketed by foreign length, bf16 autocast on "
        f"CUDA and on CPUs with bf16 instructions (here: {training_precision(TrainConfig(), device)}). Measured "
        f"side by side in one run; loss curves of the study runs in `{name}_loss.png`.\n\n"
        + "\n\n".join(
            f"## {title}\n\n{table.to_markdown(index=False, floatfmt='.4g')}" for title, table in tables.items()
        )
    )
    results = {key: table.to_dict(orient="records") for key, table in tables.items()}
    write_results(name, results | {"loss_curves": curves}, markdown, out_dir=out_dir)
    print(json.dumps({"written": str(out_dir / name)}))


if __name__ == "__main__":
    main()
