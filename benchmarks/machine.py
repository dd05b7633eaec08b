"""What every benchmark records next to its numbers: the machine, the versions, the date."""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from optical.train import cpu_has_native_bf16, cpu_uses_bf16, device_name

RESULTS = Path(__file__).resolve().parent / "results"


def describe_machine() -> dict:
    """CPU model, its SIMD level and bf16 use, cores, memory, GPU if any, torch version and thread count."""
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": device_name(torch.device("cpu")),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),  # what torch's kernels use: AVX2, AVX512, ...
        "native_bf16": cpu_has_native_bf16(),  # AVX512-BF16 or AMX
        "cpu_bf16_used": cpu_uses_bf16(),  # native_bf16 unless OPTICAL_CPU_BF16=0: CPU training autocasts to bf16
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": round(memory_gib, 1),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def median_seconds(function, repeats: int, *, sync: bool = False) -> float:
    """Median wall time of ``function()`` over ``repeats`` calls (after one warm-up call)."""
    function()
    times = []
    for _ in range(repeats):
        if sync:
            torch.cuda.synchronize()
        start = time.perf_counter()
        function()
        if sync:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def write_results(name: str, results: dict, table_markdown: str, *, out_dir: Path = RESULTS) -> Path:
    """``<name>.json`` (numbers + machine) and ``<name>.md`` (the table + machine) under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = describe_machine()
    (out_dir / f"{name}.json").write_text(json.dumps({"machine": machine, **results}, indent=2) + "\n")
    lines = [table_markdown, "", "Machine: " + ", ".join(f"{key} {value}" for key, value in machine.items()), ""]
    path = out_dir / f"{name}.md"
    path.write_text("\n".join(lines))
    return path
