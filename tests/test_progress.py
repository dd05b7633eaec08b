"""Batch runs get text progress bars: the environment switch that make figures sets for its kernels."""

import os
import subprocess
import sys


def bar_module(env: dict) -> str:
    code = "from optical.progress import tqdm; print(tqdm.__module__)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_text_bars_when_asked_for_and_auto_otherwise():
    plain = {k: v for k, v in os.environ.items() if k != "OPTICAL_TEXT_PROGRESS"}
    assert bar_module({**plain, "OPTICAL_TEXT_PROGRESS": "1"}).strip() == "tqdm.std"
    assert bar_module(plain).strip() == "tqdm.asyncio"  # tqdm.auto: its notebook bars inside a kernel
