"""The distillation training loop: one readable function, with checkpoints that resume exactly."""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from pathlib import Path

import numpy as np
import torch

from optical.batching import length_bucketed_batches, shuffled_batches
from optical.data.bitext import BitextPair
from optical.distributed import gather, mean_over_ranks, rank_and_world, shard
from optical.drift import plan_entropy, pooled_cosine
from optical.encoders import TokenEncoder
from optical.files import write_atomically
from optical.losses import OBJECTIVES, BoundLoss
from optical.progress import tqdm
from optical.teacher_states import TeacherStateStore
from optical.vocabulary import learn_pieces
from optical.word_embeddings import WORD_EMBEDDINGS, restore_word_embeddings, set_word_embeddings

__all__ = [
    "TrainConfig",
    "TrainResult",
    "cpu_has_native_bf16",
    "cpu_uses_bf16",
    "load_student_weights",
    "loss_function",
    "make_optimizer",
    "device_name",
    "pick_device",
    "train",
    "training_precision",
    "uses_bf16",
]

DEVICES = ("auto", "cpu", "cuda")
# TrainConfig fields a run's label leaves out: results rows have columns for them, or they do not change the student
UNLABELLED = ("objective", "epochs", "seed", "device", "amp", "checkpoint_every")


def recipe_label(name: str, recipe: Iterable[tuple[str, object]]) -> str:
    """``name``, or ``name[setting=value,...]`` for a recipe: how tables name a variant, e.g. ``ot[epsilon=0.05]``."""
    recipe = list(recipe)
    return name + ("[" + ",".join(f"{setting}={value}" for setting, value in recipe) + "]" if recipe else "")


