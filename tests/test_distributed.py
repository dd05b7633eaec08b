"""DistributedDataParallel on CPU: two gloo processes train the same model as one process on the same global batch."""

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

pytestmark = pytest.mark.slow

# float32: bf16 matmuls round differently for a shard than for the whole batch, which is not what this checks
CONFIG = {"epochs": 1, "batch_size": 8, "device": "cpu", "warmup_ratio": 0.0, "lr": 1e-3, "amp": False}
NUM_PAIRS = 21  # global batches of 8, 8 and 5: the last splits 3 + 2, so the shares must be weighted


def train_student(checkpoint_dir: str, teacher_cache: str) -> None:
    """Train a copy of the packaged model on the first pairs, without dropout (its masks depend on the shard).

    The teacher states come from ``teacher_cache``: under torchrun rank 0 computes them, the others wait."""
    from optical.data import load_bible_bitext
    from optical.encoders import TokenEncoder
    from optical.train import TrainConfig, train

    teacher = TokenEncoder(max_length=32).eval().requires_grad_(False)
    student = TokenEncoder(max_length=32)
    for module in student.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    pairs = load_bible_bitext("ny").pairs[:NUM_PAIRS]
    train(
        student,
        teacher,
        pairs,
        TrainConfig(**CONFIG),
        checkpoint_dir=checkpoint_dir,
        teacher_cache=teacher_cache,
        progress=False,
    )


def worker(rank: int, world: int, rendezvous: str, checkpoint_dir: str, teacher_cache: str) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    try:
        train_student(checkpoint_dir, teacher_cache)
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_equal_one_process_on_the_same_global_batch(tmp_path):
    states = str(tmp_path / "teacher_states")
    mp.spawn(worker, args=(2, str(tmp_path / "rendezvous"), str(tmp_path / "ddp"), states), nprocs=2, join=True)
    assert len(list((tmp_path / "teacher_states").glob("*/*.index.npz"))) == 1  # computed once, by rank 0
    train_student(str(tmp_path / "single"), states)

    ddp = torch.load(tmp_path / "ddp" / "last.pt", weights_only=False)
    single = torch.load(tmp_path / "single" / "last.pt", weights_only=False)
    assert ddp["step"] == single["step"] == 3 and len(ddp["rng"]) == 2
    assert ddp["losses"] == pytest.approx(single["losses"], abs=1e-5)  # the logged loss is the global batch mean
    from optical.encoders import TokenEncoder

    initial = TokenEncoder(max_length=32).state_dict()
    for name, expected in single["student"].items():
        moved = (expected - initial[name]).norm()
        apart = (ddp["student"][name] - expected).norm()
        if name.endswith("attention.self.key.bias"):
            # softmax(q·(k + b)) = softmax(q·k): a key bias has no gradient but rounding noise, which Adam's update
            # turns into a step of its own, different for two summation orders; nothing downstream sees it
            assert moved < 1e-3, name
        else:
            # elementwise maxima are as noisy (a near-zero gradient's sign flips Adam's step); the tensor is not
            assert moved > 1e-3 and apart < 1e-3 * moved, name  # the steps moved it, and both runs moved it alike
