"""JupyterLab as users meet it: the transport-plan notebook runs in a real browser through the server's kernel.

Needs Debian's Chromium (`make browser`; CI installs it); skipped with that message where it is missing.
"""

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def load_check():
    spec = importlib.util.spec_from_file_location("check_lab_in_browser", ROOT / "scripts/check_lab_in_browser.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(600)
def test_transport_plans_notebook_renders_in_jupyterlab(tmp_path, teacher, bitext):
    from optical.train import TrainConfig, train

    check = load_check()
    try:
        check.find_chromium()
    except check.BrowserUnavailable as why:
        pytest.skip(str(why))
    student = copy.deepcopy(teacher).requires_grad_(True)
    config = TrainConfig(epochs=1, batch_size=16, device="cpu")
    train(student, teacher, bitext.pairs[:32], config, checkpoint_dir=tmp_path / "ckpt", progress=False)
    parameters = {
        **check.SMALL_PLANS,
        "CHECKPOINT": str(tmp_path / "ckpt" / "last.pt"),
        "OUT_DIR": str(tmp_path / "figures"),
        "WORK_DIR": str(tmp_path / "work"),
    }
    result = check.check_notebook_in_lab(parameters, screenshot=tmp_path / "lab.png", timeout=240)
    assert result.title == "Transport plans as soft token alignments"
    assert result.images >= 2  # the plans figure and the explorer's heatmap
    assert (tmp_path / "lab.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "figures" / "transport_plans_en-ny.png").exists()  # run by the browser's kernel


def test_without_chromium_the_check_says_how_to_get_it(monkeypatch):
    check = load_check()
    monkeypatch.delenv("OPTICAL_CHROMIUM", raising=False)
    monkeypatch.setattr(check.shutil, "which", lambda name: None)
    with pytest.raises(check.BrowserUnavailable, match="make browser"):
        check.find_chromium()


def test_make_lab_allows_root_only_for_root():
    import os
    import subprocess

    shown = subprocess.run(
        ["bash", str(ROOT / "scripts/lab.sh"), "notebooks/"],
        env={**os.environ, "JUPYTER": "echo"},  # print the command line instead of starting a server
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert shown[0] == "lab" and shown[-1] == "notebooks/"
    assert ("--allow-root" in shown) == (os.geteuid() == 0)