@dataclass
class TrainConfig:
    """Every setting of a training run; stored inside each checkpoint (as :meth:`flat`).

    The objective's own settings live in its module (``optical.losses``: e.g. ``OTSettings``, ``KLSettings``), each
    with its one default; ``objective_settings`` holds those given otherwise. :meth:`from_flat` builds a config from
    one flat mapping of both kinds (the command line, a study's recipe, a checkpoint).
    """

    objective: str = "ot"  # distillation objective, a name in optical.losses.OBJECTIVES
    objective_settings: dict = field(default_factory=dict)  # the objective's settings off their defaults
    epochs: int = 2  # passes over the training pairs
    batch_size: int = 32  # bitext pairs per optimiser step
    lr: float = 1e-4  # peak AdamW learning rate
    weight_decay: float = 0.01  # AdamW decoupled weight decay
    warmup_ratio: float = 0.1  # share of steps with linear warm-up, then linear decay to 0
    grad_clip: float = 1.0  # max gradient norm (0 turns clipping off)
    seed: int = 0  # seeds data order, dropout and any initialisation
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # bf16 autocast on CUDA, and on CPUs with bf16 instructions (AVX512-BF16, AMX); else float32
    checkpoint_every: int = 100  # steps between checkpoints (when a checkpoint folder is given)
    bucket_by_length: bool = True  # batch pairs of similar foreign length together (less padding); False: random
    align_layer: int = -1  # the layer whose token states the loss compares, teacher's and student's (-1: the last)
    extend_vocabulary: int = 0  # > 0: add the pieces of a WordPiece of this size learned on the foreign side
    word_embeddings: str = "train"  # word-embedding rows trained: train (all) | freeze (none) | trim (its pieces)

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; available: {tuple(OBJECTIVES)}")
        defaults = OBJECTIVES[self.objective].defaults()
        self.settings()  # a setting it lacks, or a bad value, fails here
        self.objective_settings = {
            name: value for name, value in sorted(self.objective_settings.items()) if value != defaults[name]
        }
        _check_device(self.device)
        if min(self.epochs, self.batch_size, self.checkpoint_every) < 1:
            raise ValueError("epochs, batch_size and checkpoint_every must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.align_layer == 0 or self.align_layer < -1:
            raise ValueError(f"align_layer must be -1 (the last) or a layer number from 1, got {self.align_layer}")
        if self.extend_vocabulary < 0:
            raise ValueError(f"extend_vocabulary must be >= 0, got {self.extend_vocabulary}")
        if self.word_embeddings not in WORD_EMBEDDINGS:
            raise ValueError(f"word_embeddings must be one of {WORD_EMBEDDINGS}, got {self.word_embeddings!r}")

    def settings(self):
        """The objective's settings object (its dataclass in ``optical.losses``)."""
        return OBJECTIVES[self.objective].make_settings(self.objective_settings)

    @classmethod
    def from_flat(cls, values: Mapping[str, object] = (), /, **more) -> TrainConfig:
        """A config from one flat mapping of run and objective settings, e.g. ``objective="kl", kl_temperature=0.05``.

        A setting of another objective is refused, unless it has its default (a checkpoint of before objectives
        had their own settings records every objective's); a name no objective has is refused too.
        """
        values = {**dict(values), **more}
        own = {spec.name for spec in fields(cls)} - {"objective_settings"}
        objective = values.get("objective", cls.objective)
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; available: {tuple(OBJECTIVES)}")
        mine = set(OBJECTIVES[objective].setting_names())
        settings = {name: value for name, value in values.items() if name in mine}
        for name, value in values.items():
            if name in own or name in mine:
                continue
            owners = [o for o in OBJECTIVES.values() if name in o.setting_names()]
            if not owners:
                raise ValueError(f"unknown training setting {name!r}")
            if all(value != o.defaults()[name] for o in owners):
                names = ", ".join(o.name for o in owners)
                raise ValueError(f"{name}={value!r} is a setting of {names}, not of objective {objective!r}")
        return cls(**{name: value for name, value in values.items() if name in own}, objective_settings=settings)

    def flat(self) -> dict:
        """The run's settings and every setting of its objective, defaults included, as one flat dict."""
        run = {name: value for name, value in asdict(self).items() if name != "objective_settings"}
        return {**run, **asdict(self.settings())}

    @property
    def label(self) -> str:
        """How results rows and figures name the run: ``ot``, or with the settings it changes ``ot[epsilon=0.05]``
        (those off their defaults, less the ones rows have columns for or that do not change the student)."""
        return recipe_label(self.objective, sorted(self.non_default(ignore=UNLABELLED).items()))

    def non_default(self, ignore: tuple[str, ...] = ()) -> dict:
        """The flat settings off their defaults (the run's against TrainConfig's, the objective's against its own),
        less ``ignore``: what keys are made of, so a setting added later with the old behaviour keeps every key."""
        defaults = {**TrainConfig().flat(), **OBJECTIVES[self.objective].defaults()}
        return {k: v for k, v in self.flat().items() if k not in ignore and (k not in defaults or v != defaults[k])}


@dataclass
class TrainResult:
    """What a run did: per-step losses, steps taken, seconds spent (a resumed run's include those before)."""

    losses: list[float] = field(default_factory=list)
    pooled_cosine: list[float] = field(default_factory=list)  # per step: drift diagnostics (optical.drift)
    plan_entropy: list[float] = field(default_factory=list)  # per step, objectives with a plan (else NaN)
    steps: int = 0
    seconds: float = 0.0  # the training loop, over every process that trained this run
    resumed_at: int = 0  # the step this process resumed from (a kept checkpoint's; 0: trained from the start)
    teacher_seconds: float = 0.0  # computing the teacher states the cache lacked (0 when all were cached)


def _check_device(device: str) -> None:
    if device not in DEVICES:
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")


def pick_device(device: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without a GPU is an error."""
    _check_device(device)
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' but PyTorch sees no GPU; use 'auto' or 'cpu'")
    return torch.device("cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu")


@cache
def cpu_has_native_bf16() -> bool:
    """True on CPUs with bf16 matrix instructions (AVX512-BF16 or AMX), where bf16 autocast beats float32.

    Measured on this project's 2-core AMD EPYC (Zen 4, AVX512-BF16): a 2048^3 matmul at 0.21 TFLOP/s in
    float32 and 0.90 in bf16; a student forward + backward 2.3x faster. Without them bf16 is emulated
    and slower, so training stays in float32.
    """
    flags = _cpuinfo()  # not Linux (empty): no cheap way to ask, stay in float32
    return "avx512_bf16" in flags or "amx_bf16" in flags


def device_name(device: torch.device) -> str:
    """What a run ran on, for its log: the GPU's name, or the CPU's model from /proc/cpuinfo."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    lines = _cpuinfo().splitlines()
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "cpu")


@cache
def _cpuinfo() -> str:
    """/proc/cpuinfo, or "" where there is none (not Linux)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


CPU_BF16_SWITCH = "OPTICAL_CPU_BF16"  # "0" in the environment keeps CPU training in float32 (worker processes too)


def cpu_uses_bf16() -> bool:
    """Whether ``amp`` means bf16 autocast on this CPU: it has bf16 instructions and ``OPTICAL_CPU_BF16`` is not "0".

    The switch lets a study keep one precision across machines (a grid begun in float32 on a CPU without
    bf16 and continued on one with it) without changing its runs' cache keys, which hold ``amp``.
    """
    return cpu_has_native_bf16() and os.environ.get(CPU_BF16_SWITCH, "1") != "0"


def uses_bf16(config: TrainConfig, device: torch.device) -> bool:
    """Whether training on ``device`` runs under bf16 autocast: ``config.amp`` on CUDA or on a CPU that uses bf16."""
    return config.amp and (device.type == "cuda" or cpu_uses_bf16())


def training_precision(config: TrainConfig, device: torch.device) -> str:
    """How training on ``device`` computes, for logs and summaries: "bf16 autocast" or "float32"."""
    return "bf16 autocast" if uses_bf16(config, device) else "float32"


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _epoch_batches(student: TokenEncoder, pairs: list[BitextPair], config: TrainConfig):
    """``batches(epoch)``: the epoch's batches of pair indices, a pure function of (seed, epoch).

    With ``config.bucket_by_length`` pairs of similar foreign token length share a batch.
    """
    if not config.bucket_by_length:
        return lambda epoch: shuffled_batches(len(pairs), config.batch_size, config.seed, epoch)
    lengths = student.token_lengths([pair.foreign for pair in pairs])
    return lambda epoch: length_bucketed_batches(lengths, config.batch_size, config.seed, epoch)


def loss_function(config: TrainConfig) -> BoundLoss:
    """The loss of ``config.objective`` with its settings bound (``optical.losses.OBJECTIVES``)."""
    return OBJECTIVES[config.objective].bind(config.settings())


def make_optimizer(student: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW over every trainable student weight, fused (one kernel for all tensors: 4-5x faster steps on CPU)."""
    trainable = [parameter for parameter in student.parameters() if parameter.requires_grad]
    return torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay, fused=True)


