"""Correctness of the optimised paths the benchmarks time: fused AdamW, and the benchmark's own agreement check."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from optical.train import CPU_BF16_SWITCH, TrainConfig, cpu_has_native_bf16, device_name, make_optimizer

ROOT = Path(__file__).resolve().parent.parent


def test_fused_adamw_takes_the_steps_of_the_reference_adamw():
    torch.manual_seed(0)
    fused_model = torch.nn.Sequential(torch.nn.Embedding(50, 16), torch.nn.Linear(16, 4))
    reference_model = torch.nn.Sequential(torch.nn.Embedding(50, 16), torch.nn.Linear(16, 4))
    reference_model.load_state_dict(fused_model.state_dict())
    config = TrainConfig(lr=1e-2, weight_decay=0.1)
    fused = make_optimizer(fused_model, config)
    reference = torch.optim.AdamW(reference_model.parameters(), lr=1e-2, weight_decay=0.1, foreach=False)
    tokens = torch.randint(0, 50, (8, 5))
    for _ in range(10):
        for model, optimizer in ((fused_model, fused), (reference_model, reference)):
            optimizer.zero_grad()
            model(tokens).pow(2).mean().backward()
            optimizer.step()
    for got, expected in zip(fused_model.parameters(), reference_model.parameters(), strict=True):
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
    assert fused.defaults["fused"] is True


@pytest.mark.slow
def test_sinkhorn_benchmark_runs_and_agrees_with_pot(tmp_path):
    command = [sys.executable, "-m", "benchmarks.sinkhorn", "--quick", "--out-dir", str(tmp_path)]
    # One thread, as POT's loop has: with other processes on the cores (a second job, another test run),
    # torch's worker threads wait on each other and small batched ops slow down 100-1000x (measured here:
    # 2.3 s instead of 2.9 ms for 16 plans of 32x32), which says nothing about the solver.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, env=env)
    results = json.loads((tmp_path / "sinkhorn_cpu_quick.json").read_text())
    assert results["machine"]["cores"] >= 1
    assert results["machine"]["cpu_capability"] in {"DEFAULT", "VSX", "Z VECTOR", "NO AVX", "AVX2", "AVX512", "SVE256"}
    for row in results["rows"]:
        assert row["max_diff_pot_batch"] < 1e-5 and row["max_diff_pot_per_pair"] < 1e-5
        assert row["speedup_vs_pot_per_pair"] > 1  # a loose floor: timings on a busy CI machine are noisy


def test_benchmark_machine_says_which_cpu_and_whether_training_used_bf16(monkeypatch):
    """Benchmark results name the CPU as run records do, and whether OPTICAL_CPU_BF16=0 kept training in float32."""
    from benchmarks.machine import describe_machine

    monkeypatch.delenv(CPU_BF16_SWITCH, raising=False)
    machine = describe_machine()
    assert machine["cpu"] == device_name(torch.device("cpu"))
    assert machine["native_bf16"] == machine["cpu_bf16_used"] == cpu_has_native_bf16()
    monkeypatch.setenv(CPU_BF16_SWITCH, "0")
    assert describe_machine()["cpu_bf16_used"] is False