def warmup_then_linear_decay(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """The learning rate rises linearly to the optimiser's over the first ``warmup_ratio`` of ``total_steps`` (at
    least one step), then falls linearly towards 0 at ``total_steps``."""
    warmup = max(1, int(warmup_ratio * total_steps))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / (total_steps - warmup + 1)))
    )


def load_student_weights(student: TokenEncoder, checkpoint: str | os.PathLike) -> TokenEncoder:
    """Put the weights of a training checkpoint (``last.pt``) into ``student`` (built from the same model),
    with the vocabulary pieces the run added; ``student.trained_by`` becomes the run's TrainConfig (a dict) when the
    file records one, as every checkpoint of :func:`train` does."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    student.add_pieces(state.get("added_pieces", []))
    student.load_state_dict(state["student"])
    if "config" in state:  # a weights-only file has none
        student.trained_by = _written_config(state)
    student.run_spec = state.get("spec")  # checkpoints before 2026-12-06 have none
    return student


CHECKPOINT_NAME = "last.pt"  # the file train() keeps in its checkpoint_dir and resumes from
SPEC_NAME = "spec.json"  # beside it: the run specification (optical.run_spec.RunSpec) train() was given
RESUMABLE_ELSEWHERE = ("device", "checkpoint_every")  # where a run trains and how often it saves: not what it learns


def weights_only_checkpoint(checkpoint: str | os.PathLike) -> None:
    """Drop the optimiser's and scheduler's state (Adam's two moments: twice the weights) from a finished run's
    ``last.pt``, in place. The weights, log and learning curve (its best step's weights) stay, so :func:`train`
    given it again trains nothing and returns the same student; it can no longer train on."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    dropped = [state.pop(name) for name in ("optimizer", "scheduler") if name in state]
    if dropped:  # a student scored again is weights only already: its file is left as it is
        write_atomically(checkpoint, lambda file: torch.save(state, file))


def _what_is_learned(config: dict) -> dict:
    """A TrainConfig as a dict, less the settings a killed run may change when it resumes."""
    return {name: value for name, value in config.items() if name not in RESUMABLE_ELSEWHERE}


def _written_config(state: dict) -> dict:
    """The TrainConfig (flat, as :meth:`TrainConfig.flat`) a checkpoint recorded; a setting added since takes its
    default, the old behaviour, and one of another objective that a checkpoint before 2026-12-06 recorded at its
    default is dropped."""
    return TrainConfig.from_flat(state["config"]).flat()


def _read_checkpoint(
    checkpoint: Path, config: TrainConfig, spec: dict | None, world: int, device: torch.device
) -> dict:
    """A run's ``last.pt``, refused when unreadable or written with another configuration, run or world size."""
    try:
        state = torch.load(checkpoint, map_location=device, weights_only=False)
    except Exception as error:  # a file that is not a checkpoint (saves are atomic, so not ours)
        raise ValueError(f"{checkpoint} is unreadable ({error}); move it away to start over") from None
    if _what_is_learned(_written_config(state)) != _what_is_learned(config.flat()):
        raise ValueError(f"{checkpoint} was written with another configuration; move it away or pick another folder")
    if spec is not None and state.get("spec", spec) != spec:
        raise ValueError(f"{checkpoint} was written by another run (data or models); move it away or pick another")
    if len(state["rng"]) != world:
        raise ValueError(f"{checkpoint} was written by {len(state['rng'])} processes; resume with as many")
    return state


def train(
    student: TokenEncoder,
    teacher: TokenEncoder,
    pairs: list[BitextPair],
    config: TrainConfig,
    *,
    checkpoint_dir: str | os.PathLike | None = None,
    teacher_cache: str | os.PathLike | None = None,
    on_step: Callable[[int], bool] | None = None,
    progress: bool = True,
    spec: dict | None = None,
) -> TrainResult:
    """Distil ``teacher`` (English side) into ``student`` (foreign side) on ``pairs``.

    The teacher stays frozen in eval mode. With ``checkpoint_dir``, ``last.pt`` is written every
    ``config.checkpoint_every`` steps and at the end, and a run that finds one resumes from it. ``spec`` (the run's
    specification as a dict, :class:`optical.run_spec.RunSpec`) is written whole into each checkpoint and beside it
    as ``spec.json``; a checkpoint of another spec is refused.

    With ``teacher_cache`` (a folder), the teacher's token states of the English sides are read
    from a :class:`~optical.teacher_states.TeacherStateStore` there, computed once for the texts it
    lacks, instead of a teacher forward pass at every step. What the objective prepares from the English sides
    before the first step (``Objective.prepare``: KL's hard negatives, :mod:`optical.hard_negatives`) is cached
    there too.

    With ``config.extend_vocabulary``, the student's vocabulary first gains the pieces of a WordPiece
    learned on the foreign sides (:func:`optical.vocabulary.learn_pieces`), or, on resume, the pieces
    the checkpoint recorded.

    ``on_step(step)`` runs after every optimiser step (e.g. to evaluate the student every K steps),
    before that step's checkpoint; when it returns True (the same on every rank), training stops
    there, with a checkpoint, and a resumed run does not train on. An ``on_step`` with
    ``state_dict()`` and ``load_state_dict(state)`` (a learning curve) is saved in each checkpoint and
    restored on resume, so a killed run loses none of its points. Per step
    the result logs the loss and the drift diagnostics of :mod:`optical.drift` (this process's share).

    Inside a process group (``torchrun``, see :mod:`optical.distributed`) the student is wrapped in
    DistributedDataParallel and each of the W ranks encodes every W-th pair of each global batch of
    ``config.batch_size``; its loss is weighted by its share so the averaged gradient is the
    single-process gradient of the global batch (for ``kl`` and ``contrastive`` the in-batch
    documents are the rank's own share). Rank 0 writes the checkpoints.
    """
    if not pairs:
        raise ValueError("no training pairs")
    rank, world = rank_and_world()
    if 0 < len(pairs) % config.batch_size < world or config.batch_size < world:
        raise ValueError(f"every batch needs at least one pair per process ({world}); change the pairs or batch size")
    objective, settings = OBJECTIVES[config.objective], config.settings()
    loss_fn = objective.bind(settings)
    device = pick_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", torch.cuda.current_device())  # the GPU init_from_environment chose
    use_amp = uses_bf16(config, device)
    checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
    state = _read_checkpoint(checkpoint, config, spec, world, device) if checkpoint and checkpoint.exists() else None
    if checkpoint is not None and spec is not None and rank == 0:  # readable without loading the weights
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(checkpoint.with_name(SPEC_NAME), lambda file: file.write_text(json.dumps(spec)))
    if config.extend_vocabulary and not student.added_pieces:  # before the optimiser: it resizes the embeddings
        foreign = [pair.foreign for pair in pairs]
        pieces = state["added_pieces"] if state else learn_pieces(student.tokenizer, foreign, config.extend_vocabulary)
        student.add_pieces(pieces)
    student.to(device)
    set_word_embeddings(student, config.word_embeddings, [pair.foreign for pair in pairs])  # before the optimiser
    _seed_everything(config.seed + rank)  # dropout differs across ranks; the data order does not
    student.train()
    teacher.to(device).eval().requires_grad_(False)
    model = student
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            student, device_ids=[device] if device.type == "cuda" else None
        )

    steps_per_epoch = -(-len(pairs) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    optimizer = make_optimizer(student, config)
    scheduler = warmup_then_linear_decay(optimizer, total_steps, config.warmup_ratio)

    result, step, earlier_seconds = TrainResult(), 0, 0.0
    clock = time.perf_counter()
    show = progress and rank == 0
    states = None
    if teacher_cache is not None:
        store = TeacherStateStore(teacher, teacher_cache, layer=config.align_layer)
        states = store.states([pair.english for pair in pairs], progress=show)
    batch_inputs = None
    if objective.prepare is not None:
        batch_inputs = objective.prepare(settings, teacher, [pair.english for pair in pairs], teacher_cache)
    result.teacher_seconds = time.perf_counter() - clock
    batches = _epoch_batches(student, pairs, config)
    if state is not None:
        if "optimizer" not in state and not (state.get("stopped") or state["step"] >= total_steps):
            raise ValueError(f"{checkpoint} keeps the weights of a finished run only; it cannot train on")
        student.load_state_dict(state["student"])
        if "optimizer" in state:  # a finished run's weights-only checkpoint has none (weights_only_checkpoint)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"][rank].cpu())
        result.losses, step = state["losses"], state["step"]
        result.resumed_at = step
        result.pooled_cosine, result.plan_entropy = state["pooled_cosine"], state["plan_entropy"]
        earlier_seconds = state.get("seconds", 0.0)  # checkpoints before 2026-12-01 lack it
        if "on_step" in state and hasattr(on_step, "load_state_dict"):
            on_step.load_state_dict(state["on_step"])
    stopped = bool(state and state.get("stopped"))

    def training_seconds() -> float:  # this process's training time plus that of the runs it resumes
        return earlier_seconds + time.perf_counter() - start

    def save() -> None:
        if checkpoint is None:
            return
        rng_states = gather(torch.get_rng_state())  # every rank takes part; rank 0 writes
        if rank == 0:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            state = {
                "student": student.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": rng_states,
                "losses": result.losses,
                "pooled_cosine": result.pooled_cosine,
                "plan_entropy": result.plan_entropy,
                "step": step,
                "seconds": training_seconds(),
                "config": config.flat(),
                "added_pieces": student.added_pieces,
                "stopped": stopped,
                "spec": spec,
            }
            if hasattr(on_step, "state_dict"):
                state["on_step"] = on_step.state_dict()
            write_atomically(checkpoint, lambda file: torch.save(state, file))  # a kill keeps the last checkpoint

    start = time.perf_counter()
    finished = stopped or step >= total_steps  # a kept finished run: no bar of steps already trained
    bar = tqdm(
        total=total_steps, initial=step, desc=f"train {config.objective}", disable=not show or finished, unit="step"
    )
    for epoch in range(step // steps_per_epoch, config.epochs):
        if stopped:
            break
        for batch in batches(epoch)[step % steps_per_epoch :]:
            local = shard(batch, rank, world)
            foreign = [pairs[i].foreign for i in local]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                if states is not None:
                    teacher_tokens = states.batch(local).to(device)  # (b, n, d)
                else:
                    with torch.no_grad():
                        english = [pairs[i].english for i in local]
                        teacher_tokens = teacher.encode(english, layer=config.align_layer)  # (b, n, d)
                student_tokens = model(student.tokenize(foreign), layer=config.align_layer)  # (b, m, d)
                # weight world * b / B: DDP's mean over ranks then equals the mean over the global batch
                extra = {} if batch_inputs is None else {k: v.to(device) for k, v in batch_inputs(local).items()}
                output = loss_fn(teacher_tokens, student_tokens, step=step, total_steps=total_steps, **extra)
                loss = output.loss * (world * len(local) / len(batch))
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss is {loss.item()} at step {step}; lower the learning rate")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(student.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            result.losses.append(mean_over_ranks(loss).item())
            result.pooled_cosine.append(pooled_cosine(student_tokens))
            result.plan_entropy.append(
                math.nan
                if output.plan is None
                else plan_entropy(output.plan, teacher_tokens.content_mask, student_tokens.content_mask)
            )
            bar.update(1)
            bar.set_postfix(loss=f"{result.losses[-1]:.4f}")
            stopped = on_step is not None and on_step(step)
            if stopped:
                break
            if step % config.checkpoint_every == 0:
                save()
    bar.close()
    if state is None or step > state["step"]:  # a finished run resumed trains nothing and keeps its checkpoint as is
        save()
    restore_word_embeddings(student)  # a plain student again, its trained rows in the whole matrix
    student.trained_by = config.flat()
    result.steps, result.seconds = step, training_seconds()
    return result
